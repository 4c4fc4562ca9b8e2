"""IEEE 802.15.4 MAC, Zigbee NWK and APS headers: golden bytes from the spec bit layouts,
round trips, refusals and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import aps, mac
from emulator.zigbee.errors import FrameDecodeError, ZigbeeEncodeError, ZigbeeError
from tests.zigbee.strategies import aps_headers, mac_headers, nwk_headers

EUI = bytes.fromhex("00DB1234567890A0")
EUI_LE = "A09078563412DB00"


# --- MAC ----------------------------------------------------------------------------------

def test_mac_golden_short_addresses_pan_compressed():
    # FCF 0x8861: data, ack request, PAN ID compression, short destination and source.
    header = mac.MacHeader(0x2A, 0x1A62, 0x0000, None, 0x1001, ack_request=True)
    assert header.frame_control.to_int() == 0x8861
    assert header.encode() == bytes.fromhex("61882A621A00000110")
    assert mac.MacHeader.decode(bytes.fromhex("61882A621A00000110") + b"Z") == (header, b"Z")


def test_mac_golden_extended_source_broadcast():
    # FCF 0xC801: data, short broadcast destination, extended source with its own PAN.
    header = mac.MacHeader(7, 0xFFFF, 0xFFFF, 0x1A62, EUI)
    assert header.encode() == bytes.fromhex("01C807FFFFFFFF621A" + EUI_LE)
    assert mac.MacHeader.decode(header.encode()) == (header, b"")


@given(mac_headers(), st.binary(max_size=4))
def test_mac_round_trip(header: mac.MacHeader, rest: bytes) -> None:
    assert mac.MacHeader.decode(header.encode() + rest) == (header, rest)
    assert mac.MacFrameControl.from_int(header.frame_control.to_int()) == header.frame_control


@pytest.mark.parametrize(("fcf", "field"), [
    (0x8860, "mac.frame_type"),  # beacon
    (0x8869, "mac.security_enabled"),
    (0x88E1, "mac.frame_control"),  # reserved bit 7
    (0x8461, "mac.dst_addr_mode"),  # addressing mode 1
    (0xA861, "mac.frame_version"),  # 802.15.4-2015 frames
    (0x0841, "mac.frame_control"),  # PAN ID compression without a source address
    (0x8867, "mac.frame_type"),  # reserved frame type 7
])
def test_mac_refusals_name_the_field(fcf: int, field: str):
    with pytest.raises(FrameDecodeError) as e:
        mac.MacHeader.decode(fcf.to_bytes(2, "little") + bytes(20))
    assert e.value.field == field and e.value.offset == 0


def test_mac_header_refuses_inconsistent_fields():
    with pytest.raises(ZigbeeEncodeError):
        mac.MacHeader(0, None, 0x0001, None, None)  # address without PAN
    with pytest.raises(ZigbeeEncodeError):
        mac.MacHeader(0, None, None, None, 0x0001)  # compression needs both addresses
    with pytest.raises(ZigbeeEncodeError):
        mac.MacHeader(0, 1, b"\x01", None, None).encode()  # not an EUI-64


def test_fcs():
    body = bytes.fromhex("61882A621A00000110")
    framed = mac.with_fcs(body)
    assert mac.strip_fcs(framed) == body
    assert mac.with_fcs(b"123456789")[-2:] == bytes.fromhex("8921")  # KERMIT check value, LE
    with pytest.raises(FrameDecodeError, match="FCS") as e:
        mac.strip_fcs(framed[:-1] + bytes((framed[-1] ^ 1,)))
    assert e.value.offset == len(body)
    with pytest.raises(FrameDecodeError):
        mac.strip_fcs(b"\x00")


# --- NWK ----------------------------------------------------------------------------------

def test_nwk_golden():
    # FC 0x0008: data frame, protocol version 2, route discovery suppressed.
    plain = aps.NwkHeader(0x0000, 0x1001, 30, 5)
    assert plain.encode() == bytes.fromhex("0800000001101E05")
    # FC 0x1048: + discover route, + extended source.
    ext = aps.NwkHeader(0x0000, 0x1001, 30, 5, discover_route=aps.DiscoverRoute.ENABLE, src_ieee=EUI)
    assert ext.frame_control.to_int() == 0x1048
    assert ext.encode() == bytes.fromhex("4810000001101E05" + EUI_LE)
    # FC 0x0408: source route with two relays, next relay index 1.
    routed = aps.NwkHeader(0x2000, 0x0000, 30, 6, source_route=aps.SourceRoute(1, (0x1111, 0x2222)))
    assert routed.encode() == bytes.fromhex("0804002000001E06" + "0201" + "11112222")
    for header in (plain, ext, routed):
        assert aps.NwkHeader.decode(header.encode()) == (header, b"")


@given(nwk_headers, st.binary(max_size=4))
def test_nwk_round_trip(header: aps.NwkHeader, rest: bytes) -> None:
    assert aps.NwkHeader.decode(header.encode() + rest) == (header, rest)


@pytest.mark.parametrize(("fc", "field"), [(0x000B, "nwk.frame_type"), (0x0088, "nwk.discover_route"),
                                           (0x4008, "nwk.frame_control")])
def test_nwk_refusals(fc: int, field: str):
    with pytest.raises(FrameDecodeError) as e:
        aps.NwkHeader.decode(fc.to_bytes(2, "little") + bytes(30))
    assert e.value.field == field


def test_nwk_truncated_ieee_names_field_and_offset():
    with pytest.raises(FrameDecodeError) as e:
        aps.NwkHeader.decode(bytes.fromhex("0810000001101E05A090"))
    assert (e.value.field, e.value.offset) == ("nwk.src_ieee", 8)


# --- APS ----------------------------------------------------------------------------------

def test_aps_golden():
    unicast = aps.ApsHeader(1, 0x0704, aps.PROFILE_SMART_ENERGY, 1, 0x2A)
    assert unicast.encode() == bytes.fromhex("00010407090101 2A".replace(" ", ""))
    assert not unicast.frame_control.security
    group = aps.ApsHeader(None, 0x0019, 0x0109, 2, 3, aps.ApsDeliveryMode.GROUP, 0x1234)
    assert group.encode() == bytes.fromhex("0C3412190009010203")
    first = aps.ApsHeader(1, 0x0704, 0x0109, 1, 9, ack_request=True, fragmentation=aps.Fragmentation.FIRST_BLOCK,
                          block_number=3)
    assert first.encode() == bytes.fromhex("C0010407090101090103")
    for header in (unicast, group, first):
        assert aps.ApsHeader.decode(header.encode() + b"zcl") == (header, b"zcl")


@given(aps_headers(), st.binary(max_size=4))
def test_aps_round_trip(header: aps.ApsHeader, rest: bytes) -> None:
    assert aps.ApsHeader.decode(header.encode() + rest) == (header, rest)
    assert aps.ApsFrameControl.from_int(header.frame_control.to_int()) == header.frame_control


@pytest.mark.parametrize(("data", "field"), [
    ("01", "aps.frame_type"),  # APS command frame
    ("04", "aps.delivery_mode"),  # reserved (indirect) delivery
    ("10", "aps.ack_format"),
    ("80010407090101 2A 03".replace(" ", ""), "aps.extended_frame_control"),
    ("80010407090101 2A 04".replace(" ", ""), "aps.extended_frame_control"),
    ("000104070901", "aps.src_endpoint"),
])
def test_aps_refusals(data: str, field: str):
    with pytest.raises(FrameDecodeError) as e:
        aps.ApsHeader.decode(bytes.fromhex(data))
    assert e.value.field == field


def test_aps_header_refuses_inconsistent_fields():
    with pytest.raises(ZigbeeEncodeError):
        aps.ApsHeader(1, 0x0704, 0x0109, 1, 0, aps.ApsDeliveryMode.GROUP, 0x1234)
    with pytest.raises(ZigbeeEncodeError):
        aps.ApsHeader(None, 0x0704, 0x0109, 1, 0)
    with pytest.raises(ZigbeeEncodeError):
        aps.ApsHeader(1, 0x0704, 0x0109, 1, 0, block_number=2)


@given(st.binary(max_size=40))
def test_fuzz_headers_raise_only_zigbee_errors(data: bytes) -> None:
    for decode in (mac.MacHeader.decode, aps.NwkHeader.decode, aps.ApsHeader.decode):
        try:
            header, rest = decode(data)
        except ZigbeeError:
            continue
        assert header.encode() + rest == data  # what parses re-encodes to the same bytes
