"""The EZSP command table: golden frames written from UG100, the table checked against bellows' own
command definitions (frame ids, parameter names and their wire sizes), round trips and fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import construct as cs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.ezsp import commands as ez
from emulator.ezsp.errors import EzspError, EzspFrameError, UnknownCommand

METER = bytes.fromhex("00DB1234567890A0")


def test_golden_frames():
    # A host's first frame is "version" in the version-4 format: seq, frame control 0, frame id 0.
    header, cmd, fields = ez.parse_command(bytes.fromhex("00000004"))
    assert (header.sequence, header.format, cmd.name, fields) == (0, 4, "version", {"desiredProtocolVersion": 4})
    # The NCP answers in that format: response bit set, protocol 8, stack type 2, EmberZNet 6.10.3.0.
    assert ez.build("version", 0, 4, protocolVersion=8, stackType=2, stackVersion=0x6A30) == \
        bytes.fromhex("008000" "08" "02" "306A")
    # From version 8: seq, fc_lo, fc_hi (frame format version 1), a 16-bit frame id.
    header, cmd, _ = ez.parse_command(bytes.fromhex("070001000008"))
    assert (header.sequence, header.format, header.frame_id, cmd.name) == (7, 8, 0x0000, "version")
    assert ez.build("networkState", 7, 8, status=2) == bytes.fromhex("078001180002")
    # Versions 5-7: seq, fc, 0xFF, 0x00, frame id.
    assert ez.parse_command(bytes.fromhex("0300FF0018"))[1].name == "networkState"
    # A callback carries the asynchronous-callback bits (fc 0x90). EUI-64s go little-endian.
    frame = ez.build("trustCenterJoinHandler", 9, 8, callback=True, newNodeId=0x1234, newNodeEui64=METER, status=1,
                     policyDecision=0, parentOfNewNodeId=0)
    assert frame == bytes.fromhex("099001" "2400" "3412" "A09078563412DB00" "01" "00" "0000")


def test_sendunicast_parameters_and_the_aps_frame():
    # sendUnicast(direct, 0x1234, apsFrame(0x0109, 0x0704, 9 -> 1, ENCRYPTION|RETRY|FRAGMENT, group 0x0800 =
    # 8 blocks, index 0, seq 0x21), tag 5, 3 bytes), laid out as UG100 section 7 lists the fields.
    wire = bytes.fromhex("1500013400" "00" "3412" "0901" "0407" "09" "01" "6080" "0008" "21" "05" "03AABBCC")
    header, cmd, f = ez.parse_command(wire)
    assert cmd.name == "sendUnicast" and header.sequence == 0x15
    assert f["apsFrame"] == {"profileId": 0x0109, "clusterId": 0x0704, "sourceEndpoint": 9, "destinationEndpoint": 1,
                             "options": 0x8060, "groupId": 0x0800, "sequence": 0x21}
    assert (f["indexOrDestination"], f["messageTag"], f["messageContents"]) == (0x1234, 5, b"\xaa\xbb\xcc")
    assert ez.request("sendUnicast", 0x15, **f) == wire


def test_bad_frames_name_the_command_and_the_fault():
    with pytest.raises(UnknownCommand, match="0x0123"):
        ez.parse_command(bytes.fromhex("0100012301"))
    with pytest.raises(EzspFrameError, match="getEui64: 1 bytes left over"):
        ez.parse_command(bytes.fromhex("010001260000"))
    with pytest.raises(EzspFrameError, match="setValue: parameters"):
        ez.parse_command(bytes.fromhex("010001AB00" "0305"))  # a value of 3 bytes with 1 present
    with pytest.raises(EzspFrameError, match="too short"):
        ez.parse_command(b"\x01\x00")


@given(st.binary(max_size=160))
def test_fuzz_parse_raises_only_the_layers_error(frame: bytes):
    with contextlib.suppress(EzspError):
        ez.parse_command(frame)


_APS = st.fixed_dictionaries({"profileId": st.integers(0, 0xFFFF), "clusterId": st.integers(0, 0xFFFF),
                              "sourceEndpoint": st.integers(0, 255), "destinationEndpoint": st.integers(0, 255),
                              "options": st.integers(0, 0xFFFF), "groupId": st.integers(0, 0xFFFF),
                              "sequence": st.integers(0, 255)})


@given(st.integers(0, 255), _APS, st.integers(0, 0xFFF7), st.binary(max_size=100))
def test_incoming_messages_and_replies_round_trip(seq: int, aps: dict[str, Any], nwk: int, data: bytes):
    frame = ez.build("incomingMessageHandler", seq, 8, callback=True, type=0, apsFrame=aps, lastHopLqi=200,
                     lastHopRssi=-40, sender=nwk, bindingIndex=0xFF, addressIndex=0xFF, messageContents=data)
    parsed = ez.parse_response("incomingMessageHandler", frame)
    assert parsed["apsFrame"] == aps and parsed["messageContents"] == data and parsed["sender"] == nwk
    _, cmd, fields = ez.parse_command(ez.request("sendReply", seq, sender=nwk, apsFrame=aps, messageContents=data))
    assert cmd.name == "sendReply" and fields == {"sender": nwk, "apsFrame": aps, "messageContents": data}


# --- against bellows' own definitions (GPL, imported here only) ---------------------------------

def _fields(struct: Any) -> list[tuple[str, Any]]:
    return [(sub.name, sub) for sub in struct.subcons if sub.name and not sub.name.startswith("_")]


def _consumed_by_ours(sub: Any, sample: bytes) -> int:
    try:
        return int(sub.sizeof())
    except cs.SizeofError:
        return len(sub.build(sub.parse(sample)))


def _consumed_by_bellows(kind: Any, sample: bytes) -> int:
    _, rest = kind.deserialize(sample + b"\xaa" * 8)
    return len(sample) + 8 - len(rest)


def _check(ours: Any, theirs: dict[str, Any], what: str) -> None:
    fields = _fields(ours)
    assert [name for name, _ in fields] == list(theirs), f"{what}: field names differ"
    for name, sub in fields:
        kind = theirs[name]
        if isinstance(sub.subcon, cs.Array):
            assert "List" in kind.__name__, f"{what}.{name}: bellows has {kind.__name__}, not a list"
            continue
        sample = b"\x02\x07\x08"  # a length-prefixed field: 2 bytes follow
        with contextlib.suppress(cs.SizeofError):
            sample = bytes(int(sub.sizeof()))
        assert _consumed_by_ours(sub, sample) == _consumed_by_bellows(kind, sample), \
            f"{what}.{name}: {kind.__name__} is not as wide on the wire as ours"


def test_the_table_agrees_with_bellows_ezsp_v8():
    pytest.importorskip("bellows")
    from bellows.ezsp.v8 import EZSPv8

    for cmd in ez.TABLE:
        frame_id, tx, rx = EZSPv8.COMMANDS[cmd.name]
        assert frame_id == cmd.id, f"{cmd.name}: bellows says 0x{frame_id:04X}, the table 0x{cmd.id:04X}"
        if cmd.parameters is not None:
            _check(cmd.parameters, tx, f"{cmd.name} parameters")
        _check(cmd.response, rx, f"{cmd.name} response")
    assert ez.PROTOCOL_VERSION == EZSPv8.VERSION
