"""``smets2-emu dsp serve``: the DSP stub with DCC Boxed's DUIS endpoints, its SSI page and HTTP
API, on a demo premises."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("dsp", help="the DSP stub's DUIS endpoints, SSI page and HTTP API")
    dsub = p.add_subparsers(dest="dsp_command", metavar="ACTION")
    dsub.required = True
    s = dsub.add_parser("serve", help="serve DUIS, the SSI page and API over a commissioned demo premises")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--db", type=Path, help="keep the DSP's state and the DUIS outbox in this SQLite file")
    s.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until interrupted)")
    s.add_argument("--user", action="append", default=[], metavar="EUI=URL",
                   help="deliver this user's DUIS responses and alerts to URL (repeatable)")
    s.add_argument("--duis-dir", type=Path, help="the DUIS schema (xsd/) and XML-signing keys (keys/); "
                                                 "default $SMETS2_DUIS_DIR or ../shared/duis")
    s.add_argument("--duis-keys", type=Path, help="XML-signing keys and certificates (e.g. a `pki init` directory)")
    s.add_argument("--token", help="the SSI token for changing JSON calls (default: a random one, printed)")
    s.set_defaults(func=_serve)


def parse_users(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        eui, sep, url = item.partition("=")
        eui = eui.replace("-", "").strip().upper()
        if not sep or len(eui) != 16 or not url.startswith(("http://", "https://")):
            raise ValueError(f"--user {item!r}: expected EUI=URL, e.g. 90B3D51F30010000=http://127.0.0.1:9000/duis")
        out[eui] = url
    return out


async def serve_demo(port: int, db: Path | None, ready: asyncio.Event | None = None, seconds: float = 0,
                     bound_port: list[int] | None = None, *, endpoints: Mapping[str, str] | None = None,
                     duis_dir: Path | None = None, duis_keys: Path | None = None, token: str | None = None) -> None:
    from emulator.clock import RealClock, hold
    from emulator.devices.profile import PremisesProfile
    from emulator.dsp.repository import MemoryRepository, Repository
    from emulator.scenarios.steps import commission, install
    from emulator.scenarios.world import SUPPLIER, build_world
    from emulator.transport.duis_files import DuisFilesError, default_dir
    from emulator.transport.duis_service import DuisFrontEnd, start_front_end
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
    duis: DuisFrontEnd | None = None
    try:
        duis = await start_front_end(world.dsp, duis_dir or default_dir(), endpoints or {},
                                     db if db is not None else ":memory:", duis_keys)
    except DuisFilesError as e:
        print(f"DUIS endpoints disabled: {e}", file=sys.stderr, flush=True)
    api = HttpApi(world.dsp, port=port, duis=duis, token=token)
    bound = await api.start()
    print(f"SSI on http://127.0.0.1:{bound}/", flush=True)
    print(f"SSI token {api.token} (changing calls; the page: http://127.0.0.1:{bound}/#token={api.token})",
          flush=True)
    if duis is not None:
        print(f"DUIS on http://127.0.0.1:{bound}/api/v1/serviceS|serviceT|serviceD", flush=True)
    if bound_port is not None:
        bound_port.append(bound)
    if ready is not None:
        ready.set()
    try:
        await hold(seconds)
    finally:
        await api.stop()
        if duis is not None:
            await duis.stop()
        await world.stop()


def _serve(args: argparse.Namespace) -> int:
    try:
        endpoints = parse_users(args.user)
        asyncio.run(serve_demo(args.port, args.db, seconds=args.seconds, endpoints=endpoints,
                               duis_dir=args.duis_dir, duis_keys=args.duis_keys, token=args.token))
    except KeyboardInterrupt:
        return 0
    except (OSError, ValueError) as e:
        print(f"smets2-emu dsp serve: {e}", file=sys.stderr)
        return 1
    return 0
