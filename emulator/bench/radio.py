"""Second-tier benchmark: the CHF on the real zigpy-znp driving the fake Z-Stack stick (loopback TCP),
against the same work on the virtual bus. Wall-clock figures, virtual time, in-memory WAN."""

from __future__ import annotations

import time
from typing import Any

from emulator.bench.han import device_commands, ota_transfer
from emulator.clock import VirtualClock
from emulator.clock import run as run_loop
from emulator.hardware import RadioProfile
from emulator.scenarios.world import HanFactory
from emulator.transport.fake_znp import FakeZnpAir, fake_znp_han
from emulator.transport.han import NullListener
from emulator.transport.zigpy_han import ZigpyRadio
from emulator.znp import commands as mt
from emulator.znp.fake import FakeZnp


async def _startup() -> dict[str, float]:
    air = FakeZnpAir(FakeZnp(bytes.fromhex("00124B0000000001")), VirtualClock())
    url = await air.serve_tcp()
    out: dict[str, float] = {}
    for label in ("form", "resume"):
        radio = ZigpyRadio(RadioProfile("bench", "znp", url))
        before = sum(air.fake.handled.values())
        t0 = time.perf_counter()
        await radio.start(NullListener())
        out[f"startup_{label}_s"] = time.perf_counter() - t0
        out[f"startup_{label}_mt_requests"] = sum(air.fake.handled.values()) - before
        await radio.stop()
    await air.stop()
    return out


async def _work(han: HanFactory | None, size: int, commands: int) -> dict[str, float]:
    cmds = await device_commands(commands, han)
    ota = await ota_transfer(size, han=han)
    return {"commands_per_s": cmds["commands_per_s_wall"], "ota_blocks_per_s": ota["blocks_per_s_wall"],
            "ota_blocks": ota["blocks"]}


def _fake_alone(seconds: float) -> float:
    """MT requests per second through the sans-IO fake alone (SYS.OSALNVReadExt of the NIB-sized item)."""
    fake = FakeZnp(bytes.fromhex("00124B0000000002"))
    wire = mt.request("SYS.NVRead", SysId=1, ItemId=1, SubId=3, Offset=0, Length=11).encode()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            fake.receive(wire, 0.0)
        n += 200
    return n / (time.perf_counter() - t0)


def run(seconds: float = 1.0) -> dict[str, Any]:
    size = 64 * 1024 if seconds >= 1 else 16 * 1024
    commands = 400 if seconds >= 1 else 100
    figures: dict[str, Any] = {"image_bytes": size, "commands": commands}
    figures.update(run_loop(_startup()))
    virtual = run_loop(_work(None, size, commands))
    clock = VirtualClock()
    radio = run_loop(_work(fake_znp_han(clock), size, commands))
    for key, value in virtual.items():
        figures[f"virtual_bus_{key}"] = value
    for key, value in radio.items():
        figures[f"zigpy_znp_{key}"] = value
    figures["zigpy_znp_vs_virtual_commands"] = radio["commands_per_s"] / virtual["commands_per_s"]
    figures["fake_mt_requests_per_s"] = _fake_alone(seconds)
    return figures
