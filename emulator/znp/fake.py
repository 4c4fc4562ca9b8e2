"""A fake Z-Stack 3.30 coordinator (ZNP): the chip a zigpy-znp host drives over MT, with the
emulated HAN beyond its antenna. Sans-IO: bytes from the host and frames from devices go in,
bytes for the host and frames for devices come out.

Theory of operation. The host (zigpy-znp) talks MT: SREQs are answered at once by one SRSP,
and the chip raises AREQ callbacks (reset, state changes, joins, incoming frames). The NV
memory is a real store (``nv.py``), so whatever the host writes (network settings, keys,
tables) it reads back, across soft resets, as from a real stick. Forming a network writes
a NIB; starting it again resumes from the NIB.

The air side is a small trust centre and router: a device joins only while joining is
permitted, and with the link key registered for its EUI-64 (``BDBAddInstallCode``; when
the host asked for install-code-only joins, no other key is accepted). A joined device is
announced (``TCDevInd`` and a ``Device_annce``) and the chip answers the host's ZDO requests
on the device's behalf from its descriptor, as the device's own stack would. AF frames for
a device leave as :class:`HanPacket`s; frames a device sends come back to the host as
``AF.IncomingMsg``. Messages too large for one MT frame go as Z-Stack sends them (``af_large``):
``AF.DataStore`` into a held request, ``AF.IncomingMsgExt`` fetched with ``AF.DataRetrieve``;
and on the air, anything larger than one frame crosses in APS fragments, a window at a time.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.zigbee import zdo
from emulator.zigbee.apsf import FRAGMENT_SIZE, ApsfConfig
from emulator.zigbee.fields import Fields
from emulator.zigbee.install_code import link_key_from_install_code
from emulator.zigbee.packet import HanPacket
from emulator.znp import commands as mt
from emulator.znp import errors as st
from emulator.znp import nv
from emulator.znp.af_large import APS_NO_ACK, LargeMessages, address_field
from emulator.znp.errors import JoinRefusedByTrustCentre, ZnpError
from emulator.znp.mt import FrameReader, MtFrame, MtType

DEFAULT_TC_LINK_KEY = b"ZigBeeAlliance09"
CAPABILITIES = 0x055F  # SYS MAC NWK AF ZDO UTIL APP APP_CNF: a Z-Stack 3 coordinator image
DEVICE_STATE_STARTING = 8
DEVICE_STATE_STARTED = 9
BDB_FORMATION, BDB_STEERING = 0x04, 0x02
BDB_SUCCESS, BDB_IN_PROGRESS, BDB_FORMATION_FAILURE = 0, 1, 8
NODE_RELATION_CHILD_RFD, NODE_RELATION_CHILD_FFD_RX_IDLE, NODE_RELATION_NOTUSED = 1, 4, 0xFF
ROUTE_SUCCESS, ROUTE_NO_ENTRY = 0, 4
ASSOC_RECORD_SIZE = 28
OPTION_SECURITY = 0x40
BROADCAST_MIN = 0xFFF8
STEERING_PERMIT_S = 180.0
FRAME_TIMEOUT_S = 0.2


@dataclass(slots=True)
class FakeOutput:
    """What one step produced."""

    serial: list[MtFrame] = field(default_factory=list)
    """Frames for the host, in order."""
    air: list[HanPacket] = field(default_factory=list)
    """Application frames the chip transmitted to joined devices."""
    left: list[bytes] = field(default_factory=list)
    """Devices the host asked to leave (Mgmt_Leave_req): they are gone from the network."""
    notes: list[str] = field(default_factory=list)
    """What the chip refused or could not do, in words (for logs and tests)."""
    fragments: list[tuple[float, HanPacket]] = field(default_factory=list)
    """APS blocks the chip transmits, each with the time it leaves (a window, frame-delay apart)."""
    acks: list[tuple[bytes, int]] = field(default_factory=list)
    """APS acknowledgements the chip sent to devices: (device, blocks received below this index)."""

    def wire(self) -> bytes:
        return b"".join(f.encode() for f in self.serial)


@dataclass(slots=True)
class Joined:
    descriptor: zdo.DeviceDescriptor
    responder: zdo.ZdoResponder
    sleepy: bool

    @property
    def nwk(self) -> int:
        return self.descriptor.nwk


@dataclass(frozen=True, slots=True)
class NetworkState:
    formed: bool
    started: bool
    channel: int
    pan_id: int
    extended_pan_id: bytes
    permit_until: float
    devices: int


class FakeZnp:
    """One Z-Stack coordinator stick. ``ieee`` is its EUI-64 (big-endian display order)."""

    def __init__(self, ieee: bytes, *, seed: int = 0, code_revision: int = 20240710,
                 fragment_size: int = FRAGMENT_SIZE) -> None:
        self.ieee = ieee
        self.hardware_ieee = ieee
        self.rng = random.Random(seed)
        self.code_revision = code_revision
        self.nv = nv.NvStore(ieee[::-1])
        self.reader = FrameReader()
        self.endpoints: dict[int, Fields] = {}
        self.started = False
        self.permit_until = 0.0
        self.install_codes: dict[bytes, bytes] = {}
        self.install_code_only = False
        self.primary_channels = 0x07FFF800
        self.devices: dict[bytes, Joined] = {}
        self.counter = 0
        self.large = LargeMessages(fragment_size)
        self._current = ""
        self._last_rx = 0.0
        self.handled: dict[str, int] = {}
        self._handlers: dict[str, Callable[[Fields, float, FakeOutput], None]] = {
            "SYS.ResetReq": self._reset, "SYS.Ping": self._ping, "SYS.Version": self._version,
            "SYS.GetExtAddr": self._ext_addr, "SYS.SetTxPower": self._tx_power,
            "UTIL.GetDeviceInfo": self._device_info, "UTIL.LEDControl": self._ok,
            "UTIL.AssocFindDevice": self._assoc_find, "UTIL.AssocGetWithAddress": self._assoc_get,
            "UTIL.AssocRemove": self._ok, "UTIL.AssocAdd": self._ok,
            "ZDO.MsgCallbackRegister": self._ok, "ZDO.ExtRouteDisc": self._ok, "ZDO.ExtRouteChk": self._route_check,
            "ZDO.MgmtPermitJoinReq": self._permit_join_req, "ZDO.MgmtLeaveReq": self._leave_req,
            "ZDO.StartupFromApp": self._startup_from_app,
            "AF.Register": self._af_register, "AF.Delete": self._af_delete,
            "AF.DataRequest": self._data_request, "AF.DataRequestExt": self._data_request,
            "AF.DataStore": self._data_store, "AF.DataRetrieve": self._data_retrieve,
            "AF.APSFConfigSet": self._apsf_config_set,
            "AppConfig.BDBAddInstallCode": self._add_install_code,
            "AppConfig.BDBSetJoinUsesInstallCodeKey": self._install_code_only,
            "AppConfig.BDBSetChannel": self._set_channel,
            "AppConfig.BDBStartCommissioning": self._commission,
        }

    # --- host side -----------------------------------------------------------------------------
    def receive(self, data: bytes, now: float, *, wire_time: float | None = None) -> FakeOutput:
        """Bytes from the host's serial port. ``wire_time`` is when they arrived on the wire (the
        UART's own clock, real even when ``now`` is virtual); it defaults to ``now``."""
        out = FakeOutput()
        arrived = now if wire_time is None else wire_time
        if self.reader.pending and arrived - self._last_rx > FRAME_TIMEOUT_S:
            # Like the chip's UART: a frame that stopped arriving is dropped, so a host that
            # reconnects mid-frame is understood again.
            out.notes.append(f"dropped {self.reader.pending} bytes of a frame that stopped arriving")
            self.reader.buffer.clear()
        self._last_rx = arrived
        errors_before = len(self.reader.errors)
        for frame in self.reader.feed(data):
            self.handle(frame, now, out)
        out.notes.extend(self.reader.errors[errors_before:])
        del self.reader.errors[:-100]
        return out

    def handle(self, frame: MtFrame, now: float, out: FakeOutput | None = None) -> FakeOutput:
        out = out if out is not None else FakeOutput()
        if frame.type not in (MtType.SREQ, MtType.AREQ):
            out.notes.append(f"ignored a {frame.type.name} frame from the host")
            return out
        try:
            cmd, fields = mt.parse_request(frame)
            handler = self._handlers.get(cmd.name) or (self._nv if cmd.name in nv.COMMANDS else None)
            if handler is None:
                raise st.UnknownCommand(f"{cmd.name} is not implemented by this fake Z-Stack")
        except ZnpError as e:
            out.notes.append(str(e))
            if frame.type is MtType.SREQ:
                out.serial.append(mt.response("RPCError.CommandNotRecognized", ErrorCode=e.status,
                                              Cmd0=frame.cmd0, Cmd1=frame.command))
            return out
        self.large.expire(now, out.notes)
        self.handled[cmd.name] = self.handled.get(cmd.name, 0) + 1
        self._current = cmd.name  # handlers shared by two commands answer in kind
        handler(fields, now, out)
        return out

    @property
    def state(self) -> NetworkState:
        nib = self._nib()
        if nib is None:
            return NetworkState(False, self.started, 0, 0xFFFF, bytes(8), self.permit_until, len(self.devices))
        return NetworkState(True, self.started, nib.integer("nwkLogicalChannel"), nib.integer("nwkPanId"),
                            nib.octets("extendedPANID")[::-1], self.permit_until, len(self.devices))

    # --- air side ------------------------------------------------------------------------------
    def join(self, descriptor: zdo.DeviceDescriptor, link_key: bytes, now: float, *,
             sleepy: bool = False) -> tuple[int, FakeOutput]:
        """A device asks to join with ``link_key``; returns its NWK address and the host callbacks.

        Raises :class:`JoinRefusedByTrustCentre` naming the reason; nothing changes then.
        """
        eui = descriptor.eui
        if not self.started:
            raise JoinRefusedByTrustCentre(eui, "the coordinator has no network running")
        if now >= self.permit_until:
            raise JoinRefusedByTrustCentre(eui, "joining is not permitted now (the permit window is closed)")
        expected = self.install_codes.get(eui)
        if expected is None and self.install_code_only:
            raise JoinRefusedByTrustCentre(eui, "no install code registered for this device (install-code-only "
                                                "joins are on)")
        if link_key != (expected if expected is not None else DEFAULT_TC_LINK_KEY):
            raise JoinRefusedByTrustCentre(eui, "link key does not match the install code registered for it"
                                           if expected is not None else "link key is not the default TC link key")
        old = self.devices.get(eui)
        nwk = old.nwk if old is not None else self._new_nwk()
        desc = dataclasses.replace(descriptor, nwk=nwk)
        self.devices[eui] = Joined(desc, zdo.ZdoResponder(desc), sleepy)
        out = FakeOutput()
        out.serial.append(mt.callback("ZDO.TCDevInd", SrcNwk=nwk, SrcIEEE=eui, ParentNwk=0x0000))
        annce = self.devices[eui].responder.announce(self._tsn())
        out.serial.append(mt.callback("ZDO.MsgCbIncoming", Src=nwk, IsBroadcast=1, ClusterId=zdo.DEVICE_ANNCE,
                                      SecurityUse=0, TSN=annce[0], MacDst=0xFFFF, Data=annce[1:]))
        return nwk, out

    def leave(self, eui: bytes, now: float, *, rejoin: bool = False) -> FakeOutput:
        """A device leaves the network (on its own, or asked to)."""
        out = FakeOutput()
        dev = self.devices.pop(eui, None)
        for job in self.large.forget(eui):
            out.serial.append(mt.callback("AF.DataConfirm", Status=st.MAC_NO_ACK, Endpoint=job.src_ep, TSN=job.tsn))
        if dev is not None:
            out.serial.append(mt.callback("ZDO.LeaveInd", NWK=dev.nwk, IEEE=eui, Request=0, Remove=0,
                                          Rejoin=int(rejoin)))
        return out

    def from_device(self, packet: HanPacket, now: float) -> FakeOutput:
        """A frame a joined device transmitted to the coordinator."""
        out = FakeOutput()
        dev = self.devices.get(packet.src)
        if dev is None:
            out.notes.append(f"dropped a frame from {packet.src.hex().upper()}: not joined to this network")
            return out
        if packet.dst_ep == 0:
            out.serial.append(mt.callback("ZDO.MsgCbIncoming", Src=dev.nwk, IsBroadcast=0, ClusterId=packet.cluster,
                                          SecurityUse=0, TSN=packet.payload[:1][0] if packet.payload else 0,
                                          MacDst=0x0000, Data=packet.payload[1:]))
            return out
        if packet.dst_ep not in self.endpoints:
            out.notes.append(f"dropped a frame from {packet.src.hex().upper()} to endpoint {packet.dst_ep}: "
                             f"the host registered endpoints {sorted(self.endpoints)}")
            return out
        if packet.fragment is not None:
            ack, whole = self.large.block(packet, out.notes)
            if ack is not None:
                out.acks.append((packet.src, ack))
            if whole is None:
                return out
            packet = whole
        self._incoming(packet, dev.nwk, now, out)
        return out

    def fragment_acknowledged(self, eui: bytes, through: int, now: float) -> FakeOutput:
        """A device's APS acknowledgement of a window of blocks the chip sent it."""
        out = FakeOutput()
        done, blocks = self.large.acknowledged(eui, through, now)
        out.fragments.extend(blocks)
        if done is not None:
            out.serial.append(mt.callback("AF.DataConfirm", Status=st.SUCCESS, Endpoint=done.src_ep, TSN=done.tsn))
        return out

    def tick(self, now: float) -> FakeOutput:
        """Time passing on the chip: windows whose APS ack is late are sent again or given up."""
        out = FakeOutput()
        failed, blocks = self.large.overdue(now, out.notes)
        out.fragments.extend(blocks)
        for job in failed:
            out.serial.append(mt.callback("AF.DataConfirm", Status=APS_NO_ACK, Endpoint=job.src_ep, TSN=job.tsn))
        return out

    def _incoming(self, packet: HanPacket, nwk: int, now: float, out: FakeOutput) -> None:
        """An application frame for the host: inline when it fits, else held for AF.DataRetrieve."""
        timestamp = int(now * 1000) & 0xFFFFFFFF
        common = {"GroupId": 0, "ClusterId": packet.cluster, "SrcEndpoint": packet.src_ep,
                  "DstEndpoint": packet.dst_ep, "WasBroadcast": 0, "LQI": packet.lqi,
                  "SecurityUse": int(packet.aps_secured), "TSN": self._tsn(), "MacSrcAddr": nwk, "MsgResultRadius": 0}
        if len(packet.payload) <= mt.INLINE_INCOMING_MAX:
            out.serial.append(mt.callback("AF.IncomingMsg", SrcAddr=nwk, TimeStamp=timestamp, Data=packet.payload,
                                          **common))
            return
        timestamp = self.large.hold_incoming(packet.payload, now)
        out.serial.append(mt.callback("AF.IncomingMsgExt", SrcAddrModeAddress=address_field(nwk), SrcPanId=0,
                                      TimeStamp=timestamp, DataLength=len(packet.payload), Data=b"", **common))

    # --- helpers -------------------------------------------------------------------------------
    def _tsn(self) -> int:
        self.counter = (self.counter + 1) & 0xFF
        return self.counter

    def _new_nwk(self) -> int:
        used = {d.nwk for d in self.devices.values()}
        while True:
            nwk = self.rng.randrange(0x0001, BROADCAST_MIN)
            if nwk not in used:
                return nwk

    def _nib(self) -> Fields | None:
        raw = self.nv.get(nv.NIB_ID)
        if raw is None or len(raw) != nv.NIB_SIZE:
            return None
        return nv.parse_nib(raw)

    def _by_nwk(self, nwk: int) -> Joined | None:
        return next((d for d in self.devices.values() if d.nwk == nwk), None)

    def _coordinator(self) -> zdo.ZdoResponder:
        eps = tuple(zdo.Endpoint(n, e.integer("ProfileId"), e.integer("DeviceId"), e.integer("DeviceVersion"),
                                 tuple(e.integers("InputClusters")), tuple(e.integers("OutputClusters")))
                    for n, e in sorted(self.endpoints.items()))
        caps = int(zdo.MacCapability.ALTERNATE_PAN_COORDINATOR | zdo.MacCapability.FULL_FUNCTION_DEVICE
                   | zdo.MacCapability.MAINS_POWERED | zdo.MacCapability.RX_ON_WHEN_IDLE
                   | zdo.MacCapability.ALLOCATE_ADDRESS)
        node = zdo.NodeDescriptor(zdo.LogicalType.COORDINATOR, caps, 0x0000)
        return zdo.ZdoResponder(zdo.DeviceDescriptor(self.ieee, 0x0000, node, eps))

    def _nv(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response(self._current, **nv.COMMANDS[self._current](self.nv, f)))

    def _status(self, status: int) -> MtFrame:
        return mt.response(self._current, Status=status)

    def _ok(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(self._status(st.SUCCESS))

    # --- SYS -----------------------------------------------------------------------------------
    def _reset(self, f: Fields, now: float, out: FakeOutput) -> None:
        option = (self.nv.get(nv.STARTUP_OPTION) or b"\x00")[0]
        if option & (nv.STARTUP_CLEAR_STATE | nv.STARTUP_CLEAR_CONFIG):
            self.nv.factory_reset()
            self.devices.clear()
            self.install_codes.clear()
        # The chip's address lives in NV: a host may set it; deleted, it is the hardware address again.
        ext = self.nv.get(nv.EXTADDR)
        if ext is None or len(ext) != 8:
            self.nv.put(nv.EXTADDR, self.hardware_ieee[::-1])
        else:
            self.ieee = ext[::-1]
        self.started = False
        self.endpoints.clear()
        self.permit_until = 0.0
        self.install_code_only = False  # BDB settings are not kept across a reset
        out.serial.append(mt.callback("SYS.ResetInd", Reason=1, TransportRev=2, ProductId=1, MajorRel=2,
                                      MinorRel=7, MaintRel=1))

    def _ping(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response("SYS.Ping", Capabilities=CAPABILITIES))

    def _version(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response("SYS.Version", TransportRev=2, ProductId=1, MajorRel=2, MinorRel=7,
                                      MaintRel=1, CodeRevision=self.code_revision, BootloaderBuildType=0,
                                      BootloaderRevision=0xFFFFFFFF))

    def _ext_addr(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response("SYS.GetExtAddr", ExtAddr=self.ieee))

    def _tx_power(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response("SYS.SetTxPower", StatusOrPower=st.SUCCESS))

    # --- UTIL ----------------------------------------------------------------------------------
    def _device_info(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response("UTIL.GetDeviceInfo", Status=st.SUCCESS, IEEE=self.ieee, NWK=0x0000,
                                      DeviceType=0x07,
                                      DeviceState=DEVICE_STATE_STARTED if self.started else 0,
                                      AssociatedDevices=[d.nwk for d in self.devices.values()]))

    @staticmethod
    def _assoc_record(nwk: int, relation: int) -> bytes:
        record = bytearray(ASSOC_RECORD_SIZE)
        record[0:2] = nwk.to_bytes(2, "little")
        record[4] = relation
        return bytes(record)

    def _assoc_find(self, f: Fields, now: float, out: FakeOutput) -> None:
        devices = list(self.devices.values())
        if f.integer("Index") < len(devices):
            dev = devices[f.integer("Index")]
            record = self._assoc_record(dev.nwk, NODE_RELATION_CHILD_RFD if dev.sleepy
                                        else NODE_RELATION_CHILD_FFD_RX_IDLE)
        else:
            record = self._assoc_record(0xFFFF, NODE_RELATION_NOTUSED)
        out.serial.append(mt.response("UTIL.AssocFindDevice", Device=record))

    def _assoc_get(self, f: Fields, now: float, out: FakeOutput) -> None:
        dev = self.devices.get(f.octets("IEEE")) or self._by_nwk(f.integer("NWK"))
        record = (self._assoc_record(dev.nwk, NODE_RELATION_CHILD_RFD if dev.sleepy else
                                     NODE_RELATION_CHILD_FFD_RX_IDLE) if dev is not None
                  else self._assoc_record(0xFFFE, NODE_RELATION_NOTUSED))
        out.serial.append(mt.response("UTIL.AssocGetWithAddress", Device=record))

    # --- ZDO -----------------------------------------------------------------------------------
    def _route_check(self, f: Fields, now: float, out: FakeOutput) -> None:
        known = self._by_nwk(f.integer("Dst")) is not None or f.integer("Dst") == 0x0000
        out.serial.append(mt.response("ZDO.ExtRouteChk", Status=ROUTE_SUCCESS if known else ROUTE_NO_ENTRY))

    def _open_permit(self, duration: int, now: float, out: FakeOutput) -> None:
        self.permit_until = now + duration if duration else 0.0
        out.serial.append(mt.callback("ZDO.PermitJoinInd", Duration=duration))

    def _permit_join_req(self, f: Fields, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.response("ZDO.MgmtPermitJoinReq", Status=st.SUCCESS))
        dst = f.integer("Dst")
        if dst == 0x0000 or dst >= BROADCAST_MIN:
            self._open_permit(f.integer("Duration"), now, out)
        out.serial.append(mt.callback("ZDO.MgmtPermitJoinRsp", Src=dst if dst < BROADCAST_MIN else 0,
                                      Status=st.SUCCESS))

    def _leave_req(self, f: Fields, now: float, out: FakeOutput) -> None:
        dev = self.devices.get(f.octets("IEEE")) or self._by_nwk(f.integer("DstAddr"))
        out.serial.append(mt.response("ZDO.MgmtLeaveReq", Status=st.SUCCESS if dev else st.NWK_INVALID_REQUEST))
        if dev is not None:
            eui = dev.descriptor.eui
            out.serial.extend(self.leave(eui, now).serial)
            out.left.append(eui)

    def _startup_from_app(self, f: Fields, now: float, out: FakeOutput) -> None:
        restored = self._nib() is not None
        self._start_network(now, out)
        out.serial.insert(len(out.serial) - 2, mt.response("ZDO.StartupFromApp", State=0 if restored else 1))

    # --- AF ------------------------------------------------------------------------------------
    def _af_register(self, f: Fields, now: float, out: FakeOutput) -> None:
        duplicate = f.integer("Endpoint") in self.endpoints
        if not duplicate:
            self.endpoints[f.integer("Endpoint")] = f
        out.serial.append(mt.response("AF.Register", Status=0xB8 if duplicate else st.SUCCESS))

    def _af_delete(self, f: Fields, now: float, out: FakeOutput) -> None:
        found = self.endpoints.pop(f.integer("Endpoint"), None) is not None
        out.serial.append(mt.response("AF.Delete", Status=st.SUCCESS if found else st.INVALID_PARAMETER))

    def _destination(self, f: Fields) -> tuple[int, int | None, Joined | None]:
        """(address mode, NWK address or None, joined device or None) of a data request."""
        if "DstAddr" in f:  # AF.DataRequest: always a NWK address
            return mt.ADDR_NWK, f.integer("DstAddr"), self._by_nwk(f.integer("DstAddr"))
        address = f.struct("DstAddrModeAddress")
        mode, raw = address.integer("mode"), address.octets("address")
        if mode == mt.ADDR_IEEE:
            eui = raw[::-1]
            dev = self.devices.get(eui)
            return mode, (0x0000 if eui == self.ieee else dev.nwk if dev else None), dev
        nwk = int.from_bytes(raw[:2], "little")
        return mode, nwk, self._by_nwk(nwk)

    def _data_request(self, f: Fields, now: float, out: FakeOutput) -> None:
        if f.integer("DataLength", 0) > mt.INLINE_REQUEST_MAX:  # only the length: the data comes by AF.DataStore
            status = self.large.hold_request(f, now, out.notes) if f.integer("SrcEndpoint") in self.endpoints \
                else st.INVALID_PARAMETER
            out.serial.append(mt.response(self._current, Status=status))
            return
        self._send(self._current, f, now, out)

    def _data_store(self, f: Fields, now: float, out: FakeOutput) -> None:
        data = f.octets("Data")
        if data:
            out.serial.append(mt.response("AF.DataStore", Status=self.large.store(f.integer("Index"), data, out.notes)))
            return
        request, status = self.large.take_request(out.notes)
        if request is None:
            out.serial.append(mt.response("AF.DataStore", Status=status))
            return
        self._send("AF.DataStore", request, now, out)

    def _data_retrieve(self, f: Fields, now: float, out: FakeOutput) -> None:
        status, data = self.large.retrieve(f, out.notes)
        out.serial.append(mt.response("AF.DataRetrieve", Status=status, Data=data))

    def _apsf_config_set(self, f: Fields, now: float, out: FakeOutput) -> None:
        status = st.SUCCESS
        endpoint, window = f.integer("Endpoint"), f.integer("WindowSize")
        if endpoint not in self.endpoints:
            out.notes.append(f"AF.APSFConfigSet: endpoint {endpoint} is not registered")
            status = st.INVALID_PARAMETER
        elif not 1 <= window <= 8:
            out.notes.append(f"AF.APSFConfigSet: window {window} is outside 1..8")
            status = st.INVALID_PARAMETER
        else:
            self.large.apsf[endpoint] = ApsfConfig(self.large.fragment_size, window, f.integer("FrameDelay"))
        out.serial.append(mt.response("AF.APSFConfigSet", Status=status))

    def _send(self, name: str, f: Fields, now: float, out: FakeOutput) -> None:
        """A data request with its data, answered (SRSP) as ``name``."""
        mode, nwk, dev = self._destination(f)
        data, cluster = f.octets("Data"), f.integer("ClusterId")
        src_ep, dst_ep = f.integer("SrcEndpoint"), f.integer("DstEndpoint")
        broadcast = mode == mt.ADDR_BROADCAST or (nwk is not None and nwk >= BROADCAST_MIN)
        if dst_ep == 0:  # ZDO: answered by the addressed stacks; Z-Stack sends no AF.DataConfirm for it
            out.serial.append(mt.response(name, Status=st.SUCCESS))
            self._zdo_request(cluster, data, nwk, dev, broadcast, now, out)
            return
        if src_ep not in self.endpoints:
            out.serial.append(mt.response(name, Status=st.INVALID_PARAMETER))
            out.notes.append(f"data request from unregistered endpoint {src_ep}")
            return
        out.serial.append(mt.response(name, Status=st.SUCCESS))
        profile = self.endpoints[src_ep].integer("ProfileId")
        secured = bool(f.integer("Options") & OPTION_SECURITY)
        targets = list(self.devices.values()) if broadcast else ([dev] if dev is not None else [])
        packets = [HanPacket(self.ieee, target.descriptor.eui, cluster, data, src_ep, dst_ep, profile, 0x0000,
                             target.nwk, secured) for target in targets]
        if broadcast:  # APS never fragments a broadcast
            out.air.extend(packets)
            return
        if dev is not None and len(data) > self.large.config(src_ep).fragment_size:
            # Across in blocks; the confirm comes when the device has acknowledged the last window.
            out.fragments.extend(self.large.start(packets[0], f.integer("TSN"), now))
            return
        out.air.extend(packets)
        if dev is None and nwk != 0x0000:
            out.notes.append(f"no device at NWK 0x{nwk or 0:04X}: MAC_NO_ACK")
        status = st.SUCCESS if dev is not None or nwk == 0x0000 else st.MAC_NO_ACK
        out.serial.append(mt.callback("AF.DataConfirm", Status=status, Endpoint=src_ep, TSN=f.integer("TSN")))
        if nwk == 0x0000 and dst_ep in self.endpoints:  # to ourselves: looped back to the host
            out.serial.append(mt.callback(
                "AF.IncomingMsg", GroupId=0, ClusterId=cluster, SrcAddr=0x0000, SrcEndpoint=src_ep,
                DstEndpoint=dst_ep, WasBroadcast=0, LQI=255, SecurityUse=0, TimeStamp=int(now * 1000) & 0xFFFFFFFF,
                TSN=self._tsn(), Data=data, MacSrcAddr=0x0000, MsgResultRadius=0))

    def _zdo_request(self, cluster: int, data: bytes, nwk: int | None, dev: Joined | None, broadcast: bool,
                     now: float, out: FakeOutput) -> None:
        if cluster == zdo.MGMT_PERMIT_JOINING_REQ and (broadcast or nwk == 0x0000) and len(data) >= 2:
            self._open_permit(data[1], now, out)
        responders: list[tuple[int, zdo.ZdoResponder]] = []
        if broadcast:
            responders = [(0x0000, self._coordinator())] + [(d.nwk, d.responder) for d in self.devices.values()]
        elif nwk == 0x0000:
            responders = [(0x0000, self._coordinator())]
        elif dev is not None:
            responders = [(dev.nwk, dev.responder)]
        for src, responder in responders:
            if src != 0x0000 and cluster == zdo.MGMT_PERMIT_JOINING_REQ:
                continue  # routers open their own permit; the answer adds nothing here
            try:
                answer = responder.respond(cluster, data)
            except ValueError as e:  # the ZDO layer's errors are ValueErrors naming the field
                out.notes.append(f"ZDO request 0x{cluster:04X} to 0x{src:04X} not understood: {e}")
                continue
            if answer is None:
                continue
            rsp_cluster, frame = answer
            out.serial.append(mt.callback("ZDO.MsgCbIncoming", Src=src, IsBroadcast=0, ClusterId=rsp_cluster,
                                          SecurityUse=0, TSN=frame[0], MacDst=0x0000, Data=frame[1:]))
            if responder.leave_requested and src != 0x0000:
                eui = responder.device.eui
                out.serial.extend(self.leave(eui, now, rejoin=responder.rejoin_requested).serial)
                out.left.append(eui)

    # --- APP_CONFIG (BDB) ----------------------------------------------------------------------
    def _add_install_code(self, f: Fields, now: float, out: FakeOutput) -> None:
        code, fmt = f.octets("InstallCode"), f.integer("InstallCodeFormat")
        status = st.SUCCESS
        if fmt == 2 and len(code) == 16:  # the link key derived by the host
            self.install_codes[f.octets("IEEE")] = code
        elif fmt == 1:  # the install code with its CRC: the chip derives the key
            try:
                self.install_codes[f.octets("IEEE")] = link_key_from_install_code(code)
            except ValueError as e:
                out.notes.append(f"BDBAddInstallCode for {f.octets('IEEE').hex().upper()}: {e}")
                status = st.INVALID_PARAMETER
        else:
            out.notes.append(f"BDBAddInstallCode: format {fmt} with {len(code)} bytes is not an install code "
                             f"(format 1) or a 16-byte derived key (format 2)")
            status = st.INVALID_PARAMETER
        out.serial.append(mt.response("AppConfig.BDBAddInstallCode", Status=status))

    def _install_code_only(self, f: Fields, now: float, out: FakeOutput) -> None:
        self.install_code_only = bool(f.integer("BdbJoinUsesInstallCodeKey"))
        out.serial.append(mt.response("AppConfig.BDBSetJoinUsesInstallCodeKey", Status=st.SUCCESS))

    def _set_channel(self, f: Fields, now: float, out: FakeOutput) -> None:
        if f.integer("IsPrimary"):
            self.primary_channels = f.integer("Channel")
        out.serial.append(mt.response("AppConfig.BDBSetChannel", Status=st.SUCCESS))

    def _commission(self, f: Fields, now: float, out: FakeOutput) -> None:
        mode = f.integer("Mode")
        out.serial.append(mt.response("AppConfig.BDBStartCommissioning", Status=st.SUCCESS))
        if mode & BDB_FORMATION:
            formed_before = self._nib() is not None and self.nv.get(nv.BDBNODEISONANETWORK) == b"\x01"
            out.serial.append(mt.callback("AppConfig.BDBCommissioningNotification", Status=BDB_IN_PROGRESS,
                                          Mode=BDB_FORMATION, RemainingModes=BDB_FORMATION))
            self._start_network(now, out)
            # Z-Stack reports a "formation failure" when it resumed the network it had: not an error.
            out.serial.append(mt.callback("AppConfig.BDBCommissioningNotification",
                                          Status=BDB_FORMATION_FAILURE if formed_before else BDB_SUCCESS,
                                          Mode=BDB_FORMATION, RemainingModes=0))
        elif mode & BDB_STEERING:
            if self.started:
                self._open_permit(int(STEERING_PERMIT_S), now, out)
            out.serial.append(mt.callback("AppConfig.BDBCommissioningNotification",
                                          Status=BDB_SUCCESS if self.started else 2, Mode=BDB_STEERING,
                                          RemainingModes=0))
        else:
            out.serial.append(mt.callback("AppConfig.BDBCommissioningNotification", Status=BDB_SUCCESS, Mode=mode,
                                          RemainingModes=0))

    def _start_network(self, now: float, out: FakeOutput) -> None:
        out.serial.append(mt.callback("ZDO.StateChangeInd", State=DEVICE_STATE_STARTING))
        if self._nib() is None or self.nv.get(nv.BDBNODEISONANETWORK) != b"\x01":
            nv.form(self.nv, self.rng, self.primary_channels)
        self.started = True
        out.serial.append(mt.callback("ZDO.StateChangeInd", State=DEVICE_STATE_STARTED))
