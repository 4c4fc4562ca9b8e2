"""A pcap writer for HAN traffic: IEEE 802.15.4 with FCS (linktype 195) carrying Zigbee
NWK, APS and ZCL, which Wireshark and tshark dissect (DV-8; zigbee.md section 4).

Pure: :class:`PcapWriter` turns records into bytes, either returned per call or
accumulated and drained with :meth:`PcapWriter.data_to_send`; the adapter that owns the
file writes them. Frames are written without NWK or APS security (the security bits
stay clear), so the ZCL Tunneling and OTA payloads read in Wireshark without keys, even
though the HAN itself would carry them APS-encrypted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from emulator.zigbee.aps import ApsDeliveryMode, ApsHeader, Fragmentation, NwkFrameType, NwkHeader
from emulator.zigbee.errors import FrameDecodeError, ZigbeeEncodeError
from emulator.zigbee.mac import BROADCAST_ADDRESS, MacHeader, strip_fcs, with_fcs
from emulator.zigbee.packet import HanPacket

LINKTYPE_IEEE802_15_4_WITHFCS = 195
PCAP_MAGIC_MICROSECONDS = 0xA1B2C3D4
PCAP_VERSION = (2, 4)
DEFAULT_SNAPLEN = 65535
DEFAULT_PAN = 0x1A62
NWK_RADIUS = 30  # twice the usual maximum depth: any frame we draw reaches its target
UNKNOWN_NWK = 0xFFFE  # HanPacket's "short address not known"
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


@dataclass(slots=True)
class FrameCounters:
    """Sequence numbers of the three layers, so consecutive frames look like a real capture."""

    mac: int = 0
    nwk: int = 0
    aps: int = 0

    def next(self) -> tuple[int, int, int]:
        self.mac, self.nwk, self.aps = (self.mac + 1) & 0xFF, (self.nwk + 1) & 0xFF, (self.aps + 1) & 0xFF
        return self.mac, self.nwk, self.aps


def build_frame(packet: HanPacket, *, mac_sequence: int = 0, nwk_sequence: int = 0, aps_counter: int = 0,
                pan_id: int = DEFAULT_PAN) -> bytes:
    """802.15.4 data frame + NWK + APS + ZCL for ``packet``, FCS included.

    One hop, so the MAC addresses are the NWK ones. An unknown short address is drawn as
    0x0000 (the coordinator). The EUI-64s go in the NWK header so that Wireshark names
    the devices. Payloads beyond one 127-byte frame are not APS-fragmented: Wireshark
    dissects the oversized frame whole, which reads better than reassembled blocks. A packet that
    is one APS fragment (``packet.fragment``) is drawn with its extended header, as it crossed.
    """
    src = 0x0000 if packet.src_nwk == UNKNOWN_NWK else packet.src_nwk
    dst = 0x0000 if packet.dst_nwk == UNKNOWN_NWK else packet.dst_nwk
    broadcast = dst >= 0xFFF8
    mac = MacHeader(mac_sequence, pan_id, BROADCAST_ADDRESS if broadcast else dst, None, src,
                    ack_request=not broadcast)
    nwk = NwkHeader(dst, src, NWK_RADIUS, nwk_sequence, NwkFrameType.DATA,
                    dst_ieee=None if broadcast or len(packet.dst) != 8 else packet.dst,
                    src_ieee=packet.src if len(packet.src) == 8 else None)
    # APS security stays clear whatever packet.aps_secured says: with the bit set, Wireshark
    # would treat the plaintext ZCL frame as ciphertext.
    fragmentation, block = None, 0
    if packet.fragment is not None:
        index, count = packet.fragment
        fragmentation = Fragmentation.FIRST_BLOCK if index == 0 else Fragmentation.SUBSEQUENT_BLOCK
        block = count if index == 0 else index
    aps = ApsHeader(packet.dst_ep, packet.cluster, packet.profile, packet.src_ep, aps_counter,
                    ApsDeliveryMode.BROADCAST if broadcast else ApsDeliveryMode.UNICAST,
                    fragmentation=fragmentation, block_number=block)
    return with_fcs(mac.encode() + nwk.encode() + aps.encode() + packet.payload)


def han_frame(packet: HanPacket, counters: FrameCounters, pan_id: int = DEFAULT_PAN) -> bytes:
    """:func:`build_frame` with the next sequence numbers from ``counters``."""
    mac_seq, nwk_seq, aps_counter = counters.next()
    return build_frame(packet, mac_sequence=mac_seq, nwk_sequence=nwk_seq, aps_counter=aps_counter, pan_id=pan_id)


@dataclass(frozen=True, slots=True)
class HanFrame:
    """A captured frame taken apart: the three headers and the ZCL frame."""

    mac: MacHeader
    nwk: NwkHeader
    aps: ApsHeader
    payload: bytes


def parse_frame(frame: bytes) -> HanFrame:
    """Take apart a frame as :func:`build_frame` writes it (FCS checked); NWK-secured or
    command frames are refused, since their APS header is not readable here."""
    body = strip_fcs(frame)
    mac, rest = MacHeader.decode(body)
    nwk, rest = NwkHeader.decode(rest)
    if nwk.security or nwk.frame_type is not NwkFrameType.DATA:
        raise FrameDecodeError("NWK frame is secured or not a data frame", field="nwk.frame_control",
                               offset=len(body) - len(rest))
    aps, payload = ApsHeader.decode(rest)
    return HanFrame(mac, nwk, aps, payload)


class PcapWriter:
    """Builds a pcap byte stream: ``header()`` once, then ``record()`` or ``packet()`` per frame;
    or ``add_record()``/``add_packet()`` and drain ``data_to_send()`` (header included once)."""

    def __init__(self, linktype: int = LINKTYPE_IEEE802_15_4_WITHFCS, *, snaplen: int = DEFAULT_SNAPLEN,
                 pan_id: int = DEFAULT_PAN) -> None:
        self.linktype = linktype
        self.snaplen = snaplen
        self.pan_id = pan_id
        self.counters = FrameCounters()
        self._block_counters: dict[tuple[bytes, bytes, int], int] = {}
        self._pending = bytearray()
        self._header_sent = False

    def header(self) -> bytes:
        """The 24-byte global header (microsecond timestamps, UTC)."""
        return _GLOBAL.pack(PCAP_MAGIC_MICROSECONDS, *PCAP_VERSION, 0, 0, self.snaplen, self.linktype)

    def record(self, timestamp: float, frame: bytes) -> bytes:
        """One record: ``timestamp`` in seconds since the epoch, ``frame`` with its FCS."""
        if not 0 <= timestamp < 1 << 32:
            raise ZigbeeEncodeError(f"timestamp {timestamp!r} is outside the pcap range", field="pcap.timestamp")
        seconds = int(timestamp)
        micros = round((timestamp - seconds) * 1_000_000)
        if micros >= 1_000_000:  # rounding carried into the next second
            seconds, micros = seconds + 1, micros - 1_000_000
        captured = frame[:self.snaplen]
        return _RECORD.pack(seconds, micros, len(captured), len(frame)) + captured

    def packet(self, timestamp: float, packet: HanPacket) -> bytes:
        """One record for a HAN packet, with the next MAC/NWK/APS sequence numbers. The blocks of
        one fragmented message share the first block's APS counter, as on the air (Wireshark
        reassembles them by it)."""
        if packet.fragment is None:
            return self.record(timestamp, han_frame(packet, self.counters, self.pan_id))
        mac_seq, nwk_seq, aps_counter = self.counters.next()
        key = (packet.src, packet.dst, packet.cluster)
        if packet.fragment[0] == 0:
            self._block_counters[key] = aps_counter
        aps_counter = self._block_counters.get(key, aps_counter)
        return self.record(timestamp, build_frame(packet, mac_sequence=mac_seq, nwk_sequence=nwk_seq,
                                                  aps_counter=aps_counter, pan_id=self.pan_id))

    def add_record(self, timestamp: float, frame: bytes) -> None:
        self._pending += self.record(timestamp, frame)

    def add_packet(self, timestamp: float, packet: HanPacket) -> None:
        self._pending += self.packet(timestamp, packet)

    def data_to_send(self) -> bytes:
        """Bytes accumulated since the last call; the first call starts with the global header."""
        out = bytes(self._pending) if self._header_sent else self.header() + self._pending
        self._header_sent = True
        self._pending.clear()
        return out
