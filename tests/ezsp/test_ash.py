"""ASH, the serial link under EZSP (UG101): golden frames, stuffing, randomisation, the reader's
handling of Cancel/Substitute/flow-control bytes, round trips, fuzzing, and the link's ACK, NAK,
reject condition and retransmission on the injected clock."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.ezsp.ash import (
    MAX_DATA,
    MAX_RETRIES,
    PSEUDO_RANDOM,
    T_RX_ACK,
    AshFrame,
    AshNcp,
    AshReader,
    Kind,
    crc_ccitt,
    stuff,
    unstuff,
)
from emulator.ezsp.errors import AshFrameError

# UG101 (ASH protocol reference) worked examples, each ending in the Flag byte.
RST = bytes.fromhex("C038BC7E")
RSTACK_POWER_ON = bytes.fromhex("C102029B7B7E")  # version 2, reset code 2 (power on)
RSTACK_SOFTWARE = "C1020B"  # the reset code an RST causes (0x0B software), its CRC follows
ACK_1 = bytes.fromhex("8160597E")
NAK_6 = bytes.fromhex("A634DC7E")
# DATA frmNum 2, ackNum 5, carrying the EZSP "version" command 00 00 00 02, randomised.
DATA_VERSION = bytes.fromhex("254221A856A6097E")


def test_golden_frames_from_ug101():
    assert AshFrame(Kind.RST).encode() == RST
    assert AshFrame(Kind.RSTACK, data=bytes((2, 2))).encode() == RSTACK_POWER_ON
    assert AshFrame(Kind.ACK, ack_num=1).encode() == ACK_1
    assert AshFrame(Kind.NAK, ack_num=6).encode() == NAK_6
    assert AshFrame(Kind.DATA, 2, 5, data=bytes.fromhex("00000002")).encode() == DATA_VERSION
    assert AshFrame.decode(unstuff(DATA_VERSION[:-1])) == AshFrame(Kind.DATA, 2, 5, data=bytes.fromhex("00000002"))
    assert AshFrame.decode(unstuff(NAK_6[:-1])) == AshFrame(Kind.NAK, ack_num=6)


def test_randomisation_sequence_and_crc():
    # UG101 4.3: the LFSR starts 0x42 and runs 0x42 0x21 0xA8 0x54 0x2A 0x15 0xB2 0x59 ...
    assert PSEUDO_RANDOM[:8] == bytes.fromhex("4221A8542A15B259")
    assert crc_ccitt(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value


def test_reserved_bytes_are_stuffed():
    assert stuff(bytes((0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A, 0x42))) == bytes.fromhex("7D5E7D5D7D317D337D387D3A42")
    assert unstuff(bytes.fromhex("7D5E7D5D7D317D337D387D3A42")) == bytes((0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A, 0x42))
    with pytest.raises(AshFrameError, match="not a reserved byte"):
        unstuff(bytes.fromhex("7D41"))


def test_reader_honours_cancel_substitute_and_flow_control():
    reader = AshReader()
    # Cancel drops what came before it; XON/XOFF are not frame bytes; Substitute drops up to the next Flag.
    out = reader.feed(bytes.fromhex("DEAD1A") + bytes.fromhex("81116059") + b"\x7e" + bytes.fromhex("A618") + b"\x7e"
                      + NAK_6)
    assert out == [bytes.fromhex("816059"), bytes.fromhex("A634DC")]


def test_bad_frames_name_the_fault():
    with pytest.raises(AshFrameError, match="bad CRC"):
        AshFrame.decode(bytes.fromhex("816058"))
    with pytest.raises(AshFrameError, match="too short"):
        AshFrame.decode(b"\x81")
    with pytest.raises(AshFrameError, match="control byte 0xC5"):
        body = b"\xc5"
        AshFrame.decode(body + crc_ccitt(body).to_bytes(2, "big"))


@given(st.integers(0, 7), st.integers(0, 7), st.booleans(), st.binary(min_size=1, max_size=MAX_DATA))
def test_data_frames_round_trip(frm: int, ack: int, re_tx: bool, data: bytes):
    frame = AshFrame(Kind.DATA, frm, ack, re_tx, data=data)
    wire = frame.encode()
    assert wire.count(0x7E) == 1 and wire[-1] == 0x7E  # stuffing leaves one Flag: the last byte
    assert AshReader().feed(wire) == [unstuff(wire[:-1])]
    assert AshFrame.decode(unstuff(wire[:-1])) == frame


@given(st.binary(max_size=300))
def test_fuzz_decoder_raises_only_its_own_error(raw: bytes):
    with contextlib.suppress(AshFrameError):
        AshFrame.decode(raw)


@given(st.lists(st.binary(max_size=80), max_size=6))
def test_fuzz_link_takes_any_bytes(chunks: list[bytes]):
    link = AshNcp()
    link.receive(RST, 0.0)
    for chunk in chunks:
        out = link.receive(chunk, 0.0)
        assert isinstance(out.wire, bytearray)


def _host_data(frm: int, ack: int, data: bytes, re_tx: bool = False) -> bytes:
    return AshFrame(Kind.DATA, frm, ack, re_tx, data=data).encode()


def _frames(wire: bytes) -> list[AshFrame]:
    return [AshFrame.decode(raw) for raw in AshReader().feed(wire) if isinstance(raw, bytes)]


def test_link_resets_acknowledges_and_rejects_out_of_order_frames():
    link = AshNcp()
    before = link.receive(_host_data(0, 0, b"\x01\x00\x00\x04"), 0.0)
    assert not before.received and "before RST" in before.notes[0]
    out = link.receive(RST, 0.0)
    assert out.reset and bytes(out.wire).startswith(bytes.fromhex(RSTACK_SOFTWARE))
    out = link.receive(_host_data(0, 0, b"\x01\x00\x00\x04"), 0.1)
    assert out.received == [b"\x01\x00\x00\x04"] and _frames(out.wire) == [AshFrame(Kind.ACK, ack_num=1)]
    # Frame 2 where 1 was due: one NAK naming 1 (the reject condition), then silence until frame 1.
    out = link.receive(_host_data(2, 0, b"\x02"), 0.2)
    assert not out.received and _frames(out.wire) == [AshFrame(Kind.NAK, ack_num=1)]
    assert not link.receive(_host_data(3, 0, b"\x03"), 0.2).wire
    out = link.receive(_host_data(1, 0, b"\x04"), 0.3)
    assert out.received == [b"\x04"] and _frames(out.wire) == [AshFrame(Kind.ACK, ack_num=2)]
    # A retransmitted copy of frame 1 (its ACK was lost): acknowledged again, not delivered twice.
    out = link.receive(_host_data(1, 0, b"\x04", re_tx=True), 0.4)
    assert not out.received and _frames(out.wire) == [AshFrame(Kind.ACK, ack_num=2)]
    # A damaged DATA frame is NAKed too.
    damaged = bytearray(_host_data(2, 0, b"\x05"))
    damaged[1] ^= 0x01
    out = link.receive(bytes(damaged), 0.5)
    assert _frames(out.wire) == [AshFrame(Kind.NAK, ack_num=2)] and "bad CRC" in out.notes[0]


def test_link_retransmits_on_nak_and_on_timeout_then_gives_up():
    link = AshNcp()
    link.receive(RST, 0.0)
    out = link.send(b"\xaa\x80\x01\x00\x00", 1.0)
    assert _frames(out.wire) == [AshFrame(Kind.DATA, 0, 0, data=b"\xaa\x80\x01\x00\x00")]
    assert link.next_deadline() == 1.0 + T_RX_ACK and not link.tick(1.0 + T_RX_ACK / 2).wire
    # The host NAKs it: sent again at once with reTx set.
    out = link.receive(AshFrame(Kind.NAK, ack_num=0).encode(), 1.2)
    assert _frames(out.wire) == [AshFrame(Kind.DATA, 0, 0, True, data=b"\xaa\x80\x01\x00\x00")]
    # No ACK within t_rx_ack: sent again, up to MAX_RETRIES times in all, then given up, saying so.
    now = 1.2
    for _ in range(MAX_RETRIES - 1):
        now += T_RX_ACK + 0.01
        assert _frames(link.tick(now).wire)[0].re_tx
    now += T_RX_ACK + 0.01
    out = link.tick(now)
    assert not out.wire and "after 5 retries" in out.notes[0] and not link.unacked
    # An ACK clears what it covers; later frames are numbered on.
    link.send(b"\x01", now)
    link.send(b"\x02", now)
    assert [s.frm_num for s in link.unacked] == [1, 2]
    link.receive(AshFrame(Kind.ACK, ack_num=2).encode(), now)
    assert [s.frm_num for s in link.unacked] == [2]
    link.receive(_host_data(0, 3, b"\x09"), now)  # a DATA frame's ackNum acknowledges too
    assert not link.unacked
