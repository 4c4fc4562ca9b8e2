"""Serves the fake EmberZNet NCP (``emulator.ezsp``) on a TCP socket or a pty, with emulated devices
on its air side: the EZSP tier, where the real bellows drives the CHF's radio.

The serving, the air latency, sleepy devices and the device-side APS layer are the fake Z-Stack's
(:class:`emulator.transport.fake_znp.FakeZnpAir`); what differs is who acknowledges a device's
APS blocks. Z-Stack reassembles them on the chip and acknowledges at once; EmberZNet hands every
block to the host, and the host (bellows) acknowledges each with a ``sendReply``: so a device
here sends a window of blocks and waits, on the loop, for the acknowledgement the host causes,
sending the window again when it is late, as an APS layer does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from emulator.clock import Clock
from emulator.ezsp.errors import JoinRefused as NcpJoinRefused
from emulator.ezsp.fake import ACK_WAIT_S, MAX_RETRIES, FakeNcp
from emulator.ezsp.ncp_tables import FakeOutput as NcpOutput
from emulator.hardware import RadioProfile
from emulator.transport.fake_znp import FakeZnpAir, FakeZnpLink, _Device
from emulator.transport.han import HanDeviceLink, HanListener, HanPacket, HanRadio, JoinRefused
from emulator.transport.virtual_han import Tap
from emulator.zigbee import zdo
from emulator.zigbee.apsf import ApsfConfig


class FakeEzspAir(FakeZnpAir):
    """A fake EZSP NCP plus the devices around it, served to one host at a time."""

    def __init__(self, fake: FakeNcp, clock: Clock, *, latency_s: float = 0.002, tap: Tap | None = None) -> None:
        super().__init__(fake, clock, latency_s=latency_s, tap=tap)  # type: ignore[arg-type]
        self.ncp = fake
        self.acked: dict[bytes, int] = {}
        """Per device: the blocks below this index of the message it is sending are acknowledged."""
        self._ack_events: dict[bytes, asyncio.Event] = {}

    def radio(self, eui: bytes) -> HanRadio:
        """The CHF's radio: the real bellows, talking to this NCP."""
        from emulator.transport.zigpy_han import ZigpyRadio

        if not self.url:
            raise RuntimeError("serve the fake NCP (serve_tcp or serve_pty) before asking for its radio")
        return ZigpyRadio(RadioProfile("fake EZSP", "ezsp", self.url, source=f"fake EZSP NCP at {self.url}"))

    def _apply(self, out: NcpOutput) -> None:  # type: ignore[override]
        super()._apply(out)  # type: ignore[arg-type]
        for eui, through in out.acks:
            self.acked[eui] = max(self.acked.get(eui, 0), through)
            event = self._ack_events.get(eui)
            if event is not None:
                event.set()
        self._arm_ack_timer()

    def _arm_ack_timer(self) -> None:
        """Wake the NCP when its earliest outstanding acknowledgement (ASH or APS) falls due."""
        due = self.ncp.next_deadline()
        if due is None or (self._ack_timer is not None and self._ack_due <= due):
            return
        if self._ack_timer is not None:
            self._ack_timer.cancel()
        self._ack_due = due
        self._ack_timer = asyncio.get_running_loop().call_later(max(0.0, due - self.clock.now()) + 1e-3,
                                                                self._ack_timeout)

    def attach(self, eui: bytes, listener: HanListener, *, sleepy: bool = False,
               descriptor: zdo.DeviceDescriptor | None = None) -> FakeEzspLink:
        link = super().attach(eui, listener, sleepy=sleepy, descriptor=descriptor)
        return FakeEzspLink(self, link.dev)

    async def wait_acked(self, eui: bytes, through: int, seconds: float) -> bool:
        """Until the host has acknowledged the blocks below ``through`` (False: not in time)."""
        event = self._ack_events.setdefault(eui, asyncio.Event())
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while self.acked.get(eui, 0) < through:
            event.clear()
            left = end - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                return self.acked.get(eui, 0) >= through
        return True


class FakeEzspLink(FakeZnpLink):
    """An emulated device's link through the fake NCP's air."""

    def __init__(self, air: FakeEzspAir, dev: _Device) -> None:
        super().__init__(air, dev)
        self.ezsp_air = air

    async def join(self, link_key: bytes) -> int:
        try:
            nwk, out = self.ezsp_air.ncp.join(self.dev.descriptor, link_key, self.air.clock.now(),
                                              sleepy=self.dev.sleepy)
        except NcpJoinRefused as e:
            self.air.stats.joins_refused += 1
            raise JoinRefused(self.dev.eui, e.reason) from None
        self.air.stats.joins += 1
        self.ezsp_air._apply(out)
        return nwk

    async def _send_blocks(self, packet: HanPacket, blocks: list[HanPacket], config: ApsfConfig) -> None:
        # The device's APS layer: a window of blocks frame-delay apart, then the ack the host causes.
        air = self.ezsp_air
        air.acked[packet.src] = 0
        for start in range(0, len(blocks), config.window):
            window = blocks[start:start + config.window]
            for _ in range(MAX_RETRIES + 1):
                for k, block in enumerate(window):
                    if k:
                        await asyncio.sleep(config.frame_delay_ms / 1000)
                    air.stats.fragments_up += 1
                    self._transmit(block)
                if await air.wait_acked(packet.src, start + len(window), ACK_WAIT_S):
                    break
            else:
                air.stats.dropped += 1
                air.stats.notes.append(f"{packet.src.hex().upper()}: no APS ack for blocks from {start} after "
                                       f"{MAX_RETRIES} retries: the {len(packet.payload)}-byte frame is lost")
                return

    async def leave(self) -> None:
        self.ezsp_air._apply(self.ezsp_air.ncp.leave(self.dev.eui, self.air.clock.now()))


def fake_ezsp_han(clock: Clock, *, seed: int = 0, pty: bool = False,
                  tap: Tap | None = None) -> Callable[[int, bytes], Awaitable[FakeEzspAir]]:
    """A HAN factory for ``build_world``: each premises gets its own fake NCP (its EUI-64 the
    CHF's), served on loopback TCP or a pty, and the CHF drives it through bellows."""

    async def make(index: int, chf: bytes) -> FakeEzspAir:
        air = FakeEzspAir(FakeNcp(chf, seed=seed * 1000 + index), clock, tap=tap)
        await (air.serve_pty() if pty else air.serve_tcp())
        return air

    return make


__all__ = ["FakeEzspAir", "FakeEzspLink", "HanDeviceLink", "fake_ezsp_han"]
