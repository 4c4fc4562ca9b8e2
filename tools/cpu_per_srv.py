"""CPU milliseconds per SRV round trip, device side vs DSP side (issue 13's worker budget).

Builds ``--premises`` premises on the in-memory WAN (``build_world``, as ``bench han`` does), puts
each ESME in its CHF's device log and joins it, registers them Commissioned in the DSP (as ``bench
fleet`` installs its read premises), then sends ``--requests`` SRV 4.1.1 reads, ``--concurrency``
outstanding, round robin over the ESMEs. CPU time (``time.process_time``) is steadier than wall time
on a shared machine. The process's CPU time is split by side: every asyncio callback's time is
charged to the side whose code it runs (the callback's function, or the coroutine a task step
resumes), scaled by the share of the busy wall time the process had the CPU:

* device: emulator/devices, gbcs (when called from a device), zigbee, transport/device_runner.py,
  transport/virtual_han.py (what the fleet's hubs worker spends, less MQTT);
* dsp: emulator/dsp, transport/dsp_service.py, the Service User (scenarios/world.py) and this tool;
* wan: the memory WAN's hand-over (transport/wan.py), the stand-in for MQTT on both sides;
* loop: what no callback accounts for (the event loop itself, the timer heap, selects).

The cyclic collector's time is shown too (``gc_ms_per_srv``); it is inside the sides' figures. As in
the fleet worker, what was built before the reads is frozen out of the collections.

Each measurement runs ``--runs`` times (default 3) in this process; the median of each figure is
printed, with every run's, as one JSON line. Run it from the repository root:

    .venv/bin/python tools/cpu_per_srv.py [--premises 64] [--requests 3000]

Before/after on a busy machine: measure both revisions alternately, in the same minutes (the tool
imports the package of the checkout it sits in):

    git archive main | tar -x -C /tmp/base && cp tools/cpu_per_srv.py /tmp/base/tools/
    for i in 1 2 3 4 5; do
        .venv/bin/python /tmp/base/tools/cpu_per_srv.py --runs 1 --label base
        .venv/bin/python tools/cpu_per_srv.py --runs 1 --label head
    done
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The package of the checkout this tool is in (an A/B run starts a copy of another revision's tools/).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.bench.fleet import install_esmes
from emulator.clock import RealClock
from emulator.devices.profile import PremisesProfile
from emulator.dsp.model import Status
from emulator.scenarios.world import SUPPLIER, World, build_world
from emulator.zigbee.eui64 import Eui64

SRV = "4.1.1"
SIDES = ("device", "dsp", "wan", "loop")
_DEVICE = ("/emulator/devices/", "/emulator/zigbee/", "/transport/device_runner.py", "/transport/virtual_han.py",
           "/transport/han.py")
_DSP = ("/emulator/dsp/", "/transport/dsp_service.py", "/scenarios/world.py", "/tools/cpu_per_srv.py")
_WAN = ("/transport/wan.py",)


def _side_of_file(filename: str) -> str:
    for side, marks in (("device", _DEVICE), ("dsp", _DSP), ("wan", _WAN)):
        if any(m in filename for m in marks):
            return side
    return "loop"


def _ours(code: types.CodeType) -> bool:
    return "/emulator/" in code.co_filename or "/tools/" in code.co_filename


def _code_of(callback: Callable[..., Any]) -> types.CodeType | None:
    """The code a loop callback runs: for a task step, the innermost coroutine of ours in the chain
    it resumes (library frames such as a lock's acquire return into it at once); else the function's
    or bound method's own code."""
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro: Any = owner.get_coro()
        found = getattr(coro, "cr_code", None)
        while coro is not None and hasattr(coro, "cr_code"):
            if _ours(coro.cr_code):
                found = coro.cr_code
            coro = coro.cr_await
        return found
    func = getattr(callback, "__func__", callback)
    return getattr(func, "__code__", None)


class SideMeter:
    """Times each asyncio handle and charges it to a side (patches ``asyncio.events.Handle._run``),
    and times the loop's waits in its selector. The clock is ``perf_counter``: ``process_time`` is a
    system call here (about 1 us, twice a handle, itself a tenth of what it measured)."""

    def __init__(self) -> None:
        self.wall = dict.fromkeys(SIDES, 0.0)
        self.waiting = 0.0
        self._cache: dict[types.CodeType, str] = {}
        self._original = asyncio.events.Handle._run
        self._selector: Any = None
        self._select: Any = None

    def __enter__(self) -> SideMeter:
        meter, original, clock = self, self._original, time.perf_counter

        def run(handle: asyncio.Handle) -> None:
            code = _code_of(handle._callback)  # type: ignore[attr-defined]
            side = meter._cache.get(code) if code is not None else "loop"
            if side is None:
                assert code is not None
                side = meter._cache[code] = _side_of_file(code.co_filename)
            t = clock()
            original(handle)
            meter.wall[side] += clock() - t

        asyncio.events.Handle._run = run  # type: ignore[method-assign,assignment]
        self._selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
        select = self._select = self._selector.select

        def timed_select(timeout: float | None = None) -> Any:
            t = clock()
            try:
                return select(timeout)
            finally:
                meter.waiting += clock() - t

        self._selector.select = timed_select
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        self._selector.select = self._select

    def cpu(self, cpu: float, wall: float) -> dict[str, float]:
        """The process's ``cpu`` seconds over ``wall`` seconds split by side: each side's handle time
        scaled by the share of the busy (not waiting) wall time the process had the CPU; the rest,
        the loop's own work, is ``loop``."""
        busy = max(wall - self.waiting, 1e-9)
        share = min(1.0, cpu / busy)
        out = {side: self.wall[side] * share for side in SIDES}
        out["loop"] += max(0.0, cpu - sum(out.values()))
        return out


async def _commissioned(premises: int) -> World:
    world = await build_world(RealClock(), [PremisesProfile(gas=None)] * premises, register=True)
    core = world.dsp.core
    await install_esmes(world, premises)
    for p in world.premises:
        for eui in (p.chf, p.esme):
            device = core.repo.device(Eui64(eui))
            assert device is not None
            core.repo.put_device(dataclasses.replace(device, status=Status.COMMISSIONED))
    return world


async def measure(premises: int, requests: int, concurrency: int) -> dict[str, float]:
    world = await _commissioned(premises)
    user = world.users[SUPPLIER]
    targets = [p.esme.hex().upper() for p in world.premises]
    failures = 0
    sem = asyncio.Semaphore(concurrency)

    async def one(target: str) -> None:
        nonlocal failures
        async with sem:
            _, final = await user.send(SRV, target)
            failures += final is None or final.code != "I0"

    await asyncio.gather(*(one(t) for t in targets))  # warm-up: each meter once (keys derived, caches filled)
    gc.collect()
    gc.freeze()  # as the fleet worker does after building its premises (scenarios/fleet.py)
    gc_cpu = 0.0
    started = 0.0

    def collecting(phase: str, info: dict[str, int]) -> None:
        nonlocal gc_cpu, started
        if phase == "start":
            started = time.process_time()
        else:
            gc_cpu += time.process_time() - started

    gc.callbacks.append(collecting)
    try:
        with SideMeter() as meter:
            t0, w0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(one(targets[i % len(targets)]) for i in range(requests)))
            cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    finally:
        gc.callbacks.remove(collecting)
        gc.unfreeze()
    await world.stop()
    if failures:
        raise RuntimeError(f"{failures} of {requests + len(targets)} SRV {SRV} reads did not end I0")
    out = {"cpu_ms_per_srv": cpu * 1000 / requests, "wall_srv_per_s": requests / wall}
    split = meter.cpu(cpu, wall)
    out.update({f"{side}_ms_per_srv": split[side] * 1000 / requests for side in SIDES})
    out["gc_ms_per_srv"] = gc_cpu * 1000 / requests  # inside the sides' figures: whoever allocated paid
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--premises", type=int, default=64)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="", help="a name for this measurement in the JSON line")
    args = parser.parse_args(argv)
    runs = [asyncio.run(measure(args.premises, args.requests, args.concurrency)) for _ in range(args.runs)]
    median = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    print(json.dumps({"label": args.label, "premises": args.premises, "requests": args.requests,
                      "concurrency": args.concurrency, "median": median,
                      "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
