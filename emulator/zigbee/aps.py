"""Minimal Zigbee NWK and APS data-frame headers (Zigbee PRO, 05-3474 3.3.1 and 2.2.5).

What a capture needs to show who talked to whom on which endpoint, cluster and profile:
NWK data frames (optional IEEE addresses, multicast control and source route) and APS
data frames (unicast, broadcast or group; optional extended header for fragmentation).
Security is only flagged, never applied: a frame with the NWK or APS security bit set
carries its auxiliary header and ciphertext as opaque payload.

As in :mod:`emulator.zigbee.mac`, the presence bits of each frame-control field are
derived from which optional fields are set, so flags and fields cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from emulator.zigbee.errors import FrameDecodeError, ZigbeeEncodeError
from emulator.zigbee.types import Reader, encode_uint

PROFILE_SMART_ENERGY = 0x0109
PROFILE_HOME_AUTOMATION = 0x0104
NWK_PROTOCOL_VERSION_PRO = 2
NWK_BROADCAST_ALL = 0xFFFF
NWK_BROADCAST_RX_ON_WHEN_IDLE = 0xFFFD
NWK_BROADCAST_ROUTERS = 0xFFFC


def _eui64(value: bytes, field: str) -> bytes:
    if len(value) != 8:
        raise ZigbeeEncodeError("an EUI-64 is 8 bytes", field=field)
    return value[::-1]  # sent least significant byte first


# --- NWK ----------------------------------------------------------------------------------

class NwkFrameType(IntEnum):
    DATA = 0
    COMMAND = 1


class DiscoverRoute(IntEnum):
    SUPPRESS = 0
    ENABLE = 1


@dataclass(frozen=True, slots=True)
class NwkFrameControl:
    """The 16-bit NWK frame control (3.3.1.1); bits 14-15 are reserved."""

    frame_type: NwkFrameType = NwkFrameType.DATA
    protocol_version: int = NWK_PROTOCOL_VERSION_PRO
    discover_route: DiscoverRoute = DiscoverRoute.SUPPRESS
    multicast: bool = False
    security: bool = False
    source_route: bool = False
    dst_ieee_present: bool = False
    src_ieee_present: bool = False
    end_device_initiator: bool = False

    def to_int(self) -> int:
        return (self.frame_type | self.protocol_version << 2 | self.discover_route << 6 | self.multicast << 8
                | self.security << 9 | self.source_route << 10 | self.dst_ieee_present << 11
                | self.src_ieee_present << 12 | self.end_device_initiator << 13)

    @classmethod
    def from_int(cls, value: int) -> NwkFrameControl:
        if value & 0b11 > NwkFrameType.COMMAND:
            # 3 is the inter-PAN stub header, which has no addresses: not a frame we carry.
            raise FrameDecodeError(f"NWK frame type {value & 0b11} is not supported", field="nwk.frame_type",
                                   offset=0)
        if value >> 6 & 0b11 > DiscoverRoute.ENABLE:
            raise FrameDecodeError("reserved discover-route value", field="nwk.discover_route", offset=0)
        if value & 0xC000:
            raise FrameDecodeError("reserved frame-control bits 14-15 are set", field="nwk.frame_control", offset=0)
        return cls(NwkFrameType(value & 0b11), value >> 2 & 0xF, DiscoverRoute(value >> 6 & 0b11),
                   bool(value & 0x100), bool(value & 0x200), bool(value & 0x400), bool(value & 0x800),
                   bool(value & 0x1000), bool(value & 0x2000))


@dataclass(frozen=True, slots=True)
class SourceRoute:
    """The source route subframe: the relay list, and which relay is next."""

    relay_index: int
    relays: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NwkHeader:
    dst: int
    src: int
    radius: int
    sequence: int
    frame_type: NwkFrameType = NwkFrameType.DATA
    protocol_version: int = NWK_PROTOCOL_VERSION_PRO
    discover_route: DiscoverRoute = DiscoverRoute.SUPPRESS
    security: bool = False
    """Set: the payload starts with the NWK auxiliary header and is encrypted (opaque here)."""
    end_device_initiator: bool = False
    dst_ieee: bytes | None = None
    src_ieee: bytes | None = None
    multicast_control: int | None = None
    source_route: SourceRoute | None = None

    @property
    def frame_control(self) -> NwkFrameControl:
        return NwkFrameControl(self.frame_type, self.protocol_version, self.discover_route,
                               self.multicast_control is not None, self.security, self.source_route is not None,
                               self.dst_ieee is not None, self.src_ieee is not None, self.end_device_initiator)

    def encode(self) -> bytes:
        if not 0 <= self.protocol_version <= 0xF:
            raise ZigbeeEncodeError("protocol version is 4 bits", field="nwk.protocol_version")
        out = bytearray(self.frame_control.to_int().to_bytes(2, "little"))
        out += encode_uint(self.dst, 2, "nwk.dst") + encode_uint(self.src, 2, "nwk.src")
        out += encode_uint(self.radius, 1, "nwk.radius") + encode_uint(self.sequence, 1, "nwk.sequence")
        if self.dst_ieee is not None:
            out += _eui64(self.dst_ieee, "nwk.dst_ieee")
        if self.src_ieee is not None:
            out += _eui64(self.src_ieee, "nwk.src_ieee")
        if self.multicast_control is not None:
            out += encode_uint(self.multicast_control, 1, "nwk.multicast_control")
        if self.source_route is not None:
            relays = self.source_route.relays
            out += encode_uint(len(relays), 1, "nwk.relay_count")
            out += encode_uint(self.source_route.relay_index, 1, "nwk.relay_index")
            for relay in relays:
                out += encode_uint(relay, 2, "nwk.relay")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> tuple[NwkHeader, bytes]:
        r = Reader(data, error=FrameDecodeError)
        fc = NwkFrameControl.from_int(r.uint(2, "nwk.frame_control"))
        dst, src = r.uint(2, "nwk.dst"), r.uint(2, "nwk.src")
        radius, sequence = r.take(1, "nwk.radius")[0], r.take(1, "nwk.sequence")[0]
        dst_ieee = r.take(8, "nwk.dst_ieee")[::-1] if fc.dst_ieee_present else None
        src_ieee = r.take(8, "nwk.src_ieee")[::-1] if fc.src_ieee_present else None
        multicast = r.take(1, "nwk.multicast_control")[0] if fc.multicast else None
        route = None
        if fc.source_route:
            count = r.take(1, "nwk.relay_count")[0]
            index = r.take(1, "nwk.relay_index")[0]
            route = SourceRoute(index, tuple(r.uint(2, "nwk.relay") for _ in range(count)))
        header = cls(dst, src, radius, sequence, fc.frame_type, fc.protocol_version, fc.discover_route, fc.security,
                     fc.end_device_initiator, dst_ieee, src_ieee, multicast, route)
        return header, r.rest()


# --- APS ----------------------------------------------------------------------------------

class ApsFrameType(IntEnum):
    DATA = 0
    COMMAND = 1
    ACK = 2
    INTER_PAN = 3


class ApsDeliveryMode(IntEnum):
    UNICAST = 0  # 1 was "indirect", removed in Zigbee 2007 and now reserved
    BROADCAST = 2
    GROUP = 3


class Fragmentation(IntEnum):
    """Extended frame control bits 0-1 (2.2.5.1.8)."""

    NOT_FRAGMENTED = 0
    FIRST_BLOCK = 1  # block_number then holds the number of blocks
    SUBSEQUENT_BLOCK = 2  # block_number holds this block's index


@dataclass(frozen=True, slots=True)
class ApsFrameControl:
    """The APS frame control byte (2.2.5.1.1)."""

    frame_type: ApsFrameType = ApsFrameType.DATA
    delivery_mode: ApsDeliveryMode = ApsDeliveryMode.UNICAST
    ack_format: bool = False
    security: bool = False
    ack_request: bool = False
    extended_header: bool = False

    def to_int(self) -> int:
        return (self.frame_type | self.delivery_mode << 2 | self.ack_format << 4 | self.security << 5
                | self.ack_request << 6 | self.extended_header << 7)

    @classmethod
    def from_int(cls, value: int) -> ApsFrameControl:
        if value >> 2 & 0b11 == 1:
            raise FrameDecodeError("reserved APS delivery mode 1", field="aps.delivery_mode", offset=0)
        return cls(ApsFrameType(value & 0b11), ApsDeliveryMode(value >> 2 & 0b11), bool(value & 0x10),
                   bool(value & 0x20), bool(value & 0x40), bool(value & 0x80))


@dataclass(frozen=True, slots=True)
class ApsHeader:
    """Header of an APS data frame; the ZCL frame (or ciphertext, if ``security``) follows it.

    ``dst_endpoint`` is None exactly for group delivery, which carries ``group`` instead.
    ``fragmentation`` is None when there is no extended header.
    """

    dst_endpoint: int | None
    cluster: int
    profile: int
    src_endpoint: int
    counter: int
    delivery_mode: ApsDeliveryMode = ApsDeliveryMode.UNICAST
    group: int | None = None
    ack_request: bool = False
    security: bool = False
    fragmentation: Fragmentation | None = None
    block_number: int = 0

    def __post_init__(self) -> None:
        is_group = self.delivery_mode is ApsDeliveryMode.GROUP
        if is_group != (self.group is not None) or is_group == (self.dst_endpoint is not None):
            raise ZigbeeEncodeError("group delivery carries a group address instead of a destination endpoint",
                                    field="aps.delivery_mode")
        if self.block_number and self.fragmentation in (None, Fragmentation.NOT_FRAGMENTED):
            raise ZigbeeEncodeError("a block number needs a fragmented frame", field="aps.block_number")

    @property
    def frame_control(self) -> ApsFrameControl:
        return ApsFrameControl(ApsFrameType.DATA, self.delivery_mode, False, self.security, self.ack_request,
                               self.fragmentation is not None)

    def encode(self) -> bytes:
        out = bytearray((self.frame_control.to_int(),))
        if self.group is not None:
            out += encode_uint(self.group, 2, "aps.group")
        if self.dst_endpoint is not None:
            out += encode_uint(self.dst_endpoint, 1, "aps.dst_endpoint")
        out += encode_uint(self.cluster, 2, "aps.cluster") + encode_uint(self.profile, 2, "aps.profile")
        out += encode_uint(self.src_endpoint, 1, "aps.src_endpoint") + encode_uint(self.counter, 1, "aps.counter")
        if self.fragmentation is not None:
            out.append(self.fragmentation)
            if self.fragmentation is not Fragmentation.NOT_FRAGMENTED:
                out += encode_uint(self.block_number, 1, "aps.block_number")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> tuple[ApsHeader, bytes]:
        r = Reader(data, error=FrameDecodeError)
        fc = ApsFrameControl.from_int(r.take(1, "aps.frame_control")[0])
        if fc.frame_type is not ApsFrameType.DATA:
            raise FrameDecodeError(f"only APS data frames are supported, not {fc.frame_type.name}",
                                   field="aps.frame_type", offset=0)
        if fc.ack_format:
            raise FrameDecodeError("the ack-format bit is for acknowledgements only", field="aps.ack_format",
                                   offset=0)
        group = r.uint(2, "aps.group") if fc.delivery_mode is ApsDeliveryMode.GROUP else None
        dst_endpoint = None if group is not None else r.take(1, "aps.dst_endpoint")[0]
        cluster, profile = r.uint(2, "aps.cluster"), r.uint(2, "aps.profile")
        src_endpoint, counter = r.take(1, "aps.src_endpoint")[0], r.take(1, "aps.counter")[0]
        fragmentation, block = None, 0
        if fc.extended_header:
            pos = r.offset
            ext = r.take(1, "aps.extended_frame_control")[0]
            if ext & 0xFC or ext & 0b11 == 0b11:
                raise FrameDecodeError(f"reserved extended frame control 0x{ext:02X}",
                                       field="aps.extended_frame_control", offset=pos)
            fragmentation = Fragmentation(ext & 0b11)
            if fragmentation is not Fragmentation.NOT_FRAGMENTED:
                block = r.take(1, "aps.block_number")[0]
        header = cls(dst_endpoint, cluster, profile, src_endpoint, counter, fc.delivery_mode, group,
                     fc.ack_request, fc.security, fragmentation, block)
        return header, r.rest()
