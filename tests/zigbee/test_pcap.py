"""The pcap writer and the 802.15.4/NWK/APS/ZCL frames it draws, checked byte by byte and by
tshark, an independent dissector (DV-8; zigbee.md section 4)."""

from __future__ import annotations

import contextlib
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.zigbee import aps
from emulator.zigbee.clusters import ota
from emulator.zigbee.clusters import tunneling as tn
from emulator.zigbee.errors import FrameDecodeError, ZigbeeEncodeError, ZigbeeError
from emulator.zigbee.packet import HanPacket
from emulator.zigbee.pcap import PcapWriter, build_frame, parse_frame
from tests.zigbee.test_clusters import GOLDEN

ESME, CHF = bytes.fromhex("00DB1234567890A0"), bytes.fromhex("00DB1234567890A2")
T0 = 1767225600  # 2026-01-01 00:00:00 UTC
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(
    TSHARK is None, reason="tshark is not installed (Debian: apt-get install tshark; ./dev.sh installs it)")


def _packet(command: object, seq: int = 1) -> HanPacket:
    cls = type(command)
    server_sent = cls.DIRECTION == 1  # type: ignore[attr-defined]
    src, dst = (CHF, ESME) if server_sent else (ESME, CHF)
    return HanPacket(src, dst, cls.CLUSTER, command.encode(seq),  # type: ignore[attr-defined]
                     src_nwk=0x0000 if server_sent else 0x1001, dst_nwk=0x1001 if server_sent else 0x0000)


def test_global_and_record_headers():
    w = PcapWriter()
    assert w.header() == bytes.fromhex("D4C3B2A1 0200 0400 00000000 00000000 FFFF0000 C3000000".replace(" ", ""))
    assert w.record(T0 + 0.25, b"\x01\x02") == struct.pack("<IIII", T0, 250_000, 2, 2) + b"\x01\x02"
    assert w.record(1.9999999, b"") == struct.pack("<IIII", 2, 0, 0, 0)  # rounding carries into the second
    assert PcapWriter(snaplen=1).record(0, b"ab") == struct.pack("<IIII", 0, 0, 1, 2) + b"a"
    with pytest.raises(ZigbeeEncodeError):
        w.record(-1, b"")


def test_accumulating_writer_emits_the_header_once():
    w = PcapWriter()
    w.add_record(T0, b"\xaa")
    w.add_packet(T0 + 1, _packet(tn.RequestTunnel()))
    first = w.data_to_send()
    assert first.startswith(w.header()) and first[24:24 + 16] == struct.pack("<IIII", T0, 0, 1, 1)
    assert w.data_to_send() == b""
    w.add_record(T0 + 2, b"\xbb")
    assert w.data_to_send() == struct.pack("<IIII", T0 + 2, 0, 1, 1) + b"\xbb"


def test_frame_golden():
    packet = HanPacket(ESME, CHF, 0x0704, bytes.fromhex("112A0006FFFF00DC05"), src_nwk=0x1001, dst_nwk=0x0000)
    frame = build_frame(packet, mac_sequence=0x2A, nwk_sequence=5, aps_counter=9)
    expected = bytes.fromhex(
        "61882A621A00000110"  # MAC: data, ack request, PAN compressed, 0x1001 -> 0x0000 on PAN 0x1A62
        "0818 0000 0110 1E 05".replace(" ", "")  # NWK: data, v2, both IEEE addresses, radius 30, seq 5
        + "A29078563412DB00" + "A09078563412DB00"
        + "00 01 0407 0901 01 09".replace(" ", "")  # APS: unicast data, EP 1 -> 1, Tunneling, SE profile
        + "112A0006FFFF00DC05")  # ZCL Request Tunnel
    assert frame[:-2] == expected
    taken = parse_frame(frame)
    assert (taken.mac.src, taken.nwk.src_ieee, taken.aps.profile, taken.payload) == (
        0x1001, ESME, 0x0109, packet.payload)


def test_aps_security_bit_is_never_set_even_for_secured_packets():
    packet = _packet(tn.RequestTunnel())
    assert packet.aps_secured
    taken = parse_frame(build_frame(packet))
    assert not taken.aps.security and not taken.aps.frame_control.security and not taken.nwk.security


def test_broadcast_frames():
    packet = HanPacket(CHF, b"", 0x0019, ota.ImageNotify(0, 10).encode(1), src_nwk=0, dst_nwk=0xFFFD)
    taken = parse_frame(build_frame(packet))
    assert taken.mac.dst == 0xFFFF and not taken.mac.ack_request
    assert taken.aps.delivery_mode is aps.ApsDeliveryMode.BROADCAST and taken.nwk.dst_ieee is None


@given(st.sampled_from([c for c, _ in GOLDEN]), st.integers(0, 0xFF), st.integers(0, 0xFF), st.integers(0, 0xFF))
def test_frames_parse_back(command: object, mac_seq: int, nwk_seq: int, counter: int) -> None:
    packet = _packet(command)
    taken = parse_frame(build_frame(packet, mac_sequence=mac_seq, nwk_sequence=nwk_seq, aps_counter=counter))
    assert (taken.mac.sequence, taken.nwk.sequence, taken.aps.counter) == (mac_seq, nwk_seq, counter)
    assert (taken.aps.cluster, taken.aps.dst_endpoint, taken.payload) == (packet.cluster, packet.dst_ep,
                                                                          packet.payload)


@given(st.binary(max_size=80))
def test_fuzz_parse_frame_raises_only_zigbee_errors(data: bytes) -> None:
    with contextlib.suppress(ZigbeeError):
        parse_frame(data)


def test_parse_frame_refuses_nwk_secured_frames():
    body = build_frame(_packet(tn.CloseTunnel(1)))[:-2]
    secured = bytearray(body)
    secured[9 + 1] |= 0x02  # NWK frame control, security bit (bit 9)
    from emulator.zigbee.mac import with_fcs
    with pytest.raises(FrameDecodeError, match="secured"):
        parse_frame(with_fcs(bytes(secured)))


def _write(tmp_path: Path, packets: list[HanPacket]) -> Path:
    w = PcapWriter()
    for i, p in enumerate(packets):
        w.add_packet(T0 + i, p)
    path = tmp_path / "han.pcap"
    path.write_bytes(w.data_to_send())
    assert path.read_bytes()[20] == 195  # linktype at offset 20: IEEE 802.15.4 with FCS
    return path


def _tshark(*args: str) -> str:
    assert TSHARK is not None
    return subprocess.run([TSHARK, *args], capture_output=True, text=True, check=True, timeout=120).stdout


@needs_tshark
def test_tshark_recognises_nwk_aps_and_zcl_layers(tmp_path: Path):
    # A GBCS message too long for one 127-byte frame (it would be APS-fragmented on air):
    # the capture keeps it whole and tshark still dissects every Zigbee layer of it.
    gbcs = bytes.fromhex("DD000000000000471100000000DF090100000000000003E80890B3D51F300100000800DB1234567890A0"
                         "0002005913D9200003E800010100010000000201FF020100A25A51A93BAFA5C9E2B224BD")
    packets = [_packet(tn.TransferDataClient(1, tn.gb_get())), _packet(ota.QueryNextImage(0, 0x1234, 1, 5)),
               _packet(tn.RequestTunnelResponse(1)), _packet(tn.TransferDataClient(1, gbcs))]
    out = _tshark("-r", str(_write(tmp_path, packets)), "-V")
    assert out.count("IEEE 802.15.4 Data") == 4 and len(re.findall(r"FCS: 0x[0-9a-f]{4} \(Correct\)", out)) == 4
    protocols = re.findall(r"\[Protocols in frame: (\S+)\]", out)
    assert protocols[0].startswith("wpan:zbee_nwk:zbee_aps:zbee_zcl:zbee_zcl_se.tun")
    assert protocols[1] == "wpan:zbee_nwk:zbee_aps:zbee_zcl:zbee_zcl_general.ota"
    assert protocols[2] == "wpan:zbee_nwk:zbee_aps:zbee_zcl:zbee_zcl_se.tun"
    assert protocols[3].startswith("wpan:zbee_nwk:zbee_aps:zbee_zcl:zbee_zcl_se.tun")
    assert out.count("ZigBee Network Layer Data") == 4 and out.count("ZigBee Application Support Layer Data") == 4
    assert out.count("Profile: Smart Energy (0x0109)") == 4
    assert out.count("Cluster: Tunneling (0x0704)") == 3 and out.count("Cluster: OTA Upgrade (0x0019)") == 1
    assert out.count("ZigBee Cluster Library Frame") == 4
    assert out.count("Command: Transfer Data (0x02)") == 2 and "Command: Query Next Image Request (0x01)" in out
    assert "Command: Request Tunnel Response (0x00)" in out and "Transfer data command: GET (0x01)" in out
    assert "Extended Source: 00:db:12:34:56:78:90:a0" in out
    assert not re.search(r"Security: True", out)
    # Only the synthetic GBCS bytes may upset a dissector, never a Zigbee layer.
    assert set(re.findall(r"\[Malformed Packet: ([^\]]+)\]", out)) <= {"GBCS Message"}


@needs_tshark
def test_tshark_reads_every_command_field_as_we_wrote_it(tmp_path: Path):
    commands = [c for c, _ in GOLDEN]
    path = _write(tmp_path, [_packet(c, seq=i) for i, c in enumerate(commands)])
    fields = ["frame.number", "wpan.fcs_ok", "zbee_aps.profile", "zbee_aps.cluster", "zbee_zcl.cmd.tsn",
              "zbee_zcl_se.tun.cmd.srv_rx.id", "zbee_zcl_se.tun.cmd.srv_tx.id", "zbee_zcl_se.tun.tunnel_id",
              "zbee_zcl_se.tun.octets_left", "zbee_zcl_se.tun.protocol_id",
              "zbee_zcl_general.ota.cmd.srv_rx.id", "zbee_zcl_general.ota.cmd.srv_tx.id",
              "zbee_zcl_general.ota.manufacturer_code", "zbee_zcl_general.ota.file.version",
              "zbee_zcl_general.ota.file.offset", "zbee_zcl_general.ota.ieee_addr"]
    args = ["-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    for f in fields:
        args += ["-e", f]
    rows = [dict(zip(fields, line.split("|"), strict=True)) for line in _tshark(*args).splitlines()]
    assert len(rows) == len(commands)
    checked = 0
    for row, command in zip(rows, commands, strict=True):
        name = type(command).__name__
        assert row["wpan.fcs_ok"] in ("1", "True") and row["zbee_aps.profile"] == "0x0109", name
        assert int(row["zbee_aps.cluster"], 16) == command.CLUSTER, name
        layer = "zbee_zcl_se.tun" if command.CLUSTER == tn.CLUSTER_ID else "zbee_zcl_general.ota"
        sent_by = "srv_tx" if command.DIRECTION == 1 else "srv_rx"
        assert int(row[f"{layer}.cmd.{sent_by}.id"], 16) == command.COMMAND_ID, name
        for attr, column in (("tunnel_id", "zbee_zcl_se.tun.tunnel_id"),
                             ("num_octets_left", "zbee_zcl_se.tun.octets_left"),
                             ("protocol_id", "zbee_zcl_se.tun.protocol_id"),
                             ("manufacturer_code", "zbee_zcl_general.ota.manufacturer_code"),
                             ("file_version", "zbee_zcl_general.ota.file.version"),
                             ("current_file_version", "zbee_zcl_general.ota.file.version"),
                             ("file_offset", "zbee_zcl_general.ota.file.offset")):
            value = getattr(command, attr, None)
            if value is not None and row[column]:
                assert int(row[column], 0) == value, (name, attr)
                checked += 1
        node = getattr(command, "request_node_addr", None)
        if node is not None and row["zbee_zcl_general.ota.ieee_addr"]:
            assert int(row["zbee_zcl_general.ota.ieee_addr"], 16) == int.from_bytes(node, "big"), name
            checked += 1
    print(f"{checked} field values agreed with tshark")
    assert checked >= 35  # the comparison is not vacuous: most fields are dissected


def test_an_aps_fragment_is_drawn_with_its_extended_header():
    """Zigbee PRO 2.2.5.1.8: the first block carries the block count, later ones their index."""
    base = HanPacket(bytes.fromhex("00124B0001020304"), bytes.fromhex("00DB1234567890A0"), 0x0704, bytes(71),
                     src_ep=9, dst_ep=1, src_nwk=0x0000, dst_nwk=0x1234)
    first = parse_frame(build_frame(HanPacket(**{**_fields(base), "fragment": (0, 8)})))
    assert first.aps.fragmentation is aps.Fragmentation.FIRST_BLOCK and first.aps.block_number == 8
    later = parse_frame(build_frame(HanPacket(**{**_fields(base), "fragment": (3, 8)})))
    assert later.aps.fragmentation is aps.Fragmentation.SUBSEQUENT_BLOCK and later.aps.block_number == 3
    # The APS header: frame control 0x80 (extended header present), endpoints, cluster, profile,
    # counter, then extended frame control 0b10 (subsequent block) and the block number.
    frame = build_frame(HanPacket(**{**_fields(base), "fragment": (3, 8)}))
    assert frame[-(2 + 71 + 10):-(2 + 71)] == bytes.fromhex("80" "01" "0407" "0901" "09" "00" "02" "03")
    whole = parse_frame(build_frame(base))
    assert whole.aps.fragmentation is None and whole.payload == bytes(71)


def _fields(p: HanPacket) -> dict[str, object]:
    return {name: getattr(p, name) for name in HanPacket.__dataclass_fields__}
