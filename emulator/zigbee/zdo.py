"""The device side of the Zigbee Device Profile (ZDO, endpoint 0): what a joining node answers.

Theory of operation. After a join, a coordinator (zigpy, a CHF) interviews the node over
ZDO: Node_Desc_req, Active_EP_req, then Simple_Desc_req per endpoint. A device answers
from a fixed description of itself (:class:`DeviceDescriptor`). :class:`ZdoResponder` is
that answer as a pure function of (cluster, request frame), sans-IO: the adapter carries
the frames, and reads the leave flag it raises. EUI-64s are held as printed (most
significant byte first) and sent reversed, as everywhere in the project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from emulator.zigbee.errors import ZdoError, ZigbeeEncodeError
from emulator.zigbee.packet import CLUSTER_KEY_ESTABLISHMENT, CLUSTER_OTA, CLUSTER_TUNNELING, PROFILE_SMART_ENERGY
from emulator.zigbee.types import Reader, encode_uint

# --- cluster ids (Zigbee spec 2.4.3 / 2.4.4) -------------------------------------------------

NWK_ADDR_REQ = 0x0000
IEEE_ADDR_REQ = 0x0001
NODE_DESC_REQ = 0x0002
SIMPLE_DESC_REQ = 0x0004
ACTIVE_EP_REQ = 0x0005
MATCH_DESC_REQ = 0x0006
DEVICE_ANNCE = 0x0013
MGMT_LQI_REQ = 0x0031
MGMT_LEAVE_REQ = 0x0034
MGMT_PERMIT_JOINING_REQ = 0x0036

RESPONSE = 0x8000  # a response's cluster id is its request's with the top bit set
NWK_ADDR_RSP = NWK_ADDR_REQ | RESPONSE
IEEE_ADDR_RSP = IEEE_ADDR_REQ | RESPONSE
NODE_DESC_RSP = NODE_DESC_REQ | RESPONSE
SIMPLE_DESC_RSP = SIMPLE_DESC_REQ | RESPONSE
ACTIVE_EP_RSP = ACTIVE_EP_REQ | RESPONSE
MATCH_DESC_RSP = MATCH_DESC_REQ | RESPONSE
MGMT_LQI_RSP = MGMT_LQI_REQ | RESPONSE
MGMT_LEAVE_RSP = MGMT_LEAVE_REQ | RESPONSE
MGMT_PERMIT_JOINING_RSP = MGMT_PERMIT_JOINING_REQ | RESPONSE

COMMAND_NAMES = {
    NWK_ADDR_REQ: "NWK_addr_req", IEEE_ADDR_REQ: "IEEE_addr_req", NODE_DESC_REQ: "Node_Desc_req",
    SIMPLE_DESC_REQ: "Simple_Desc_req", ACTIVE_EP_REQ: "Active_EP_req", MATCH_DESC_REQ: "Match_Desc_req",
    DEVICE_ANNCE: "Device_annce", MGMT_LQI_REQ: "Mgmt_Lqi_req", MGMT_LEAVE_REQ: "Mgmt_Leave_req",
    MGMT_PERMIT_JOINING_REQ: "Mgmt_Permit_Joining_req",
}

# ZCL cluster ids a GB meter's endpoint lists (the SE ones come from packet.py).
CLUSTER_BASIC = 0x0000
CLUSTER_IDENTIFY = 0x0003
CLUSTER_TIME = 0x000A
CLUSTER_METERING = 0x0702

DEVICE_TYPE_METERING = 0x0501  # SE 1.x device id "Metering Device"

# Broadcast NWK addresses a NWKAddrOfInterest may hold in Match_Desc_req.
_BROADCASTS = frozenset((0xFFFF, 0xFFFD, 0xFFFC))


class ZdoStatus(IntEnum):
    """ZDP status codes (Zigbee spec 2.4.5)."""

    SUCCESS = 0x00
    INV_REQUESTTYPE = 0x80
    DEVICE_NOT_FOUND = 0x81
    INVALID_EP = 0x82
    NOT_ACTIVE = 0x83
    NOT_SUPPORTED = 0x84


# Mgmt_Leave_rsp carries NLME-LEAVE.confirm's status when the leave cannot be done: a request
# naming a device that is neither us nor a child of ours (we have none) gets UNKNOWN_DEVICE.
NWK_UNKNOWN_DEVICE = 0xC2


class LogicalType(IntEnum):
    """Node descriptor bits 0-2 of byte 0."""

    COORDINATOR = 0
    ROUTER = 1
    END_DEVICE = 2


class MacCapability(IntFlag):
    """MAC capability flags (IEEE 802.15.4 association capability), as Device_annce and the
    node descriptor carry them."""

    NONE = 0
    ALTERNATE_PAN_COORDINATOR = 0x01
    FULL_FUNCTION_DEVICE = 0x02
    MAINS_POWERED = 0x04
    RX_ON_WHEN_IDLE = 0x08
    SECURITY_CAPABLE = 0x40
    ALLOCATE_ADDRESS = 0x80


FREQUENCY_BAND_2400MHZ = 0b01000  # node descriptor frequency-band bitmap (5 bits), 2.4 GHz
STACK_REVISION_SHIFT = 9  # server mask bits 9-15: stack compliance revision
STACK_REVISION_R21 = 21
DEFAULT_TRANSFER_SIZE = 82  # one unfragmented APS payload; larger GBCS frames are fragmented

NODE_DESCRIPTOR_SIZE = 13


def _check(value: int, bits: int, name: str) -> None:
    if not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise ZigbeeEncodeError(f"{value!r} does not fit {bits} bits", field=name)


def _eui(value: bytes, name: str) -> None:
    if not isinstance(value, bytes) or len(value) != 8:
        raise ZigbeeEncodeError(f"an EUI-64 is 8 bytes, got {value!r}", field=name)


@dataclass(frozen=True, slots=True)
class NodeDescriptor:
    """The 13-byte node descriptor (Zigbee spec 2.3.2.3), in its wire order:

    byte 0 logical type (bits 0-2), complex (3) and user (4) descriptor available, reserved
    (5-7); byte 1 APS flags (0-2), frequency band (3-7); MAC capability u8; manufacturer code
    u16; maximum buffer size u8; maximum incoming transfer size u16; server mask u16;
    maximum outgoing transfer size u16; descriptor capability u8 (all little-endian).
    """

    logical_type: LogicalType
    mac_capability: int
    manufacturer_code: int
    max_buffer_size: int = DEFAULT_TRANSFER_SIZE
    max_incoming_transfer_size: int = DEFAULT_TRANSFER_SIZE
    max_outgoing_transfer_size: int = DEFAULT_TRANSFER_SIZE
    server_mask: int = STACK_REVISION_R21 << STACK_REVISION_SHIFT
    descriptor_capability: int = 0
    frequency_band: int = FREQUENCY_BAND_2400MHZ
    complex_descriptor_available: bool = False
    user_descriptor_available: bool = False
    aps_flags: int = 0
    reserved: int = 0
    """Bits 5-7 of byte 0: kept rather than refused so a received descriptor re-encodes unchanged."""

    def __post_init__(self) -> None:
        if self.logical_type not in tuple(LogicalType):
            raise ZigbeeEncodeError(f"logical type {self.logical_type!r} is reserved", field="logical_type")
        for name, bits in (("mac_capability", 8), ("manufacturer_code", 16), ("max_buffer_size", 8),
                           ("max_incoming_transfer_size", 16), ("max_outgoing_transfer_size", 16),
                           ("server_mask", 16), ("descriptor_capability", 8), ("frequency_band", 5),
                           ("aps_flags", 3), ("reserved", 3)):
            _check(getattr(self, name), bits, name)

    @classmethod
    def mains_router(cls, manufacturer_code: int) -> NodeDescriptor:
        """An ESME: a router, mains powered, receiver always on (so the CHF can push to it)."""
        caps = (MacCapability.FULL_FUNCTION_DEVICE | MacCapability.MAINS_POWERED | MacCapability.RX_ON_WHEN_IDLE
                | MacCapability.ALLOCATE_ADDRESS)
        return cls(LogicalType.ROUTER, int(caps), manufacturer_code)

    @classmethod
    def sleepy_end_device(cls, manufacturer_code: int) -> NodeDescriptor:
        """A GSME: an end device on battery, receiver off when idle (it polls its parent)."""
        return cls(LogicalType.END_DEVICE, int(MacCapability.ALLOCATE_ADDRESS), manufacturer_code)

    @property
    def is_end_device(self) -> bool:
        return self.logical_type == LogicalType.END_DEVICE

    def encode(self) -> bytes:
        byte0 = (self.logical_type | self.complex_descriptor_available << 3 | self.user_descriptor_available << 4
                 | self.reserved << 5)
        byte1 = self.aps_flags | self.frequency_band << 3
        return (bytes((byte0, byte1, self.mac_capability)) + encode_uint(self.manufacturer_code, 2, "manufacturer_code")
                + bytes((self.max_buffer_size,))
                + encode_uint(self.max_incoming_transfer_size, 2, "max_incoming_transfer_size")
                + encode_uint(self.server_mask, 2, "server_mask")
                + encode_uint(self.max_outgoing_transfer_size, 2, "max_outgoing_transfer_size")
                + bytes((self.descriptor_capability,)))

    @classmethod
    def read(cls, r: Reader) -> NodeDescriptor:
        pos = r.offset
        byte0, byte1, caps = r.take(3, "node_descriptor")
        if byte0 & 0b111 not in tuple(LogicalType):
            raise ZdoError(f"reserved logical type {byte0 & 0b111} in the node descriptor", field="logical_type",
                           offset=pos)
        mfr = r.uint(2, "manufacturer_code")
        buf = r.take(1, "max_buffer_size")[0]
        incoming = r.uint(2, "max_incoming_transfer_size")
        mask = r.uint(2, "server_mask")
        outgoing = r.uint(2, "max_outgoing_transfer_size")
        desc = r.take(1, "descriptor_capability")[0]
        return cls(LogicalType(byte0 & 0b111), caps, mfr, max_buffer_size=buf, max_incoming_transfer_size=incoming,
                   max_outgoing_transfer_size=outgoing, server_mask=mask, descriptor_capability=desc,
                   frequency_band=byte1 >> 3, complex_descriptor_available=bool(byte0 & 0x08),
                   user_descriptor_available=bool(byte0 & 0x10), aps_flags=byte1 & 0b111, reserved=byte0 >> 5)

    @classmethod
    def decode(cls, data: bytes) -> NodeDescriptor:
        """Exactly one 13-byte descriptor."""
        r = Reader(data, error=ZdoError)
        node = cls.read(r)
        r.expect_end("node descriptor")
        return node


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One application endpoint: its simple descriptor (Zigbee spec 2.3.2.5)."""

    endpoint: int
    profile: int
    device_type: int
    device_version: int
    input_clusters: tuple[int, ...]
    output_clusters: tuple[int, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, int) or not 1 <= self.endpoint <= 0xFE:
            raise ZigbeeEncodeError(f"application endpoints are 1-254, got {self.endpoint!r}", field="endpoint")
        _check(self.profile, 16, "profile")
        _check(self.device_type, 16, "device_type")
        _check(self.device_version, 4, "device_version")
        for name in ("input_clusters", "output_clusters"):
            clusters = getattr(self, name)
            if len(clusters) > 0xFF:
                raise ZigbeeEncodeError("at most 255 clusters per list", field=name)
            for c in clusters:
                _check(c, 16, name)

    def encode(self) -> bytes:
        """The simple descriptor, without the length byte Simple_Desc_rsp puts in front."""
        out = (bytes((self.endpoint,)) + encode_uint(self.profile, 2, "profile")
               + encode_uint(self.device_type, 2, "device_type") + bytes((self.device_version,)))
        for clusters in (self.input_clusters, self.output_clusters):
            out += bytes((len(clusters),)) + b"".join(c.to_bytes(2, "little") for c in clusters)
        return out

    @classmethod
    def read(cls, r: Reader) -> Endpoint:
        pos = r.offset
        ep = r.take(1, "endpoint")[0]
        if not 1 <= ep <= 0xFE:
            raise ZdoError(f"endpoint {ep} is not an application endpoint", field="endpoint", offset=pos)
        profile, device_type = r.uint(2, "profile"), r.uint(2, "device_type")
        version = r.take(1, "device_version")[0] & 0x0F  # bits 4-7 are reserved
        lists = []
        for name in ("input_clusters", "output_clusters"):
            n = r.take(1, name)[0]
            lists.append(tuple(r.uint(2, name) for _ in range(n)))
        return cls(ep, profile, device_type, version, lists[0], lists[1])

    @classmethod
    def decode(cls, data: bytes) -> Endpoint:
        r = Reader(data, error=ZdoError)
        ep = cls.read(r)
        r.expect_end("simple descriptor")
        return ep


@dataclass(frozen=True, slots=True)
class DeviceDescriptor:
    """Everything a node says about itself over ZDO."""

    eui: bytes
    """EUI-64, most significant byte first (reversed on the wire)."""
    nwk: int
    node: NodeDescriptor
    endpoints: tuple[Endpoint, ...]

    def __post_init__(self) -> None:
        _eui(self.eui, "eui")
        _check(self.nwk, 16, "nwk")
        ids = [e.endpoint for e in self.endpoints]
        if len(set(ids)) != len(ids):
            raise ZigbeeEncodeError(f"endpoint numbers repeat: {ids}", field="endpoints")

    def endpoint(self, number: int) -> Endpoint | None:
        return next((e for e in self.endpoints if e.endpoint == number), None)


def device_annce(tsn: int, nwk: int, eui: bytes, capability: int) -> bytes:
    """A Device_annce frame (cluster 0x0013): TSN, NWKAddr, IEEEAddr, MAC capability."""
    _eui(eui, "eui")
    return (encode_uint(tsn, 1, "tsn") + encode_uint(nwk, 2, "nwk") + eui[::-1]
            + encode_uint(capability, 1, "capability"))


def meter_descriptor(eui: bytes, nwk: int, kind: str, manufacturer_code: int) -> DeviceDescriptor:
    """A GB meter's self-description: one SE endpoint, as a router (ESME) or a sleepy end device (GSME)."""
    if kind == "ESME":
        node = NodeDescriptor.mains_router(manufacturer_code)
    elif kind == "GSME":
        node = NodeDescriptor.sleepy_end_device(manufacturer_code)
    else:
        raise ZigbeeEncodeError(f"no ZDO description for a {kind!r} (ESME or GSME)", field="kind")
    # OTA is an output (client) cluster: the meter pulls images from the CHF's OTA server;
    # Tunneling is both ways because the ESME serves the tunnel and the GSME opens one.
    ep = Endpoint(1, PROFILE_SMART_ENERGY, DEVICE_TYPE_METERING, 0,
                  (CLUSTER_BASIC, CLUSTER_IDENTIFY, CLUSTER_METERING, CLUSTER_TUNNELING, CLUSTER_KEY_ESTABLISHMENT),
                  (CLUSTER_OTA, CLUSTER_TUNNELING, CLUSTER_TIME))
    return DeviceDescriptor(eui, nwk, node, (ep,))


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "little")


@dataclass(slots=True)
class ZdoResponder:
    """Answers ZDO requests on behalf of one device.

    ``device`` may be replaced (e.g. when the NWK address is assigned at join). The
    management requests leave their mark here for the adapter to act on:
    ``leave_requested`` / ``rejoin_requested`` after a Mgmt_Leave_req naming us, and
    ``permit_duration`` after a Mgmt_Permit_Joining_req.
    """

    device: DeviceDescriptor
    leave_requested: bool = False
    rejoin_requested: bool = False
    permit_duration: int | None = None
    _handlers: dict[int, Callable[[int, Reader], tuple[int, bytes] | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._handlers = {
            NWK_ADDR_REQ: self._nwk_addr, IEEE_ADDR_REQ: self._ieee_addr, NODE_DESC_REQ: self._node_desc,
            SIMPLE_DESC_REQ: self._simple_desc, ACTIVE_EP_REQ: self._active_ep, MATCH_DESC_REQ: self._match_desc,
            MGMT_LEAVE_REQ: self._mgmt_leave, MGMT_PERMIT_JOINING_REQ: self._permit_joining,
            MGMT_LQI_REQ: self._mgmt_lqi,
        }

    def announce(self, tsn: int) -> bytes:
        """Our Device_annce, sent after joining so the coordinator learns NWK address and capability."""
        return device_annce(tsn, self.device.nwk, self.device.eui, self.device.node.mac_capability)

    def respond(self, cluster_id: int, frame: bytes) -> tuple[int, bytes] | None:
        """(response cluster, response frame) for a request frame as carried in the APS payload
        (TSN first), or None when the device stays silent: responses, Device_annce, a
        NWK_addr_req for another IEEE address, a broadcast Match_Desc_req that matches nothing.

        Bytes after a request's fields are ignored (later spec revisions append fields). A
        request cut short raises :class:`ZdoError`.
        """
        _check(cluster_id, 16, "cluster_id")
        if cluster_id & RESPONSE or cluster_id == DEVICE_ANNCE:
            return None
        name = COMMAND_NAMES.get(cluster_id, f"ZDO request 0x{cluster_id:04X}")
        if not frame:
            raise ZdoError(f"{name}: empty frame, no transaction sequence number", command=name, field="tsn",
                           offset=0)
        tsn = frame[0]
        handler = self._handlers.get(cluster_id)
        if handler is None:  # a request we do not implement: say so, in its response cluster
            return cluster_id | RESPONSE, bytes((tsn, ZdoStatus.NOT_SUPPORTED))
        try:
            return handler(tsn, Reader(frame, error=ZdoError, offset=1))
        except ZdoError as e:
            raise ZdoError(f"{name}: {e.message}", command=name, field=e.field, offset=e.offset) from None

    # --- the handlers: each reads its request's fields and builds the response ----------------

    def _other(self, nwk: int) -> ZdoStatus | None:
        """The error status for a request about NWK address ``nwk``, None if it is ours. The
        spec has an end device refuse the request type and a router report the device as
        not found among its children (it has none here)."""
        if nwk == self.device.nwk:
            return None
        return ZdoStatus.INV_REQUESTTYPE if self.device.node.is_end_device else ZdoStatus.DEVICE_NOT_FOUND

    def _address_tail(self, request_type: int) -> bytes:
        # Extended responses add NumAssocDev; with no associated devices, StartIndex and the
        # list are left off.
        return b"\x00" if request_type == 1 else b""

    def _nwk_addr(self, tsn: int, r: Reader) -> tuple[int, bytes] | None:
        ieee = r.take(8, "IEEEAddr")[::-1]
        request_type = r.take(1, "RequestType")[0]
        r.take(1, "StartIndex")
        if ieee != self.device.eui:  # usually broadcast: only the device named answers
            return None
        body = self.device.eui[::-1] + _u16(self.device.nwk)
        if request_type > 1:
            return NWK_ADDR_RSP, bytes((tsn, ZdoStatus.INV_REQUESTTYPE)) + body
        return NWK_ADDR_RSP, bytes((tsn, ZdoStatus.SUCCESS)) + body + self._address_tail(request_type)

    def _ieee_addr(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        nwk = r.uint(2, "NWKAddrOfInterest")
        request_type = r.take(1, "RequestType")[0]
        r.take(1, "StartIndex")
        if nwk != self.device.nwk:
            return IEEE_ADDR_RSP, bytes((tsn, ZdoStatus.DEVICE_NOT_FOUND)) + b"\xff" * 8 + _u16(nwk)
        body = self.device.eui[::-1] + _u16(self.device.nwk)
        if request_type > 1:
            return IEEE_ADDR_RSP, bytes((tsn, ZdoStatus.INV_REQUESTTYPE)) + body
        return IEEE_ADDR_RSP, bytes((tsn, ZdoStatus.SUCCESS)) + body + self._address_tail(request_type)

    def _node_desc(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        nwk = r.uint(2, "NWKAddrOfInterest")
        status = self._other(nwk)
        if status is not None:
            return NODE_DESC_RSP, bytes((tsn, status)) + _u16(nwk)
        return NODE_DESC_RSP, bytes((tsn, ZdoStatus.SUCCESS)) + _u16(nwk) + self.device.node.encode()

    def _simple_desc(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        nwk = r.uint(2, "NWKAddrOfInterest")
        number = r.take(1, "EndPoint")[0]
        status = self._other(nwk)
        ep = self.device.endpoint(number)
        if status is not None or ep is None:
            if status is None:
                # 0 is the ZDO itself and 0xFF the broadcast endpoint: not endpoint numbers at all.
                # A valid number with no simple descriptor behind it is merely not active.
                status = ZdoStatus.NOT_ACTIVE if 1 <= number <= 0xFE else ZdoStatus.INVALID_EP
            return SIMPLE_DESC_RSP, bytes((tsn, status)) + _u16(nwk) + b"\x00"  # Length 0, no descriptor
        descriptor = ep.encode()
        return SIMPLE_DESC_RSP, bytes((tsn, ZdoStatus.SUCCESS)) + _u16(nwk) + bytes((len(descriptor),)) + descriptor

    def _active_ep(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        nwk = r.uint(2, "NWKAddrOfInterest")
        status = self._other(nwk)
        if status is not None:
            return ACTIVE_EP_RSP, bytes((tsn, status)) + _u16(nwk) + b"\x00"
        eps = bytes(e.endpoint for e in self.device.endpoints)
        return ACTIVE_EP_RSP, bytes((tsn, ZdoStatus.SUCCESS)) + _u16(nwk) + bytes((len(eps),)) + eps

    def _match_desc(self, tsn: int, r: Reader) -> tuple[int, bytes] | None:
        nwk = r.uint(2, "NWKAddrOfInterest")
        profile = r.uint(2, "ProfileID")
        wanted_in = {r.uint(2, "InClusterList") for _ in range(r.take(1, "NumInClusters")[0])}
        wanted_out = {r.uint(2, "OutClusterList") for _ in range(r.take(1, "NumOutClusters")[0])}
        broadcast = nwk in _BROADCASTS
        status = None if broadcast else self._other(nwk)
        if status is not None:
            return MATCH_DESC_RSP, bytes((tsn, status)) + _u16(nwk) + b"\x00"
        # An endpoint matches on its profile (0xFFFF is the wildcard) and on any one cluster:
        # a wanted input (server) cluster among its inputs, or a wanted output among its outputs.
        matches = bytes(e.endpoint for e in self.device.endpoints
                        if profile in (e.profile, 0xFFFF)
                        and (wanted_in & set(e.input_clusters) or wanted_out & set(e.output_clusters)))
        if broadcast and not matches:
            return None  # a broadcast query is answered only by the nodes that match it
        return MATCH_DESC_RSP, bytes((tsn, ZdoStatus.SUCCESS)) + _u16(self.device.nwk) + bytes((len(matches),)) \
            + matches

    def _mgmt_leave(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        address = r.take(8, "DeviceAddress")[::-1]
        options = r.take(1, "Options")[0]
        if address not in (self.device.eui, bytes(8)):  # all zeros means "you, the receiver"
            return MGMT_LEAVE_RSP, bytes((tsn, NWK_UNKNOWN_DEVICE))
        self.leave_requested = True
        self.rejoin_requested = bool(options & 0x80)  # bit 6 is remove-children: we have none
        return MGMT_LEAVE_RSP, bytes((tsn, ZdoStatus.SUCCESS))

    def _permit_joining(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        self.permit_duration = r.take(1, "PermitDuration")[0]
        r.take(1, "TC_Significance")
        return MGMT_PERMIT_JOINING_RSP, bytes((tsn, ZdoStatus.SUCCESS))

    def _mgmt_lqi(self, tsn: int, r: Reader) -> tuple[int, bytes]:
        r.take(1, "StartIndex")
        # The neighbour table is the radio's business, which the emulated HAN does not model.
        return MGMT_LQI_RSP, bytes((tsn, ZdoStatus.NOT_SUPPORTED))
