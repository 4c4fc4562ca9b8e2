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
    total = sum(r.weight for r in rows)
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
    assert abs(shares["read-instantaneous"] / 20_000 - 0.20) < 0.015
    assert abs(shares["firmware"] / 20_000 - 0.02) < 0.005
    for name, premises in picks:
        assert (premises in restricted) == name.startswith("restricted-")


def test_a_mix_to_restricted_meters_needs_one():
    with pytest.raises(ValueError, match="no premises is Restricted"):
        LoadPlan(load_mix(), 1, 10, [])
    assert restricted_premises(1, 1, 0.5) == [] and len(restricted_premises(1, 4, 1.0)) == 3
