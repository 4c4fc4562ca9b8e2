"""The MT commands the fake Z-Stack speaks: one construct definition per request, response and
callback, in one table keyed by (subsystem, command id).

Only what a zigpy-znp host sends to a Z-Stack 3.30 coordinator is here (startup, NV memory,
endpoints, permit-join, install codes, AF data), plus the callbacks the chip raises. Field
names follow TI's MT interface guide; EUI-64s are little-endian on the wire and kept here
in the project's big-endian display order (the :data:`Eui` adapter turns them round).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import construct as cs

from emulator.zigbee.fields import Fields, FieldValue, from_construct, to_construct
from emulator.znp.errors import MtCommandError, UnknownCommand
from emulator.znp.mt import MtFrame, MtType, Subsystem


class _Eui(cs.Adapter):  # type: ignore[misc]
    def _decode(self, obj: bytes, context: cs.Container, path: str) -> bytes:
        return bytes(obj[::-1])

    def _encode(self, obj: bytes, context: cs.Container, path: str) -> bytes:
        return bytes(obj[::-1])


u8, u16, u32, s8 = cs.Int8ul, cs.Int16ul, cs.Int32ul, cs.Int8sl
Eui = _Eui(cs.Bytes(8))
ShortBytes = cs.Prefixed(u8, cs.GreedyBytes)
LongBytes = cs.Prefixed(u16, cs.GreedyBytes)
Rest = cs.GreedyBytes
ClusterList = cs.PrefixedArray(u8, u16)
NwkList = cs.PrefixedArray(u8, u16)
#: Address mode (2 NWK, 3 IEEE, 15 broadcast, 1 group) and an 8-byte address field.
AddrModeAddress = cs.Struct("mode" / u8, "address" / cs.Bytes(8))
Status = cs.Struct("Status" / u8)
EMPTY = cs.Struct()

ADDR_GROUP, ADDR_NWK, ADDR_IEEE, ADDR_BROADCAST = 1, 2, 3, 15
#: Z-Stack's MT_AF.c: an AF.DataRequestExt whose data would take the frame past 250 bytes (more
#: than 230 data bytes) carries only the length; the host then fills the chip's buffer with
#: AF.DataStore. An incoming message of more than 220 bytes is announced by AF.IncomingMsgExt
#: with its length and no data, and the host fetches it with AF.DataRetrieve.
INLINE_REQUEST_MAX = 230
INLINE_INCOMING_MAX = 220
#: Data bytes in one AF.DataStore (250 less Index and length) and one AF.DataRetrieve answer (less Status
#: and length).
STORE_CHUNK_MAX = 247
RETRIEVE_CHUNK_MAX = 248


def _held(limit: int) -> cs.Construct:
    """Data whose bytes are in the frame only up to ``limit``; beyond it the chip holds them."""
    return cs.Bytes(lambda this: this.DataLength if this.DataLength <= limit else 0)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    subsystem: Subsystem
    id: int
    request: cs.Construct | None = None
    """Struct of the host's SREQ/AREQ data (None: the host never sends it)."""
    response: cs.Construct | None = None
    """Struct of the SRSP data (None: an AREQ, no synchronous answer)."""
    callback: cs.Construct | None = None
    """Struct of an AREQ the chip raises with this id."""


S, U, Z, A, C = Subsystem.SYS, Subsystem.UTIL, Subsystem.ZDO, Subsystem.AF, Subsystem.APP_CONFIG

TABLE: tuple[Command, ...] = (
    # --- SYS ---------------------------------------------------------------------------------
    Command("SYS.ResetReq", S, 0x00, cs.Struct("Type" / u8)),
    Command("SYS.Ping", S, 0x01, EMPTY, cs.Struct("Capabilities" / u16)),
    Command("SYS.Version", S, 0x02, EMPTY, cs.Struct(
        "TransportRev" / u8, "ProductId" / u8, "MajorRel" / u8, "MinorRel" / u8, "MaintRel" / u8,
        "CodeRevision" / u32, "BootloaderBuildType" / u8, "BootloaderRevision" / u32)),
    Command("SYS.GetExtAddr", S, 0x04, EMPTY, cs.Struct("ExtAddr" / Eui)),
    Command("SYS.OSALNVItemInit", S, 0x07, cs.Struct("Id" / u16, "ItemLen" / u16, "Value" / ShortBytes), Status),
    Command("SYS.OSALNVRead", S, 0x08, cs.Struct("Id" / u16, "Offset" / u8),
            cs.Struct("Status" / u8, "Value" / ShortBytes)),
    Command("SYS.OSALNVWrite", S, 0x09, cs.Struct("Id" / u16, "Offset" / u8, "Value" / ShortBytes), Status),
    Command("SYS.OSALNVDelete", S, 0x12, cs.Struct("Id" / u16, "ItemLen" / u16), Status),
    Command("SYS.OSALNVLength", S, 0x13, cs.Struct("Id" / u16), cs.Struct("ItemLen" / u16)),
    Command("SYS.SetTxPower", S, 0x14, cs.Struct("TXPower" / s8), cs.Struct("StatusOrPower" / s8)),
    Command("SYS.OSALNVReadExt", S, 0x1C, cs.Struct("Id" / u16, "Offset" / u16),
            cs.Struct("Status" / u8, "Value" / ShortBytes)),
    Command("SYS.OSALNVWriteExt", S, 0x1D, cs.Struct("Id" / u16, "Offset" / u16, "Value" / LongBytes), Status),
    Command("SYS.NVCreate", S, 0x30, cs.Struct("SysId" / u8, "ItemId" / u16, "SubId" / u16, "Length" / u32),
            Status),
    Command("SYS.NVDelete", S, 0x31, cs.Struct("SysId" / u8, "ItemId" / u16, "SubId" / u16), Status),
    Command("SYS.NVLength", S, 0x32, cs.Struct("SysId" / u8, "ItemId" / u16, "SubId" / u16),
            cs.Struct("Length" / u32)),
    Command("SYS.NVRead", S, 0x33, cs.Struct("SysId" / u8, "ItemId" / u16, "SubId" / u16, "Offset" / u16,
                                            "Length" / u8), cs.Struct("Status" / u8, "Value" / ShortBytes)),
    Command("SYS.NVWrite", S, 0x34, cs.Struct("SysId" / u8, "ItemId" / u16, "SubId" / u16, "Offset" / u16,
                                             "Value" / ShortBytes), Status),
    Command("SYS.ResetInd", S, 0x80, callback=cs.Struct(
        "Reason" / u8, "TransportRev" / u8, "ProductId" / u8, "MajorRel" / u8, "MinorRel" / u8, "MaintRel" / u8)),
    # --- UTIL --------------------------------------------------------------------------------
    Command("UTIL.GetDeviceInfo", U, 0x00, EMPTY, cs.Struct(
        "Status" / u8, "IEEE" / Eui, "NWK" / u16, "DeviceType" / u8, "DeviceState" / u8,
        "AssociatedDevices" / NwkList)),
    Command("UTIL.LEDControl", U, 0x0A, cs.Struct("LED" / u8, "Mode" / u8), Status),
    # The associated-device record as it sits in the chip's memory: 28 bytes, unaligned (a
    # CC2531-style build). zigpy-znp reads its size to learn how the chip packs structs.
    Command("UTIL.AssocFindDevice", U, 0x49, cs.Struct("Index" / u8), cs.Struct("Device" / Rest)),
    Command("UTIL.AssocGetWithAddress", U, 0x4A, cs.Struct("IEEE" / Eui, "NWK" / u16), cs.Struct("Device" / Rest)),
    Command("UTIL.AssocRemove", U, 0x63, cs.Struct("IEEE" / Eui), Status),
    Command("UTIL.AssocAdd", U, 0x64, cs.Struct("NWK" / u16, "IEEE" / Eui, "NodeRelation" / u8), Status),
    # --- ZDO ---------------------------------------------------------------------------------
    Command("ZDO.MgmtLeaveReq", Z, 0x34, cs.Struct("DstAddr" / u16, "IEEE" / Eui, "Options" / u8), Status),
    Command("ZDO.MgmtPermitJoinReq", Z, 0x36, cs.Struct("AddrMode" / u8, "Dst" / u16, "Duration" / u8,
                                                       "TCSignificance" / u8), Status),
    Command("ZDO.MsgCallbackRegister", Z, 0x3E, cs.Struct("ClusterId" / u16), Status),
    Command("ZDO.StartupFromApp", Z, 0x40, cs.Struct("StartDelay" / u16), cs.Struct("State" / u8)),
    Command("ZDO.ExtRouteDisc", Z, 0x45, cs.Struct("Dst" / u16, "Options" / u8, "Radius" / u8), Status),
    Command("ZDO.ExtRouteChk", Z, 0x46, cs.Struct("Dst" / u16, "RtStatus" / u8, "Options" / u8), Status),
    Command("ZDO.MgmtPermitJoinRsp", Z, 0xB6, callback=cs.Struct("Src" / u16, "Status" / u8)),
    Command("ZDO.StateChangeInd", Z, 0xC0, callback=cs.Struct("State" / u8)),
    Command("ZDO.LeaveInd", Z, 0xC9, callback=cs.Struct(
        "NWK" / u16, "IEEE" / Eui, "Request" / u8, "Remove" / u8, "Rejoin" / u8)),
    Command("ZDO.TCDevInd", Z, 0xCA, callback=cs.Struct("SrcNwk" / u16, "SrcIEEE" / Eui, "ParentNwk" / u16)),
    Command("ZDO.PermitJoinInd", Z, 0xCB, callback=cs.Struct("Duration" / u8)),
    Command("ZDO.MsgCbIncoming", Z, 0xFF, callback=cs.Struct(
        "Src" / u16, "IsBroadcast" / u8, "ClusterId" / u16, "SecurityUse" / u8, "TSN" / u8, "MacDst" / u16,
        "Data" / Rest)),
    # --- AF ----------------------------------------------------------------------------------
    Command("AF.Register", A, 0x00, cs.Struct(
        "Endpoint" / u8, "ProfileId" / u16, "DeviceId" / u16, "DeviceVersion" / u8, "LatencyReq" / u8,
        "InputClusters" / ClusterList, "OutputClusters" / ClusterList), Status),
    Command("AF.DataRequest", A, 0x01, cs.Struct(
        "DstAddr" / u16, "DstEndpoint" / u8, "SrcEndpoint" / u8, "ClusterId" / u16, "TSN" / u8, "Options" / u8,
        "Radius" / u8, "Data" / ShortBytes), Status),
    Command("AF.DataRequestExt", A, 0x02, cs.Struct(
        "DstAddrModeAddress" / AddrModeAddress, "DstEndpoint" / u8, "DstPanId" / u16, "SrcEndpoint" / u8,
        "ClusterId" / u16, "TSN" / u8, "Options" / u8, "Radius" / u8, "DataLength" / u16,
        "Data" / _held(INLINE_REQUEST_MAX)), Status),
    Command("AF.Delete", A, 0x04, cs.Struct("Endpoint" / u8), Status),
    Command("AF.DataStore", A, 0x11, cs.Struct("Index" / u16, "Data" / ShortBytes), Status),
    Command("AF.DataRetrieve", A, 0x12, cs.Struct("TimeStamp" / u32, "Index" / u16, "Length" / u8),
            cs.Struct("Status" / u8, "Data" / ShortBytes)),
    Command("AF.APSFConfigSet", A, 0x13, cs.Struct("Endpoint" / u8, "FrameDelay" / u8, "WindowSize" / u8), Status),
    Command("AF.DataConfirm", A, 0x80, callback=cs.Struct("Status" / u8, "Endpoint" / u8, "TSN" / u8)),
    Command("AF.IncomingMsg", A, 0x81, callback=cs.Struct(
        "GroupId" / u16, "ClusterId" / u16, "SrcAddr" / u16, "SrcEndpoint" / u8, "DstEndpoint" / u8,
        "WasBroadcast" / u8, "LQI" / u8, "SecurityUse" / u8, "TimeStamp" / u32, "TSN" / u8, "Data" / ShortBytes,
        "MacSrcAddr" / u16, "MsgResultRadius" / u8)),
    Command("AF.IncomingMsgExt", A, 0x82, callback=cs.Struct(
        "GroupId" / u16, "ClusterId" / u16, "SrcAddrModeAddress" / AddrModeAddress, "SrcEndpoint" / u8,
        "SrcPanId" / u16, "DstEndpoint" / u8, "WasBroadcast" / u8, "LQI" / u8, "SecurityUse" / u8,
        "TimeStamp" / u32, "TSN" / u8, "DataLength" / u16, "Data" / _held(INLINE_INCOMING_MAX),
        "MacSrcAddr" / u16, "MsgResultRadius" / u8)),
    # --- APP_CONFIG (BDB) ---------------------------------------------------------------------
    Command("AppConfig.BDBAddInstallCode", C, 0x04, cs.Struct(
        "InstallCodeFormat" / u8, "IEEE" / Eui, "InstallCode" / Rest), Status),
    Command("AppConfig.BDBStartCommissioning", C, 0x05, cs.Struct("Mode" / u8), Status),
    Command("AppConfig.BDBSetJoinUsesInstallCodeKey", C, 0x06, cs.Struct("BdbJoinUsesInstallCodeKey" / u8), Status),
    Command("AppConfig.BDBSetChannel", C, 0x08, cs.Struct("IsPrimary" / u8, "Channel" / u32), Status),
    Command("AppConfig.BDBCommissioningNotification", C, 0x80, callback=cs.Struct(
        "Status" / u8, "Mode" / u8, "RemainingModes" / u8)),
    # --- RPC error: the SRSP to a request the chip cannot take --------------------------------
    Command("RPCError.CommandNotRecognized", Subsystem.RPC_ERROR, 0x00,
            response=cs.Struct("ErrorCode" / u8, "Cmd0" / u8, "Cmd1" / u8)),
)

BY_ID: dict[tuple[int, int], Command] = {(int(c.subsystem), c.id): c for c in TABLE}
BY_NAME: dict[str, Command] = {c.name: c for c in TABLE}


def parse_request(frame: MtFrame) -> tuple[Command, Fields]:
    """The command a host frame names and its fields; raises naming the command and the fault."""
    cmd = BY_ID.get((frame.subsystem, frame.command))
    if cmd is None or cmd.request is None:
        raise UnknownCommand(f"no request 0x{frame.cmd0:02X} 0x{frame.command:02X} in this fake Z-Stack")
    try:
        fields = cmd.request.parse(frame.data)
    except cs.ConstructError as e:
        raise MtCommandError(cmd.name, f"data {frame.data.hex()} does not fit: {e}") from None
    if len(cmd.request.build(fields)) != len(frame.data):
        raise MtCommandError(cmd.name, f"{len(frame.data)} data bytes, trailing bytes left over")
    return cmd, from_construct(cmd.name, fields)


def _build(name: str, struct: cs.Construct | None, frame_type: MtType, fields: Mapping[str, FieldValue]) -> MtFrame:
    cmd = BY_NAME[name]
    if struct is None:
        raise MtCommandError(name, f"has no {frame_type.name} to build")
    try:
        data = struct.build(to_construct(fields))
    except cs.ConstructError as e:
        raise MtCommandError(name, f"cannot build from {fields}: {e}") from None
    return MtFrame(frame_type, int(cmd.subsystem), cmd.id, data)


def response(name: str, **fields: FieldValue) -> MtFrame:
    """The SRSP of command ``name``."""
    return _build(name, BY_NAME[name].response, MtType.SRSP, fields)


def callback(name: str, **fields: FieldValue) -> MtFrame:
    """An AREQ the chip raises."""
    return _build(name, BY_NAME[name].callback, MtType.AREQ, fields)


def request(name: str, **fields: FieldValue) -> MtFrame:
    """A host request (tests and tools drive the fake with these)."""
    cmd = BY_NAME[name]
    frame_type = MtType.SREQ if cmd.response is not None else MtType.AREQ
    return _build(name, cmd.request, frame_type, fields)


def parse_response(name: str, frame: MtFrame) -> Fields:
    cmd = BY_NAME[name]
    struct = cmd.response if frame.type is MtType.SRSP else cmd.callback
    if struct is None:
        raise MtCommandError(name, f"has no {frame.type.name} to parse")
    return from_construct(name, struct.parse(frame.data))
