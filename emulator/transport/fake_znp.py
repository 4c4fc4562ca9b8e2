"""Serves the fake Z-Stack (``emulator.znp``) on a TCP socket or a pty, with emulated devices
on its air side: the second CI tier, where the real zigpy-znp drives the CHF's radio.

The host connects as to a network coordinator (``socket://127.0.0.1:PORT``) or opens the pty
as a serial port. One mechanical loop: bytes from the host go into :class:`FakeZnp`, what
comes out goes back to the host, and frames for devices are delivered after a small air
latency (FIFO per device, as on the virtual bus). Devices attach as on the virtual bus
(:meth:`FakeZnpAir.attach` returns a :class:`HanDeviceLink`), so an emulated ESME or GSME
runs unchanged on either HAN. Sleepy devices find their frames held until they poll.

Frames larger than one air frame cross in APS fragments both ways: the stick sends a window of
blocks frame-delay apart and the device's APS layer (here, on the device's behalf) acknowledges
each window and hands the reassembled frame up; a device's large answer goes the same way to
the stick, which reassembles it. A sleepy device's reassembled frames wait for its poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import logging
import os
import struct
import termios
import time
import tty
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import Clock, VirtualTimeLoop
from emulator.hardware import RadioProfile
from emulator.transport.han import HanDeviceLink, HanListener, HanPacket, HanRadio, JoinRefused
from emulator.transport.virtual_han import Tap
from emulator.zigbee import zdo
from emulator.zigbee.apsf import ApsfConfig, ApsfError, Reassembly, split
from emulator.znp.errors import JoinRefusedByTrustCentre, ZnpError
from emulator.znp.fake import FakeOutput, FakeZnp

log = logging.getLogger(__name__)
DEFAULT_MANUFACTURER = 0x1234
PTY_SETTLE_S = 0.005  # wall time the line discipline may take to hand written bytes to the reader


@dataclass(slots=True)
class AirStats:
    host_bytes_in: int = 0
    host_bytes_out: int = 0
    to_devices: int = 0
    from_devices: int = 0
    dropped: int = 0
    joins: int = 0
    joins_refused: int = 0
    fragments_down: int = 0
    """APS blocks the stick transmitted to devices."""
    fragments_up: int = 0
    """APS blocks devices transmitted to the stick."""
    notes: deque[str] = field(default_factory=lambda: deque(maxlen=200))


@dataclass(slots=True)
class _Device:
    eui: bytes
    listener: HanListener
    sleepy: bool
    descriptor: zdo.DeviceDescriptor
    held: deque[HanPacket] = field(default_factory=deque)
    last_arrival: float = 0.0
    reassembly: tuple[HanPacket, Reassembly] | None = None


class FakeZnpAir:
    """A fake ZNP stick plus the devices around it, served to one host at a time."""

    def __init__(self, fake: FakeZnp, clock: Clock, *, latency_s: float = 0.002, tap: Tap | None = None) -> None:
        self.fake = fake
        self.tap = tap
        self.clock = clock
        self.latency_s = latency_s
        self.stats = AirStats()
        self.devices: dict[bytes, _Device] = {}
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pty: tuple[int, int] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._client_task: asyncio.Task[Any] | None = None
        self._last_pty_write = 0.0
        self._ack_timer: asyncio.TimerHandle | None = None
        self._ack_due = 0.0

    # --- serving the host --------------------------------------------------------------------
    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen for the host; returns the ``socket://`` URL a radio profile names."""
        self._server = await asyncio.start_server(self._client, host, port)
        bound = self._server.sockets[0].getsockname()
        self.url = f"socket://{bound[0]}:{bound[1]}"
        return self.url

    async def serve_pty(self) -> str:
        """Open a pseudo-terminal; returns the slave's path, to be opened as a serial port."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._pty = (master, slave)
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._pty_readable, master)
        if isinstance(loop, VirtualTimeLoop):
            loop.io_probes.append(self._pty_in_flight)
        self.url = os.ttyname(slave)
        return self.url

    def radio(self, eui: bytes) -> HanRadio:
        """The CHF's radio: the real zigpy-znp, talking to this stick (``eui`` is the stick's own)."""
        from emulator.transport.zigpy_han import ZigpyRadio

        if not self.url:
            raise RuntimeError("serve the fake ZNP (serve_tcp or serve_pty) before asking for its radio")
        return ZigpyRadio(RadioProfile("fake ZNP", "znp", self.url, source=f"fake ZNP at {self.url}"))

    async def aclose(self) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            if self._writer is not None:
                self._writer.close()
            if self._client_task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError, ConnectionError):
                    await asyncio.wait_for(asyncio.shield(self._client_task), 2.0)
            await self._server.wait_closed()
            self._server = None
        if self._pty is not None:
            master, slave = self._pty
            loop = asyncio.get_running_loop()
            loop.remove_reader(master)
            if isinstance(loop, VirtualTimeLoop) and self._pty_in_flight in loop.io_probes:
                loop.io_probes.remove(self._pty_in_flight)
            for fd in (master, slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._pty = None
        for task in list(self._tasks):
            task.cancel()
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None and not self._writer.is_closing():
            # A serial port has one host: a second one is told so by being closed at once.
            log.warning("fake ZNP %s: a second host connected; closing it", self.url)
            writer.close()
            return
        self._writer = writer
        self._client_task = asyncio.current_task()
        try:
            while data := await reader.read(4096):
                self._from_host(data)
        except ConnectionError as e:
            log.info("fake ZNP %s: host went away: %s", self.url, e)
        finally:
            writer.close()
            self.fake.reader.buffer.clear()  # a half frame from the old host is not the new host's

    def _pty_in_flight(self) -> bool:
        """Bytes still in the pty, either way, or written a moment ago (the line discipline hands them
        over later): virtual time must not jump past the reply they carry."""
        if self._pty is None:
            return False
        if time.monotonic() - self._last_pty_write < PTY_SETTLE_S:
            return True
        try:
            return any(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0] > 0
                       for fd in self._pty)
        except OSError:
            return False

    def _pty_readable(self, master: int) -> None:
        try:
            data = os.read(master, 4096)
        except BlockingIOError:
            return
        except OSError:  # the host closed the slave side: wait for the next open
            return
        if data:
            self._from_host(data)

    def _to_host(self, data: bytes) -> None:
        if not data:
            return
        self.stats.host_bytes_out += len(data)
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)
        elif self._pty is not None:
            self._last_pty_write = time.monotonic()
            with contextlib.suppress(OSError):
                os.write(self._pty[0], data)

    def _from_host(self, data: bytes) -> None:
        self.stats.host_bytes_in += len(data)
        self._apply(self.fake.receive(data, self.clock.now(), wire_time=time.monotonic()))

    def _apply(self, out: FakeOutput) -> None:
        for note in out.notes:
            log.info("fake ZNP %s: %s", self.url, note)
            self.stats.notes.append(note)
        self._to_host(out.wire())
        for packet in out.air:
            self._deliver(packet)
        now = self.clock.now()
        for at, block in out.fragments:
            self.stats.fragments_down += 1
            self._deliver(block, max(0.0, at - now))
        if out.fragments:
            self._arm_ack_timer()
        for eui in out.left:
            dev = self.devices.get(eui)
            if dev is not None:
                dev.listener.device_left(eui)

    def _deliver(self, packet: HanPacket, after_s: float = 0.0) -> None:
        dev = self.devices.get(packet.dst)
        if self.tap is not None:
            self.tap(self.clock.now() + after_s, packet, dev is not None)
        if dev is None:
            self.stats.dropped += 1
            return
        self.stats.to_devices += 1
        loop = asyncio.get_running_loop()
        when = max(loop.time() + after_s + self.latency_s, dev.last_arrival + 1e-6)  # FIFO per device
        dev.last_arrival = when
        loop.call_at(when, self._arrive, dev, packet)

    def _arrive(self, dev: _Device, packet: HanPacket) -> None:
        if dev.eui not in self.fake.devices:
            self.stats.dropped += 1  # it left while the frame was in the air
            return
        if packet.fragment is not None:
            whole = self._block_arrived(dev, packet)
            if whole is None:
                return
            packet = whole
        if dev.sleepy:
            dev.held.append(packet)
            return
        dev.listener.packet_received(packet)

    def _block_arrived(self, dev: _Device, packet: HanPacket) -> HanPacket | None:
        """The device's APS layer: a block in; the acknowledgement out; the whole frame once complete."""
        index, count = packet.fragment or (0, 1)
        if index == 0:
            dev.reassembly = (packet, Reassembly(count, self.fake.large.config(packet.src_ep).window))
        if dev.reassembly is None:
            self.stats.notes.append(f"block {index}/{count} to {dev.eui.hex().upper()} without its first: dropped")
            return None
        first, reassembly = dev.reassembly
        try:
            reassembly.add(index, count, packet.payload)
        except ApsfError as e:
            self.stats.notes.append(f"block to {dev.eui.hex().upper()}: {e}: the frame is dropped")
            dev.reassembly = None
            return None
        through = reassembly.window_acknowledged()
        if through is not None:  # the APS ack goes back over the air
            asyncio.get_running_loop().call_later(self.latency_s, self._acknowledged, dev.eui, through)
        if not reassembly.complete:
            return None
        dev.reassembly = None
        return dataclasses.replace(first, payload=reassembly.payload(), fragment=None)

    def _arm_ack_timer(self) -> None:
        """Wake the stick when its earliest outstanding APS ack falls due."""
        due = self.fake.large.next_deadline()
        if due is None or (self._ack_timer is not None and self._ack_due <= due):
            return
        if self._ack_timer is not None:
            self._ack_timer.cancel()
        self._ack_due = due
        self._ack_timer = asyncio.get_running_loop().call_later(max(0.0, due - self.clock.now()) + 1e-3,
                                                                self._ack_timeout)

    def _ack_timeout(self) -> None:
        self._ack_timer = None
        self._apply(self.fake.tick(self.clock.now()))
        self._arm_ack_timer()

    def _acknowledged(self, eui: bytes, through: int) -> None:
        self._apply(self.fake.fragment_acknowledged(eui, through, self.clock.now()))

    # --- the device side ---------------------------------------------------------------------
    def attach(self, eui: bytes, listener: HanListener, *, sleepy: bool = False,
               descriptor: zdo.DeviceDescriptor | None = None) -> FakeZnpLink:
        if descriptor is None:
            machine = getattr(listener, "machine", None)
            mfr = getattr(machine, "manufacturer_code", DEFAULT_MANUFACTURER)
            descriptor = zdo.meter_descriptor(eui, 0xFFFE, "GSME" if sleepy else "ESME", mfr)
        dev = _Device(eui, listener, sleepy, descriptor)
        self.devices[eui] = dev
        return FakeZnpLink(self, dev)


class FakeZnpLink(HanDeviceLink):
    """An emulated device's link through the fake coordinator's air."""

    def __init__(self, air: FakeZnpAir, dev: _Device) -> None:
        self.air = air
        self.dev = dev
        self._fragmenting = asyncio.Lock()  # APS sends one fragmented frame at a time per destination

    async def join(self, link_key: bytes) -> int:
        try:
            nwk, out = self.air.fake.join(self.dev.descriptor, link_key, self.air.clock.now(), sleepy=self.dev.sleepy)
        except JoinRefusedByTrustCentre as e:
            self.air.stats.joins_refused += 1
            raise JoinRefused(self.dev.eui, e.reason) from None
        self.air.stats.joins += 1
        self.air._apply(out)
        return nwk

    async def send(self, packet: HanPacket) -> None:
        self.air.stats.from_devices += 1
        config = self.air.fake.large.config(packet.dst_ep)  # both ends of a link agree on the window
        blocks = split(packet, config.fragment_size)
        if len(blocks) == 1:
            self._transmit(packet)
            return
        async with self._fragmenting:
            await self._send_blocks(packet, blocks, config)

    async def _send_blocks(self, packet: HanPacket, blocks: list[HanPacket], config: ApsfConfig) -> None:
        # The device's APS layer: a window of blocks frame-delay apart, then the stick's ack.
        for start in range(0, len(blocks), config.window):
            acks: list[int] = []
            for k, block in enumerate(blocks[start:start + config.window]):
                if k:
                    await asyncio.sleep(config.frame_delay_ms / 1000)
                self.air.stats.fragments_up += 1
                acks += [through for eui, through in self._transmit(block) if eui == packet.src]
            if not acks:
                self.air.stats.dropped += 1
                self.air.stats.notes.append(f"{packet.src.hex().upper()}: no APS ack for blocks from {start}: "
                                            f"the {len(packet.payload)}-byte frame is lost")
                return
            await asyncio.sleep(self.air.latency_s)  # the ack's own flight

    def _transmit(self, packet: HanPacket) -> list[tuple[bytes, int]]:
        """One frame from the device to the stick; the APS acks the stick sent back."""
        try:
            out = self.air.fake.from_device(packet, self.air.clock.now())
        except ZnpError as e:
            if self.air.tap is not None:
                self.air.tap(self.air.clock.now(), packet, False)
            # What the chip cannot carry is lost on the air, loudly: the sender's own retries apply.
            self.air.stats.dropped += 1
            self.air.stats.notes.append(str(e))
            log.error("fake ZNP %s: %s", self.air.url, e)
            return []
        if self.air.tap is not None:
            self.air.tap(self.air.clock.now(), packet, not out.notes)
        self.air._apply(out)
        return out.acks

    async def poll(self) -> list[HanPacket]:
        held = list(self.dev.held)
        self.dev.held.clear()
        return held

    async def leave(self) -> None:
        self.air._apply(self.air.fake.leave(self.dev.eui, self.air.clock.now()))


def fake_znp_han(clock: Clock, *, seed: int = 0, pty: bool = False,
                 tap: Tap | None = None) -> Callable[[int, bytes], Awaitable[FakeZnpAir]]:
    """A HAN factory for ``build_world``: each premises gets its own fake stick (its EUI-64 the
    CHF's), served on loopback TCP or a pty, and the CHF drives it through zigpy-znp."""

    async def make(index: int, chf: bytes) -> FakeZnpAir:
        air = FakeZnpAir(FakeZnp(chf, seed=seed * 1000 + index), clock, tap=tap)
        await (air.serve_pty() if pty else air.serve_tcp())
        return air

    return make
