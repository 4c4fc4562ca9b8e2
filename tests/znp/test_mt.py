"""MT framing of the fake Z-Stack: golden frames, noise and bad checksums, round trips, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee.fields import Fields
from emulator.znp import commands as mt
from emulator.znp.errors import MtCommandError, MtFrameError, UnknownCommand
from emulator.znp.mt import MAX_DATA, FrameReader, MtFrame, MtType, Subsystem

# TI's MT interface guide: SYS_PING is FE 00 21 01 20; its SRSP carries the capabilities.
PING = bytes.fromhex("FE00210120")


def test_golden_frames():
    assert mt.request("SYS.Ping").encode() == PING
    assert MtFrame.decode(PING) == MtFrame(MtType.SREQ, Subsystem.SYS, 0x01)
    rsp = mt.response("SYS.Ping", Capabilities=0x055F)
    assert rsp.encode() == bytes.fromhex("FE0261015F0538")
    reset = mt.callback("SYS.ResetInd", Reason=1, TransportRev=2, ProductId=1, MajorRel=2, MinorRel=7, MaintRel=1)
    assert reset.encode()[:4] == bytes.fromhex("FE064180") and reset.data == bytes.fromhex("010201020701")
    # EUI-64s are little-endian on the wire, big-endian in the project.
    tc = mt.callback("ZDO.TCDevInd", SrcNwk=0x1234, SrcIEEE=bytes.fromhex("00DB1234567890A0"), ParentNwk=0)
    assert tc.data == bytes.fromhex("3412" "A09078563412DB00" "0000")


def test_reader_skips_noise_and_bad_checksums_and_keeps_partial_frames():
    reader = FrameReader()
    bad = bytearray(PING)
    bad[-1] ^= 0xFF
    frames = reader.feed(b"\xef\xef\x00" + bytes(bad) + PING + PING[:3])
    assert frames == [MtFrame(MtType.SREQ, Subsystem.SYS, 0x01)]
    assert reader.skipped >= 3 and any("bad FCS" in e for e in reader.errors)
    assert reader.pending == 3
    assert reader.feed(PING[3:]) == [MtFrame(MtType.SREQ, Subsystem.SYS, 0x01)]


def test_too_long_frames_are_refused_both_ways():
    with pytest.raises(MtFrameError, match="at most 250"):
        MtFrame(MtType.AREQ, Subsystem.AF, 0x81, bytes(MAX_DATA + 1)).encode()
    reader = FrameReader()
    assert reader.feed(bytes((0xFE, 251, 0x21, 0x01)) + bytes(260)) == []
    assert any("exceeds 250" in e for e in reader.errors)


def test_requests_name_the_command_and_the_fault():
    with pytest.raises(UnknownCommand, match="0x21 0x7F"):
        mt.parse_request(MtFrame(MtType.SREQ, Subsystem.SYS, 0x7F))
    with pytest.raises(MtCommandError, match=r"SYS\.OSALNVLength"):
        mt.parse_request(MtFrame(MtType.SREQ, Subsystem.SYS, 0x13, b"\x01"))  # Id is a u16
    with pytest.raises(MtCommandError, match="trailing"):
        mt.parse_request(MtFrame(MtType.SREQ, Subsystem.SYS, 0x13, b"\x01\x00\x00"))


@given(st.sampled_from(list(MtType)[1:]), st.integers(0, 31), st.integers(0, 255), st.binary(max_size=MAX_DATA))
def test_frames_round_trip(kind: MtType, subsystem: int, command: int, data: bytes):
    frame = MtFrame(kind, subsystem, command, data)
    assert MtFrame.decode(frame.encode()) == frame


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_reader_never_raises_and_always_resynchronises(chunks: list[bytes]):
    reader = FrameReader()
    for chunk in chunks:
        reader.feed(chunk)
    reader.buffer.clear()
    assert reader.feed(PING) == [MtFrame(MtType.SREQ, Subsystem.SYS, 0x01)]


@given(st.sampled_from([c for c in mt.TABLE if c.request is not None]), st.binary(max_size=60))
def test_request_parsing_fuzz(cmd: mt.Command, data: bytes):
    frame = MtFrame(MtType.SREQ, int(cmd.subsystem), cmd.id, data)
    try:
        name, fields = mt.parse_request(frame)
    except MtCommandError as e:
        assert cmd.name in str(e)
        return
    assert name is cmd and isinstance(fields, Fields) and fields.command == cmd.name
