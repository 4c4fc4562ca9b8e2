"""A pcap writer for HAN traffic: IEEE 802.15.4 (with FCS, linktype 195) carrying Zigbee
NWK, APS and ZCL, which Wireshark and tshark dissect (DV-8; zigbee.md section 4).

Pure: :class:`PcapWriter` turns records into bytes; the adapter that owns the file
writes them. Frames are written unencrypted (no NWK/APS security bits), so the ZCL
Tunneling and OTA payloads are readable in Wireshark without keys.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from emulator.zigbee.install_code import crc16_ccitt_reflected
from emulator.zigbee.packet import HanPacket

LINKTYPE_IEEE802_15_4_WITHFCS = 195
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
DEFAULT_PAN = 0x1A62


def crc16_kermit(data: bytes) -> int:
    """The 802.15.4 FCS: CRC-16/KERMIT (poly 0x1021 reflected, init 0, no xorout)."""
    return crc16_ccitt_reflected(data, 0, 0)


@dataclass(slots=True)
class FrameCounters:
    """Sequence numbers of the three layers, so consecutive frames look like a real capture."""

    mac: int = 0
    nwk: int = 0
    aps: int = 0

    def next(self) -> tuple[int, int, int]:
        self.mac, self.nwk, self.aps = (self.mac + 1) & 0xFF, (self.nwk + 1) & 0xFF, (self.aps + 1) & 0xFF
        return self.mac, self.nwk, self.aps


def han_frame(packet: HanPacket, counters: FrameCounters, pan_id: int = DEFAULT_PAN) -> bytes:
    """802.15.4 data frame + NWK + APS + ZCL for ``packet``, FCS included."""
    mac_seq, nwk_seq, aps_seq = counters.next()
    src = packet.src_nwk if packet.src_nwk != 0xFFFE else 0x0000
    dst = packet.dst_nwk if packet.dst_nwk != 0xFFFE else 0x0000
    # MAC: data frame, ack request, PAN id compression, short destination and source addresses.
    fcf = 0x0001 | 0x0020 | 0x0040 | (2 << 10) | (2 << 14)
    mac = struct.pack("<HBHHH", fcf, mac_seq, pan_id, dst, src)
    # NWK: data frame, protocol version 2, no security; radius 30.
    nwk = struct.pack("<HHHBB", 0x0008, dst, src, 30, nwk_seq)
    # APS: unicast data frame without APS security (the security bit would hide the ZCL payload).
    aps = struct.pack("<BBHHBB", 0x00, packet.dst_ep, packet.cluster, packet.profile, packet.src_ep, aps_seq)
    body = mac + nwk + aps + packet.payload
    return body + crc16_kermit(body).to_bytes(2, "little")


class PcapWriter:
    """Builds a pcap byte stream: ``header()`` once, then ``record()`` per frame."""

    def __init__(self, linktype: int = LINKTYPE_IEEE802_15_4_WITHFCS) -> None:
        self.linktype = linktype
        self.counters = FrameCounters()

    def header(self) -> bytes:
        return _GLOBAL.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, self.linktype)

    def record(self, timestamp: float, frame: bytes) -> bytes:
        seconds = int(timestamp)
        micros = round((timestamp - seconds) * 1_000_000)
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        return _RECORD.pack(seconds, micros, len(frame), len(frame)) + frame

    def packet(self, timestamp: float, packet: HanPacket) -> bytes:
        return self.record(timestamp, han_frame(packet, self.counters))
