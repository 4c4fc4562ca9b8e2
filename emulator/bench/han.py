"""Virtual-HAN benchmark: OTA blocks per second and device commands per second (wall clock),
the whole emulator on one core in virtual time (in-memory WAN, no broker)."""

from __future__ import annotations

import asyncio
import time

from emulator.clock import VirtualClock
from emulator.clock import run as run_loop
from emulator.devices.events import FirmwareBlockReceived
from emulator.devices.profile import PremisesProfile
from emulator.scenarios.steps import commission, install, send_ok
from emulator.scenarios.world import SUPPLIER, HanFactory, build_world
from emulator.transport.virtual_han import Impairments
from emulator.zigbee import ota_file
from emulator.zigbee.jsonvalue import JsonObject


async def ota_transfer(size: int, loss: float = 0.0, han: HanFactory | None = None) -> dict[str, float]:
    """One image to a commissioned ESME: blocks per second of wall time."""
    w = await build_world(VirtualClock(), [PremisesProfile(gas=None)], impairments=Impairments(loss=loss), han=han)
    p = w.premises[0]
    sup = w.users[SUPPLIER]
    await install(w, p, sup)
    await commission(w, p, sup)
    img = ota_file.sample_image(w.manufacturer, manufacturer_code=0x1234, image_type=1, file_version=0x05000000,
                                size=size)
    t0, v0 = time.perf_counter(), w.clock.now()
    await send_ok(sup, "11.1", "", {"image": img.hex(), "targets": [p.esme.hex().upper()]})
    assert p.esme_runner is not None
    while p.esme_runner.machine.firmware.held is None:
        await asyncio.sleep(1)
    wall, virt = time.perf_counter() - t0, w.clock.now() - v0
    blocks = sum(1 for e in w.events if isinstance(e, FirmwareBlockReceived))
    await w.stop()
    return {"blocks": blocks, "blocks_per_s_wall": blocks / wall, "virtual_s": virt, "wall_s": wall}


async def device_commands(n: int, han: HanFactory | None = None) -> dict[str, float]:
    """``n`` SRV 11.2 reads of a commissioned ESME, 32 outstanding: commands per second of wall time."""
    w = await build_world(VirtualClock(), [PremisesProfile(gas=None)], han=han)
    p = w.premises[0]
    sup = w.users[SUPPLIER]
    await install(w, p, sup)
    await commission(w, p, sup)
    t0 = time.perf_counter()
    sem = asyncio.Semaphore(32)

    async def one() -> None:
        async with sem:
            await send_ok(sup, "11.2", p.esme)

    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - t0
    await w.stop()
    return {"commands": n, "commands_per_s_wall": n / wall}


def run(seconds: float = 1.0) -> JsonObject:
    size = 256 * 1024 if seconds >= 1 else 64 * 1024
    clean = run_loop(ota_transfer(size, 0.0))
    lossy = run_loop(ota_transfer(size, 0.05))
    cmds = run_loop(device_commands(max(200, int(2000 * seconds))))
    return {
        "image_bytes": size,
        "ota_blocks_per_s": round(clean["blocks_per_s_wall"], 1),
        "ota_virtual_s": round(clean["virtual_s"], 1),
        "ota_blocks_per_s_5pct_loss": round(lossy["blocks_per_s_wall"], 1),
        "ota_virtual_s_5pct_loss": round(lossy["virtual_s"], 1),
        "device_commands_per_s": round(cmds["commands_per_s_wall"], 1),
    }
