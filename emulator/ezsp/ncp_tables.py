"""The fake NCP's tables and the commands that only read or write them: configuration values,
stack values, policies, manufacturing tokens, keys, the multicast, address and child tables.
A mixin of :class:`emulator.ezsp.fake.FakeNcp`, which holds the state and the network and
message commands; the status codes and the output type both use live here."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.ezsp import commands as ez
from emulator.zigbee import zdo
from emulator.zigbee.fields import Fields, FieldValue
from emulator.zigbee.packet import HanPacket

WILDCARD = b"\xff" * 8
DEFAULT_TC_LINK_KEY = b"ZigBeeAlliance09"
# EmberStatus values (UG100 / EmberZNet ember-types.h).
SUCCESS, ERR_FATAL, BAD_ARGUMENT, DELIVERY_FAILED, INVALID_CALL = 0x00, 0x01, 0x02, 0x66, 0x70
MESSAGE_TOO_LONG, NETWORK_UP, NETWORK_DOWN, NOT_JOINED, NOT_FOUND = 0x74, 0x90, 0x91, 0x93, 0x03
NO_NETWORK, JOINED_NETWORK = 0, 2
COORDINATOR, END_DEVICE, SLEEPY_END_DEVICE = 1, 3, 4
UNSECURED_JOIN, DEVICE_LEFT = 1, 2
USE_PRECONFIGURED_KEY, NO_ACTION = 0, 3
INCOMING_UNICAST, INCOMING_BROADCAST = 0, 4
OUTGOING_DIRECT, OUTGOING_BROADCAST = 0, 6
KEY_TC_LINK, KEY_NETWORK = 1, 3
TRUST_CENTER_POLICY, JOINS_USE_INSTALL_CODE_KEY = 0, 0x10
VALUE_FREE_BUFFERS, VALUE_VERSION_INFO = 3, 17
MFG_STRING, MFG_BOARD_NAME, MFG_CUSTOM_EUI_64 = 1, 2, 12
CONFIG_SECURITY_LEVEL, CONFIG_KEY_TABLE_SIZE, CONFIG_MULTICAST_TABLE_SIZE = 13, 30, 6
HAVE_TC_LINK_KEY, GLOBAL_LINK_KEY = 0x10, 0x04
# APS options (EmberApsOption).
OPTION_ENCRYPTION, OPTION_RETRY, OPTION_FRAGMENT = 0x0020, 0x0040, 0x8000
BROADCAST_MIN = 0xFFF8

@dataclass(slots=True)
class FakeOutput:
    """What one step produced (the shape the fake Z-Stack's air adapter consumes)."""

    serial: bytearray = field(default_factory=bytearray)
    """Bytes for the host (ASH frames)."""
    air: list[HanPacket] = field(default_factory=list)
    left: list[bytes] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fragments: list[tuple[float, HanPacket]] = field(default_factory=list)
    """APS blocks the NCP transmits, each with the time it leaves."""
    acks: list[tuple[bytes, int]] = field(default_factory=list)
    """APS acknowledgements of a device's blocks: (device, blocks received below this index)."""

    def wire(self) -> bytes:
        return bytes(self.serial)


@dataclass(slots=True)
class Joined:
    descriptor: zdo.DeviceDescriptor
    responder: zdo.ZdoResponder
    sleepy: bool
    acked: set[int] = field(default_factory=set)
    """Blocks of the message now arriving from it that the host has acknowledged."""
    aps_sequence: int = 0
    """APS counter of the message now arriving from it (every block carries the same)."""

    @property
    def nwk(self) -> int:
        return self.descriptor.nwk



class NcpTables:
    """The table commands (``_h_`` + the command's name); each returns the frames to send."""

    ieee: bytes
    up: bool
    sequence: int
    format: int
    network_key: bytes
    tc_link_key: bytes
    devices: dict[bytes, Joined]
    config: dict[int, int]
    values: dict[int, bytes]
    policies: dict[int, int]
    transient_keys: dict[bytes, bytes]
    key_table: dict[int, tuple[bytes, bytes]]
    multicast: dict[int, Fields]
    extended_timeout: dict[bytes, bool]

    def _rsp(self, name: str, **fields: FieldValue) -> bytes:
        return ez.build_fields(name, self.sequence, self.format, fields)

    def _cb(self, name: str, **fields: FieldValue) -> bytes:
        return ez.build_fields(name, self.sequence, max(self.format, ez.PROTOCOL_VERSION), fields, callback=True)

    def _by_nwk(self, nwk: int) -> Joined | None:
        return next((d for d in self.devices.values() if d.nwk == nwk), None)

    def _status(self, name: str, status: int = SUCCESS) -> list[bytes]:
        return [self._rsp(name, status=status)]

    def _h_nop(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("nop")]

    def _h_getMfgToken(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        tokens = {MFG_STRING: b"smets2-emu", MFG_BOARD_NAME: b"fake EZSP NCP", MFG_CUSTOM_EUI_64: b"\xff" * 8}
        return [self._rsp("getMfgToken", tokenData=tokens.get(f.integer("tokenId"), b"\xff" * 16))]

    def _h_setConcentrator(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return self._status("setConcentrator")

    def _h_setManufacturerCode(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("setManufacturerCode")]

    def _h_getEui64(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getEui64", eui64=self.ieee)]

    def _h_getNodeId(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getNodeId", nodeId=0x0000 if self.up else 0xFFFE)]

    def _h_getChildData(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        devices = list(self.devices.values())
        if f.integer("index") >= len(devices):
            return [self._rsp("getChildData", status=NOT_JOINED, childData={
                "eui64": bytes(8), "type": 0, "id": 0xFFFF, "phy": 0, "power": 0, "timeout": 0})]
        dev = devices[f.integer("index")]
        return [self._rsp("getChildData", status=SUCCESS, childData={
            "eui64": dev.descriptor.eui, "type": SLEEPY_END_DEVICE if dev.sleepy else END_DEVICE, "id": dev.nwk,
            "phy": 0, "power": 0, "timeout": 0})]

    def _h_getConfigurationValue(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        value = self.config.get(f.integer("configId"))
        return [self._rsp("getConfigurationValue", status=0x00 if value is not None else 0x37, value=value or 0)]

    def _h_setConfigurationValue(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.config[f.integer("configId")] = f.integer("value")
        return self._status("setConfigurationValue")

    def _h_setPolicy(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.policies[f.integer("policyId")] = f.integer("decisionId")
        return self._status("setPolicy")

    def _h_setSourceRouteDiscoveryMode(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("setSourceRouteDiscoveryMode", remainingTime=0)]

    def _h_lookupNodeIdByEui64(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        dev = self.devices.get(f.octets("eui64"))
        return [self._rsp("lookupNodeIdByEui64", nodeId=dev.nwk if dev else 0x0000 if f.octets("eui64") == self.ieee
                          else 0xFFFF)]

    def _h_lookupEui64ByNodeId(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        dev = self._by_nwk(f.integer("nodeId"))
        eui = dev.descriptor.eui if dev else self.ieee if f.integer("nodeId") == 0 else bytes(8)
        status = SUCCESS if dev or f.integer("nodeId") == 0 else NOT_FOUND
        return [self._rsp("lookupEui64ByNodeId", status=status, eui64=eui)]

    def _h_getAddressTableRemoteNodeId(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getAddressTableRemoteNodeId", nodeId=0xFFFF)]  # the table is kept empty: NULL_NODE_ID

    def _h_getAddressTableRemoteEui64(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getAddressTableRemoteEui64", eui64=bytes(8))]

    def _h_getMulticastTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        entry = self.multicast.get(f.integer("index"), {"multicastId": 0, "endpoint": 0, "networkIndex": 0})
        return [self._rsp("getMulticastTableEntry", status=SUCCESS, value=entry)]

    def _h_setMulticastTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.multicast[f.integer("index")] = f.struct("value")
        return self._status("setMulticastTableEntry")

    def _h_addOrUpdateKeyTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        index = next((i for i, (eui, _) in self.key_table.items() if eui == f.octets("address")), len(self.key_table))
        self.key_table[index] = (f.octets("address"), f.octets("keyData"))
        return self._status("addOrUpdateKeyTableEntry")

    def _h_setInitialSecurityState(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        state = f.struct("state")
        self.network_key, self.tc_link_key = state.octets("networkKey"), state.octets("preconfiguredKey")
        return self._status("setInitialSecurityState")

    def _h_getCurrentSecurityState(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getCurrentSecurityState", status=SUCCESS if self.up else NOT_JOINED, state={
            "bitmask": HAVE_TC_LINK_KEY | GLOBAL_LINK_KEY, "trustCenterLongAddress": self.ieee})]

    def _key_struct(self, kind: int, key: bytes, partner: bytes) -> dict[str, FieldValue]:
        return {"bitmask": 0x0A, "type": kind, "key": key, "outgoingFrameCounter": 0, "incomingFrameCounter": 0,
                "sequenceNumber": 0, "partnerEUI64": partner}

    def _h_getKey(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        key = {KEY_TC_LINK: self.tc_link_key, KEY_NETWORK: self.network_key}.get(f.integer("keyType"))
        return [self._rsp("getKey", status=SUCCESS if key is not None else NOT_FOUND,
                          keyStruct=self._key_struct(f.integer("keyType"), key or bytes(16), self.ieee))]

    def _h_getKeyTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        entry = self.key_table.get(f.integer("index"))
        eui, key = entry if entry is not None else (bytes(8), bytes(16))
        return [self._rsp("getKeyTableEntry", status=SUCCESS if entry else NOT_FOUND,
                          keyStruct=self._key_struct(5, key, eui))]

    def _h_findKeyTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        index = next((i for i, (eui, _) in self.key_table.items() if eui == f.octets("address")), 0xFF)
        return [self._rsp("findKeyTableEntry", index=index)]

    def _h_eraseKeyTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        erased = self.key_table.pop(f.integer("index"), None)
        return self._status("eraseKeyTableEntry", SUCCESS if erased else NOT_FOUND)

    def _h_clearKeyTable(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.key_table.clear()
        return self._status("clearKeyTable")

    def _h_setExtendedTimeout(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.extended_timeout[f.octets("remoteEui64")] = f.flag("extendedTimeout")
        return [self._rsp("setExtendedTimeout")]

    def _h_getExtendedTimeout(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        extended = self.extended_timeout.get(f.octets("remoteEui64"), False)
        return [self._rsp("getExtendedTimeout", extendedTimeout=extended)]

    def _h_replaceAddressTableEntry(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.extended_timeout[f.octets("newEui64")] = f.flag("newExtendedTimeout")
        return [self._rsp("replaceAddressTableEntry", status=SUCCESS, oldEui64=bytes(8), oldId=0xFFFF,
                          oldExtendedTimeout=False)]

    def _h_setRadioPower(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return self._status("setRadioPower")

    def _h_getValue(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        value = self.values.get(f.integer("valueId"))
        return [self._rsp("getValue", status=0x00 if value is not None else 0x37, value=value or b"")]

    def _h_setValue(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.values[f.integer("valueId")] = f.octets("value")
        return self._status("setValue")

    def _h_addTransientLinkKey(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.transient_keys[f.octets("partner")] = f.octets("transientKey")
        return self._status("addTransientLinkKey")
