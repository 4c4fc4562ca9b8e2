"""The fleet's SRV mix file and the seeded load sequence (issue 13)."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from emulator.scenarios.load_mix import LoadPlan, MixError, load_mix, parse_mix, restricted_premises

HEAD = "name,weight,srv,target,body,expect\n"


def test_default_mix_is_sixty_percent_reads():
    rows = load_mix()
    total = sum(r.weight for r in rows if r.srv != "alert")
    # Read SRVs by number: 4.x reads, 6.2.x configuration reads, 11.2 firmware version (wan.md: ~60 %).
    reads = sum(r.weight for r in rows if r.srv.startswith(("4.", "6.2.")) or r.srv == "11.2")
    assert total == 100 and reads == 60
    assert {r.srv for r in rows} >= {"4.1.1", "1.1.1", "5.1", "11.1"}
    assert {r.expect for r in rows if r.target == "restricted-esme" and r.srv == "4.1.1"} == {"E72"}


@pytest.mark.parametrize(("text", "message"), [
    ("", "x.csv: no header line (name,weight,srv,target,body,expect) and no rows"),
    ("name,weight,srv\n", "x.csv line 1: the header must be name,weight,srv,target,body,expect, not name,weight,srv"),
    (HEAD, "x.csv: a header and no rows"),
    (HEAD + "a,1,4.1.1,esme,none,I0\n# a comment\nb,abc,4.1.1,esme,none,I0\n",
     "x.csv line 4: weight 'abc' is not a number"),
    (HEAD + "a,0,4.1.1,esme,none,I0\n", "x.csv line 2: weight 0 must be more than 0"),
    (HEAD + "a,1,4.99,esme,none,I0\n", "x.csv line 2: SRV '4.99' is not in the DUIS catalogue"),
    (HEAD + "a,1,4.1.1,meter,none,I0\n",
     "x.csv line 2: target 'meter' is not one of esme, gsme, chf, restricted-esme, dcc"),
    (HEAD + "a,1,4.1.1,dcc,none,I0\n", "x.csv line 2: SRV 4.1.1: a device SRV cannot go to dcc"),
    (HEAD + "a,1,5.1,esme,none,I0\n", "x.csv line 2: SRV 5.1: a non-device SRV needs target dcc"),
    (HEAD + "a,1,4.1.1,esme,big,I0\n", "x.csv line 2: body 'big' is not one of none, firmware, daily-read-schedule"),
    (HEAD + "a,1,4.1.1,esme,none,OK\n", "x.csv line 2: expect 'OK' is not a DUIS response code such as I0 or E72"),
    (HEAD + "a,1,4.1.1,esme,none\n", "x.csv line 2: 5 columns, expected 6 (name,weight,srv,target,body,expect)"),
    (HEAD + "a,1,4.1.1,esme,none,I0\na,2,4.6.1,esme,none,I0\n",
     "x.csv line 3: name 'a' is empty or used by an earlier row"),
    (HEAD + "a,1,alert,chf,0x8F57,delivered\n",
     "x.csv line 2: an alert is raised by one of esme, gsme, restricted-esme, not 'chf'"),
    (HEAD + "a,1,alert,esme,8F57,delivered\n",
     "x.csv line 2: alert code '8F57' is not a GBCS alert code such as 0x8F57"),
    (HEAD + "a,1,alert,esme,0x1234,delivered\n",
     "x.csv line 2: alert code '0x1234' is not a GBCS alert code such as 0x8F57"),
    (HEAD + "a,1,alert,esme,0x8F57,I0\n", "x.csv line 2: an alert expects delivered or discarded, not 'I0'"),
])
def test_a_bad_mix_is_one_line_naming_the_line(text: str, message: str):
    with pytest.raises(MixError) as e:
        parse_mix(text, "x.csv")
    assert str(e.value) == message and "\n" not in str(e.value)


def test_a_missing_mix_file_is_named(tmp_path: Path):
    with pytest.raises(MixError, match=r"mix file .*nope.csv: No such file"):
        load_mix(tmp_path / "nope.csv")


def _picks(seed: int, n: int, restricted: list[int]) -> list[tuple[str, int]]:
    plan = LoadPlan(load_mix(), seed, 50, restricted)
    return [(p.row.name, p.premises) for p in itertools.islice(plan, n)]


def test_the_same_seed_gives_the_same_load():
    restricted = restricted_premises(7, 50, 0.1)
    assert restricted == restricted_premises(7, 50, 0.1) and len(restricted) == 5
    first = _picks(7, 500, restricted)
    assert first == _picks(7, 500, restricted)
    assert first != _picks(8, 500, restricted)


def test_the_plan_keeps_the_weights_and_the_restricted_split():
    restricted = restricted_premises(1, 50, 0.1)
    picks = _picks(1, 20_000, restricted)
    shares = Counter(name for name, _ in picks)
    # Weights over the whole default mix: 100 of requests and 20 of alerts.
    assert abs(shares["read-instantaneous"] / 20_000 - 20 / 120) < 0.015
    assert abs(shares["firmware"] / 20_000 - 2 / 120) < 0.005
    assert abs(shares["restricted-alert-clock-adjusted"] / 20_000 - 2 / 120) < 0.005
    for name, premises in picks:
        assert (premises in restricted) == name.startswith("restricted-")


def test_a_mix_to_restricted_meters_needs_one():
    with pytest.raises(ValueError, match="no premises is Restricted"):
        LoadPlan(load_mix(), 1, 10, [])
    assert restricted_premises(1, 1, 0.5) == [] and len(restricted_premises(1, 4, 1.0)) == 3


def test_alert_rows_name_the_meter_the_code_and_the_outcome():
    rows = parse_mix(HEAD + "read,3,4.1.1,esme,none,I0\n"
                     "outage,1,alert,restricted-esme,0x8f57,delivered\n"
                     "clock,2,alert,gsme,0x8145,discarded\n", "x.csv")
    assert [(r.name, r.is_alert) for r in rows] == [("read", False), ("outage", True), ("clock", True)]
    assert (rows[1].body, rows[1].alert_code, rows[1].target, rows[1].expect) == \
        ("0x8F57", 0x8F57, "restricted-esme", "delivered")
    assert (rows[2].alert_code, rows[2].target, rows[2].expect) == (0x8145, "gsme", "discarded")


def test_default_mix_alerts_critical_and_not_some_from_restricted_meters():
    alerts = {r.name: (r.target, r.body, r.expect, r.weight) for r in load_mix() if r.srv == "alert"}
    assert sum(w for *_, w in alerts.values()) == 20
    # RM-5: a Restricted meter's critical supply alert is delivered, its clock alert (0x8145,
    # non-critical, restricted_alerts.csv: discard) goes to the diagnostics log only.
    assert alerts["restricted-alert-supply-interrupted"][:3] == ("restricted-esme", "0x8F57", "delivered")
    assert alerts["restricted-alert-clock-adjusted"][:3] == ("restricted-esme", "0x8145", "discarded")
    assert {t for t, *_ in alerts.values()} == {"esme", "gsme", "restricted-esme"}
