"""Tunneling (0x0704) and OTA Upgrade (0x0019) commands: golden frames, round trips, fuzzing.

The golden frames were written from the layouts in zigbee.md sections 6-7; the OTA ones
also decode and re-encode identically with zigpy 2.4.0's ``Ota`` definitions, and every
one is dissected field by field by tshark 4.0 in test_pcap.py.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import zcl
from emulator.zigbee.clusters import ota, smart_energy
from emulator.zigbee.clusters import tunneling as tn
from emulator.zigbee.errors import ZclDecodeError, ZigbeeEncodeError, ZigbeeError
from tests.zigbee.strategies import ALL_COMMANDS, commands

NODE = bytes.fromhex("00DB1234567890A0")

# (command, whole ZCL frame with sequence number 0x2A)
GOLDEN: list[tuple[zcl.ZclCommand, str]] = [
    (tn.RequestTunnel(), "112A0006FFFF00DC05"),  # GB: protocol 6, manufacturer FFFF, no flow control, 1500
    (tn.CloseTunnel(0x0102), "112A010201"),
    (tn.TransferDataClient(1, tn.gb_put(b"\xdd\x00")), "112A02010003DD00"),
    (tn.TransferDataErrorClient(1, tn.TransferDataStatus.DATA_OVERFLOW), "112A03010002"),
    (tn.AckTransferDataClient(1, 100), "112A0401006400"),
    (tn.ReadyDataClient(1, 200), "112A050100C800"),
    (tn.GetSupportedTunnelProtocols(1), "112A0601"),
    (tn.RequestTunnelResponse(1), "192A00010000DC05"),
    (tn.TransferDataServer(1, tn.gb_get_response(b"\xdd\x00", 3)), "192A0101000203DD00"),
    (tn.TransferDataErrorServer(1, tn.TransferDataStatus.NO_SUCH_TUNNEL), "192A02010000"),
    (tn.AckTransferDataServer(1, 5), "192A0301000500"),
    (tn.ReadyDataServer(1, 6), "192A0401000600"),
    (tn.SupportedTunnelProtocolsResponse(True, (tn.SupportedProtocol(0xFFFF, tn.TunnelProtocolId.GB_HRGP),
                                                tn.SupportedProtocol(0x1234, 200))), "192A050102FFFF063412C8"),
    (tn.TunnelClosureNotification(1), "192A060100"),
    (ota.ImageNotify(3, 100, 0x1234, 1, 0x01020304), "192A0003643412010004030201"),
    (ota.ImageNotify(0, 50), "192A000032"),
    (ota.QueryNextImage(1, 0x1234, 1, 0x01020304, 0x0102), "112A010134120100040302010201"),
    (ota.QueryNextImage(0, 0x1234, 1, 0x01020304), "112A0100341201000403020 1".replace(" ", "")),
    (ota.QueryNextImageResponse(ota.SUCCESS, 0x1234, 1, 0x01020305, 5000), "192A0200341201000503020188130000"),
    (ota.QueryNextImageResponse(ota.NO_IMAGE_AVAILABLE), "192A0298"),
    (ota.ImageBlockRequest(3, 0x1234, 1, 0x01020305, 100, 50, NODE, 500),
     "112A030334120100050302016400000032A09078563412DB00F401"),
    (ota.ImageBlockRequest(0, 0x1234, 1, 0x01020305, 100, 50), "112A03003412010005030201640000003 2".replace(" ", "")),
    (ota.ImagePageRequest(1, 0x1234, 1, 0x01020305, 100, 50, 1024, 200, NODE),
     "112A0401341201000503020164000000320004C800A09078563412DB00"),
    (ota.ImageBlockResponse(ota.SUCCESS, 0x1234, 1, 0x01020305, 100, b"\x01\x02\x03"),
     "192A050034120100050302016400000003010203"),
    (ota.ImageBlockResponse(ota.WAIT_FOR_DATA, current_time=1000, request_time=2000, minimum_block_period=300),
     "192A0597E8030000D00700002C01"),
    (ota.ImageBlockResponse(ota.ABORT), "192A0595"),
    (ota.UpgradeEndRequest(ota.SUCCESS, 0x1234, 1, 0x01020305), "112A06003412010005030201"),
    (ota.UpgradeEndResponse(0x1234, 1, 0x01020305, 1000, ota.UPGRADE_WAIT), "192A073412010005030201E8030000FFFFFFFF"),
    (ota.QueryDeviceSpecificFileRequest(NODE, 0x1234, 1, 0x01020305, 2), "112A08A09078563412DB0034120100050302010200"),
    (ota.QueryDeviceSpecificFileResponse(ota.SUCCESS, 0x1234, 1, 0x01020305, 5000),
     "192A0900341201000503020188130000"),
]


def test_every_registered_command_has_a_golden_frame():
    tunnel_and_ota = {c for c in ALL_COMMANDS if c.CLUSTER in (tn.CLUSTER_ID, ota.CLUSTER_ID)}
    assert {type(c) for c, _ in GOLDEN} == tunnel_and_ota  # the SE commands: test_smart_energy.py
    assert len(tunnel_and_ota) == 14 + 10


@pytest.mark.parametrize(("command", "frame"), GOLDEN, ids=lambda v: type(v).__name__ if not isinstance(v, str) else "")
def test_golden_frames(command: zcl.ZclCommand, frame: str):
    data = bytes.fromhex(frame)
    assert command.encode(0x2A) == data
    header, back = zcl.decode_command(command.CLUSTER, data, strict=True)
    assert back == command
    assert (header.sequence, header.command_id, header.direction) == (0x2A, command.COMMAND_ID, command.DIRECTION)


@given(commands, st.integers(0, 0xFF), st.booleans())
def test_every_command_round_trips(command: zcl.ZclCommand, sequence: int, ddr: bool) -> None:
    frame = command.encode(sequence, disable_default_response=ddr)
    header, back = zcl.decode_command(command.CLUSTER, frame, strict=True)
    assert back == command and header.sequence == sequence and header.disable_default_response == ddr
    if not _takes_rest(command):  # decode() hands back what follows the command's fields
        assert type(command).decode(command.encode_payload() + b"tail") == (command, b"tail")


def _takes_rest(command: zcl.ZclCommand) -> bool:
    last = command.SCHEMA[-1].type
    to_end = (smart_energy.EventConfigurations, smart_energy.Records, smart_energy.BlockThresholdGroups)
    return last.name == "octets" or isinstance(last, to_end)  # these run to the end of the frame


@given(commands, st.data())
def test_mutated_frames_raise_only_zigbee_errors(command: zcl.ZclCommand, data: st.DataObject) -> None:
    frame = bytearray(command.encode(1))
    for _ in range(data.draw(st.integers(1, 4))):
        choice = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(frame)))
        if choice == "flip" and pos < len(frame):
            frame[pos] ^= data.draw(st.integers(1, 255))
        elif choice == "cut":
            del frame[pos:]
        else:
            frame[pos:pos] = data.draw(st.binary(min_size=1, max_size=3))
    with contextlib.suppress(ZigbeeError):
        zcl.decode_command(command.CLUSTER, bytes(frame), strict=data.draw(st.booleans()))


@pytest.mark.parametrize(("payload", "message"), [
    (tn.gb_get(), tn.GbTunnelMessage(tn.GB_GET)),
    (tn.gb_put(b"\xdd\x01"), tn.GbTunnelMessage(tn.GB_PUT, b"\xdd\x01")),
    (tn.gb_get_response(b"\xdd\x02", 3), tn.GbTunnelMessage(tn.GB_GET_RESPONSE, b"\xdd\x02", 3)),
])
def test_gb_tunnel_header(payload: bytes, message: tn.GbTunnelMessage):
    assert payload == message.encode() and tn.GbTunnelMessage.decode(payload) == message
    assert tn.split_gb_header(payload) == (message.command, message.remaining, message.gbcs)


def test_gb_tunnel_header_bytes_and_errors():
    assert (tn.gb_get(), tn.gb_put(b"X"), tn.gb_get_response(b"Y", 2)) == (b"\x01", b"\x03X", b"\x02\x02Y")
    assert tn.gb_get_response(b"", 1000) == b"\x02\xff"  # a longer queue saturates the one-byte count
    with pytest.raises(ZclDecodeError, match="unknown GB tunnel header 0x04"):
        tn.split_gb_header(b"\x04")
    with pytest.raises(ZclDecodeError) as e:
        tn.split_gb_header(b"\x02")
    assert (e.value.field, e.value.offset) == ("gb.remaining", 1)
    with pytest.raises(ZclDecodeError):
        tn.split_gb_header(b"")
    with pytest.raises(ZigbeeEncodeError):
        tn.GbTunnelMessage(tn.GB_PUT, b"", 2).encode()


def test_enums_match_the_wire_values():
    assert (tn.PROTOCOL_GB_HRGP, tn.MANUFACTURER_ANY, tn.MAX_TRANSFER) == (6, 0xFFFF, 1500)
    assert [s.value for s in tn.TunnelStatus] == [0, 1, 2, 3, 4]
    assert (ota.ABORT, ota.INVALID_IMAGE, ota.WAIT_FOR_DATA, ota.NO_IMAGE_AVAILABLE, ota.REQUIRE_MORE_IMAGE) == (
        0x95, 0x96, 0x97, 0x98, 0x99)
    assert ota.Attribute.CURRENT_FILE_VERSION == 0x0002 and ota.Attribute.MINIMUM_BLOCK_PERIOD == 0x0009


def test_image_block_data_is_length_prefixed_and_bounded():
    ota.ImageBlockResponse(ota.SUCCESS, data=bytes(255)).encode(0)
    with pytest.raises(ZigbeeEncodeError, match="data"):
        ota.ImageBlockResponse(ota.SUCCESS, data=bytes(256)).encode(0)
    with pytest.raises(ZclDecodeError) as e:  # data_size says 4, 3 bytes follow
        zcl.decode_command(ota.CLUSTER_ID, bytes.fromhex("192A05003412010005030201640000000401 0203".replace(" ", "")))
    assert e.value.field == "data"


def test_cross_check_ota_commands_with_zigpy():
    general = pytest.importorskip("zigpy.zcl.clusters.general", reason="zigpy (GPL extra 'radio') not installed")
    for command, frame in GOLDEN:
        if command.CLUSTER != ota.CLUSTER_ID:
            continue
        defs = general.Ota.ServerCommandDefs if command.DIRECTION == 0 else general.Ota.ClientCommandDefs
        schema = next(d for d in defs if d.id == command.COMMAND_ID).schema
        payload = bytes.fromhex(frame)[3:]
        parsed, rest = schema.deserialize(payload)
        assert rest == b"" and parsed.serialize() == payload, type(command).__name__
