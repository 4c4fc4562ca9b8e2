"""The fake Z-Stack's non-volatile memory: OSAL items, extended (Z-Stack 3.30) items, the NIB.

Z-Stack 3.30 keeps two address spaces that share storage: legacy OSAL items by a 16-bit id,
and extended items by (system id, item id, sub id), where OSAL id N is (ZSTACK, LEGACY, N).
The store is one dictionary over the extended key; the OSAL commands are views of it.

A factory-fresh chip holds its own address, the one-byte stack settings a host rewrites
without creating them, and the fixed-size tables (address manager, security material,
TC link keys, APS keys) a host walks sub id by sub id until one is missing. The NIB
(network information base) appears when a network is formed; its layout is the unaligned
(CC2531-style) one, the same packing :data:`~emulator.znp.commands` declares for
``UTIL.AssocFindDevice``, so a host reads both with one alignment rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import construct as cs

from emulator.zigbee.fields import Fields, FieldValue, from_construct, to_construct
from emulator.znp import errors as st

SYS_ZSTACK = 1
ITEM_LEGACY = 0x0000
ITEM_ADDRMGR = 0x0001
ITEM_TCLK_TABLE = 0x0004
ITEM_APS_KEY_DATA_TABLE = 0x0006
ITEM_NWK_SEC_MATERIAL_TABLE = 0x0007

# OSAL items the fake reads or writes itself.
EXTADDR = 0x0001
STARTUP_OPTION = 0x0003
NIB_ID = 0x0021
EXTENDED_PAN_ID = 0x002D
NWK_ACTIVE_KEY_INFO = 0x003A
NWK_ALTERN_KEY_INFO = 0x003B
APS_USE_EXT_PANID = 0x0047
BDBNODEISONANETWORK = 0x0055
PRECFGKEY = 0x0062
LOGICAL_TYPE = 0x0087
PANID = 0x0083
CHANLIST = 0x0084
TCLK_SEED = 0x0101

STARTUP_CLEAR_CONFIG = 0x01
STARTUP_CLEAR_STATE = 0x02

APS_LINK_KEY_TABLE = 0x004C
APS_LINK_KEY_ENTRIES = 16
#: Items every Z-Stack image carries (a host rewrites them without creating them).
FACTORY_SETTINGS: dict[int, bytes] = {
    STARTUP_OPTION: b"\x00",
    LOGICAL_TYPE: b"\x00",  # coordinator
    0x0030: bytes((30,)),  # BCAST_DELIVERY_TIME
    0x0032: b"\x01",  # CONCENTRATOR_ENABLE
    0x0033: bytes((120,)),  # CONCENTRATOR_DISCOVERY
    0x0036: b"\x01",  # CONCENTRATOR_RC
    0x0038: b"\xff",  # SRC_RTG_EXPIRY_TIME
    0x003E: b"\x00",  # NWK_CHILD_AGE_ENABLE
    0x008F: b"\x01",  # ZDO_DIRECT_CB
    # A count (u16) and room for 16 entries (address-manager index u16, key NV id u16, state u8).
    APS_LINK_KEY_TABLE: bytes(2 + 5 * APS_LINK_KEY_ENTRIES),
}
#: Extended tables: item id -> (entries, bytes per entry, fill byte).
FACTORY_TABLES: dict[int, tuple[int, int, int]] = {
    ITEM_ADDRMGR: (64, 11, 0xFF),  # type, NWK, EUI-64; all-FF is an empty slot
    ITEM_TCLK_TABLE: (16, 19, 0x00),
    ITEM_APS_KEY_DATA_TABLE: (16, 24, 0x00),
    ITEM_NWK_SEC_MATERIAL_TABLE: (4, 12, 0x00),  # frame counter, extended PAN id
}

_KeyDesc = cs.Struct("KeySeqNum" / cs.Int8ul, "Key" / cs.Bytes(16))
#: The NIB, unaligned (110 bytes). Multi-byte fields little-endian; EUI-64s as on the wire.
NIB = cs.Struct(
    "SequenceNum" / cs.Int8ul, "PassiveAckTimeout" / cs.Int8ul, "MaxBroadcastRetries" / cs.Int8ul,
    "MaxChildren" / cs.Int8ul, "MaxDepth" / cs.Int8ul, "MaxRouters" / cs.Int8ul, "dummyNeighborTable" / cs.Int8ul,
    "BroadcastDeliveryTime" / cs.Int8ul, "ReportConstantCost" / cs.Int8ul, "RouteDiscRetries" / cs.Int8ul,
    "dummyRoutingTable" / cs.Int8ul, "SecureAllFrames" / cs.Int8ul, "SecurityLevel" / cs.Int8ul,
    "SymLink" / cs.Int8ul, "CapabilityFlags" / cs.Int8ul, "TransactionPersistenceTime" / cs.Int16ul,
    "nwkProtocolVersion" / cs.Int8ul, "RouteDiscoveryTime" / cs.Int8ul, "RouteExpiryTime" / cs.Int8ul,
    "nwkDevAddress" / cs.Int16ul, "nwkLogicalChannel" / cs.Int8ul, "nwkCoordAddress" / cs.Int16ul,
    "nwkCoordExtAddress" / cs.Bytes(8), "nwkPanId" / cs.Int16ul, "nwkState" / cs.Int8ul,
    "channelList" / cs.Int32ul, "beaconOrder" / cs.Int8ul, "superFrameOrder" / cs.Int8ul,
    "scanDuration" / cs.Int8ul, "battLifeExt" / cs.Int8ul, "allocatedRouterAddresses" / cs.Int32ul,
    "allocatedEndDeviceAddresses" / cs.Int32ul, "nodeDepth" / cs.Int8ul, "extendedPANID" / cs.Bytes(8),
    "nwkKeyLoaded" / cs.Int8ul, "spare1" / _KeyDesc, "spare2" / _KeyDesc, "spare3" / cs.Int8ul,
    "spare4" / cs.Int8ul, "nwkLinkStatusPeriod" / cs.Int8ul, "nwkRouterAgeLimit" / cs.Int8ul,
    "nwkUseMultiCast" / cs.Int8ul, "nwkIsConcentrator" / cs.Int8ul, "nwkConcentratorDiscoveryTime" / cs.Int8ul,
    "nwkConcentratorRadius" / cs.Int8ul, "nwkAllFresh" / cs.Int8ul, "nwkManagerAddr" / cs.Int16ul,
    "nwkTotalTransmissions" / cs.Int16ul, "nwkUpdateId" / cs.Int8ul,
)
NIB_SIZE = NIB.sizeof()
NWK_STATE_ROUTER = 8  # the coordinator runs its network as a router does (NWK_ROUTER)
ALL_CHANNELS = 0x07FFF800  # channels 11-26


def new_nib(*, nwk: int, channel: int, pan_id: int, ext_pan_id_wire: bytes, channel_mask: int) -> bytes:
    """A formed coordinator's NIB with Z-Stack 3's defaults for everything a host does not set."""
    zero_key: dict[str, FieldValue] = {"KeySeqNum": 0, "Key": bytes(16)}
    fields: dict[str, FieldValue] = {name: 0 for name in (s.name for s in NIB.subcons)}
    fields.update(
        SequenceNum=0, PassiveAckTimeout=5, MaxBroadcastRetries=2, MaxChildren=20, MaxDepth=15, MaxRouters=20,
        BroadcastDeliveryTime=30, ReportConstantCost=0, RouteDiscRetries=0, SecureAllFrames=1, SecurityLevel=5,
        CapabilityFlags=0x8F, TransactionPersistenceTime=7, nwkProtocolVersion=2, RouteDiscoveryTime=13,
        RouteExpiryTime=60, nwkDevAddress=nwk, nwkLogicalChannel=channel, nwkCoordAddress=0x0000,
        nwkCoordExtAddress=bytes(8), nwkPanId=pan_id, nwkState=NWK_STATE_ROUTER, channelList=channel_mask,
        beaconOrder=15, superFrameOrder=15, scanDuration=4, extendedPANID=ext_pan_id_wire, nwkKeyLoaded=1,
        spare1=zero_key, spare2=zero_key, nwkLinkStatusPeriod=15, nwkRouterAgeLimit=3, nwkIsConcentrator=1,
        nwkConcentratorDiscoveryTime=120, nwkConcentratorRadius=30, nwkManagerAddr=0x0000, nwkUpdateId=0,
    )
    return bytes(NIB.build(to_construct(fields)))


def parse_nib(data: bytes) -> Fields:
    return from_construct("NIB", NIB.parse(data))


Key = tuple[int, int, int]


@dataclass(slots=True)
class NvStore:
    """The chip's NV memory. Operations return MT status codes, as Z-Stack does."""

    ieee_wire: bytes
    """The chip's own EUI-64, little-endian, as EXTADDR holds it."""
    items: dict[Key, bytearray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.items:
            self.factory_reset()

    def factory_reset(self) -> None:
        self.items.clear()
        self.items[(SYS_ZSTACK, ITEM_LEGACY, EXTADDR)] = bytearray(self.ieee_wire)
        for nvid, value in FACTORY_SETTINGS.items():
            self.items[(SYS_ZSTACK, ITEM_LEGACY, nvid)] = bytearray(value)
        for item, (count, size, fill) in FACTORY_TABLES.items():
            for sub in range(count):
                self.items[(SYS_ZSTACK, item, sub)] = bytearray((fill,)) * size

    # --- extended items ----------------------------------------------------------------
    def length(self, key: Key) -> int:
        return len(self.items.get(key, b""))

    def create(self, key: Key, length: int, initial: bytes = b"") -> int:
        """NV_ITEM_UNINIT when created now (Z-Stack's answer), SUCCESS when it already existed."""
        if key in self.items:
            return st.SUCCESS
        if not 0 < length <= 0xFFFF:
            return st.NV_BAD_ITEM_LEN
        value = bytearray(length)
        value[:len(initial)] = initial[:length]
        self.items[key] = value
        return st.NV_ITEM_UNINIT

    def read(self, key: Key, offset: int, limit: int) -> tuple[int, bytes]:
        value = self.items.get(key)
        if value is None:
            return st.NV_ITEM_UNINIT, b""
        if offset > len(value):
            return st.INVALID_PARAMETER, b""
        return st.SUCCESS, bytes(value[offset:offset + limit])

    def write(self, key: Key, offset: int, data: bytes) -> int:
        value = self.items.get(key)
        if value is None:
            return st.NV_ITEM_UNINIT
        if offset + len(data) > len(value):
            return st.NV_BAD_ITEM_LEN  # Z-Stack never grows an item on write
        value[offset:offset + len(data)] = data
        return st.SUCCESS

    def delete(self, key: Key) -> int:
        return st.SUCCESS if self.items.pop(key, None) is not None else st.NV_ITEM_UNINIT

    # --- OSAL views ----------------------------------------------------------------------
    @staticmethod
    def osal(nvid: int) -> Key:
        return (SYS_ZSTACK, ITEM_LEGACY, nvid)

    def get(self, nvid: int) -> bytes | None:
        value = self.items.get(self.osal(nvid))
        return bytes(value) if value is not None else None

    def put(self, nvid: int, value: bytes) -> None:
        self.items[self.osal(nvid)] = bytearray(value)

    def put_table_entry(self, item: int, sub: int, value: bytes) -> None:
        self.items[(SYS_ZSTACK, item, sub)] = bytearray(value)


def form(store: NvStore, rng: random.Random, channel_mask: int) -> None:
    """A new network from what the host configured (PAN id, extended PAN id, key, channels), as
    Z-Stack's BDB formation leaves it in NV: NIB, keys, "on a network", security material."""
    pan_raw = store.get(PANID)
    pan = int.from_bytes(pan_raw, "little") if pan_raw and len(pan_raw) == 2 else 0xFFFF
    if pan >= 0xFFFE:
        pan = rng.randrange(0x0001, 0xFFF7)
    ext = store.get(APS_USE_EXT_PANID)
    if not ext or len(ext) != 8 or ext in (bytes(8), b"\xff" * 8):
        ext = rng.randbytes(8)
    key = store.get(PRECFGKEY)
    if not key or len(key) != 16:
        key = rng.randbytes(16)
    mask = channel_mask & ALL_CHANNELS or ALL_CHANNELS
    channel = next(c for c in range(11, 27) if mask & (1 << c))  # no energy scan: the lowest allowed
    store.put(NIB_ID, new_nib(nwk=0x0000, channel=channel, pan_id=pan, ext_pan_id_wire=ext, channel_mask=mask))
    store.put(EXTENDED_PAN_ID, ext)
    store.put(NWK_ACTIVE_KEY_INFO, b"\x00" + key)
    store.put(NWK_ALTERN_KEY_INFO, b"\x00" + key)
    store.put(BDBNODEISONANETWORK, b"\x01")
    if store.get(TCLK_SEED) is None:
        store.put(TCLK_SEED, rng.randbytes(16))
    store.put_table_entry(ITEM_NWK_SEC_MATERIAL_TABLE, 0, bytes(4) + ext)


# --- the MT commands on NV: (store, request fields) -> response fields ----------------------------
READ_CHUNK = 240  # what one SRSP carries after its status and length bytes, with room to spare


def _ext(f: Fields) -> Key:
    return (f.integer("SysId"), f.integer("ItemId"), f.integer("SubId"))


def _osal_read(s: NvStore, f: Fields) -> dict[str, FieldValue]:
    status, value = s.read(s.osal(f.integer("Id")), f.integer("Offset"), READ_CHUNK)
    return {"Status": status, "Value": value}


def _osal_write(s: NvStore, f: Fields) -> dict[str, FieldValue]:
    return {"Status": s.write(s.osal(f.integer("Id")), f.integer("Offset"), f.octets("Value"))}


def _nv_read(s: NvStore, f: Fields) -> dict[str, FieldValue]:
    status, value = s.read(_ext(f), f.integer("Offset"), min(f.integer("Length"), READ_CHUNK))
    return {"Status": status, "Value": value}


COMMANDS: dict[str, Callable[[NvStore, Fields], dict[str, FieldValue]]] = {
    "SYS.OSALNVItemInit": lambda s, f: {
        "Status": s.create(s.osal(f.integer("Id")), f.integer("ItemLen"), f.octets("Value"))},
    "SYS.OSALNVRead": _osal_read,
    "SYS.OSALNVReadExt": _osal_read,
    "SYS.OSALNVWrite": _osal_write,
    "SYS.OSALNVWriteExt": _osal_write,
    "SYS.OSALNVDelete": lambda s, f: {"Status": s.delete(s.osal(f.integer("Id")))},
    "SYS.OSALNVLength": lambda s, f: {"ItemLen": s.length(s.osal(f.integer("Id")))},
    "SYS.NVCreate": lambda s, f: {"Status": s.create(_ext(f), f.integer("Length"))},
    "SYS.NVDelete": lambda s, f: {"Status": s.delete(_ext(f))},
    "SYS.NVLength": lambda s, f: {"Length": s.length(_ext(f))},
    "SYS.NVRead": _nv_read,
    "SYS.NVWrite": lambda s, f: {"Status": s.write(_ext(f), f.integer("Offset"), f.octets("Value"))},
}
