"""The typed parameters of a radio command (emulator/zigbee/fields.py): read with the kind a handler
expects, refused by name when the kind is wrong, built back as construct takes them."""

from __future__ import annotations

import construct as cs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee.fields import Fields, from_construct, to_construct

# A struct with each kind the EZSP and MT tables use: integers, a flag, bytes, an array, a sub-struct.
APS = cs.Struct("profileId" / cs.Int16ul, "clusterId" / cs.Int16ul)
SAMPLE = cs.Struct("index" / cs.Int8ul, "joining" / cs.Flag, "eui" / cs.Bytes(8),
                   "clusters" / cs.PrefixedArray(cs.Int8ul, cs.Int16ul), "aps" / APS)
WIRE = bytes.fromhex("07" "01" "0102030405060708" "02" "0600" "0207" "0401" "0207")


def test_parsed_fields_read_with_their_kind():
    f = from_construct("sample", SAMPLE.parse(WIRE))
    assert f.command == "sample"
    assert f.integer("index") == 7
    assert f.flag("joining") is True
    assert f.octets("eui") == bytes.fromhex("0102030405060708")
    assert f.integers("clusters") == [0x0006, 0x0702]
    aps = f.struct("aps")
    assert (aps.integer("profileId"), aps.integer("clusterId")) == (0x0104, 0x0702)
    assert aps.command == "sample.aps"
    assert sorted(f) == ["aps", "clusters", "eui", "index", "joining"]  # construct's _io is left out


def test_a_field_read_as_the_wrong_kind_is_refused_naming_command_and_field():
    f = from_construct("sample", SAMPLE.parse(WIRE))
    with pytest.raises(TypeError, match=r"sample field 'eui' is bytes, not an integer"):
        f.integer("eui")
    with pytest.raises(TypeError, match=r"sample field 'index' is int, not a flag"):
        f.flag("index")
    with pytest.raises(TypeError, match=r"sample field 'aps' is Fields, not bytes"):
        f.octets("aps")
    with pytest.raises(TypeError, match=r"'index' is int, not a struct"):
        f.struct("index")
    with pytest.raises(TypeError, match=r"'eui' is bytes, not an array of integers"):
        f.integers("eui")
    with pytest.raises(KeyError, match=r"sample has no field 'missing'"):
        f.integer("missing")


def test_an_absent_optional_integer_reads_as_its_default():
    f = Fields("AF.DataRequest", {"TSN": 3})
    assert f.integer("DataLength", 0) == 0
    assert f.integer("TSN", 0) == 3


def test_fields_build_back_through_construct():
    f = from_construct("sample", SAMPLE.parse(WIRE))
    assert SAMPLE.build(to_construct(f)) == WIRE
    assert to_construct(f) == {"index": 7, "joining": True, "eui": bytes.fromhex("0102030405060708"),
                               "clusters": [6, 0x0702], "aps": {"profileId": 0x0104, "clusterId": 0x0702}}


@given(st.integers(0, 255), st.booleans(), st.binary(min_size=8, max_size=8),
       st.lists(st.integers(0, 0xFFFF), max_size=5), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_round_trip(index: int, joining: bool, eui: bytes, clusters: list[int], profile: int, cluster: int):
    value = {"index": index, "joining": joining, "eui": eui, "clusters": clusters,
             "aps": {"profileId": profile, "clusterId": cluster}}
    wire = SAMPLE.build(value)
    f = from_construct("sample", SAMPLE.parse(wire))
    assert f == value
    assert SAMPLE.build(to_construct(f)) == wire


def test_a_value_no_radio_command_holds_is_refused():
    with pytest.raises(TypeError, match=r"sample.when: construct gave a object"):
        from_construct("sample", {"when": object()})
    with pytest.raises(TypeError, match=r"sample parsed to int, not a struct"):
        from_construct("sample", 3)
