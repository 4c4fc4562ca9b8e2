"""The GSME's ZigBee event and security logs (GBCS CS10a, CS10b read them; CS11 clears), against the
RTDS 4.5.0 reference answers: the structure of a found log, NOT_FOUND for an empty period, and the
Clear Event Log Response byte for byte. Issue 11: these use cases were framed but the GSME answered
every one with "unsupported command"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.gas_state import LOG_CAPACITY, record_event
from emulator.devices.gsme import Gsme
from emulator.devices.profile import MeterProfile
from emulator.gbcs import gbz
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.usecase_builders import UseCaseRequest, builders
from tests.gbcs.test_rtds_usecases_gas import CHF, GSME, SUPPLIER, _keys, _reference, _shape

NOW = dt.datetime(2015, 1, 1, 12, tzinfo=dt.UTC).timestamp()
EPOCH_2000 = 946_684_800
WIDE = {"ReadLogPeriod": {"StartDateTime": "2014-12-31T00:00:00Z", "EndDateTime": "2030-01-01T00:00:00Z"}}
EMPTY = {"ReadLogPeriod": {"StartDateTime": "2030-01-26T00:00:00Z", "EndDateTime": "2030-01-26T07:00:00Z"}}


def _gsme() -> Gsme:
    return Gsme(GSME, GbcsEndpoint(GSME, _keys()), CHF, MeterProfile(image_type=2), NOW - 86400)


def _run(gsme: Gsme, use_case: str, body: dict[str, Any], code: int) -> bytes:
    payload = builders()[use_case](UseCaseRequest(use_case, code, SUPPLIER, GSME, 1000, body))
    return gsme.execute(Message(Cra.COMMAND, 1000, SUPPLIER, GSME, code, payload), NOW)


def _zcl(answer: bytes) -> bytes:
    return gbz.decode(answer).components[0].zcl().encode()


def _with_events() -> Gsme:
    gsme = _gsme()
    t = int(NOW) - EPOCH_2000 - 3600
    for i, code in enumerate((0x8F1F, 0x8145, 0x8F3D, 0x81BA, 0x8F1C)):  # general, security mixed
        record_event(gsme.state, code, t + i)
    return gsme


@pytest.mark.parametrize(("folder", "stem", "use_case", "code"), [
    ("6.13_CS10a", "CS10a_6.13_SUCCESS", "CS10a", 0x0076),
    ("6.13_CS10b", "CS10b_6.13_SUCCESS", "CS10b", 0x0077),
])
def test_a_log_with_events_in_the_period_answers_with_the_reference_structure(folder: str, stem: str,
                                                                              use_case: str, code: int) -> None:
    ref = _reference(folder, stem, "RESPONSE")
    got = _run(_with_events(), use_case, WIDE, ref.message_code)
    assert _shape(got) == _shape(ref.payload)


def test_the_general_log_holds_the_general_events_oldest_first() -> None:
    t = int(NOW) - EPOCH_2000 - 3600
    got = _zcl(_run(_with_events(), "CS10a", WIDE, 0x0076))
    # frame control 19 (cluster specific, server to client, no default response), command 01 Publish Event
    # Log: 3 matching, command 1 of 1, control 00; then log 3, event id, time, no data, per event
    stamp = [(t + i).to_bytes(4, "little").hex() for i in range(5)]
    assert got.hex() == ("1900" + "01" + "0300" + "00" + "01" + "00" + "031f8f" + stamp[0] + "00"
                         + "034581" + stamp[1] + "00" + "03ba81" + stamp[3] + "00")


@pytest.mark.parametrize(("folder", "stem", "use_case"), [
    ("6.13_CS10a", "CS10a_6.13_NOT_FOUND", "CS10a"), ("6.13_CS10b", "CS10b_6.13_NOT_FOUND", "CS10b")])
def test_an_empty_period_is_not_found_as_the_reference_says(folder: str, stem: str, use_case: str) -> None:
    ref = _reference(folder, stem, "RESPONSE")
    got = _run(_with_events(), use_case, EMPTY, ref.message_code)
    assert got == ref.payload  # a Default Response, status 0x8B NOT_FOUND


def test_cs11_clears_the_general_log_only_and_says_so_as_the_reference() -> None:
    ref = _reference("3.3_CS11", "CS11_3.3_SUCCESS", "RESPONSE")
    gsme = _with_events()
    assert _run(gsme, "CS11", {}, ref.message_code) == ref.payload  # cleared logs: 0x08, the general log
    assert _zcl(_run(gsme, "CS10a", WIDE, 0x0076)).hex() == "08000b008b"  # general log: nothing left
    security = _zcl(_run(gsme, "CS10b", WIDE, 0x0077))
    assert security[3:5] == bytes.fromhex("0200")  # both security events are still there


def test_every_alert_the_gsme_raises_is_filed_in_its_log() -> None:
    gsme = _gsme()
    gsme.raise_alert(0x8145, NOW)  # a non-critical alert: MAC-protected, no signing key needed here
    assert [(log, code) for log, code, _, _ in gsme.state.event_log] == [(3, 0x8145)]


def test_a_full_log_drops_its_oldest_entry_and_keeps_the_other_log() -> None:
    gsme = _gsme()
    record_event(gsme.state, 0x8F3D, 1)  # security
    for i in range(LOG_CAPACITY + 5):
        record_event(gsme.state, 0x8145, 100 + i)
    general = [t for log, _, t, _ in gsme.state.event_log if log == 3]
    assert len(general) == 100 and general[0] == 105
    assert [(log, t) for log, _, t, _ in gsme.state.event_log if log == 4] == [(4, 1)]
