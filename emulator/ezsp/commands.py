"""The EZSP frames the fake NCP speaks: one construct definition per command (its parameters
and its response), in one table keyed by frame id; callbacks have only a response.

Only what a bellows host sends an EmberZNet 6.10 coordinator (EZSP protocol version 8) to
start, form a network, read its state, set policies, permit install-code joins and exchange
unicasts is here, with the callbacks the NCP raises. Names follow UG100 and bellows' own
spelling; EUI-64s are little-endian on the wire and kept here in the project's big-endian
display order (the :data:`Eui` adapter turns them round), like extended PAN ids.

The frame header (UG100 section 3): protocol version 4 frames are ``seq fc id``, versions 5
to 7 ``seq fc 0xFF 0x00 id``, and from version 8 ``seq fc_lo fc_hi id_lo id_hi`` with
``fc_hi`` carrying the frame format version 1. A host always starts in version 4 with the
``version`` command; the NCP answers in the format it was asked in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import construct as cs

from emulator.ezsp.errors import EZSP_ERROR_TRUNCATED, EzspFrameError, UnknownCommand
from emulator.zigbee.fields import Fields, FieldValue, from_construct, to_construct


class _Eui(cs.Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: cs.Container, path: str) -> bytes:
        return bytes(obj[::-1])

    def _encode(self, obj: bytes, context: cs.Container, path: str) -> bytes:
        return bytes(obj[::-1])


u8, u16, u32, s8 = cs.Int8ul, cs.Int16ul, cs.Int32ul, cs.Int8sl
Eui = _Eui(cs.Bytes(8))
Key = cs.Bytes(16)
LVBytes = cs.Prefixed(u8, cs.GreedyBytes)
Bool = cs.Flag
EMPTY = cs.Struct()
ApsFrame = cs.Struct("profileId" / u16, "clusterId" / u16, "sourceEndpoint" / u8, "destinationEndpoint" / u8,
                     "options" / u16, "groupId" / u16, "sequence" / u8)
NetworkParameters = cs.Struct("extendedPanId" / Eui, "panId" / u16, "radioTxPower" / u8, "radioChannel" / u8,
                              "joinMethod" / u8, "nwkManagerId" / u16, "nwkUpdateId" / u8, "channels" / u32)
KeyStruct = cs.Struct("bitmask" / u16, "type" / u8, "key" / Key, "outgoingFrameCounter" / u32,
                      "incomingFrameCounter" / u32, "sequenceNumber" / u8, "partnerEUI64" / Eui)
InitialSecurityState = cs.Struct("bitmask" / u16, "preconfiguredKey" / Key, "networkKey" / Key,
                                 "networkKeySequenceNumber" / u8, "preconfiguredTrustCenterEui64" / Eui)
CurrentSecurityState = cs.Struct("bitmask" / u16, "trustCenterLongAddress" / Eui)
MulticastTableEntry = cs.Struct("multicastId" / u16, "endpoint" / u8, "networkIndex" / u8)
ChildData = cs.Struct("eui64" / Eui, "type" / u8, "id" / u16, "phy" / u8, "power" / u8, "timeout" / u8)
Status = cs.Struct("status" / u8)

PROTOCOL_VERSION = 8
STACK_TYPE = 2  # mesh stack
STACK_VERSION = 0x6A30  # EmberZNet 6.10.3: a nibble per digit
#: Frame control of what the NCP sends (UG100 3.2): bit 7 set for a response; callbacks add the
#: asynchronous callback type (bits 4-3 = 10); the high byte is frame format version 1.
FC_RESPONSE, FC_ASYNC_CALLBACK, FC_FORMAT_1 = 0x80, 0x10, 0x01


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    id: int
    parameters: cs.Construct | None = None
    """Struct of what the host sends (None: a callback, the host never sends it)."""
    response: cs.Construct = EMPTY
    """Struct of the NCP's response (or of the callback)."""


def _cb(name: str, frame_id: int, response: cs.Construct) -> Command:
    return Command(name, frame_id, None, response)


TABLE: tuple[Command, ...] = (
    # --- configuration and start-up -----------------------------------------------------------
    Command("version", 0x00, cs.Struct("desiredProtocolVersion" / u8),
            cs.Struct("protocolVersion" / u8, "stackType" / u8, "stackVersion" / u16)),
    Command("addEndpoint", 0x02, cs.Struct(
        "endpoint" / u8, "profileId" / u16, "deviceId" / u16, "deviceVersion" / u8, "inputClusterCount" / u8,
        "outputClusterCount" / u8, "inputClusterList" / cs.Array(cs.this.inputClusterCount, u16),
        "outputClusterList" / cs.Array(cs.this.outputClusterCount, u16)), Status),
    Command("nop", 0x05, EMPTY, EMPTY),
    Command("getMfgToken", 0x0B, cs.Struct("tokenId" / u8), cs.Struct("tokenData" / LVBytes)),
    Command("setConcentrator", 0x10, cs.Struct(
        "on" / Bool, "concentratorType" / u16, "minTime" / u16, "maxTime" / u16, "routeErrorThreshold" / u8,
        "deliveryFailureThreshold" / u8, "maxHops" / u8), Status),
    Command("setManufacturerCode", 0x15, cs.Struct("code" / u16), EMPTY),
    Command("networkInit", 0x17, cs.Struct("networkInitBitmask" / u16), Status),
    Command("networkState", 0x18, EMPTY, Status),
    _cb("stackStatusHandler", 0x19, Status),
    Command("formNetwork", 0x1E, cs.Struct("parameters" / NetworkParameters), Status),
    Command("leaveNetwork", 0x20, EMPTY, Status),
    Command("permitJoining", 0x22, cs.Struct("duration" / u8), Status),
    _cb("childJoinHandler", 0x23, cs.Struct("index" / u8, "joining" / Bool, "childId" / u16, "childEui64" / Eui,
                                            "childType" / u8)),
    _cb("trustCenterJoinHandler", 0x24, cs.Struct(
        "newNodeId" / u16, "newNodeEui64" / Eui, "status" / u8, "policyDecision" / u8, "parentOfNewNodeId" / u16)),
    Command("getEui64", 0x26, EMPTY, cs.Struct("eui64" / Eui)),
    Command("getNodeId", 0x27, EMPTY, cs.Struct("nodeId" / u16)),
    Command("getNetworkParameters", 0x28, EMPTY, cs.Struct("status" / u8, "nodeType" / u8,
                                                            "parameters" / NetworkParameters)),
    # --- messaging ------------------------------------------------------------------------------
    Command("sendUnicast", 0x34, cs.Struct(
        "type" / u8, "indexOrDestination" / u16, "apsFrame" / ApsFrame, "messageTag" / u8,
        "messageContents" / LVBytes), cs.Struct("status" / u8, "sequence" / u8)),
    Command("sendBroadcast", 0x36, cs.Struct(
        "destination" / u16, "apsFrame" / ApsFrame, "radius" / u8, "messageTag" / u8, "messageContents" / LVBytes),
        cs.Struct("status" / u8, "sequence" / u8)),
    Command("sendReply", 0x39, cs.Struct("sender" / u16, "apsFrame" / ApsFrame, "messageContents" / LVBytes), Status),
    _cb("messageSentHandler", 0x3F, cs.Struct(
        "type" / u8, "indexOrDestination" / u16, "apsFrame" / ApsFrame, "messageTag" / u8, "status" / u8,
        "messageContents" / LVBytes)),
    _cb("incomingMessageHandler", 0x45, cs.Struct(
        "type" / u8, "apsFrame" / ApsFrame, "lastHopLqi" / u8, "lastHopRssi" / s8, "sender" / u16,
        "bindingIndex" / u8, "addressIndex" / u8, "messageContents" / LVBytes)),
    Command("getChildData", 0x4A, cs.Struct("index" / u8), cs.Struct("status" / u8, "childData" / ChildData)),
    Command("getConfigurationValue", 0x52, cs.Struct("configId" / u8), cs.Struct("status" / u8, "value" / u16)),
    Command("setConfigurationValue", 0x53, cs.Struct("configId" / u8, "value" / u16), Status),
    Command("setPolicy", 0x55, cs.Struct("policyId" / u8, "decisionId" / u8), Status),
    _cb("invalidCommand", 0x58, Status),
    Command("setSourceRouteDiscoveryMode", 0x5A, cs.Struct("mode" / u8), cs.Struct("remainingTime" / u32)),
    Command("getAddressTableRemoteEui64", 0x5E, cs.Struct("addressTableIndex" / u8), cs.Struct("eui64" / Eui)),
    Command("getAddressTableRemoteNodeId", 0x5F, cs.Struct("addressTableIndex" / u8), cs.Struct("nodeId" / u16)),
    Command("lookupNodeIdByEui64", 0x60, cs.Struct("eui64" / Eui), cs.Struct("nodeId" / u16)),
    Command("lookupEui64ByNodeId", 0x61, cs.Struct("nodeId" / u16), cs.Struct("status" / u8, "eui64" / Eui)),
    Command("getMulticastTableEntry", 0x63, cs.Struct("index" / u8),
            cs.Struct("status" / u8, "value" / MulticastTableEntry)),
    Command("setMulticastTableEntry", 0x64, cs.Struct("index" / u8, "value" / MulticastTableEntry), Status),
    # --- security -------------------------------------------------------------------------------
    Command("addOrUpdateKeyTableEntry", 0x66, cs.Struct("address" / Eui, "linkKey" / Bool, "keyData" / Key), Status),
    Command("setInitialSecurityState", 0x68, cs.Struct("state" / InitialSecurityState), Status),
    Command("getCurrentSecurityState", 0x69, EMPTY, cs.Struct("status" / u8, "state" / CurrentSecurityState)),
    Command("getKey", 0x6A, cs.Struct("keyType" / u8), cs.Struct("status" / u8, "keyStruct" / KeyStruct)),
    Command("getKeyTableEntry", 0x71, cs.Struct("index" / u8), cs.Struct("status" / u8, "keyStruct" / KeyStruct)),
    Command("findKeyTableEntry", 0x75, cs.Struct("address" / Eui, "linkKey" / Bool), cs.Struct("index" / u8)),
    Command("eraseKeyTableEntry", 0x76, cs.Struct("index" / u8), Status),
    Command("setExtendedTimeout", 0x7E, cs.Struct("remoteEui64" / Eui, "extendedTimeout" / Bool), EMPTY),
    Command("getExtendedTimeout", 0x7F, cs.Struct("remoteEui64" / Eui), cs.Struct("extendedTimeout" / Bool)),
    Command("replaceAddressTableEntry", 0x82, cs.Struct(
        "addressTableIndex" / u8, "newEui64" / Eui, "newId" / u16, "newExtendedTimeout" / Bool),
        cs.Struct("status" / u8, "oldEui64" / Eui, "oldId" / u16, "oldExtendedTimeout" / Bool)),
    Command("setRadioPower", 0x99, cs.Struct("power" / s8), Status),
    Command("removeDevice", 0xA8, cs.Struct("destShort" / u16, "destLong" / Eui, "targetLong" / Eui), Status),
    Command("getValue", 0xAA, cs.Struct("valueId" / u8), cs.Struct("status" / u8, "value" / LVBytes)),
    Command("setValue", 0xAB, cs.Struct("valueId" / u8, "value" / LVBytes), Status),
    Command("addTransientLinkKey", 0xAF, cs.Struct("partner" / Eui, "transientKey" / Key), Status),
    Command("clearKeyTable", 0xB1, EMPTY, Status),
)

BY_ID: dict[int, Command] = {c.id: c for c in TABLE}
BY_NAME: dict[str, Command] = {c.name: c for c in TABLE}


@dataclass(frozen=True, slots=True)
class EzspHeader:
    """What precedes the parameters: the sequence number, the frame format, the frame id."""

    sequence: int
    frame_id: int
    format: int
    """4 (``seq fc id``), 5 (``seq fc FF 00 id``, versions 5-7) or 8 (``seq fc_lo fc_hi id16``)."""
    control: int = 0

    def encode(self) -> bytes:
        if self.format >= 8:
            return bytes((self.sequence, self.control & 0xFF, FC_FORMAT_1)) + self.frame_id.to_bytes(2, "little")
        if self.format >= 5:
            return bytes((self.sequence, self.control & 0xFF, 0xFF, 0x00, self.frame_id))
        return bytes((self.sequence, self.control & 0xFF, self.frame_id))


def split_frame(frame: bytes) -> tuple[EzspHeader, bytes]:
    """A host's EZSP frame: its header and its parameter bytes."""
    if len(frame) < 3:
        raise EzspFrameError("EZSP frame", f"{len(frame)} bytes are too short for a header: {frame.hex()}",
                             EZSP_ERROR_TRUNCATED)
    if len(frame) >= 5 and frame[2] & 0x03 == FC_FORMAT_1 and frame[2] != 0xFF:
        return EzspHeader(frame[0], int.from_bytes(frame[3:5], "little"), 8, frame[1]), frame[5:]
    if frame[2] == 0xFF:
        if len(frame) < 5:
            raise EzspFrameError("EZSP frame", f"extended legacy header cut short: {frame.hex()}", EZSP_ERROR_TRUNCATED)
        return EzspHeader(frame[0], frame[4], 5, frame[1]), frame[5:]
    return EzspHeader(frame[0], frame[2], 4, frame[1]), frame[3:]


def parse_command(frame: bytes) -> tuple[EzspHeader, Command, Fields]:
    """The command a host frame names and its parameters; raises naming the command and the fault."""
    header, data = split_frame(frame)
    cmd = BY_ID.get(header.frame_id)
    if cmd is None or cmd.parameters is None:
        raise UnknownCommand(header.frame_id)
    try:
        fields = cmd.parameters.parse(data)
        size = len(cmd.parameters.build(fields))
    except (cs.ConstructError, ValueError, TypeError, OverflowError) as e:
        raise EzspFrameError(cmd.name, f"parameters {data.hex()} do not fit: {e}") from None
    if size != len(data):
        raise EzspFrameError(cmd.name, f"{len(data) - size} bytes left over after the parameters")
    return header, cmd, from_construct(cmd.name, fields)


def build(name: str, sequence: int, fmt: int, /, *, callback: bool = False, **fields: FieldValue) -> bytes:
    """The NCP's frame for ``name``: its response (or, with ``callback``, the callback)."""
    return build_fields(name, sequence, fmt, fields, callback=callback)


def build_fields(name: str, sequence: int, fmt: int, fields: Mapping[str, FieldValue], *,
                 callback: bool = False) -> bytes:
    """:func:`build` with the fields in a mapping."""
    cmd = BY_NAME[name]
    try:
        data = cmd.response.build(to_construct(fields))
    except (cs.ConstructError, ValueError, TypeError, OverflowError) as e:
        raise EzspFrameError(name, f"cannot build from {fields}: {e}") from None
    control = FC_RESPONSE | (FC_ASYNC_CALLBACK if callback else 0)
    return EzspHeader(sequence, cmd.id, fmt, control).encode() + bytes(data)


def request(name: str, sequence: int, fmt: int = PROTOCOL_VERSION, /, **fields: FieldValue) -> bytes:
    """A host frame (tests and tools drive the fake with these)."""
    cmd = BY_NAME[name]
    if cmd.parameters is None:
        raise EzspFrameError(name, "is a callback: a host never sends it")
    return EzspHeader(sequence, cmd.id, fmt).encode() + bytes(cmd.parameters.build(to_construct(fields)))


def parse_response(name: str, frame: bytes) -> Fields:
    header, data = split_frame(frame)
    cmd = BY_NAME[name]
    if header.frame_id != cmd.id:
        raise EzspFrameError(name, f"frame id 0x{header.frame_id:04X} is not {name} (0x{cmd.id:04X})")
    return from_construct(name, cmd.response.parse(data))
