"""``smets2-emu dsp serve``: the DSP stub with its SSI page and HTTP API, on a demo premises."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("dsp", help="the DSP's SSI page and HTTP API over a demo premises")
    dsub = p.add_subparsers(dest="dsp_command", metavar="ACTION")
    dsub.required = True
    s = dsub.add_parser("serve", help="serve the SSI page and API over a commissioned demo premises")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--db", type=Path, help="keep the DSP's state in this SQLite file")
    s.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until interrupted)")
    s.set_defaults(func=_serve)


async def serve_demo(port: int, db: Path | None, ready: asyncio.Event | None = None, seconds: float = 0,
                     bound_port: list[int] | None = None) -> None:
    from emulator.clock import RealClock, hold
    from emulator.devices.profile import PremisesProfile
    from emulator.dsp.repository import MemoryRepository, Repository
    from emulator.scenarios.steps import commission, install
    from emulator.scenarios.world import SUPPLIER, build_world
    from emulator.transport.http_api import HttpApi

    repo: Repository
    if db is not None:
        from emulator.dsp.store import SqliteRepository

        repo = SqliteRepository(db)
    else:
        repo = MemoryRepository()
    world = await build_world(RealClock(), [PremisesProfile()], repo=repo)
    p = world.premises[0]
    await install(world, p, world.users[SUPPLIER])
    await commission(world, p, world.users[SUPPLIER])
    api = HttpApi(world.dsp, port=port)
    bound = await api.start()
    print(f"SSI on http://127.0.0.1:{bound}/", flush=True)
    if bound_port is not None:
        bound_port.append(bound)
    if ready is not None:
        ready.set()
    try:
        await hold(seconds)
    finally:
        await api.stop()
        await world.stop()


def _serve(args: argparse.Namespace) -> int:
    try:
        asyncio.run(serve_demo(args.port, args.db, seconds=args.seconds))
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        print(f"smets2-emu dsp serve: {e}", file=sys.stderr)
        return 1
    return 0
