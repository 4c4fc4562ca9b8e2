"""asyncio adapters around the device machines: one mechanical loop each (style lesson 2).

Feed packets in, send what comes out, re-arm one timer from ``get_timer()``. No
protocol decisions here: those live in ``emulator.devices`` (the GSME's sleep and poll
cycle, the hub's answer cache, alert re-sends and frame-size refusals included). What is
left is carrying: bytes between the machine, its radio and its WAN port, in both forms.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from emulator.clock import Clock
from emulator.devices.base import Output
from emulator.devices.chf import Chf
from emulator.devices.events import DeviceEvent, DeviceUnreachable, JoinPermitted
from emulator.devices.gsme import Gsme
from emulator.devices.meter import Meter
from emulator.devices.state_snapshot import SaveSchedule, snapshot
from emulator.transport.device_state import StateFolder
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


class _Timer:
    """One re-armable timer on the running loop. The machine's deadline moves with nearly every
    frame (a hub's resend deadline is set by each command and cleared by its answer), so a moved
    deadline keeps the loop's handle while that is due no later: it fires, finds the deadline
    later (or gone) and re-arms (or stops). The machine is still called only when its time is due,
    and a cancelled handle per frame no longer piles up in the loop's heap."""

    def __init__(self, fire: Callable[[], None]) -> None:
        self.fire = fire
        self.handle: asyncio.TimerHandle | None = None
        self.when: float | None = None
        self._due: float | None = None  # ``when`` on the loop's clock

    def arm(self, when: float | None, clock: Clock) -> None:
        if when == self.when:
            return
        self.when = when
        if when is None:
            self._due = None
            return
        loop = asyncio.get_running_loop()
        due = self._due = loop.time() + max(0.0, when - clock.now())
        if self.handle is not None:
            if self.handle.when() <= due:
                return
            self.handle.cancel()
        self.handle = loop.call_at(due, self._run)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.handle = self.when = self._due = None

    def _run(self) -> None:
        fired, self.handle = self.handle, None
        due = self._due
        if due is None:
            return
        if fired is not None and due > fired.when():
            self.handle = asyncio.get_running_loop().call_at(due, self._run)
            return
        self.when = self._due = None
        self.fire()


class _Keeper:
    """Writes a machine's snapshot to the state folder when its save schedule says (None: keeps nothing)."""

    def __init__(self, machine: Meter | Chf, folder: StateFolder | None, clock: Clock) -> None:
        self.machine = machine
        self.folder = folder
        self.clock = clock
        self.schedule = SaveSchedule()
        self.timer = _Timer(self._on_timer)

    def note(self, out: Output) -> None:
        if self.folder is None:
            return
        if self.schedule.note(out, self.clock.now()):
            self.save()
        self.timer.arm(self.schedule.get_timer(), self.clock)

    def _on_timer(self) -> None:
        if self.schedule.handle_timer(self.clock.now()):
            self.save()
        self.timer.arm(self.schedule.get_timer(), self.clock)

    def save(self) -> None:
        if self.folder is not None:
            self.folder.save(self.machine.eui, snapshot(self.machine))

    def stop(self) -> None:
        """A batch still open is written now (an orderly stop loses nothing)."""
        if self.schedule.get_timer() is not None:
            self.save()
        self.schedule.due = None
        self.timer.cancel()


class MeterRunner:
    """An emulated ESME or GSME on a HAN device link."""

    def __init__(self, machine: Meter, link_factory: Callable[[MeterRunner], HanDeviceLink], clock: Clock,
                 sink: EventSink | None = None, state: StateFolder | None = None) -> None:
        self.machine = machine
        self.clock = clock
        self.sink = sink
        self.link = link_factory(self)
        self.timer = _Timer(self._on_timer)
        self.keeper = _Keeper(machine, state, clock)
        self.joined = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

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
        # With CBKE on, the meter starts Key Establishment now and opens its tunnel after it.
        if self.machine.key_establishment is not None:
            self._apply(self.machine.start_key_establishment(self.clock.now()))
        if isinstance(self.machine, Gsme) and self.machine.key_establishment is None:
            self._apply(self.machine.joined(self.clock.now()))
        return nwk

    async def try_join(self, link_key: bytes) -> str | None:
        """Join, returning None on success or the refusal reason."""
        try:
            await self.join(link_key)
        except JoinRefused as e:
            return e.reason
        return None

    async def _poll(self) -> None:
        for packet in await self.link.poll():
            self._apply(self.machine.on_packet(packet, self.clock.now()))

    def raise_alert(self, code: int) -> None:
        self._apply(self.machine.raise_alert(code, self.clock.now()))

    def _on_timer(self) -> None:
        self._apply(self.machine.handle_timer(self.clock.now()))

    def _apply(self, out: Output) -> None:
        for packet in out.han:
            if not self.link.send_now(packet):  # the virtual bus takes it at once: no task per frame
                self._spawn(self.link.send(packet))
        if out.poll:
            self._spawn(self._poll())
        if self.sink is not None:
            for event in out.events:
                self.sink(event)
        self.timer.arm(self.machine.get_timer(), self.clock)
        self.keeper.note(out)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self.timer.cancel()
        self.keeper.stop()
        for task in list(self._tasks):
            task.cancel()


class ChfRunner:
    """The hub: the CHF machine between a HAN radio and a WAN port."""

    def __init__(self, machine: Chf, radio: HanRadio, wan: HubPort, clock: Clock,
                 sink: EventSink | None = None, state: StateFolder | None = None) -> None:
        self.machine = machine
        self.radio = radio
        self.wan = wan
        self.clock = clock
        self.sink = sink
        self._tasks: set[asyncio.Task[None]] = set()
        self.timer = _Timer(self._on_timer)
        self.keeper = _Keeper(machine, state, clock)

    def _on_timer(self) -> None:
        self._spawn(self._apply(self.machine.handle_timer(self.clock.now())))

    async def start(self) -> None:
        self.machine.max_han_payload = self.radio.max_payload  # the core refuses what cannot fit
        await self.radio.start(self)
        await self._apply(self.machine.resume(self.clock.now()))  # a restored device log: permits again
        await self.wan.start(self.on_down)

    async def stop(self) -> None:
        self.timer.cancel()
        self.keeper.stop()
        await self.wan.stop()
        await self.radio.stop()

    # WAN ------------------------------------------------------------------------------------
    async def on_down(self, message: DownMessage) -> None:
        now = self.clock.now()
        try:
            if isinstance(message, Ack):  # the DSP has stored these alerts: the CHF stops re-sending them
                self.machine.wan_acknowledged(list(message.ids))
                return
            if isinstance(message, Command):
                out = self.machine.on_wan_command(message.gbcs, now)
                for e in out.events:
                    if isinstance(e, DeviceUnreachable):
                        await self.wan.send(UnreachableEvent(f"u{message.id}", message.request_id, e.reason,
                                                             Eui64(e.target)))
            else:  # Firmware
                out = self.machine.add_image(message.image, {bytes(t) for t in message.targets}, now)
        except (ValueError, KeyError) as e:
            log.warning("hub %s: bad WAN message: %s", self.machine.eui.hex(), e)
            return
        await self._apply(out)

    # HanListener ----------------------------------------------------------------------------
    def packet_received(self, packet: HanPacket) -> None:
        out = self.machine.on_packet(packet, self.clock.now())
        if not self._apply_now(out):
            self._spawn(self._apply(out))

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
    def _apply_now(self, out: Output) -> bool:
        """Carry out ``out`` at once when it is only frames a radio takes at once (most of what the
        CHF answers a frame with: APS acknowledgements and blocks, on the virtual bus) and nothing
        of an earlier frame is still being carried out (its order is kept); else False, and
        :meth:`_apply` does it in a task, as it must when the WAN or a permit is involved."""
        if self._tasks or out.wan or out.events:
            return False
        self.timer.arm(self.machine.get_timer(), self.clock)  # as _apply: before the frames go
        self.keeper.note(out)
        if out.han and not self.radio.send_now(out.han[0]):
            return False  # a radio that is awaited (zigpy): nothing was sent; _apply sends them
        for packet in out.han[1:]:
            if not self.radio.send_now(packet):
                raise RuntimeError("a radio that took a frame at once refused the next")  # not ours
        return True

    async def _apply(self, out: Output) -> None:
        self.timer.arm(self.machine.get_timer(), self.clock)
        self.keeper.note(out)
        for event in out.events:
            if isinstance(event, JoinPermitted):
                await self.radio.permit_join(event.eui, event.link_key, event.seconds)
            if self.sink is not None:
                self.sink(event)
        for packet in out.han:
            await self.radio.send(packet)
        for frame in out.wan:
            up: UpMessage = (DeviceAlert if frame.kind == "alert" else DeviceResponse)(
                frame.id, Eui64(frame.device), frame.counter, frame.wire)
            await self.wan.send(up)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
