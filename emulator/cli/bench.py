"""``smets2-emu bench [codec|han|wan|wan2|radio|all]``: measured figures, printed and written under bench/."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from emulator.zigbee.jsonvalue import JsonObject

_SUITES = ("codec", "han", "wan", "wan2", "radio", "duis", "fleet")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="benchmarks; figures are printed and written to bench/<name>.json")
    p.add_argument("suite", nargs="?", default="all", choices=(*_SUITES, "all"))
    p.add_argument("--seconds", type=float, default=1.0, help="measuring time per figure")
    p.add_argument("--out", type=Path, default=Path("bench"), help="folder for the JSON figures")
    p.add_argument("--premises", type=int, default=20_000, help="fleet: how many premises (default 20,000)")
    p.add_argument("--workers", type=int, default=2, help="fleet: hubs worker processes (default 2)")
    p.set_defaults(func=_bench)


def _pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu{cpu}"
    except (AttributeError, OSError):
        return "unpinned"


def _run_suite(name: str, seconds: float, premises: int, workers: int) -> JsonObject:
    if name == "codec":
        from emulator.bench import codec

        return codec.run(seconds)
    if name == "fleet":
        from emulator.bench import fleet

        return fleet.run(seconds, premises=premises, workers=workers)
    import importlib

    try:
        module = importlib.import_module(f"emulator.bench.{name}")
    except ModuleNotFoundError:
        return {"skipped": f"benchmark {name!r} is not built yet"}
    result: JsonObject = module.run(seconds)
    return result


def _bench(args: argparse.Namespace) -> int:
    suites = _SUITES if args.suite == "all" else (args.suite,)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in suites:
        # The codec is measured on one core; the affinity is put back after it, since the suites
        # after it (and the processes they start, which inherit it) must have every core: left
        # pinned, `bench all` ran the fleet's workers, DSP and broker on one core.
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        core = _pin_one_core() if name == "codec" else "all"
        try:
            figures = _run_suite(name, args.seconds, args.premises, args.workers)
        finally:
            if cores is not None:
                os.sched_setaffinity(0, cores)
        record = {"suite": name, "python": platform.python_version(), "machine": platform.machine(),
                  "cpus": os.cpu_count(), "core": core, "figures": figures}
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(record, indent=2) + "\n")
        print(f"== {name} ({core}) -> {path}")
        for key, value in figures.items():
            shown = f"{value:>14,.1f}" if isinstance(value, float | int) else str(value)
            print(f"  {key:45s} {shown}")
    sys.stdout.flush()
    return 0
