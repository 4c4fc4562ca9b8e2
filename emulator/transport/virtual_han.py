"""The virtual in-process Zigbee HAN: a deterministic bus for CI, laptops and fleets (DV-7).

One mechanical loop: frames go out through ``send``, are impaired (seeded latency, loss,
duplication) and delivered with the loop's ``call_later`` (virtual time on a
:class:`~emulator.clock.VirtualTimeLoop`). The only decisions it makes are a trust
centre's: a device joins only if the coordinator permitted exactly that EUI with
exactly that link key, and not after the permit expired (IC-2). Frames for a sleepy
device wait at the parent until the device polls. Every frame on the air goes to the
``tap`` (traces, pcaps).
"""

from __future__ import annotations

import asyncio
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


@dataclass(slots=True)
class _Node:
    eui: bytes
    listener: HanListener | None
    sleepy: bool = False
    joined: bool = False
    nwk: int = 0xFFFE
    held: deque[tuple[float, HanPacket]] = field(default_factory=deque)


class VirtualHan:
    """One premises' HAN (many can share a loop)."""

    def __init__(self, *, seed: int = 0, impairments: Impairments | None = None, tap: Tap | None = None,
                 indirect_timeout_s: float | None = None, max_held: int = 256) -> None:
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
        """Nothing to release: the bus lives in memory."""

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

    # --- the air ----------------------------------------------------------------------------
    def _transmit(self, packet: HanPacket, to: _Node | None) -> None:
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
        loop = asyncio.get_running_loop()
        for _ in range(copies):
            delay = imp.latency_s + (self.rng.random() * imp.jitter_s if imp.jitter_s else 0.0)
            when = loop.time() + delay
            if not imp.reorder:
                # asyncio orders timers due at the same instant arbitrarily: keep each link FIFO.
                when = max(when, self._last_arrival.get(to.eui, 0.0) + 1e-6)
                self._last_arrival[to.eui] = when
            loop.call_at(when, self._arrive, packet, to)
        self._tap(packet, True)

    def _tap(self, packet: HanPacket, delivered: bool) -> None:
        if self.tap is not None:
            self.tap(self._now(), packet, delivered)

    def _arrive(self, packet: HanPacket, to: _Node) -> None:
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

    async def start(self, listener: HanListener) -> None:
        node = _Node(self._eui, listener, joined=True, nwk=0x0000)
        self.bus.coordinator = node
        self.bus.nodes[self._eui] = node

    async def stop(self) -> None:
        if self.bus.coordinator is not None:
            self.bus.coordinator.listener = None

    async def send(self, packet: HanPacket) -> None:
        to = self.bus.nodes.get(packet.dst)
        if to is not None and to.nwk != 0xFFFE:
            packet = HanPacket(packet.src, packet.dst, packet.cluster, packet.payload, packet.src_ep, packet.dst_ep,
                               packet.profile, 0x0000, to.nwk, packet.aps_secured, packet.lqi)
        self.bus._transmit(packet, to)

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
        if not self.node.joined:
            self.bus.stats.dropped_unjoined += 1
            self.bus._tap(packet, False)
            return
        packet = HanPacket(packet.src, packet.dst, packet.cluster, packet.payload, packet.src_ep, packet.dst_ep,
                           packet.profile, self.node.nwk, 0x0000, packet.aps_secured, packet.lqi)
        self.bus._transmit(packet, self.bus.coordinator)

    async def poll(self) -> list[HanPacket]:
        return self.bus._poll(self.node)

    async def leave(self) -> None:
        self.node.joined = False
