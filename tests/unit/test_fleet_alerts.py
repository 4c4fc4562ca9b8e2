"""Alerts in the fleet's load: the control lines a worker takes (alert_control.py), a meter
raising one through its device core, and the driver's ledger (fleet_alerts.py) that follows
each to the DSP. The GBCS frames are RTDS 4.5.0 reference alerts (../shared)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.clock import VirtualClock, run, until
from emulator.devices.profile import PremisesProfile
from emulator.dsp.events import AlertForUser
from emulator.scenarios.alert_control import (
    AlertControl,
    AlertRaised,
    AlertRefused,
    ControlError,
    RaiseAlert,
    parse_reply,
    reply_line,
)
from emulator.scenarios.fleet_alerts import AlertLedger, AlertLogRepository, alert_key
from emulator.scenarios.load_mix import MixRow, parse_mix
from emulator.scenarios.steps import commission, install
from emulator.scenarios.world import SUPPLIER, build_world
from emulator.zigbee.eui64 import Eui64
from tests.conftest import RTDS, need_rtds

#: Both RTDS generic alerts come from the test ESME 00DB1234567890A0 with counter 0x7D0 (2000).
ESME = "00DB1234567890A0"
MIX = ("name,weight,srv,target,body,expect\n"
       "outage,1,alert,restricted-esme,0x8F30,delivered\n"
       "clock,1,alert,restricted-esme,0x810E,discarded\n")


def _vector(folder: str, name: str) -> str:
    need_rtds()
    return (RTDS / "messages" / folder / name).read_text().strip()


def _gca() -> str:
    return _vector("NA_GCA-DLMS", "GCA-DLMS_NA_8F30_ALERT_GBCS.HEX")


def _gnca() -> str:
    return _vector("NA_GNCA-DLMS", "GNCA-DLMS_NA_810E_ALERT_GBCS.HEX")


def _ledger() -> AlertLedger:
    return AlertLedger(parse_mix(MIX, "mix.csv"))


def ledger_row(ledger: AlertLedger, name: str) -> MixRow:
    return next(r for r in parse_mix(MIX, "mix.csv") if r.name == name)


def test_ledger_follows_a_critical_alert_from_raise_to_the_user():
    ledger = _ledger()
    row = ledger_row(ledger, "outage")
    ident = ledger.ask(row, 4)
    assert ledger.waiting() == 1
    ledger.on_reply(AlertRaised(ident, ESME, 2000, 100.0))
    ledger.arrived(bytes.fromhex(ESME), 2000, "m1", 100.025)
    ledger.logged("sat", {"alert_code": "0x8F30", "gbcs": _gca()})
    ledger.user_told(SUPPLIER, AlertForUser(100.03, SUPPLIER, Eui64(bytes.fromhex(ESME)), 0x8F30, _gca()))
    assert ledger.waiting() == 1  # not acknowledged yet
    ledger.acknowledged(["m1"])
    assert ledger.waiting() == 0
    r = ledger.report()
    outage = r["rows"]["outage"]
    assert {k: outage[k] for k in ("asked", "raised", "at_dsp", "acknowledged", "delivered", "discarded", "to_user",
                                   "lost")} == {"asked": 1, "raised": 1, "at_dsp": 1, "acknowledged": 1,
                                                "delivered": 1, "discarded": 0, "to_user": 1, "lost": 0}
    assert outage["code"] == "0x8F30" and outage["critical"] is True and outage["latency"]["count"] == 1
    assert r["rows"]["clock"]["critical"] is False  # 0x810E: outside GBCS's critical block 0x8F00-0x8FFF
    assert outage["latency"]["p50_ms"] == pytest.approx(25.0, rel=0.01)  # HDR: 3 significant digits
    assert r["codes"]["0x8F30"]["delivered"] == 1 and r["unexpected"] == {}
    assert (r["asked"], r["raised"], r["lost"]) == (1, 1, 0)


def test_ledger_claims_what_the_dsp_saw_before_the_raise_line():
    """The alert races the worker's pipe: the DSP may see, log and acknowledge it first."""
    ledger = _ledger()
    ident = ledger.ask(ledger_row(ledger, "clock"), 2)
    ledger.arrived(bytes.fromhex(ESME), 2000, "m9", 50.010)
    ledger.arrived(bytes.fromhex(ESME), 2000, "m9", 80.0)  # re-sent by the hub: counted once
    ledger.logged("diagnostics", {"alert_code": "0x810E", "gbcs": _gnca(), "reason": "Restricted"})
    ledger.acknowledged(["m9"])
    ledger.on_reply(AlertRaised(ident, ESME.lower(), 2000, 50.0))
    assert ledger.waiting() == 0
    clock = ledger.report()["rows"]["clock"]
    assert (clock["at_dsp"], clock["acknowledged"], clock["delivered"], clock["discarded"], clock["to_user"]) == \
        (1, 1, 0, 1, 0)
    assert clock["latency"]["p50_ms"] == pytest.approx(10.0, rel=0.01)


def test_ledger_says_which_outcome_the_mix_did_not_expect():
    ledger = _ledger()
    ident = ledger.ask(ledger_row(ledger, "outage"), 1)
    ledger.on_reply(AlertRaised(ident, ESME, 2000, 1.0))
    ledger.logged("diagnostics", {"alert_code": "0x8F30", "gbcs": _gca()})
    ledger.logged("sat", {"request_id": "x", "time": 1.0})  # not an alert record: not counted
    assert ledger.report()["unexpected"] == {"outage discarded": 1}


def test_ledger_lost_refused_and_killed_with_its_worker():
    ledger = _ledger()
    outage = ledger_row(ledger, "outage")
    lost, refused, unsent, held, _unanswered = (ledger.ask(outage, p) for p in (0, 1, 2, 7, 8))
    ledger.on_reply(AlertRaised(lost, ESME, 1, 10.0))
    ledger.on_reply(AlertRefused(refused, "ESME not joined"))
    ledger.not_sent(unsent, "worker down")
    ledger.on_reply(AlertRaised(held, ESME, 2, 11.0))
    assert ledger.waiting() == 3  # lost, held (raised, never at the DSP), unanswered
    ledger.worker_killed(range(6, 9), 12.0)  # premises 6..8: held and unanswered die with it
    assert ledger.waiting() == 1
    r = ledger.report()["rows"]["outage"]
    assert (r["asked"], r["raised"], r["not_raised"], r["at_dsp"], r["lost"], r["lost_with_killed_worker"]) == \
        (5, 2, 3, 0, 2, 1)
    assert r["not_raised_why"] == {"ESME not joined": 1, "worker down": 1, "worker killed before answering": 1}


def test_alert_log_repository_tells_of_each_record_and_keeps_it():
    seen: list[tuple[str, str]] = []
    repo = AlertLogRepository(lambda log, record: seen.append((log, str(record["alert_code"]))))
    repo.log("diagnostics", {"alert_code": "0x810E"})
    assert seen == [("diagnostics", "0x810E")]
    assert repo.read_log("diagnostics") == [{"alert_code": "0x810E"}]


# --- the control lines --------------------------------------------------------------------------

def test_raise_alert_line_is_one_json_line():
    line = RaiseAlert(17, 3, "ESME", 0x8F57).line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"command": "raise-alert", "id": 17, "premises": 3, "device": "ESME",
                                "code": "0x8F57"}
    assert RaiseAlert.parse(line) == RaiseAlert(17, 3, "ESME", 0x8F57)


@pytest.mark.parametrize(("line", "message"), [
    (b"{", "not JSON"),
    (b'{"command": "reboot"}', "not a raise-alert command"),
    (b'{"command": "raise-alert", "id": "x", "premises": 1, "device": "ESME", "code": "0x8F57"}', "id 'x'"),
    (b'{"command": "raise-alert", "id": 1, "premises": -1, "device": "ESME", "code": "0x8F57"}', "premises -1"),
    (b'{"command": "raise-alert", "id": 1, "premises": 1, "device": "CHF", "code": "0x8F57"}', "device 'CHF'"),
    (b'{"command": "raise-alert", "id": 1, "premises": 1, "device": "ESME", "code": "8F5Z"}', "code '8F5Z'"),
    (b'{"command": "raise-alert", "id": 1, "premises": 1, "device": "ESME", "code": 36695}', "code 36695"),
])
def test_a_bad_control_line_is_refused_naming_what_is_wrong(line: bytes, message: str):
    with pytest.raises(ControlError, match=message):
        RaiseAlert.parse(line)


@given(st.binary(max_size=200))
def test_fuzz_control_lines_refused_cleanly(data: bytes):
    try:
        cmd = RaiseAlert.parse(data)
    except ControlError:
        return
    assert cmd.device in ("ESME", "GSME") and 0 <= cmd.code <= 0xFFFF and cmd.premises >= 0


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=5),
                    max_leaves=12))
def test_fuzz_worker_lines_that_are_not_replies_are_none(doc: object):
    reply = parse_reply(doc)
    assert reply is None or isinstance(reply, AlertRaised | AlertRefused)


def test_replies_round_trip_through_their_lines():
    for reply in (AlertRaised(3, ESME, 2000, 12.5), AlertRefused(4, "ESME not joined")):
        assert parse_reply(json.loads(reply_line(reply))) == reply
    assert parse_reply({"event": "ready", "first": 0}) is None


def test_a_meter_raises_the_alert_through_its_core_and_the_dsp_sees_that_counter():
    """The worker's side on a real premises (virtual time): refused before the meter joined,
    raised after; the DSP's alert names the device and counter the worker answered."""
    async def main() -> None:
        w = await build_world(VirtualClock(), [PremisesProfile()])
        p = w.premises[0]
        replies: list[str] = []
        control = AlertControl(replies.append)
        control.attach(w)
        line = RaiseAlert(1, 0, "ESME", 0x8F57).line()
        assert control.handle(line) == AlertRefused(1, "ESME not joined")
        assert control.handle(RaiseAlert(2, 5, "ESME", 0x8F57).line()) == AlertRefused(2, "premises not in this worker")
        assert control.handle(b"nonsense") == AlertRefused(-1, "control line refused: not JSON: Expecting value: "
                                                               "line 1 column 1 (char 0)")
        await install(w, p, w.users[SUPPLIER])
        await commission(w, p, w.users[SUPPLIER])
        before = len(w.dsp.inbox[SUPPLIER].alerts)
        raised = control.handle(RaiseAlert(3, 0, "ESME", 0x8F57).line())
        assert isinstance(raised, AlertRaised) and raised.id == 3 and raised.device == p.esme.hex().upper()
        assert await until(lambda: any(a.alert_code == 0x8F57 for a in w.dsp.inbox[SUPPLIER].alerts[before:]), 60)
        (alert,) = [a for a in w.dsp.inbox[SUPPLIER].alerts[before:] if a.alert_code == 0x8F57]
        assert alert_key(bytes.fromhex(alert.gbcs_hex)) == (p.esme.hex().upper(), raised.counter)
        assert (control.raised, control.refused) == (1, 3)
        await w.stop()

    run(main())
