"""The GSME/GPF engine survives anything (DV-4 bad input: a clear answer, never a crash).

Random GBZ payloads (well-formed envelopes around random ZCL frames of the gas clusters, and
plain random bytes) go through the engine and the ASN.1 handlers; each must answer with a
well-formed GBZ or ASN.1 payload and leave the device usable.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emulator.devices import zcl_model
from emulator.devices.gas_state import GasState
from emulator.gbcs import asn1, gbz
from emulator.zigbee import zcl
from emulator.zigbee.clusters import smart_energy as se

NOW = 1_767_225_600.0
CLUSTERS = st.sampled_from([se.PRICE, se.METERING, se.MESSAGING, se.PREPAYMENT, se.CALENDAR, se.DEVICE_MANAGEMENT,
                            0x0000, 0x0019])


def _source(cluster: int, attr: int, now: float) -> zcl_model.Attr | None:
    return (zcl.DataType.UINT48, 1234) if (cluster, attr) == (se.METERING, 0) else None


@st.composite
def gbz_commands(draw: st.DrawFn) -> bytes:
    comps = []
    for _ in range(draw(st.integers(1, 4))):
        fc = draw(st.sampled_from([0x00, 0x01, 0x09, 0x11, 0x19, 0x04]))
        frame = bytes((fc,)) + draw(st.binary(min_size=0, max_size=40))
        dated = draw(st.booleans())
        body = draw(st.binary(min_size=4, max_size=4)) + frame if dated else frame
        comps.append(gbz.Component(draw(CLUSTERS), body, gbz.FROM_DATE_TIME if dated else 0))
    return gbz.GbzPayload(tuple(comps)).encode()


@given(gbz_commands(), st.sampled_from([0x0074, 0x006B, 0x006C, 0x0079, 0x00B5, 0x0000]), st.integers(0, 2**40))
def test_any_gbz_command_gets_a_well_formed_answer(payload: bytes, message_code: int, counter: int) -> None:
    state = GasState(register_at=lambda t: int(t) // 10, installed_at=NOW - 86400 * 3)
    answer = zcl_model.answer_gbz(payload, _source, NOW, state, message_code=message_code, counter=counter,
                                  encrypt=lambda p: b"\x31\x00\x00\x00\x00" + p + bytes(12))
    assert gbz.decode(answer).encode() == answer
    zcl_model.run_due(state, _source, NOW + 10 * 365 * 86400)  # whatever was queued applies cleanly


@given(st.binary(max_size=200))
def test_random_bytes_are_answered_not_raised(data: bytes) -> None:
    answer = zcl_model.answer_gbz(data, _source, NOW, GasState())
    assert gbz.decode(answer).encode() == answer


@given(st.binary(max_size=120))
def test_clock_and_device_log_commands_survive_random_bytes(data: bytes) -> None:
    clock = asn1.decode(zcl_model.synchronise_clock(GasState(), data, NOW))
    assert clock.children is not None and clock.children[1].int() in (0, 1)
    log: dict[bytes, int] = {}
    restored = asn1.decode(zcl_model.restore_device_log(log, data))
    assert restored.children is not None
