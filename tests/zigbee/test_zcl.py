"""ZCL header, frame control bitfield, the command codec and the registry (ZCL r8 2.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import zcl
from emulator.zigbee.clusters import ota, tunneling
from emulator.zigbee.errors import UnknownCommandError, ZclDecodeError, ZigbeeEncodeError, ZigbeeError
from emulator.zigbee.types import rest_of_frame, sized_octets, uint8, uint16_le
from emulator.zigbee.zcl import Direction, FrameType, ZclFrameControl, ZclHeader
from tests.zigbee.strategies import frame_controls, zcl_headers


@pytest.mark.parametrize(("byte", "fc"), [
    (0x01, ZclFrameControl(FrameType.CLUSTER_SPECIFIC)),
    (0x19, ZclFrameControl(FrameType.CLUSTER_SPECIFIC, False, Direction.SERVER_TO_CLIENT, True)),
    (0x18, ZclFrameControl(FrameType.GLOBAL, False, Direction.SERVER_TO_CLIENT, True)),
    (0x05, ZclFrameControl(FrameType.CLUSTER_SPECIFIC, True)),
    (0xE0, ZclFrameControl(FrameType.GLOBAL, reserved=0b111)),
])
def test_frame_control_bits(byte: int, fc: ZclFrameControl):
    assert fc.to_int() == byte and ZclFrameControl.from_int(byte) == fc


@given(frame_controls)
def test_frame_control_round_trip(fc: ZclFrameControl) -> None:
    assert ZclFrameControl.from_int(fc.to_int()) == fc


@pytest.mark.parametrize("byte", [0x02, 0x03, 0xFF])
def test_reserved_frame_types_are_malformed(byte: int):
    with pytest.raises(ZclDecodeError, match="reserved ZCL frame type") as e:
        ZclHeader.decode(bytes((byte, 0, 0)))
    assert e.value.status == 0x80 and e.value.offset == 0


def test_header_golden_vectors():
    plain = ZclHeader(0x19, 0x2A, 0x01)
    assert plain.encode() == bytes.fromhex("192A01")
    assert plain.cluster_specific and plain.direction is Direction.SERVER_TO_CLIENT and plain.disable_default_response
    assert ZclHeader.decode(bytes.fromhex("192A01FFEE")) == (plain, b"\xff\xee")
    mfr = ZclHeader(0x05, 0x07, 0x10, 0x1234)
    assert mfr.encode() == bytes.fromhex("05341207 10".replace(" ", ""))
    assert ZclHeader.decode(mfr.encode()) == (mfr, b"")


@given(zcl_headers(), st.binary(max_size=8))
def test_header_round_trip(header: ZclHeader, rest: bytes) -> None:
    assert ZclHeader.decode(header.encode() + rest) == (header, rest)


def test_header_refuses_inconsistent_manufacturer_code():
    with pytest.raises(ZigbeeEncodeError, match="manufacturer_code"):
        ZclHeader(0x05, 1, 1)
    with pytest.raises(ZigbeeEncodeError, match="manufacturer_code"):
        ZclHeader(0x01, 1, 1, 0x1234)
    with pytest.raises(ZigbeeEncodeError, match="8-bit"):
        ZclHeader(0x01, 256, 1)


@pytest.mark.parametrize(("data", "field", "offset"), [
    (b"", "zcl.frame_control", 0), (b"\x01\x00", "zcl.command_id", 2), (b"\x05\x34", "zcl.manufacturer_code", 1),
])
def test_short_headers_name_field_and_offset(data: bytes, field: str, offset: int):
    with pytest.raises(ZclDecodeError) as e:
        ZclHeader.decode(data)
    assert (e.value.field, e.value.offset) == (field, offset)


def test_default_response_golden():
    request = ZclHeader(0x01, 0x2A, 0x02)  # client-to-server Transfer Data, default response enabled
    assert zcl.default_response(request) == bytes.fromhex("182A0B0200")
    mfr_request = ZclHeader(0x1D, 0x03, 0x05, 0x1234)
    assert zcl.default_response(mfr_request, 0x81) == bytes.fromhex("14341203 0B0581".replace(" ", ""))


def test_encode_sets_header_options():
    cmd = tunneling.CloseTunnel(7)
    assert cmd.encode(9) == bytes.fromhex("1109010700")
    assert cmd.encode(9, disable_default_response=False) == bytes.fromhex("0109010700")
    assert cmd.encode(9, manufacturer_code=0x1234) == bytes.fromhex("153412090107 00".replace(" ", ""))


def test_decode_command_dispatches_by_cluster_direction_and_id():
    # Command id 0x01 is Close Tunnel client-to-server but Transfer Data server-to-client.
    assert zcl.decode_command(0x0704, bytes.fromhex("1101010700"))[1] == tunneling.CloseTunnel(7)
    assert zcl.decode_command(0x0704, bytes.fromhex("190101070041"))[1] == tunneling.TransferDataServer(7, b"A")


def test_unknown_and_foundation_commands_come_back_raw():
    header, raw = zcl.decode_command(0x0704, bytes.fromhex("1101 7F AABB".replace(" ", "")))
    assert raw == b"\xaa\xbb" and header.command_id == 0x7F
    _, raw = zcl.decode_command(0x0704, bytes.fromhex("18010B0200"))  # Default Response (global)
    assert raw == b"\x02\x00"
    # Manufacturer-specific command ids are another numbering: not looked up in the table.
    _, raw = zcl.decode_command(0x0704, bytes.fromhex("1534120101 0700".replace(" ", "")))
    assert raw == b"\x07\x00"
    _, raw = zcl.decode_command(0x0B04, bytes.fromhex("11010101"))  # a cluster with no table
    assert raw == b"\x01"


def test_strict_mode_refuses_unknown_commands():
    with pytest.raises(UnknownCommandError) as e:
        zcl.decode_command(0x0704, bytes.fromhex("11017F"), strict=True)
    assert e.value.status == 0x81 and e.value.offset == 2 and e.value.field == "zcl.command_id"


def test_payload_errors_carry_frame_offsets():
    with pytest.raises(ZclDecodeError) as e:
        zcl.decode_command(0x0704, bytes.fromhex("11010107"))  # Close Tunnel cut inside tunnel_id
    assert (e.value.field, e.value.offset) == ("tunnel_id", 3)
    with pytest.raises(ZclDecodeError) as e:
        zcl.decode_command(0x0704, bytes.fromhex("1101010700FF"))  # one byte too many
    assert (e.value.field, e.value.offset) == ("end", 5)
    with pytest.raises(ZclDecodeError, match="boolean 0x02") as e:
        zcl.decode_command(0x0704, bytes.fromhex("110100 06 FFFF 02 DC05".replace(" ", "")))
    assert (e.value.field, e.value.offset) == ("flow_control_support", 6)


def test_fields_left_off_the_wire_must_hold_their_defaults():
    with pytest.raises(ZigbeeEncodeError, match="hardware_version"):
        ota.QueryNextImage(0, 0x1234, 1, 5, hardware_version=0x0101).encode_payload()
    with pytest.raises(ZigbeeEncodeError, match="manufacturer_code"):
        ota.QueryNextImageResponse(ota.NO_IMAGE_AVAILABLE, manufacturer_code=0x1234).encode(0)
    with pytest.raises(ZigbeeEncodeError, match="tunnel_id"):
        tunneling.CloseTunnel(0x10000).encode(0)


def test_registry_rejects_duplicates_and_schema_mismatches():
    @dataclass(frozen=True, slots=True)
    class Clash(zcl.ZclCommand):
        CLUSTER = tunneling.CLUSTER_ID
        COMMAND_ID = 0x00
        DIRECTION = Direction.CLIENT_TO_SERVER
        x: Annotated[int, uint8]

    with pytest.raises(TypeError, match="duplicate ZCL command"):
        zcl.register(Clash)

    @dataclass(frozen=True, slots=True)
    class Untyped(zcl.ZclCommand):
        CLUSTER = 0xFC00
        COMMAND_ID = 0x00
        DIRECTION = Direction.CLIENT_TO_SERVER
        x: int

    with pytest.raises(TypeError, match=r"Untyped\.x: annotate the field with its one wire type"):
        zcl.register(Untyped)

    @dataclass(frozen=True, slots=True)
    class Typo(zcl.ZclCommand):  # the older spelling, a SCHEMA beside the fields, is still checked
        CLUSTER = 0xFC00
        COMMAND_ID = 0x00
        DIRECTION = Direction.CLIENT_TO_SERVER
        SCHEMA = (zcl.Field("y", uint8),)
        x: int

    with pytest.raises(TypeError, match="SCHEMA"):
        zcl.register(Typo)

    @dataclass(frozen=True, slots=True)
    class NoDefault(zcl.ZclCommand):
        CLUSTER = 0xFC00
        COMMAND_ID = 0x00
        DIRECTION = Direction.CLIENT_TO_SERVER
        flag: Annotated[int, uint8]
        extra: Annotated[int, uint8, zcl.When(lambda v: bool(v["flag"]))]

    with pytest.raises(TypeError, match="needs a default"):
        zcl.register(NoDefault)
    assert zcl.lookup(0xFC00, 0, 0) is None


def test_a_command_declared_once_gets_its_schema_from_its_annotations():
    assert [(row.name, row.type, row.present_if is not None) for row in tunneling.TransferDataServer.SCHEMA] == [
        ("tunnel_id", uint16_le, False), ("data", rest_of_frame, False)]
    rows = {row.name: row for row in ota.ImageBlockResponse.SCHEMA}
    assert rows["data"].type is sized_octets and rows["data"].present_if is not None
    assert rows["data"].present_if({"status": ota.SUCCESS}) and not rows["data"].present_if({"status": ota.ABORT})


@given(st.sampled_from([0x0019, 0x0704, 0x0702]), st.binary(max_size=80), st.booleans())
def test_fuzz_decode_command_raises_only_zigbee_errors(cluster: int, data: bytes, strict: bool) -> None:
    try:
        header, command = zcl.decode_command(cluster, data, strict=strict)
    except ZigbeeError:
        return
    if isinstance(command, zcl.ZclCommand):
        # Whatever decodes re-encodes to the same bytes.
        assert header.encode() + command.encode_payload() == data
