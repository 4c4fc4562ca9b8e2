"""Property tests and fuzzing of the envelope codec."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import frames
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import FrameError
from emulator.gbcs.frames import Cra, Message, OtherInfo

eui = st.binary(min_size=8, max_size=8)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
datetimes = st.builds(DlmsDateTime, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255),
                      st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                      st.integers(0, 255), st.integers(-0x8000, 0x7FFF), st.integers(0, 255))


@st.composite
def other_infos(draw: st.DrawFn, code: int) -> OtherInfo | None:
    kind = draw(st.sampled_from(["none", "srp", "srp+c", "srp+c+c", "cert"]))
    if kind == "none":
        return None
    if kind == "cert":
        return OtherInfo(code, certificate=draw(st.binary(min_size=25, max_size=400)))
    srp = draw(eui)
    c1 = draw(u64) if kind != "srp" else None
    c2 = draw(u64) if kind == "srp+c+c" else None
    return OtherInfo(code, srp, c1, c2)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    code = draw(st.integers(0, 0xFFFF))
    form = draw(st.sampled_from(["mac", "signed", "bare", "precommand", "mac+signed"]))
    return Message(
        cra=draw(st.sampled_from(list(Cra))), counter=draw(u64), originator=draw(eui), target=draw(eui),
        message_code=code, payload=draw(st.binary(max_size=600)),
        date_time=draw(st.none() | datetimes), other_info=draw(other_infos(code)),
        signature=draw(st.binary(min_size=64, max_size=64)) if "signed" in form else None,
        precommand=form == "precommand",
        mac=draw(st.binary(min_size=12, max_size=12)) if "mac" in form else None,
        mac_protected="mac" in form,
    )


@given(messages())
def test_dv2_encode_decode_is_identity_for_every_form(msg: Message) -> None:
    wire = frames.encode(msg)
    back = frames.decode(wire)
    assert back == msg
    assert frames.encode(back) == wire
    assert back.signed_block == frames.encode_general_signing(msg)


@given(st.binary(max_size=300))
def test_fuzz_random_bytes_raise_only_frame_errors(data: bytes) -> None:
    try:
        frames.decode(data)
    except FrameError as e:
        assert e.field, "a decode error names its field"


@given(messages(), st.data())
def test_fuzz_mutated_messages_raise_only_frame_errors(msg: Message, data: st.DataObject) -> None:
    wire = bytearray(frames.encode(msg))
    action = data.draw(st.sampled_from(["flip", "truncate", "extend", "insert"]))
    i = data.draw(st.integers(0, len(wire) - 1))
    if action == "flip":
        wire[i] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        del wire[i:]
    elif action == "extend":
        wire += data.draw(st.binary(min_size=1, max_size=8))
    else:
        wire.insert(i, data.draw(st.integers(0, 255)))
    try:
        decoded = frames.decode(bytes(wire))
    except FrameError as e:
        assert e.offset is None or 0 <= e.offset <= len(wire)
    else:
        assert frames.encode(decoded) == bytes(wire)  # whatever parses re-encodes exactly


def test_errors_name_field_and_offset() -> None:
    good = frames.encode(Message(Cra.COMMAND, 1, b"\x01" * 8, b"\x02" * 8, 0x59, b"\xaa", signature=None))
    bad = bytearray(good)
    bad[2] = 0x07
    try:
        frames.decode(bytes(bad))
    except FrameError as e:
        assert e.field == "cra" and e.offset == 2
        assert "CRA" in str(e)
    else:
        raise AssertionError("bad CRA accepted")
    try:
        frames.decode(good[:-3])
    except FrameError as e:
        assert e.field == "payload"
    else:
        raise AssertionError("truncated message accepted")


def test_a_length_not_in_its_shortest_form_is_refused_by_name() -> None:
    """81 0A means 10 as 0A does: accepting both would let one message have two encodings (and a
    MAC computed over one of them); the fuzzer found the envelope accepting it."""
    good = frames.encode(Message(Cra.COMMAND, 1, b"\x01" * 8, b"\x02" * 8, 0x59, b"\xaa", signature=None))
    i = good.index(bytes.fromhex("020059"))  # the other-info length (2) and the message code 0x0059
    bad = good[:i] + b"\x81" + good[i:]
    with pytest.raises(FrameError, match="shortest form"):
        frames.decode(bad)
