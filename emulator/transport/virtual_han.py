"""The virtual in-process Zigbee HAN: a deterministic bus for CI, laptops and fleets (DV-7).

One mechanical loop: frames go out through ``send``, are impaired (seeded latency, loss,
duplication) and delivered with the loop's ``call_later`` (virtual time on a
:class:`~emulator.clock.VirtualTimeLoop`). The only decisions it makes are a trust
centre's: a device joins only if the coordinator permitted exactly that EUI with
exactly that link key, and not after the permit expired (IC-2). Frames for a sleepy
device wait at the parent until the device polls. Every frame on the air goes to the
``tap`` (traces, pcaps).

The bus has a frame limit, as the air has: by default what one secured Zigbee frame carries
unfragmented (:data:`emulator.zigbee.apsf.UNFRAGMENTED_MAX`, 73 bytes: the 127-byte PHY payload
less the MAC, NWK, APS headers and both security headers). A larger frame crosses in APS
fragments as on the fake ZNP stick's air (:mod:`emulator.zigbee.apsf`): a window of blocks
frame-delay apart, an acknowledgement per window from the receiver's APS, a window sent again
when its acknowledgement is late, the message reassembled before the receiver sees it. A frame
beyond the reassembly limit is refused, loudly. ``frame_limit=None`` restores the unlimited bus.

The bus's own timing is its ``latency_s`` per frame: by default its blocks leave back to back,
strictly in turn (:data:`BUS_APSF`), where Z-Stack waits 50 ms between blocks (the fake stick keeps that).
With Z-Stack's delay every fragmented command held its link for 50 ms, and in real time the
WAN round-trip benchmark fell from 314 to 16 SRV/s; pass ``apsf=ApsfConfig()`` for the
stick's timing. With no gap, a window's blocks leave at once, in turn, and what the air lets through
arrives as one delivery (one loop timer per window, not one per block and per hop: a fleet's worker
spent a large share of its time on them); with a gap each block keeps its own timer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.transport.han import (
    HanDeviceLink,
    HanListener,
    HanPacket,
    HanRadio,
    JoinRefused,
    JoinRefusedReason,
)
from emulator.zigbee.apsf import (
    REASSEMBLY_MAX,
    UNFRAGMENTED_MAX,
    ApsfConfig,
    ApsfError,
    Receiver,
    Sender,
    check_size,
)
from emulator.zigbee.errors import ZigbeeEncodeError

log = logging.getLogger(__name__)
BUS_APSF = ApsfConfig(frame_delay_ms=0)  # the bus's latency is its airtime
Tap = Callable[[float, HanPacket, bool], None]  # (time, packet, delivered)


@dataclass(slots=True)
class Impairments:
    latency_s: float = 0.005
    jitter_s: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: bool = False  # with jitter, let frames overtake each other


@dataclass(slots=True)
class BusStats:
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    dropped_unjoined: int = 0
    held_for_sleepy: int = 0
    expired: int = 0
    joins: int = 0
    joins_refused: int = 0
    fragmented: int = 0
    """Messages too large for one frame, sent in APS fragments."""
    fragments: int = 0
    """APS blocks transmitted (resent ones included)."""
    fragment_resends: int = 0
    """Windows sent again because their acknowledgement was late."""
    fragmented_failed: int = 0
    too_large: int = 0
    """Frames refused: beyond the reassembly limit."""
    notes: deque[str] = field(default_factory=lambda: deque(maxlen=200))


@dataclass(slots=True)
class _Node:
    eui: bytes
    listener: HanListener | None
    sleepy: bool = False
    joined: bool = False
    nwk: int = 0xFFFE
    held: deque[tuple[float, HanPacket]] = field(default_factory=deque)
    receivers: dict[bytes, Receiver] = field(default_factory=dict)
    """This node's APS reassembly, per sender."""


class VirtualHan:
    """One premises' HAN (many can share a loop)."""

    def __init__(self, *, seed: int = 0, impairments: Impairments | None = None, tap: Tap | None = None,
                 indirect_timeout_s: float | None = None, max_held: int = 256,
                 frame_limit: int | None = UNFRAGMENTED_MAX, apsf: ApsfConfig | None = None,
                 reassembly_limit: int = REASSEMBLY_MAX) -> None:
        self.frame_limit = frame_limit
        self.apsf = apsf or BUS_APSF
        self.reassembly_limit = reassembly_limit
        self._senders: dict[tuple[bytes, bytes], Sender] = {}
        self._ack_timers: dict[tuple[bytes, bytes], asyncio.TimerHandle] = {}
        self._tags = itertools.count(1)
        self._closed = False
        self.rng = random.Random(seed)
        self.impairments = impairments or Impairments()
        self.tap = tap
        self.indirect_timeout_s = indirect_timeout_s  # None: hold until polled (the GB GSME pulls)
        self.max_held = max_held
        self.stats = BusStats()
        self.nodes: dict[bytes, _Node] = {}
        self.permits: dict[bytes, tuple[bytes, float]] = {}
        self.coordinator: _Node | None = None
        self._next_nwk = 0x1001
        self._last_arrival: dict[bytes, float] = {}
        self._tags_of: dict[tuple[bytes, bytes], deque[int]] = {}
        self._batch: list[tuple[HanPacket, int]] | None = None
        """While a window leaves at once: the frames the air let through, to arrive together."""

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # --- the two sides ------------------------------------------------------------------------
    def radio(self, eui: bytes) -> VirtualRadio:
        return VirtualRadio(self, eui)

    def attach(self, eui: bytes, listener: HanListener, *, sleepy: bool = False) -> VirtualLink:
        node = _Node(eui, listener, sleepy)
        self.nodes[eui] = node
        return VirtualLink(self, node)

    async def aclose(self) -> None:
        """The bus lives in memory: only the fragments still due on the air are called off (a
        trace closed after the run must not see them)."""
        self._closed = True
        for timer in self._ack_timers.values():
            timer.cancel()
        self._ack_timers.clear()

    # --- trust centre -----------------------------------------------------------------------
    def _join(self, node: _Node, link_key: bytes) -> int:
        permit = self.permits.get(node.eui)
        reason = None
        if permit is None:
            reason = JoinRefusedReason.NOT_IN_DEVICE_LOG
        elif permit[0] != link_key:
            reason = JoinRefusedReason.WRONG_LINK_KEY
        elif permit[1] < self._now():
            reason = JoinRefusedReason.PERMIT_EXPIRED
        coordinator = self.coordinator
        if reason is not None:
            self.stats.joins_refused += 1
            if coordinator is not None and coordinator.listener is not None:
                coordinator.listener.join_refused(node.eui, reason)
            raise JoinRefused(node.eui, reason)
        if node.nwk == 0xFFFE:
            node.nwk = self._next_nwk
            self._next_nwk += 1
        node.joined = True
        self.stats.joins += 1
        if coordinator is not None and coordinator.listener is not None:
            coordinator.listener.device_joined(node.eui, node.nwk)
        return node.nwk

    # --- APS fragmentation -------------------------------------------------------------------
    def _send(self, packet: HanPacket, to: _Node | None) -> ZigbeeEncodeError | None:
        """A frame from a node's APS: whole when it fits the frame limit, else in fragments. A frame
        beyond the reassembly limit is refused: counted, logged, and the reason returned (a radio's
        send does not raise, as a real stack's confirm reports the failure instead)."""
        if self.frame_limit is None or len(packet.payload) <= self.frame_limit:
            self._transmit(packet, to)
            return None
        try:
            check_size(len(packet.payload), self.reassembly_limit, self.apsf.fragment_size)
        except ZigbeeEncodeError as e:
            self.stats.too_large += 1
            self.stats.notes.append(f"{packet.src.hex().upper()} -> {packet.dst.hex().upper()}: {e}")
            log.error("virtual HAN: %s -> %s on cluster 0x%04X: %s", packet.src.hex().upper(),
                      packet.dst.hex().upper(), packet.cluster, e)
            self._tap(packet, False)
            return e
        if to is None:
            self._transmit(packet, to)  # nobody to acknowledge: counted and tapped as dropped
            return None
        self.stats.fragmented += 1
        key = (packet.src, to.eui)
        sender = self._senders.get(key)  # (setdefault would build a Sender per message to throw away)
        if sender is None:
            sender = self._senders[key] = Sender(self.apsf)
        tag = next(self._tags)
        # Each message keeps its tag on its blocks (the APS counter's job on the air).
        now = self._now()
        blocks = [(at, block, tag) for at, block in sender.start(packet, now)]
        tags = self._tags_of.get(key)
        if tags is None:
            tags = self._tags_of[key] = deque()
        tags.append(tag)
        self._schedule(key, to, blocks, now)
        return None

    def _schedule(self, key: tuple[bytes, bytes], to: _Node, blocks: list[tuple[float, HanPacket, int]],
                  now: float | None = None) -> None:
        self.stats.fragments += len(blocks)
        if now is None:
            now = self._now()
        if blocks and blocks[-1][0] <= now:
            # No gap between blocks (the bus's own timing): the window leaves now, in turn, and what
            # the air lets through arrives as one delivery (one timer, not one per block and hop).
            self._batch = []
            try:
                for _, block, tag in blocks:
                    self._transmit(block, to, tag)
            finally:
                batch, self._batch = self._batch, None
            if batch:
                loop = asyncio.get_running_loop()
                loop.call_at(self._arrival(to, loop.time() + self.impairments.latency_s), self._arrive_all, batch, to)
        else:
            loop = asyncio.get_running_loop()
            last = float("-inf")
            for at, block, tag in blocks:
                # asyncio runs timers due at the same instant in no set order: blocks leave strictly in turn
                last = max(at, last + 1e-6)
                loop.call_at(last, self._transmit, block, to, tag)
        self._arm(key, to)

    def _with_tags(self, key: tuple[bytes, bytes], blocks: list[tuple[float, HanPacket]]
                   ) -> list[tuple[float, HanPacket, int]]:
        tag = self._tags_of[key][0] if self._tags_of.get(key) else 0
        return [(at, block, tag) for at, block in blocks]

    def _arm(self, key: tuple[bytes, bytes], to: _Node) -> None:
        """Keep a timer for the window on the air's acknowledgement deadline. A timer due no later
        than the deadline, or with nothing left on the air, is kept (firing early it re-arms, or finds
        nothing to do): windows acknowledged in time then cost no timer each, where cancelling and
        re-arming one per window filled the loop's heap with cancelled timers."""
        due = self._senders[key].deadline()
        old = self._ack_timers.get(key)
        if old is not None:
            if due is None or old.when() <= due:
                return
            old.cancel()
            del self._ack_timers[key]
        if due is not None:
            self._ack_timers[key] = asyncio.get_running_loop().call_at(due, self._overdue, key, to)

    def _overdue(self, key: tuple[bytes, bytes], to: _Node) -> None:
        self._ack_timers.pop(key, None)
        if self._closed:
            return
        sender = self._senders[key]
        failed, blocks = sender.overdue(self._now())
        if failed is not None:
            self.stats.fragmented_failed += 1
            self.stats.notes.append(f"{key[0].hex().upper()} -> {key[1].hex().upper()}: blocks from "
                                    f"{failed.next} never acknowledged after {sender.max_retries} retries: "
                                    f"the frame is lost")
            self._tags_of[key].popleft()
        elif blocks:
            self.stats.fragment_resends += 1
        self._schedule(key, to, self._with_tags(key, blocks))

    def _acknowledged(self, key: tuple[bytes, bytes], to: _Node, through: int, tag: int) -> None:
        sender = self._senders.get(key)
        tags = self._tags_of.get(key)
        if sender is None or not tags or tags[0] != tag:
            return  # a late acknowledgement of a message already done (a duplicate block's): not this one's
        done, blocks = sender.acknowledged(through, self._now())
        if done is not None:
            self._tags_of[key].popleft()
        if blocks:
            self._schedule(key, to, self._with_tags(key, blocks))
        elif done is not None:
            self._arm(key, to)  # what scheduling no blocks comes to: the deadline timer follows the queue

    def _block_arrived(self, packet: HanPacket, to: _Node, tag: int) -> HanPacket | None:
        """The receiver's APS: the block in, the window's acknowledgement back over the air, the
        whole message out once complete."""
        receiver = to.receivers.get(packet.src)
        if receiver is None:
            receiver = to.receivers[packet.src] = Receiver(self.apsf.window)
        try:
            ack, whole = receiver.block(packet, tag)
        except ApsfError as e:
            self.stats.notes.append(f"block to {to.eui.hex().upper()}: {e}: dropped")
            return None
        if ack is not None:
            sender = self.nodes.get(packet.src)
            if sender is not None and not (self.impairments.loss and self.rng.random() < self.impairments.loss):
                asyncio.get_running_loop().call_later(self.impairments.latency_s, self._acknowledged,
                                                      (packet.src, to.eui), to, ack, tag)
        return whole

    # --- the air ----------------------------------------------------------------------------
    def _transmit(self, packet: HanPacket, to: _Node | None, tag: int = 0) -> None:
        if self._closed:
            return
        self.stats.sent += 1
        imp = self.impairments
        if to is None or (to is not self.coordinator and not to.joined):
            self.stats.dropped_unjoined += 1
            self._tap(packet, False)
            return
        if imp.loss and self.rng.random() < imp.loss:
            self.stats.lost += 1
            self._tap(packet, False)
            return
        copies = 2 if imp.duplicate and self.rng.random() < imp.duplicate else 1
        self.stats.duplicated += copies - 1
        if self._batch is not None and not imp.jitter_s and not imp.reorder:
            self._batch.extend([(packet, tag)] * copies)  # arrives with its window (see _schedule)
            self._tap(packet, True)
            return
        loop = asyncio.get_running_loop()
        for _ in range(copies):
            delay = imp.latency_s + (self.rng.random() * imp.jitter_s if imp.jitter_s else 0.0)
            when = loop.time() + delay
            if not imp.reorder:
                when = self._arrival(to, when)
            loop.call_at(when, self._arrive, packet, to, tag)
        self._tap(packet, True)

    def _arrival(self, to: _Node, when: float) -> float:
        """When a frame sent now for ``when`` arrives: asyncio orders timers due at the same instant
        arbitrarily, so each link stays FIFO (strictly after the frame before)."""
        when = max(when, self._last_arrival.get(to.eui, 0.0) + 1e-6)
        self._last_arrival[to.eui] = when
        return when

    def _tap(self, packet: HanPacket, delivered: bool) -> None:
        if self.tap is not None:
            self.tap(self._now(), packet, delivered)

    def _arrive_all(self, frames: list[tuple[HanPacket, int]], to: _Node) -> None:
        """A window's blocks arriving together, in the order they left."""
        for packet, tag in frames:
            self._arrive(packet, to, tag)

    def _arrive(self, packet: HanPacket, to: _Node, tag: int = 0) -> None:
        if packet.fragment is not None:
            whole = self._block_arrived(packet, to, tag)
            if whole is None:
                return
            packet = whole
        if to.sleepy:
            if len(to.held) >= self.max_held:
                to.held.popleft()
                self.stats.expired += 1
            to.held.append((self._now(), packet))
            self.stats.held_for_sleepy += 1
            return
        self.stats.delivered += 1
        if to.listener is not None:
            to.listener.packet_received(packet)

    def _poll(self, node: _Node) -> list[HanPacket]:
        now = self._now()
        out = []
        while node.held:
            when, packet = node.held.popleft()
            if self.indirect_timeout_s is not None and now - when > self.indirect_timeout_s:
                self.stats.expired += 1
                continue
            out.append(packet)
        self.stats.delivered += len(out)
        return out


class VirtualRadio(HanRadio):
    """The coordinator side, for the CHF."""

    def __init__(self, bus: VirtualHan, eui: bytes) -> None:
        self.bus = bus
        self._eui = eui

    @property
    def eui(self) -> bytes:
        return self._eui

    @property
    def max_payload(self) -> int | None:
        """What the bus carries at all: the reassembly limit (None: an unlimited bus)."""
        return None if self.bus.frame_limit is None else self.bus.reassembly_limit

    async def start(self, listener: HanListener) -> None:
        node = _Node(self._eui, listener, joined=True, nwk=0x0000)
        self.bus.coordinator = node
        self.bus.nodes[self._eui] = node

    async def stop(self) -> None:
        if self.bus.coordinator is not None:
            self.bus.coordinator.listener = None

    async def send(self, packet: HanPacket) -> None:
        self.send_now(packet)

    def send_now(self, packet: HanPacket) -> bool:
        to = self.bus.nodes.get(packet.dst)
        if to is not None and to.nwk != 0xFFFE and (packet.src_nwk, packet.dst_nwk) != (0x0000, to.nwk):
            packet = packet.addressed(0x0000, to.nwk)  # (a frame the hub addressed already is kept as it is)
        self.bus._send(packet, to)
        return True

    async def permit_join(self, eui: bytes, link_key: bytes, seconds: float) -> None:
        self.bus.permits[eui] = (link_key, self.bus._now() + seconds)

    async def remove(self, eui: bytes) -> None:
        self.bus.permits.pop(eui, None)
        node = self.bus.nodes.get(eui)
        if node is not None and node.joined:
            node.joined = False
            if node.listener is not None:
                node.listener.device_left(eui)
            if self.bus.coordinator is not None and self.bus.coordinator.listener is not None:
                self.bus.coordinator.listener.device_left(eui)


class VirtualLink(HanDeviceLink):
    """A device's side, for an emulated ESME or GSME."""

    def __init__(self, bus: VirtualHan, node: _Node) -> None:
        self.bus = bus
        self.node = node

    async def join(self, link_key: bytes) -> int:
        return self.bus._join(self.node, link_key)

    async def send(self, packet: HanPacket) -> None:
        self.send_now(packet)

    def send_now(self, packet: HanPacket) -> bool:
        """The bus takes a frame at once (no task needed per frame a meter sends)."""
        if not self.node.joined:
            self.bus.stats.dropped_unjoined += 1
            self.bus._tap(packet, False)
            return True
        if (packet.src_nwk, packet.dst_nwk) != (self.node.nwk, 0x0000):  # (the meter's frames usually are)
            packet = packet.addressed(self.node.nwk, 0x0000)
        self.bus._send(packet, self.bus.coordinator)
        return True

    async def poll(self) -> list[HanPacket]:
        return self.bus._poll(self.node)

    async def leave(self) -> None:
        self.node.joined = False
