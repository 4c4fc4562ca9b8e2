"""A fake EmberZNet 6.10 NCP (EZSP protocol version 8 over ASH): the chip a bellows host drives,
with the emulated HAN beyond its antenna. Sans-IO: bytes from the host and frames from devices
go in, bytes for the host and frames for devices come out.

Theory of operation. The host talks EZSP in ASH DATA frames (``ash.AshNcp`` acknowledges,
orders and retransmits them); every command is answered at once by its response, and the NCP
raises callbacks (stack status, trust-centre joins, messages sent and received) after it. The
network parameters and keys survive a reset (tokens); configuration, values, policies and
transient keys do not, as on a real NCP, so a host sets them again after every RST. (Endpoints
are kept: bellows adds them once per connection, and the stack does not check a sender's.)

The air side is a small trust centre: a device joins only while joining is permitted and with
the transient link key the host registered for its EUI-64 (``addTransientLinkKey``), or the
wildcard key when the trust-centre policy does not ask for install-code keys. A joined device
is reported (``trustCenterJoinHandler`` and its ``Device_annce``), and the NCP answers ZDO
requests on the device's behalf from its descriptor. EmberZNet does not fragment for the host:
a ``sendUnicast`` with ``APS_OPTION_FRAGMENT`` is one block (index and count in the group id)
and its ``messageSentHandler`` comes when the device's APS acknowledgement covers it; blocks a
device sends go up one by one with the same flag, and the host acknowledges each with a
``sendReply`` whose group id is ``0xFF00 | index``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from emulator.ezsp import commands as ez
from emulator.ezsp.ash import MAX_DATA, AshNcp, AshOutput, AshReader
from emulator.ezsp.errors import EZSP_ERROR_OVERFLOW, EzspError, EzspFrameError, JoinRefused, UnknownCommand
from emulator.ezsp.ncp_tables import (
    BROADCAST_MIN,
    CONFIG_KEY_TABLE_SIZE,
    CONFIG_MULTICAST_TABLE_SIZE,
    CONFIG_SECURITY_LEVEL,
    COORDINATOR,
    DEFAULT_TC_LINK_KEY,
    DELIVERY_FAILED,
    DEVICE_LEFT,
    END_DEVICE,
    INCOMING_BROADCAST,
    INCOMING_UNICAST,
    INVALID_CALL,
    JOINED_NETWORK,
    JOINS_USE_INSTALL_CODE_KEY,
    MESSAGE_TOO_LONG,
    NETWORK_DOWN,
    NETWORK_UP,
    NO_ACTION,
    NO_NETWORK,
    NOT_FOUND,
    NOT_JOINED,
    OPTION_ENCRYPTION,
    OPTION_FRAGMENT,
    OUTGOING_DIRECT,
    SLEEPY_END_DEVICE,
    SUCCESS,
    TRUST_CENTER_POLICY,
    UNSECURED_JOIN,
    USE_PRECONFIGURED_KEY,
    VALUE_FREE_BUFFERS,
    VALUE_VERSION_INFO,
    WILDCARD,
    FakeOutput,
    Joined,
    NcpTables,
)
from emulator.zigbee import zdo
from emulator.zigbee.apsf import FRAGMENT_SIZE, ApsfConfig
from emulator.zigbee.fields import Fields, FieldValue
from emulator.zigbee.packet import HanPacket

#: The longest APS payload one frame carries (maximumApsPayloadLength with no APS security):
#: 127 less MAC (11), NWK header (8) and its security (18), and the APS header (8). APS encryption
#: takes its auxiliary header and MIC (9) more, a fragment's extended header 2 more, which leaves
#: the 71 bytes of :data:`emulator.zigbee.apsf.FRAGMENT_SIZE`.
MAX_APS_PAYLOAD = 82
APS_SECURITY_OVERHEAD = 9
FRAGMENT_HEADER = 2
#: apscAckWaitDuration and apscMaxFrameRetries, as in the fake Z-Stack.
ACK_WAIT_S = 1.6
MAX_RETRIES = 3
FRAGMENT_DELAY_MS = 50


def max_payload(options: int) -> int:
    """The most a ``sendUnicast`` with these APS options may carry."""
    return (MAX_APS_PAYLOAD - (APS_SECURITY_OVERHEAD if options & OPTION_ENCRYPTION else 0)
            - (FRAGMENT_HEADER if options & OPTION_FRAGMENT else 0))


@dataclass(slots=True)
class _Block:
    packet: HanPacket
    nwk: int
    aps: Fields
    tag: int
    sent_at: float
    tries: int = 0


@dataclass(slots=True)
class Blocks:
    """APS blocks the host sent through the NCP, awaiting the device's acknowledgement."""

    fragment_size: int = FRAGMENT_SIZE
    window: int = 1
    """The receiver's window: how many blocks it takes before acknowledging (the host's choice)."""
    pending: dict[bytes, list[_Block]] = field(default_factory=dict)

    def config(self, endpoint: int) -> ApsfConfig:
        return ApsfConfig(self.fragment_size, self.window, FRAGMENT_DELAY_MS)

    def next_deadline(self) -> float | None:
        due = [b.sent_at + ACK_WAIT_S for blocks in self.pending.values() for b in blocks]
        return min(due) if due else None


class FakeNcp(NcpTables):
    """One EmberZNet coordinator NCP. ``ieee`` is its EUI-64 (big-endian display order)."""

    def __init__(self, ieee: bytes, *, seed: int = 0, fragment_size: int = FRAGMENT_SIZE) -> None:
        self.ieee = ieee
        self.rng = random.Random(seed)
        self.ash = AshNcp()
        self.large = Blocks(fragment_size)
        self.format = 4
        self.sequence = 0
        self.network: Fields | None = None
        """The formed network's parameters (tokens: kept across resets)."""
        self.network_key = bytes(16)
        self.tc_link_key = DEFAULT_TC_LINK_KEY
        self.up = False
        self.endpoints: dict[int, Fields] = {}
        self.config: dict[int, int] = {}
        self.values: dict[int, bytes] = {}
        self.policies: dict[int, int] = {}
        self.transient_keys: dict[bytes, bytes] = {}
        self.key_table: dict[int, tuple[bytes, bytes]] = {}
        self.multicast: dict[int, Fields] = {}
        self.extended_timeout: dict[bytes, bool] = {}
        self.permit_until = 0.0
        self.devices: dict[bytes, Joined] = {}
        self.counter = 0
        self.handled: dict[str, int] = {}
        self._handlers: dict[str, Callable[[Fields, float, FakeOutput], list[bytes]]] = {
            name.removeprefix("_h_"): getattr(self, name) for name in dir(self) if name.startswith("_h_")}
        self._reset_volatile()

    @property
    def reader(self) -> AshReader:
        """The serial reader (its ``buffer`` is dropped when a host goes away mid-frame)."""
        return self.ash.reader

    def _reset_volatile(self) -> None:
        """What an NCP forgets on reset: the running network, configuration, policies. (Endpoints
        stay: bellows adds them once per connection, and EmberZNet does not check a sender's.)"""
        self.format = 4
        self.up = False
        self.config = {CONFIG_SECURITY_LEVEL: 5, CONFIG_KEY_TABLE_SIZE: 4, CONFIG_MULTICAST_TABLE_SIZE: 8}
        self.values = {VALUE_VERSION_INFO: bytes((0x29, 0x01, 6, 10, 3, 0, 0xAA)), VALUE_FREE_BUFFERS: b"\xf0"}
        self.policies.clear()
        self.transient_keys.clear()
        self.permit_until = 0.0

    # --- host side -----------------------------------------------------------------------------
    def receive(self, data: bytes, now: float, *, wire_time: float | None = None) -> FakeOutput:
        """Bytes from the host's serial port (``wire_time`` is accepted for the Z-Stack fake's shape)."""
        out = FakeOutput()
        link = self.ash.receive(data, now)
        self._link(link, out)
        if link.reset:
            self._reset_volatile()
        for frame in link.received:
            for reply in self.handle(frame, now, out):
                if len(reply) > MAX_DATA:  # an answer ASH cannot carry (a value the host set too long, say)
                    out.notes.append(f"a {len(reply)}-byte answer does not fit one ASH frame ({MAX_DATA} at most)")
                    reply = ez.build("invalidCommand", reply[0], self.format, status=EZSP_ERROR_OVERFLOW)
                self._link(self.ash.send(reply, now), out)
        return out

    def _link(self, link: AshOutput, out: FakeOutput) -> None:
        out.serial += link.wire
        out.notes.extend(link.notes)

    def handle(self, frame: bytes, now: float, out: FakeOutput) -> list[bytes]:
        """One EZSP frame from the host: the frames the NCP answers with (response first)."""
        try:
            header, cmd, fields = ez.parse_command(frame)
        except EzspError as e:
            out.notes.append(str(e))
            seq = frame[0] if frame else 0
            fmt = ez.split_frame(frame)[0].format if len(frame) >= 3 else self.format
            code = e.code if isinstance(e, EzspFrameError) else e.status
            return [ez.build("invalidCommand", seq, fmt, status=code)]
        self.sequence, self.format = header.sequence, header.format
        self.handled[cmd.name] = self.handled.get(cmd.name, 0) + 1
        handler = self._handlers.get(cmd.name)
        if handler is None:
            out.notes.append(str(UnknownCommand(cmd.id)))
            return [ez.build("invalidCommand", header.sequence, header.format, status=UnknownCommand.status)]
        return handler(fields, now, out)

    def _raise(self, frames: list[bytes], now: float, out: FakeOutput) -> None:
        """Callbacks the NCP raises outside any command (air events, timers)."""
        for frame in frames:
            self._link(self.ash.send(frame, now), out)

    # --- air side ------------------------------------------------------------------------------
    def join(self, descriptor: zdo.DeviceDescriptor, link_key: bytes, now: float, *,
             sleepy: bool = False) -> tuple[int, FakeOutput]:
        """A device asks to join with ``link_key``; returns its NWK address and the host callbacks.

        Raises :class:`JoinRefused` naming the reason; nothing changes then."""
        eui = descriptor.eui
        if not self.up:
            raise JoinRefused(eui, "the coordinator has no network running")
        if now >= self.permit_until:
            raise JoinRefused(eui, "joining is not permitted now (the permit window is closed)")
        expected = self.transient_keys.get(eui)
        install_code_only = bool(self.policies.get(TRUST_CENTER_POLICY, 0) & JOINS_USE_INSTALL_CODE_KEY)
        if expected is None and (install_code_only or WILDCARD not in self.transient_keys):
            raise JoinRefused(eui, "no install code registered for this device (no transient link key for it)")
        if expected is None:
            expected = self.transient_keys[WILDCARD]
        if link_key != expected:
            raise JoinRefused(eui, "link key does not match the install code registered for it"
                              if eui in self.transient_keys else "link key is not the well-known TC link key")
        old = self.devices.get(eui)
        nwk = old.nwk if old is not None else self._new_nwk()
        desc = dataclasses.replace(descriptor, nwk=nwk)
        self.devices[eui] = Joined(desc, zdo.ZdoResponder(desc), sleepy)
        out = FakeOutput()
        annce = self.devices[eui].responder.announce(self._tsn())
        self._raise([
            self._cb("childJoinHandler", index=len(self.devices) - 1, joining=True, childId=nwk, childEui64=eui,
                     childType=SLEEPY_END_DEVICE if sleepy else END_DEVICE),
            self._cb("trustCenterJoinHandler", newNodeId=nwk, newNodeEui64=eui, status=UNSECURED_JOIN,
                     policyDecision=USE_PRECONFIGURED_KEY, parentOfNewNodeId=0x0000),
            self._incoming(INCOMING_BROADCAST, 0, zdo.DEVICE_ANNCE, 0, 0, annce, nwk, 255)], now, out)
        return nwk, out

    def leave(self, eui: bytes, now: float, *, rejoin: bool = False) -> FakeOutput:
        out = FakeOutput()
        dev = self.devices.pop(eui, None)
        frames = [self._sent(b, DELIVERY_FAILED) for b in self.large.pending.pop(eui, [])]
        if dev is not None:
            frames.append(self._cb("trustCenterJoinHandler", newNodeId=dev.nwk, newNodeEui64=eui, status=DEVICE_LEFT,
                                   policyDecision=NO_ACTION, parentOfNewNodeId=0x0000))
        self._raise(frames, now, out)
        return out

    def from_device(self, packet: HanPacket, now: float) -> FakeOutput:
        """A frame (or one APS block) a joined device transmitted to the coordinator."""
        out = FakeOutput()
        dev = self.devices.get(packet.src)
        if dev is None:
            out.notes.append(f"dropped a frame from {packet.src.hex().upper()}: not joined to this network")
            return out
        if packet.dst_ep == 0:
            self._raise([self._incoming(INCOMING_UNICAST, 0, packet.cluster, 0, 0, packet.payload, dev.nwk,
                                        packet.lqi)], now, out)
            return out
        if packet.dst_ep not in self.endpoints:
            out.notes.append(f"dropped a frame from {packet.src.hex().upper()} to endpoint {packet.dst_ep}: "
                             f"the host registered endpoints {sorted(self.endpoints)}")
            return out
        options = OPTION_ENCRYPTION if packet.aps_secured else 0
        group = 0
        if packet.fragment is not None:
            index, count = packet.fragment
            if index == 0:
                dev.acked.clear()
                dev.aps_sequence = self._tsn()
            options |= OPTION_FRAGMENT
            group = (count << 8) | index
        else:
            dev.aps_sequence = self._tsn()
        self._raise([self._incoming(INCOMING_UNICAST, packet.profile, packet.cluster, packet.src_ep, packet.dst_ep,
                                    packet.payload, dev.nwk, packet.lqi, options, group, dev.aps_sequence)], now, out)
        return out

    def fragment_acknowledged(self, eui: bytes, through: int, now: float) -> FakeOutput:
        """A device's APS acknowledgement of the blocks below ``through`` the host sent it."""
        out = FakeOutput()
        pending = self.large.pending.get(eui, [])
        done = [b for b in pending if (b.packet.fragment or (0, 1))[0] < through]
        self.large.pending[eui] = [b for b in pending if b not in done]
        if not self.large.pending[eui]:
            del self.large.pending[eui]
        self._raise([self._sent(b, SUCCESS) for b in done], now, out)
        return out

    def tick(self, now: float) -> FakeOutput:
        """Time passing: ASH frames and APS blocks whose acknowledgement is late go again, or fail."""
        out = FakeOutput()
        self._link(self.ash.tick(now), out)
        failed: list[bytes] = []
        for eui, blocks in list(self.large.pending.items()):
            for block in list(blocks):
                if now - block.sent_at < ACK_WAIT_S:
                    continue
                if block.tries < MAX_RETRIES:
                    block.tries += 1
                    block.sent_at = now
                    out.fragments.append((now, block.packet))
                    continue
                out.notes.append(f"{eui.hex().upper()} never acknowledged block {block.packet.fragment} after "
                                 f"{MAX_RETRIES} retries: DELIVERY_FAILED")
                blocks.remove(block)
                failed.append(self._sent(block, DELIVERY_FAILED))
            if not blocks:
                del self.large.pending[eui]
        self._raise(failed, now, out)
        return out

    def next_deadline(self) -> float | None:
        due = [d for d in (self.large.next_deadline(), self.ash.next_deadline()) if d is not None]
        return min(due) if due else None

    # --- frames --------------------------------------------------------------------------------
    def _incoming(self, kind: int, profile: int, cluster: int, src_ep: int, dst_ep: int, payload: bytes, nwk: int,
                  lqi: int, options: int = 0, group: int = 0, sequence: int | None = None) -> bytes:
        aps = {"profileId": profile, "clusterId": cluster, "sourceEndpoint": src_ep, "destinationEndpoint": dst_ep,
               "options": options, "groupId": group, "sequence": self._tsn() if sequence is None else sequence}
        return self._cb("incomingMessageHandler", type=kind, apsFrame=aps, lastHopLqi=lqi, lastHopRssi=-40,
                        sender=nwk, bindingIndex=0xFF, addressIndex=0xFF, messageContents=payload)

    def _sent(self, block: _Block, status: int) -> bytes:
        return self._cb("messageSentHandler", type=OUTGOING_DIRECT, indexOrDestination=block.nwk, apsFrame=block.aps,
                        messageTag=block.tag, status=status, messageContents=b"")

    def _tsn(self) -> int:
        self.counter = (self.counter + 1) & 0xFF
        return self.counter

    def _new_nwk(self) -> int:
        used = {d.nwk for d in self.devices.values()}
        while True:
            nwk = self.rng.randrange(0x0001, BROADCAST_MIN)
            if nwk not in used:
                return nwk

    def _coordinator(self) -> zdo.ZdoResponder:
        eps = tuple(zdo.Endpoint(n, e.integer("profileId"), e.integer("deviceId"), e.integer("deviceVersion"),
                                 tuple(e.integers("inputClusterList")), tuple(e.integers("outputClusterList")))
                    for n, e in sorted(self.endpoints.items()))
        caps = int(zdo.MacCapability.ALTERNATE_PAN_COORDINATOR | zdo.MacCapability.FULL_FUNCTION_DEVICE
                   | zdo.MacCapability.MAINS_POWERED | zdo.MacCapability.RX_ON_WHEN_IDLE
                   | zdo.MacCapability.ALLOCATE_ADDRESS)
        return zdo.ZdoResponder(zdo.DeviceDescriptor(self.ieee, 0x0000, zdo.NodeDescriptor(
            zdo.LogicalType.COORDINATOR, caps, 0x0000), eps))

    # --- command handlers (``_h_`` + the command's name): each returns the frames to send ---------
    def _h_version(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return [self._rsp("version", protocolVersion=ez.PROTOCOL_VERSION, stackType=ez.STACK_TYPE,
                          stackVersion=ez.STACK_VERSION)]

    def _h_addEndpoint(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        self.endpoints[f.integer("endpoint")] = f  # a host adds them again after reconnecting: the same definition
        return self._status("addEndpoint")

    def _h_networkInit(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        if self.network is None:
            return self._status("networkInit", NOT_JOINED)
        self.up = True
        return [*self._status("networkInit"), self._cb("stackStatusHandler", status=NETWORK_UP)]

    def _h_networkState(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        return self._status("networkState", JOINED_NETWORK if self.up else NO_NETWORK)

    def _h_formNetwork(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        if self.up:
            return self._status("formNetwork", INVALID_CALL)
        self.network = f.struct("parameters")
        self.up = True
        return [*self._status("formNetwork"), self._cb("stackStatusHandler", status=NETWORK_UP)]

    def _h_leaveNetwork(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        if not self.up:
            return self._status("leaveNetwork", INVALID_CALL)
        self.up, self.network = False, None
        out.left.extend(self.devices)
        self.devices.clear()
        return [*self._status("leaveNetwork"), self._cb("stackStatusHandler", status=NETWORK_DOWN)]

    def _h_permitJoining(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        duration = f.integer("duration")
        self.permit_until = now + duration if duration else 0.0
        return self._status("permitJoining", SUCCESS if self.up else INVALID_CALL)

    def _h_getNetworkParameters(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        params: Mapping[str, FieldValue] = self.network or {
            "extendedPanId": bytes(8), "panId": 0xFFFF, "radioTxPower": 0, "radioChannel": 0, "joinMethod": 0,
            "nwkManagerId": 0, "nwkUpdateId": 0, "channels": 0}
        return [self._rsp("getNetworkParameters", status=SUCCESS if self.up else NOT_JOINED,
                          nodeType=COORDINATOR if self.network else 0, parameters=params)]

    def _h_removeDevice(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        eui = f.octets("targetLong")
        if eui not in self.devices:
            return self._status("removeDevice", NOT_FOUND)
        out.left.append(eui)
        left = self.leave(eui, now)
        out.serial += left.serial
        return self._status("removeDevice")

    # --- messages ------------------------------------------------------------------------------
    def _h_sendUnicast(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        aps, data, nwk = f.struct("apsFrame"), f.octets("messageContents"), f.integer("indexOrDestination")
        dev = self._by_nwk(nwk)
        sequence = self._tsn()
        if f.integer("type") != OUTGOING_DIRECT:
            out.notes.append(f"sendUnicast type {f.integer('type')}: only direct unicasts are implemented")
            return [self._rsp("sendUnicast", status=INVALID_CALL, sequence=0)]
        limit = max_payload(aps.integer("options"))
        if len(data) > limit:
            out.notes.append(f"sendUnicast: {len(data)} bytes do not fit one APS frame with options "
                             f"0x{aps.integer('options'):04X} (at most {limit}); the host must fragment")
            return [self._rsp("sendUnicast", status=MESSAGE_TOO_LONG, sequence=0)]
        block = _Block(HanPacket(b"", b"", aps.integer("clusterId"), data), nwk, aps, f.integer("messageTag"), now)
        frames = [self._rsp("sendUnicast", status=SUCCESS, sequence=sequence)]
        if aps.integer("destinationEndpoint") == 0:  # ZDO: answered by the addressed stack
            frames.append(self._sent(block, SUCCESS if dev or nwk == 0 else DELIVERY_FAILED))
            frames.extend(self._zdo(aps.integer("clusterId"), data, nwk, dev, False, now, out))
            return frames
        if dev is None:
            out.notes.append(f"no device at NWK 0x{nwk:04X}: DELIVERY_FAILED")
            return [*frames, self._sent(block, DELIVERY_FAILED)]
        packet = self._addressed(dev, aps, data, bool(aps.integer("options") & OPTION_ENCRYPTION))
        if aps.integer("options") & OPTION_FRAGMENT:
            group = aps.integer("groupId")
            packet = dataclasses.replace(packet, fragment=(group & 0xFF, group >> 8))
            block.packet = packet
            self.large.pending.setdefault(dev.descriptor.eui, []).append(block)
            out.fragments.append((now, packet))  # the sent handler waits for the device's APS ack
            return frames
        out.air.append(packet)
        return [*frames, self._sent(block, SUCCESS)]

    def _h_sendBroadcast(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        aps, data = f.struct("apsFrame"), f.octets("messageContents")
        frames = [self._rsp("sendBroadcast", status=SUCCESS, sequence=self._tsn())]
        if aps.integer("destinationEndpoint") == 0:
            return frames + self._zdo(aps.integer("clusterId"), data, f.integer("destination"), None, True, now, out)
        for dev in self.devices.values():  # APS never fragments a broadcast
            out.air.append(self._addressed(dev, aps, data, False))
        return frames

    def _h_sendReply(self, f: Fields, now: float, out: FakeOutput) -> list[bytes]:
        aps, sender = f.struct("apsFrame"), f.integer("sender")
        dev = self._by_nwk(sender)
        if dev is None:
            out.notes.append(f"sendReply to NWK 0x{sender:04X}: no such device")
            return self._status("sendReply", INVALID_CALL)
        if aps.integer("options") & OPTION_FRAGMENT and aps.integer("groupId") >> 8 == 0xFF:
            # The host acknowledges one block: the NCP's APS ack for the window it completes.
            before = self._contiguous(dev.acked)
            dev.acked.add(aps.integer("groupId") & 0xFF)
            through = self._contiguous(dev.acked)
            if through > before:
                out.acks.append((dev.descriptor.eui, through))
            return self._status("sendReply")
        out.air.append(self._addressed(dev, aps, f.octets("messageContents"),
                                       bool(aps.integer("options") & OPTION_ENCRYPTION)))
        return self._status("sendReply")

    def _addressed(self, dev: Joined, aps: Fields, data: bytes, secured: bool) -> HanPacket:
        """The frame to ``dev`` that a host's APS frame (``apsFrame`` fields) with ``data`` puts on the air."""
        return HanPacket(self.ieee, dev.descriptor.eui, aps.integer("clusterId"), data, aps.integer("sourceEndpoint"),
                         aps.integer("destinationEndpoint"), aps.integer("profileId"), 0x0000, dev.nwk, secured)

    @staticmethod
    def _contiguous(indices: set[int]) -> int:
        n = 0
        while n in indices:
            n += 1
        return n

    def _zdo(self, cluster: int, data: bytes, nwk: int, dev: Joined | None, broadcast: bool, now: float,
             out: FakeOutput) -> list[bytes]:
        """A ZDO request from the host, answered by the stacks it addresses."""
        if cluster == zdo.MGMT_PERMIT_JOINING_REQ and (broadcast or nwk == 0x0000) and len(data) >= 2:
            self.permit_until = now + data[1] if data[1] else 0.0
        responders: list[tuple[int, zdo.ZdoResponder]] = []
        if broadcast:
            responders = [(0x0000, self._coordinator())] + [(d.nwk, d.responder) for d in self.devices.values()]
        elif nwk == 0x0000:
            responders = [(0x0000, self._coordinator())]
        elif dev is not None:
            responders = [(dev.nwk, dev.responder)]
        frames: list[bytes] = []
        for src, responder in responders:
            if src != 0x0000 and cluster == zdo.MGMT_PERMIT_JOINING_REQ:
                continue
            try:
                answer = responder.respond(cluster, data)
            except ValueError as e:  # the ZDO layer's errors are ValueErrors naming the field
                out.notes.append(f"ZDO request 0x{cluster:04X} to 0x{src:04X} not understood: {e}")
                continue
            if answer is None:
                continue
            rsp_cluster, frame = answer
            frames.append(self._incoming(INCOMING_UNICAST, 0, rsp_cluster, 0, 0, frame, src, 255))
            if responder.leave_requested and src != 0x0000:
                eui = responder.device.eui
                self.devices.pop(eui, None)
                out.left.append(eui)
                frames.append(self._cb("trustCenterJoinHandler", newNodeId=src, newNodeEui64=eui, status=DEVICE_LEFT,
                                       policyDecision=NO_ACTION, parentOfNewNodeId=0x0000))
        return frames
