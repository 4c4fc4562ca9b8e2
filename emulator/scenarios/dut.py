"""An emulated device under test on the fake ZNP stick's air: what CI runs the conformance check
against (a real device under test needs a dongle and nothing from here).

The stick is served on loopback TCP; the hub's zigpy-znp drives it as it would a real dongle,
and the emulated ESME (with any declared :class:`~emulator.devices.faults.Faults`) tries to join
every few seconds with its install code, as a real meter does once installed.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from emulator.clock import Clock
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.faults import Faults, FaultyEsme
from emulator.devices.gsme import Gsme
from emulator.devices.meter import Meter
from emulator.devices.profile import MeterProfile
from emulator.hardware import RadioProfile
from emulator.pki.generate import device_eui
from emulator.scenarios.bench_hub import BenchDevice
from emulator.scenarios.world import key_stores, view
from emulator.transport.device_runner import MeterRunner
from emulator.transport.fake_znp import FakeZnpAir
from emulator.znp.fake import FakeZnp

JOIN_RETRY_S = 3.0
STICK_IEEE = bytes.fromhex("00124B00C0FFEE01")


@dataclass(slots=True)
class EmulatedDut:
    """A fake stick with one emulated meter on its air, trying to join until it is in."""

    air: FakeZnpAir
    runner: MeterRunner
    device: BenchDevice
    faults: Faults
    join_attempts: int = 0
    refusals: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def profile(self) -> RadioProfile:
        return RadioProfile("fake ZNP (emulated device under test)", "znp", self.air.url,
                            source=f"fake ZNP at {self.air.url}")

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._join_loop())

    async def _join_loop(self) -> None:
        key = self.faults.link_key(self.device.install_code)
        while True:
            self.join_attempts += 1
            reason = await self.runner.try_join(key)
            if reason is None:
                return
            self.refusals.append(reason)
            await asyncio.sleep(JOIN_RETRY_S)  # the meter's own retry interval, not a wait for a condition

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.runner.stop()
        await self.air.stop()


async def emulated_dut(clock: Clock, device: BenchDevice, faults: Faults, *, seed: int = 1) -> EmulatedDut:
    """Serve a fake stick with ``device`` (an ESME, or a sleepy GSME) emulated on its air, holding the test PKI's keys
    for its EUI (what ``pki init`` would load into a real one)."""
    keys, maker = key_stores(seed, 1)
    endpoint = GbcsEndpoint(device.eui, view(keys, [device.eui]), TrustAnchors())
    meter: Meter
    if device.kind == "ESME":
        meter = FaultyEsme(device.eui, endpoint, device_eui(0, "CHF"), MeterProfile(), clock.now(),
                           maker.public_key()).with_faults(faults)
    elif faults != Faults():
        raise ValueError(f"the declared faults are an ESME's; the emulated {device.kind} has none")
    else:
        meter = Gsme(device.eui, endpoint, device_eui(0, "CHF"), MeterProfile(image_type=2), clock.now(),
                     maker.public_key())
    air = FakeZnpAir(FakeZnp(STICK_IEEE), clock)
    await air.serve_tcp()
    sleepy = device.kind == "GSME"
    runner = MeterRunner(meter, lambda r: air.attach(device.eui, r, sleepy=sleepy), clock)
    return EmulatedDut(air, runner, device, faults)
