"""DLMS Data decoding names the element that is wrong (``dlms.data[0][1]``) and its offset, and the
encoder writes literal bytes: the fast paths (no name built per element, one buffer) keep both."""

from __future__ import annotations

import pytest

from emulator.gbcs import dlms
from emulator.gbcs.errors import DecodeError, TruncatedError


def test_a_truncated_element_deep_in_a_structure_is_named_with_its_path() -> None:
    # structure of 2: unsigned 5, structure of 2: long-unsigned 0x0102, double-long cut after 2 bytes
    data = bytes.fromhex("0202 1105 0202 120102 060000")
    with pytest.raises(TruncatedError) as e:
        dlms.decode_data(data, 0, "dlms.data[0]")
    assert e.value.field == "dlms.data[0][1][1]"
    assert e.value.offset == 9  # the double-long-unsigned tag
    assert "ends inside a double-long-unsigned" in str(e.value)


def test_an_unknown_tag_in_an_array_is_named() -> None:
    with pytest.raises(DecodeError) as e:
        dlms.decode_data(bytes.fromhex("0103 1101 1102 7F"), 0)
    assert (e.value.field, e.value.offset) == ("data[2]", 6)
    assert "unknown DLMS data tag 0x7F" in str(e.value)


def test_a_bad_length_inside_an_array_is_named() -> None:
    with pytest.raises(DecodeError) as e:
        dlms.decode_data(bytes.fromhex("0101 0980"), 0, "x")
    assert (e.value.field, e.value.offset) == ("x[0]", 3)


def test_nesting_beyond_sixteen_levels_is_refused_where_it_happens() -> None:
    data = bytes.fromhex("0201" * 18 + "00")
    with pytest.raises(DecodeError) as e:
        dlms.decode_data(data, 0)
    assert e.value.field == "data" + "[0]" * 17
    assert e.value.offset == 34


def test_encode_writes_the_literal_bytes() -> None:
    value = dlms.Data("structure", (
        dlms.Data("long-unsigned", 0x8F1C), dlms.Data("octet-string", bytes.fromhex("0A0B")),
        dlms.Data("array", (dlms.Data("double-long", -2), dlms.NULL, dlms.Data("visible-string", "AB"))),
        dlms.Data("bit-string", (12, bytes.fromhex("ABC0"))), dlms.Data("date-time", bytes(range(12)))))
    wire = bytes.fromhex("0205 128F1C 09020A0B 0103 05FFFFFFFE 00 0A024142 040CABC0 19" + bytes(range(12)).hex())
    assert dlms.encode_data(value) == wire
    assert dlms.decode_data(wire, 0) == (value, len(wire))


def test_long_lengths_take_the_two_byte_form_both_ways() -> None:
    # An octet-string of 200 bytes (81 C8) inside an array of 130 nulls' neighbour: 82 00 82 for 130.
    text = dlms.Data("octet-string", bytes(200))
    many = dlms.Data("array", (dlms.NULL,) * 130)
    wire = bytes.fromhex("0202 0981C8" + "00" * 200 + "018182" + "00" * 130)
    value = dlms.Data("structure", (text, many))
    assert dlms.encode_data(value) == wire
    assert dlms.decode_data(wire, 0) == (value, len(wire))


def test_a_one_byte_element_cut_at_the_end_is_named() -> None:
    with pytest.raises(TruncatedError) as e:
        dlms.decode_data(bytes.fromhex("0202 1101 16"), 0)
    assert (e.value.field, e.value.offset) == ("data[1]", 4)
    assert "ends inside an enum" in str(e.value)


def test_an_octet_string_past_the_end_is_named() -> None:
    with pytest.raises(TruncatedError) as e:
        dlms.decode_data(bytes.fromhex("0101 0903 0A0B"), 0)
    assert (e.value.field, e.value.offset) == ("data[0]", 4)


def test_data_is_immutable_and_compares_by_value() -> None:
    d = dlms.Data(type="unsigned", value=7)
    assert d == dlms.Data("unsigned", 7) and hash(d) == hash(dlms.Data("unsigned", 7))
    assert dlms.Data("null") == dlms.NULL and dlms.NULL.value is None
    with pytest.raises(AttributeError):
        d.value = 8  # type: ignore[misc]
