"""asyncio adapters around the device machines: one mechanical loop each (style lesson 2).

Feed packets in, send what comes out, re-arm one timer from ``get_timer()``. No
protocol decisions here: those live in ``emulator.devices``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable

from emulator.clock import Clock
from emulator.devices.base import Output
from emulator.devices.chf import Chf
from emulator.devices.events import DeviceEvent, DeviceUnreachable, JoinPermitted
from emulator.devices.gsme import Gsme
from emulator.devices.meter import Meter
from emulator.gbcs import frames
from emulator.gbcs.errors import GbcsError
from emulator.transport.han import HanDeviceLink, HanPacket, HanRadio, JoinRefused
from emulator.transport.wan import HubPort
from emulator.transport.wan_messages import (
    Ack,
    Command,
    DeviceAlert,
    DeviceResponse,
    DownMessage,
    JoinedEvent,
    JoinRefusedEvent,
    UnreachableEvent,
    UpMessage,
)
from emulator.zigbee.eui64 import Eui64

log = logging.getLogger(__name__)
EventSink = Callable[[DeviceEvent], None]
FAST_POLL_S = 0.25
ALERT_RESEND_S = 30.0  # a GSME with work in progress polls its parent this often while awake


class _Timer:
    """One re-armable timer on the running loop."""

    def __init__(self, fire: Callable[[], None]) -> None:
        self.fire = fire
        self.handle: asyncio.TimerHandle | None = None
        self.when: float | None = None

    def arm(self, when: float | None, clock: Clock) -> None:
        if when == self.when:
            return
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.when = when
        if when is not None:
            loop = asyncio.get_running_loop()
            self.handle = loop.call_later(max(0.0, when - clock.now()), self._run)

    def _run(self) -> None:
        self.handle = None
        self.when = None
        self.fire()


class MeterRunner:
    """An emulated ESME or GSME on a HAN device link."""

    def __init__(self, machine: Meter, link_factory: Callable[[MeterRunner], HanDeviceLink], clock: Clock,
                 sink: EventSink | None = None) -> None:
        self.machine = machine
        self.clock = clock
        self.sink = sink
        self.link = link_factory(self)
        self.timer = _Timer(self._on_timer)
        self.joined = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake_task: asyncio.Task[None] | None = None

    # HanListener ------------------------------------------------------------------------------
    def packet_received(self, packet: HanPacket) -> None:
        self._apply(self.machine.on_packet(packet, self.clock.now()))

    def device_joined(self, eui: bytes, nwk: int) -> None:
        pass

    def device_left(self, eui: bytes) -> None:
        self.joined.clear()

    def join_refused(self, eui: bytes, reason: str) -> None:
        pass

    def connection_lost(self, error: Exception | None) -> None:
        pass

    # -----------------------------------------------------------------------------------------
    async def join(self, link_key: bytes) -> int:
        """Join with ``link_key``; raises :class:`JoinRefused` with the trust centre's reason."""
        nwk = await self.link.join(link_key)
        self.machine.nwk = nwk
        self.machine.joined_at(self.clock.now())
        self.timer.arm(self.machine.get_timer(), self.clock)
        self.joined.set()
        if isinstance(self.machine, Gsme):
            self._apply(self.machine.joined(self.clock.now()))
            self._wake_task = asyncio.ensure_future(self._wake_loop(self.machine))
        return nwk

    async def try_join(self, link_key: bytes) -> str | None:
        """Join, returning None on success or the refusal reason."""
        try:
            await self.join(link_key)
        except JoinRefused as e:
            return e.reason
        return None

    async def _wake_loop(self, gsme: Gsme) -> None:
        # Sleepy: wake on schedule (report, GET, OTA), poll the parent, and poll fast while
        # there is work in progress; a long download does not stop the scheduled wakes.
        while True:
            await self._poll()
            now = self.clock.now()
            if now >= (gsme.next_wake or now):
                self._apply(gsme.wake(now))
                await asyncio.sleep(FAST_POLL_S)
                continue
            if gsme.busy:
                await asyncio.sleep(FAST_POLL_S)
            else:
                await asyncio.sleep(max(FAST_POLL_S, (gsme.next_wake or now) - now))

    async def _poll(self) -> None:
        for packet in await self.link.poll():
            self._apply(self.machine.on_packet(packet, self.clock.now()))

    def raise_alert(self, code: int) -> None:
        self._apply(self.machine.raise_alert(code, self.clock.now()))

    def _on_timer(self) -> None:
        self._apply(self.machine.handle_timer(self.clock.now()))

    def _apply(self, out: Output) -> None:
        for packet in out.han:
            self._spawn(self.link.send(packet))
        if self.sink is not None:
            for event in out.events:
                self.sink(event)
        self.timer.arm(self.machine.get_timer(), self.clock)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        if self._wake_task is not None:
            self._wake_task.cancel()
        self.timer.arm(None, self.clock)


class ChfRunner:
    """The hub: the CHF machine between a HAN radio and a WAN port."""

    def __init__(self, machine: Chf, radio: HanRadio, wan: HubPort, clock: Clock,
                 sink: EventSink | None = None) -> None:
        self.machine = machine
        self.radio = radio
        self.wan = wan
        self.clock = clock
        self.sink = sink
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: dict[str, None] = {}
        self._command_ids: dict[tuple[bytes, int], str] = {}
        self._answers: dict[str, UpMessage] = {}
        self._unacked_alerts: dict[str, DeviceAlert] = {}
        self._alert_task: asyncio.Task[None] | None = None
        self.timer = _Timer(self._on_timer)

    def _on_timer(self) -> None:
        self._spawn(self._apply(self.machine.handle_timer(self.clock.now())))

    async def start(self) -> None:
        await self.radio.start(self)
        await self.wan.start(self.on_down)

    async def stop(self) -> None:
        if self._alert_task is not None:
            self._alert_task.cancel()
        self.timer.arm(None, self.clock)
        await self.wan.stop()
        await self.radio.stop()

    # WAN ------------------------------------------------------------------------------------
    async def on_down(self, message: DownMessage) -> None:
        if isinstance(message, Ack):  # the DSP has stored these alerts: stop re-sending them
            for aid in message.ids:
                self._unacked_alerts.pop(aid, None)
            return
        mid = message.id
        if mid and mid in self._seen:
            # A re-sent command (WN-1): the DSP did not see our answer. Answer again, do not redo it.
            cached = self._answers.get(mid)
            if cached is not None:
                await self.wan.send(cached)
            return
        if mid:
            self._seen[mid] = None
            if len(self._seen) > 10_000:
                self._seen.pop(next(iter(self._seen)))
        now = self.clock.now()
        try:
            if isinstance(message, Command):
                wire = message.gbcs
                with contextlib.suppress(GbcsError):
                    cmd = frames.decode(wire)
                    self._command_ids[(cmd.target, cmd.counter)] = mid
                out = self.machine.on_wan_command(wire, now)
                unreachable = [(e.target, e.reason) for e in out.events if isinstance(e, DeviceUnreachable)]
                limit = self.radio.max_payload
                unreachable += [(p.dst, f"the command needs a {len(p.payload)}-byte HAN frame and this radio "
                                        f"carries at most {limit}")
                                for p in out.han if limit is not None and len(p.payload) > limit]
                for target, reason in unreachable:
                    await self.wan.send(UnreachableEvent(f"u{mid}", message.request_id, reason, Eui64(target)))
            else:  # Firmware
                out = self.machine.add_image(message.image, {bytes(t) for t in message.targets}, now)
        except (ValueError, KeyError) as e:
            log.warning("hub %s: bad WAN message: %s", self.machine.eui.hex(), e)
            return
        await self._apply(out)

    # HanListener ----------------------------------------------------------------------------
    def packet_received(self, packet: HanPacket) -> None:
        self._spawn(self._apply(self.machine.on_packet(packet, self.clock.now())))

    def device_joined(self, eui: bytes, nwk: int) -> None:
        self._spawn(self._apply(self.machine.device_joined(eui, nwk, self.clock.now())))
        self._spawn(self.wan.send(JoinedEvent(f"j{eui.hex()}{nwk}", Eui64(eui))))

    def device_left(self, eui: bytes) -> None:
        self._spawn(self._apply(self.machine.device_left(eui, self.clock.now())))

    def join_refused(self, eui: bytes, reason: str) -> None:
        self._spawn(self.wan.send(JoinRefusedEvent(f"r{eui.hex()}{self.clock.now()}", Eui64(eui), reason)))

    def connection_lost(self, error: Exception | None) -> None:
        log.error("hub %s: HAN radio lost: %s", self.machine.eui.hex(), error)

    # -----------------------------------------------------------------------------------------
    async def _apply(self, out: Output) -> None:
        self.timer.arm(self.machine.get_timer(), self.clock)
        for event in out.events:
            if isinstance(event, JoinPermitted):
                await self.radio.permit_join(event.eui, event.link_key, event.seconds)
            if self.sink is not None:
                self.sink(event)
        for packet in out.han:
            await self.radio.send(packet)
        for frame in out.wan:
            # The id names the frame itself: a re-sent frame is recognised, two frames never collide.
            mid = hashlib.blake2b(frame.wire, digest_size=12).hexdigest()
            up: UpMessage
            if frame.kind == "alert":
                up = DeviceAlert(mid, Eui64(frame.device), frame.counter, frame.wire)
                self._unacked_alerts[mid] = up
                self._arm_alert_resend()
            else:
                up = DeviceResponse(mid, Eui64(frame.device), frame.counter, frame.wire)
                command_id = self._command_ids.pop((frame.device, frame.counter), None)
                if command_id:
                    self._answers[command_id] = up
                    if len(self._answers) > 10_000:
                        self._answers.pop(next(iter(self._answers)))
            await self.wan.send(up)

    def _arm_alert_resend(self) -> None:
        if self._alert_task is None or self._alert_task.done():
            self._alert_task = asyncio.ensure_future(self._resend_alerts())

    async def _resend_alerts(self) -> None:
        # Until the DSP acknowledges an alert it is sent again (WN-1: a broker that died after
        # acknowledging it may never have delivered it); the DSP drops repeats by id.
        while self._unacked_alerts:
            await asyncio.sleep(ALERT_RESEND_S)
            for up in list(self._unacked_alerts.values()):
                await self.wan.send(up)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
