"""``smets2-emu dsp serve``: the DSP stub with its SSI page and HTTP API, on a demo premises."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from emulator.cli import state


def register(sub: Any) -> None:
    p = sub.add_parser("dsp", help="the DSP's SSI page and HTTP API over a demo premises")
    dsub = p.add_subparsers(dest="dsp_command", metavar="ACTION")
    dsub.required = True
    s = dsub.add_parser("serve", help="serve the SSI page and API over a commissioned demo premises")
    s.add_argument("--host", default="127.0.0.1", help="address of the SSI page and API (0.0.0.0: all)")
    s.add_argument("--port", type=int, default=8080, help="port of the SSI page and API (0: any free port)")
    state.add_arguments(s)
    s.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until interrupted)")
    s.set_defaults(func=_serve)


async def serve_demo(port: int, db: Path | None, ready: asyncio.Event | None = None, seconds: float = 0,
                     bound_port: list[int] | None = None, host: str = "127.0.0.1") -> None:
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
    api = HttpApi(world.dsp, host=host, port=port)
    try:
        # The port first: a taken port is said at once, before any premises work.
        bound = await api.start()
        p = world.premises[0]
        # With kept state the DSP may know these meters already; the demo devices start afresh.
        await install(world, p, world.users[SUPPLIER], again=db is not None)
        await commission(world, p, world.users[SUPPLIER])
        print(f"SSI on http://{host}:{bound}/", flush=True)
        print(f"smets2-emu dsp serve: {state.where(db)}", file=sys.stderr, flush=True)
        if bound_port is not None:
            bound_port.append(bound)
        if ready is not None:
            ready.set()
        await hold(seconds)
    finally:
        await api.stop()
        await world.stop()
        close = getattr(repo, "close", None)
        if close is not None:
            close()


def _serve(args: argparse.Namespace) -> int:
    """Errors a user can act on (a taken port, a data folder that cannot be made) reach
    ``emulator.cli.main``: one line, exit status 2."""
    db = state.dsp_db(args)
    try:
        asyncio.run(serve_demo(args.port, db, seconds=args.seconds, host=args.host))
    except KeyboardInterrupt:
        return 0
    return 0
