"""``smets2-emu dsp serve``: the DSP stub with DCC Boxed's DUIS endpoints, its SSI page and HTTP
API, on a demo premises. Its state is kept on disk by default (:mod:`emulator.cli.state`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.cli import state

if TYPE_CHECKING:
    from emulator.devices.profile import PremisesProfile


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dsp", help="the DSP stub's DUIS endpoints, SSI page and HTTP API over a demo premises")
    dsub = p.add_subparsers(dest="dsp_command", metavar="ACTION")
    dsub.required = True
    s = dsub.add_parser("serve", help="serve DUIS, the SSI page and API over a commissioned demo premises")
    s.add_argument("--host", default="127.0.0.1", help="address of the SSI page, API and DUIS (0.0.0.0: all)")
    s.add_argument("--port", type=int, default=8080, help="port of the SSI page, API and DUIS (0: any free port)")
    state.add_arguments(s)
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
                     bound_port: list[int] | None = None, *, host: str = "127.0.0.1",
                     endpoints: Mapping[str, str] | None = None, duis_dir: Path | None = None,
                     duis_keys: Path | None = None, token: str | None = None,
                     profile: PremisesProfile | None = None) -> None:
    """The SSI demo: one premises (``profile``, default the standard one) installed and commissioned."""
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
    world = await build_world(RealClock(), [profile or PremisesProfile()], repo=repo)
    duis: DuisFrontEnd | None = None
    no_duis = ""
    try:
        duis = await start_front_end(world.dsp, duis_dir or default_dir(), endpoints or {},
                                     db if db is not None else ":memory:", duis_keys)
    except DuisFilesError as e:
        no_duis = f"DUIS endpoints disabled: {e}"
    api = HttpApi(world.dsp, host=host, port=port, duis=duis, token=token)
    try:
        # The port first: a taken port is said at once (in one line), before any premises work.
        bound = await api.start()
        if no_duis:
            print(no_duis, file=sys.stderr, flush=True)
        p = world.premises[0]
        # With kept state the DSP may know these meters already; the demo devices start afresh.
        await install(world, p, world.users[SUPPLIER], again=db is not None)
        await commission(world, p, world.users[SUPPLIER])
        print(f"SSI on http://{host}:{bound}/", flush=True)
        print(f"SSI token {api.token} (changing calls; the page: http://{host}:{bound}/#token={api.token})",
              flush=True)
        if duis is not None:
            print(f"DUIS on http://{host}:{bound}/api/v1/serviceS|serviceT|serviceD", flush=True)
        print(f"smets2-emu dsp serve: {state.where(db)}", file=sys.stderr, flush=True)
        if bound_port is not None:
            bound_port.append(bound)
        if ready is not None:
            ready.set()
        await hold(seconds)
    finally:
        await api.stop()
        if duis is not None:
            await duis.stop()
        await world.stop()
        close = getattr(repo, "close", None)
        if close is not None:
            close()


def _serve(args: argparse.Namespace) -> int:
    """Errors a user can act on (a taken port, a data folder that cannot be made, a bad --user)
    reach ``emulator.cli.main``: one line, exit status 2."""
    db = state.dsp_db(args)
    endpoints = parse_users(args.user)
    try:
        asyncio.run(serve_demo(args.port, db, seconds=args.seconds, host=args.host, endpoints=endpoints,
                               duis_dir=args.duis_dir, duis_keys=args.duis_keys, token=args.token))
    except KeyboardInterrupt:
        return 0
    return 0
