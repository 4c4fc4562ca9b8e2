"""The EUI-64 type: one value from bytes or hex, the canonical upper-hex text, a dict key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee.eui64 import Eui64, Eui64Error


def test_from_bytes_and_from_hex_are_the_same_key():
    a = Eui64(bytes([0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x90, 0xA2]))
    b = Eui64.from_hex("00db1234567890a2")
    c = Eui64.from_hex("00-DB-12-34-56-78-90-A2")  # as a DUIS RequestID writes it
    assert a == b == c and len({a, b, c}) == 1
    assert {a: "meter"}[b] == "meter"
    assert str(a) == "00DB1234567890A2"
    assert bytes(a) == b"\x00\xdb\x12\x34\x56\x78\x90\xa2"
    assert repr(a) == "Eui64('00DB1234567890A2')"


def test_an_eui_is_not_its_bytes_or_its_text():
    eui = Eui64.from_hex("00DB1234567890A2")
    assert eui != "00DB1234567890A2" and eui != bytes.fromhex("00DB1234567890A2")


@pytest.mark.parametrize("bad", ["", "00DB1234567890A", "00DB1234567890A2FF", "00DB1234567890AG", "0x00DB12345678"])
def test_bad_text_names_what_it_was(bad: str):
    with pytest.raises(Eui64Error, match="16 hex digits") as e:
        Eui64.from_hex(bad)
    assert repr(bad) in str(e.value)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 7, b"\x00" * 9])
def test_bad_bytes_name_the_size(bad: bytes):
    with pytest.raises(Eui64Error, match="8 bytes"):
        Eui64(bad)


@given(st.binary(min_size=8, max_size=8))
def test_text_round_trip(raw: bytes):
    eui = Eui64(raw)
    assert Eui64.from_hex(str(eui)) == eui and Eui64.from_hex(str(eui).lower()) == eui
    assert len(str(eui)) == 16 and str(eui) == str(eui).upper()


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8))
def test_order_is_the_byte_order(a: bytes, b: bytes):
    assert (Eui64(a) < Eui64(b)) == (a < b)
