"""WN-1 WAN messages: one frozen dataclass per kind and one JSON codec.

The golden documents are the wire as it was written by hand before the codec existed (the
compose services, fleet processes and outside tools speak it): literal bytes, not built by the
code under test.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.transport.wan_messages import (
    Ack,
    Command,
    DeviceAlert,
    DeviceResponse,
    Firmware,
    JoinedEvent,
    JoinRefusedEvent,
    UnreachableEvent,
    WanMessage,
    WanMessageError,
    decode,
    decode_down,
    decode_up,
    encode,
)
from emulator.zigbee.eui64 import Eui64

ESME = Eui64(bytes.fromhex("00DB1234567890A0"))
GSME = Eui64(bytes.fromhex("00DB1234567890A1"))
RID = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000"

GOLDEN: list[tuple[WanMessage, bytes]] = [
    (Command(RID, RID, bytes.fromhex("DD000000000000010203")),
     b'{"kind": "command", "id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", '
     b'"request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", "gbcs": "DD000000000000010203"}'),
    (Firmware("fw:r1:00DB1234567890A2", "r1", bytes.fromhex("1EF1EE0B0001"), (ESME, GSME)),
     b'{"kind": "firmware", "id": "fw:r1:00DB1234567890A2", "request_id": "r1", "image": "1EF1EE0B0001", '
     b'"targets": ["00DB1234567890A0", "00DB1234567890A1"]}'),
    (Ack("ack:5f2a", ("5f2a",)), b'{"kind": "ack", "id": "ack:5f2a", "ids": ["5f2a"]}'),
    (DeviceResponse("a1b2", ESME, 4096, bytes.fromhex("DF09")),
     b'{"kind": "response", "id": "a1b2", "device": "00DB1234567890A0", "counter": 4096, "gbcs": "DF09"}'),
    (DeviceAlert("c3d4", GSME, 1, bytes.fromhex("DF0A")),
     b'{"kind": "alert", "id": "c3d4", "device": "00DB1234567890A1", "counter": 1, "gbcs": "DF0A"}'),
    (JoinedEvent("j00db1234567890a0" "17", ESME),
     b'{"kind": "event", "event": "joined", "id": "j00db1234567890a017", "device": "00DB1234567890A0"}'),
    (JoinRefusedEvent("r00db1234567890a10.5", GSME, "unknown install code"),
     b'{"kind": "event", "event": "join-refused", "id": "r00db1234567890a10.5", "device": "00DB1234567890A1", '
     b'"reason": "unknown install code"}'),
    (UnreachableEvent("u" + RID, RID, "no route", ESME),
     b'{"kind": "event", "event": "unreachable", "id": "u90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", '
     b'"request_id": "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", "reason": "no route", '
     b'"device": "00DB1234567890A0"}'),
]


@pytest.mark.parametrize(("message", "wire"), GOLDEN, ids=[type(m).__name__ for m, _ in GOLDEN])
def test_wn1_each_kind_encodes_to_the_wire_format_and_back(message: WanMessage, wire: bytes):
    assert encode(message) == wire
    assert decode(wire) == message


def test_wn1_lower_case_hex_and_extra_keys_from_other_tools_are_accepted():
    wire = (b'{"kind": "alert", "id": "x", "device": "00db1234567890a1", "counter": 7, "gbcs": "df0a", '
            b'"sent_by": "a newer hub"}')
    assert decode(wire) == DeviceAlert("x", GSME, 7, b"\xdf\x0a")


def test_wn1_direction_is_checked():
    down, up = GOLDEN[0][1], GOLDEN[3][1]
    assert isinstance(decode_down(down), Command) and isinstance(decode_up(up), DeviceResponse)
    with pytest.raises(WanMessageError, match="response message goes from a hub to the DSP") as e:
        decode_down(up)
    assert e.value.field == "kind"
    with pytest.raises(WanMessageError, match="command message goes from the DSP to a hub"):
        decode_up(down)


@pytest.mark.parametrize(("wire", "field", "says"), [
    (b"\xff\xfe", "", "not a JSON message"),
    (b"not json", "", "not a JSON message"),
    (b'["kind", "command"]', "", "expected a JSON object, got list"),
    (b'{"id": "x"}', "kind", "unknown message kind None"),
    (b'{"kind": "reboot", "id": "x"}', "kind", "unknown message kind 'reboot'"),
    (b'{"kind": "event", "event": "left", "id": "x"}', "event", "unknown event 'left'"),
    (b'{"kind": "command", "id": "x", "request_id": "x"}', "gbcs", "a command message needs 'gbcs'"),
    (b'{"kind": "command", "id": "x", "request_id": "x", "gbcs": "DZ"}', "gbcs", "expected hex digits"),
    (b'{"kind": "command", "id": 5, "request_id": "x", "gbcs": "DD"}', "id", "expected a string, got 5"),
    (b'{"kind": "alert", "id": "x", "device": "00DB", "counter": 1, "gbcs": "DD"}', "device", "16 hex digits"),
    (b'{"kind": "alert", "id": "x", "device": "00DB1234567890A1", "counter": -1, "gbcs": "DD"}', "counter",
     "unsigned 64-bit"),
    (b'{"kind": "alert", "id": "x", "device": "00DB1234567890A1", "counter": true, "gbcs": "DD"}', "counter",
     "unsigned 64-bit"),
    (b'{"kind": "ack", "id": "x", "ids": "x"}', "ids", "expected a list"),
    (b'{"kind": "firmware", "id": "x", "request_id": "r", "image": "", "targets": ["00DB1234567890A1", 3]}',
     "targets[1]", "expected a string, got 3"),
])
def test_wn1_a_bad_message_is_one_error_naming_what_was_wrong(wire: bytes, field: str, says: str):
    with pytest.raises(WanMessageError, match=says.replace("[", r"\[")) as e:
        decode(wire)
    assert e.value.field == field


def test_deeply_nested_json_is_a_message_error_not_a_crash():
    with pytest.raises(WanMessageError, match="not a JSON message"):
        decode(b"[" * 100_000)


_text = st.text(max_size=40)
_eui = st.binary(min_size=8, max_size=8).map(Eui64)
_counter = st.integers(0, (1 << 64) - 1)
_messages: st.SearchStrategy[WanMessage] = st.one_of(
    st.builds(Command, _text, _text, st.binary(max_size=64)),
    st.builds(Firmware, _text, _text, st.binary(max_size=64), st.lists(_eui, max_size=4).map(tuple)),
    st.builds(Ack, _text, st.lists(_text, max_size=4).map(tuple)),
    st.builds(DeviceResponse, _text, _eui, _counter, st.binary(max_size=64)),
    st.builds(DeviceAlert, _text, _eui, _counter, st.binary(max_size=64)),
    st.builds(JoinedEvent, _text, _eui),
    st.builds(JoinRefusedEvent, _text, _eui, _text),
    st.builds(UnreachableEvent, _text, _text, _text, _eui),
)


@given(_messages)
def test_wn1_every_message_round_trips(message: WanMessage):
    wire = encode(message)
    assert decode(wire) == message
    assert json.loads(wire)["kind"] == message.KIND


@given(st.binary(max_size=200))
def test_fuzz_decoder_raises_only_its_error(data: bytes):
    with contextlib.suppress(WanMessageError):
        decode(data)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_text, kids, max_size=3), max_leaves=8)


@settings(max_examples=60)
@given(st.sampled_from(["command", "firmware", "ack", "response", "alert", "event"]),
       st.sampled_from([None, "joined", "join-refused", "unreachable"]),
       st.dictionaries(st.sampled_from(["id", "request_id", "gbcs", "image", "targets", "ids", "device", "counter",
                                        "reason"]), _json, max_size=6))
def test_fuzz_decoder_on_near_messages_raises_only_its_error(kind: str, event: str | None, rest: dict[str, object]):
    doc = {"kind": kind, **({"event": event} if event else {}), **rest}
    try:
        message = decode(json.dumps(doc).encode())
    except WanMessageError:
        return
    assert kind == message.KIND
