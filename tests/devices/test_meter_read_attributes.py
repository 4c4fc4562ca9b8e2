"""A joining meter answers the coordinator's ZCL reads: Basic (make, model, power source) and the
OTA client (upgrade server, offset, firmware version, status); cross-checked with zigpy's parser."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.esme import Esme
from emulator.devices.firmware import Download, HeldImage
from emulator.devices.gsme import Gsme
from emulator.devices.meter import Meter
from emulator.devices.profile import MeterProfile
from emulator.gbcs.identities import CHF, ESME, GSME
from emulator.gbcs.keys import KeyStore
from emulator.zigbee import zcl
from emulator.zigbee.packet import CLUSTER_OTA, CLUSTER_TUNNELING, HanPacket
from emulator.zigbee.zcl import DataType, ReadAttributeRecord
from emulator.zigbee.zdo import CLUSTER_BASIC, CLUSTER_METERING, LogicalType

NOW = 1767225600.0
VERSION = 0x0123ABCD  # MeterProfile's default firmware version


def _esme() -> Esme:
    return Esme(ESME, GbcsEndpoint(ESME, KeyStore()), CHF, MeterProfile(), NOW)


def _gsme() -> Gsme:
    return Gsme(GSME, GbcsEndpoint(GSME, KeyStore()), CHF, MeterProfile(image_type=2), NOW)


def _read(meter: Meter, cluster: int, attributes: list[int], *, fc: int = 0x00, tsn: int = 0x42,
          mfr: bytes = b"") -> HanPacket:
    payload = bytes((fc,)) + mfr + bytes((tsn, zcl.READ_ATTRIBUTES)) + b"".join(a.to_bytes(2, "little")
                                                                              for a in attributes)
    request = HanPacket(CHF, meter.eui, cluster, payload, src_ep=1, dst_ep=1, src_nwk=0x0000, dst_nwk=0x1A2B)
    out = meter.on_packet(request, NOW)
    assert not out.events and not out.wan and len(out.han) == 1
    reply = out.han[0]
    assert (reply.src, reply.dst, reply.cluster, reply.profile) == (meter.eui, CHF, cluster, request.profile)
    assert (reply.src_ep, reply.dst_ep, reply.dst_nwk) == (1, 1, 0x0000)
    return reply


def _records(reply: HanPacket) -> tuple[zcl.ZclHeader, dict[int, ReadAttributeRecord]]:
    header, payload = zcl.ZclHeader.decode(reply.payload)
    assert not header.cluster_specific and header.command_id == zcl.READ_ATTRIBUTES_RESPONSE
    assert header.disable_default_response and header.sequence == 0x42
    return header, {r.attribute_id: r for r in zcl.decode_read_attributes_response(payload)}


BASIC = [0x0004, 0x0005, 0x0000, 0x0007, 0x0099]
OTA = [0x0000, 0x0001, 0x0002, 0x0006, 0x0003]


@pytest.mark.parametrize(("make", "model", "power"), [(_esme, "ESME", 1), (_gsme, "GSME", 3)])
def test_basic_cluster_read(make: Any, model: str, power: int):
    reply = _read(make(), CLUSTER_BASIC, BASIC)
    header, records = _records(reply)
    assert header.direction is zcl.Direction.SERVER_TO_CLIENT  # asked client-to-server
    assert records == {
        0x0004: ReadAttributeRecord(0x0004, 0, DataType.CHAR_STRING, "smets2-emu"),
        0x0005: ReadAttributeRecord(0x0005, 0, DataType.CHAR_STRING, model),
        0x0000: ReadAttributeRecord(0x0000, 0, DataType.UINT8, 3),
        0x0007: ReadAttributeRecord(0x0007, 0, DataType.ENUM8, power),
        0x0099: ReadAttributeRecord(0x0099, 0x86),
    }
    # The records come back in the order asked.
    assert reply.payload.hex() == ("184201" "04000042" "0a" + b"smets2-emu".hex()
                                   + "05000042" "04" + model.encode().hex()
                                   + "0000002003" "07000030" f"{power:02x}" "990086")


def test_ota_client_read_as_zigpy_sends_it_server_to_client():
    meter = _esme()
    header, records = _records(_read(meter, CLUSTER_OTA, OTA, fc=0x18))
    assert header.direction is zcl.Direction.CLIENT_TO_SERVER
    assert records == {
        0x0000: ReadAttributeRecord(0x0000, 0, DataType.EUI64, CHF),
        0x0001: ReadAttributeRecord(0x0001, 0, DataType.UINT32, 0),
        0x0002: ReadAttributeRecord(0x0002, 0, DataType.UINT32, VERSION),
        0x0006: ReadAttributeRecord(0x0006, 0, DataType.ENUM8, 0),
        0x0003: ReadAttributeRecord(0x0003, 0x86),
    }
    assert _read(meter, CLUSTER_OTA, [0x0000], fc=0x18).payload.hex() == "104201" "000000f0" + CHF[::-1].hex()


def test_ota_status_follows_the_download():
    meter = _gsme()
    meter.firmware.download = Download(0x1234, 2, 0x02000000, 1000, bytearray(150))
    _, records = _records(_read(meter, CLUSTER_OTA, [0x0001, 0x0006]))
    assert (records[1].value, records[6].value) == (150, 1)
    meter.firmware.download = None
    meter.firmware.held = HeldImage(bytes.fromhex("02000000"), 0x02000000, bytes(32), 1000)
    _, records = _records(_read(meter, CLUSTER_OTA, [0x0001, 0x0006, 0x0002]))
    assert (records[1].value, records[6].value, records[2].value) == (0, 2, VERSION)


def test_manufacturer_specific_read_finds_nothing_and_keeps_the_code():
    reply = _read(_esme(), CLUSTER_BASIC, [0x0004], fc=0x04, mfr=b"\x34\x12")
    header, records = _records(reply)
    assert header.manufacturer_code == 0x1234 and records == {4: ReadAttributeRecord.unsupported(4)}


def test_malformed_read_gets_a_malformed_default_response():
    meter = _esme()
    request = HanPacket(CHF, meter.eui, CLUSTER_BASIC, bytes.fromhex("0042000400ff"))
    out = meter.on_packet(request, NOW)
    assert [p.payload.hex() for p in out.han] == ["18420b0080"]


def test_other_clusters_and_commands_are_unchanged():
    meter = _esme()
    for cluster in (CLUSTER_METERING, CLUSTER_TUNNELING):
        assert not meter.on_packet(HanPacket(CHF, meter.eui, cluster, bytes.fromhex("00420000")), NOW)
    assert not meter.on_packet(HanPacket(CHF, meter.eui, CLUSTER_BASIC, bytes.fromhex("0042020000")), NOW)


def test_zdo_descriptor_matches_the_kind():
    esme, gsme = _esme(), _gsme()
    esme.nwk = 0x1A2B
    assert esme.zdo_descriptor().nwk == 0x1A2B and esme.zdo_descriptor().node.logical_type is LogicalType.ROUTER
    assert gsme.zdo_descriptor().node.logical_type is LogicalType.END_DEVICE
    assert esme.zdo_descriptor().node.manufacturer_code == MeterProfile().manufacturer_code


def test_read_attributes_codec_round_trip_and_refusals():
    request = zcl.ZclHeader(0x00, 7, zcl.READ_ATTRIBUTES)
    records = [ReadAttributeRecord(1, 0, DataType.UINT16, 0xBEEF), ReadAttributeRecord(2, 0, DataType.OCTET_STRING,
                                                                                      b"\x01\x02"),
               ReadAttributeRecord.unsupported(3)]
    frame = zcl.read_attributes_response(request, records)
    _, payload = zcl.ZclHeader.decode(frame)
    assert zcl.decode_read_attributes_response(payload) == tuple(records)
    assert zcl.decode_read_attributes(bytes.fromhex("04000500")) == (4, 5)
    with pytest.raises(zcl.ZclDecodeError, match="16-bit attribute ids"):
        zcl.decode_read_attributes(b"\x04")
    with pytest.raises(zcl.ZclDecodeError, match="not one this codec reads"):
        zcl.decode_read_attributes_response(bytes.fromhex("01000038ffff"))
    with pytest.raises(zcl.ZigbeeEncodeError):
        ReadAttributeRecord(1, 0)  # SUCCESS without a value
    with pytest.raises(zcl.ZigbeeEncodeError):
        zcl.encode_attribute_value(DataType.CHAR_STRING, 5)


# --- cross-check with zigpy's ZCL parser --------------------------------------------------------

def _zigpy_records(reply: HanPacket) -> tuple[Any, dict[int, Any]]:
    foundation = pytest.importorskip("zigpy.zcl.foundation")
    hdr, payload = foundation.ZCLHeader.deserialize(reply.payload)
    assert hdr.command_id == foundation.GeneralCommand.Read_Attributes_rsp and hdr.tsn == 0x42
    assert hdr.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND
    assert hdr.frame_control.disable_default_response
    schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp].schema
    rsp, rest = schema.deserialize(payload)
    assert rest == b""
    return hdr, {int(r.attrid): r for r in rsp.status_records}


@pytest.mark.parametrize(("make", "model", "power"), [(_esme, "ESME", 1), (_gsme, "GSME", 3)])
def test_zigpy_reads_basic_and_ota_the_same(make: Any, model: str, power: int):
    foundation = pytest.importorskip("zigpy.zcl.foundation")
    general = pytest.importorskip("zigpy.zcl.clusters.general")
    import zigpy.types as t

    meter = make()
    hdr, records = _zigpy_records(_read(meter, CLUSTER_BASIC, BASIC))
    assert hdr.frame_control.direction == foundation.Direction.Server_to_Client
    basic = general.Basic.AttributeDefs
    expected: dict[Any, Any] = {basic.manufacturer: "smets2-emu", basic.model: model, basic.zcl_version: 3,
                                basic.power_source: general.Basic.PowerSource(power)}
    for attr, value in expected.items():
        record = records[attr.id]
        assert record.status == foundation.Status.SUCCESS and record.value.type == attr.zcl_type
        assert attr.type(record.value.value) == value
    assert records[0x0099].status == foundation.Status.UNSUPPORTED_ATTRIBUTE and records[0x0099].value is None

    hdr, records = _zigpy_records(_read(meter, CLUSTER_OTA, OTA, fc=0x18))
    assert hdr.frame_control.direction == foundation.Direction.Client_to_Server
    ota = general.Ota.AttributeDefs
    expected = {ota.upgrade_server_id: t.EUI64.convert(":".join(f"{b:02x}" for b in CHF)), ota.file_offset: 0,
                ota.current_file_version: VERSION,
                ota.image_upgrade_status: general.Ota.ImageUpgradeStatus.Normal}
    for attr, value in expected.items():
        record = records[attr.id]
        assert record.status == foundation.Status.SUCCESS and record.value.type == attr.zcl_type
        assert attr.type(record.value.value) == value
    assert records[0x0003].status == foundation.Status.UNSUPPORTED_ATTRIBUTE


def test_zigpy_sends_what_the_meter_parses():
    """zigpy's own Read Attributes request (as the interview builds it) is what the meter decodes."""
    foundation = pytest.importorskip("zigpy.zcl.foundation")
    import zigpy.types as t

    fc = foundation.FrameControl(frame_type=foundation.FrameType.GLOBAL_COMMAND, is_manufacturer_specific=False,
                                 direction=foundation.Direction.Server_to_Client, disable_default_response=True,
                                 reserved=0)
    hdr = foundation.ZCLHeader(frame_control=fc, manufacturer=None, tsn=0x42,
                               command_id=foundation.GeneralCommand.Read_Attributes)
    schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes].schema
    wire = hdr.serialize() + schema(attribute_ids=[t.uint16_t(2)]).serialize()
    meter = _esme()
    out = meter.on_packet(HanPacket(CHF, meter.eui, CLUSTER_OTA, wire), NOW)
    _, records = _zigpy_records(out.han[0])
    assert records[2].value.value == VERSION
