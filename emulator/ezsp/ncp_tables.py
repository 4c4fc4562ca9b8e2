"""The fake NCP's tables and the commands that only read or write them: configuration values,
stack values, policies, manufacturing tokens, keys, the multicast, address and child tables.
A mixin of :class:`emulator.ezsp.fake.FakeNcp`, which holds the state and the network and
message commands; the status codes and the output type both use live here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.ezsp import commands as ez
from emulator.zigbee import zdo
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
    multicast: dict[int, dict[str, int]]
    extended_timeout: dict[bytes, bool]

    def _rsp(self, name: str, **fields: Any) -> bytes:
        return ez.build(name, self.sequence, self.format, **fields)

    def _cb(self, name: str, **fields: Any) -> bytes:
        return ez.build(name, self.sequence, max(self.format, ez.PROTOCOL_VERSION), callback=True, **fields)

    def _by_nwk(self, nwk: int) -> Joined | None:
        return next((d for d in self.devices.values() if d.nwk == nwk), None)

    def _status(self, name: str, status: int = SUCCESS) -> list[bytes]:
        return [self._rsp(name, status=status)]

    def _h_nop(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("nop")]

    def _h_getMfgToken(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        tokens = {MFG_STRING: b"smets2-emu", MFG_BOARD_NAME: b"fake EZSP NCP", MFG_CUSTOM_EUI_64: b"\xff" * 8}
        return [self._rsp("getMfgToken", tokenData=tokens.get(f["tokenId"], b"\xff" * 16))]

    def _h_setConcentrator(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return self._status("setConcentrator")

    def _h_setManufacturerCode(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("setManufacturerCode")]

    def _h_getEui64(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getEui64", eui64=self.ieee)]

    def _h_getNodeId(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getNodeId", nodeId=0x0000 if self.up else 0xFFFE)]

    def _h_getChildData(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        devices = list(self.devices.values())
        if f["index"] >= len(devices):
            return [self._rsp("getChildData", status=NOT_JOINED, childData={
                "eui64": bytes(8), "type": 0, "id": 0xFFFF, "phy": 0, "power": 0, "timeout": 0})]
        dev = devices[f["index"]]
        return [self._rsp("getChildData", status=SUCCESS, childData={
            "eui64": dev.descriptor.eui, "type": SLEEPY_END_DEVICE if dev.sleepy else END_DEVICE, "id": dev.nwk,
            "phy": 0, "power": 0, "timeout": 0})]

    def _h_getConfigurationValue(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        value = self.config.get(f["configId"])
        return [self._rsp("getConfigurationValue", status=0x00 if value is not None else 0x37, value=value or 0)]

    def _h_setConfigurationValue(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.config[f["configId"]] = f["value"]
        return self._status("setConfigurationValue")

    def _h_setPolicy(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.policies[f["policyId"]] = f["decisionId"]
        return self._status("setPolicy")

    def _h_setSourceRouteDiscoveryMode(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("setSourceRouteDiscoveryMode", remainingTime=0)]

    def _h_lookupNodeIdByEui64(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        dev = self.devices.get(f["eui64"])
        return [self._rsp("lookupNodeIdByEui64", nodeId=dev.nwk if dev else 0x0000 if f["eui64"] == self.ieee
                          else 0xFFFF)]

    def _h_lookupEui64ByNodeId(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        dev = self._by_nwk(f["nodeId"])
        eui = dev.descriptor.eui if dev else self.ieee if f["nodeId"] == 0 else bytes(8)
        return [self._rsp("lookupEui64ByNodeId", status=SUCCESS if dev or f["nodeId"] == 0 else NOT_FOUND, eui64=eui)]

    def _h_getAddressTableRemoteNodeId(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getAddressTableRemoteNodeId", nodeId=0xFFFF)]  # the table is kept empty: NULL_NODE_ID

    def _h_getAddressTableRemoteEui64(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getAddressTableRemoteEui64", eui64=bytes(8))]

    def _h_getMulticastTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        entry = self.multicast.get(f["index"], {"multicastId": 0, "endpoint": 0, "networkIndex": 0})
        return [self._rsp("getMulticastTableEntry", status=SUCCESS, value=entry)]

    def _h_setMulticastTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.multicast[f["index"]] = f["value"]
        return self._status("setMulticastTableEntry")

    def _h_addOrUpdateKeyTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        index = next((i for i, (eui, _) in self.key_table.items() if eui == f["address"]), len(self.key_table))
        self.key_table[index] = (f["address"], bytes(f["keyData"]))
        return self._status("addOrUpdateKeyTableEntry")

    def _h_setInitialSecurityState(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        state = f["state"]
        self.network_key, self.tc_link_key = bytes(state["networkKey"]), bytes(state["preconfiguredKey"])
        return self._status("setInitialSecurityState")

    def _h_getCurrentSecurityState(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getCurrentSecurityState", status=SUCCESS if self.up else NOT_JOINED, state={
            "bitmask": HAVE_TC_LINK_KEY | GLOBAL_LINK_KEY, "trustCenterLongAddress": self.ieee})]

    def _key_struct(self, kind: int, key: bytes, partner: bytes) -> dict[str, Any]:
        return {"bitmask": 0x0A, "type": kind, "key": key, "outgoingFrameCounter": 0, "incomingFrameCounter": 0,
                "sequenceNumber": 0, "partnerEUI64": partner}

    def _h_getKey(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        key = {KEY_TC_LINK: self.tc_link_key, KEY_NETWORK: self.network_key}.get(f["keyType"])
        return [self._rsp("getKey", status=SUCCESS if key is not None else NOT_FOUND,
                          keyStruct=self._key_struct(f["keyType"], key or bytes(16), self.ieee))]

    def _h_getKeyTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        entry = self.key_table.get(f["index"])
        eui, key = entry if entry is not None else (bytes(8), bytes(16))
        return [self._rsp("getKeyTableEntry", status=SUCCESS if entry else NOT_FOUND,
                          keyStruct=self._key_struct(5, key, eui))]

    def _h_findKeyTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        index = next((i for i, (eui, _) in self.key_table.items() if eui == f["address"]), 0xFF)
        return [self._rsp("findKeyTableEntry", index=index)]

    def _h_eraseKeyTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return self._status("eraseKeyTableEntry", SUCCESS if self.key_table.pop(f["index"], None) else NOT_FOUND)

    def _h_clearKeyTable(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.key_table.clear()
        return self._status("clearKeyTable")

    def _h_setExtendedTimeout(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.extended_timeout[f["remoteEui64"]] = f["extendedTimeout"]
        return [self._rsp("setExtendedTimeout")]

    def _h_getExtendedTimeout(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("getExtendedTimeout", extendedTimeout=self.extended_timeout.get(f["remoteEui64"], False))]

    def _h_replaceAddressTableEntry(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.extended_timeout[f["newEui64"]] = f["newExtendedTimeout"]
        return [self._rsp("replaceAddressTableEntry", status=SUCCESS, oldEui64=bytes(8), oldId=0xFFFF,
                          oldExtendedTimeout=False)]

    def _h_setRadioPower(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        return self._status("setRadioPower")

    def _h_getValue(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        value = self.values.get(f["valueId"])
        return [self._rsp("getValue", status=0x00 if value is not None else 0x37, value=value or b"")]

    def _h_setValue(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.values[f["valueId"]] = bytes(f["value"])
        return self._status("setValue")

    def _h_addTransientLinkKey(self, f: dict[str, Any], now: float, out: FakeOutput) -> list[bytes]:
        self.transient_keys[f["partner"]] = bytes(f["transientKey"])
        return self._status("addTransientLinkKey")
