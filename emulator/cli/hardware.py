"""``smets2-emu hardware list|check PROFILE``: dongle profiles, and a first look at the radio."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from emulator.cli import describe_error
from emulator.hardware import ProfileError, RadioError, check_port, load, radio_class

SHIPPED = Path(__file__).resolve().parents[2] / "hardware"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("hardware", help="list and check dongle profiles, serve the hub on a radio")
    hsub = p.add_subparsers(dest="hardware_command", metavar="ACTION")
    hsub.required = True
    ls = hsub.add_parser("list", help="list the shipped profiles")
    ls.set_defaults(func=_list)
    c = hsub.add_parser("check", help="validate a profile, open its radio, report firmware/channel/network")
    c.add_argument("profile", type=Path)
    c.add_argument("--timeout", type=float, default=30.0)
    c.set_defaults(func=_check)
    b = hsub.add_parser("serve", help="run the emulated hub on this radio, with the DSP and its SSI page; "
                                      "real devices join with their install codes")
    b.add_argument("profile", type=Path)
    b.add_argument("--device", action="append", default=[], metavar="KIND:INSTALLCODE[:EUI64]",
                   help="a device under test (ESME or GSME); the EUI-64 defaults to the test PKI's for that kind")
    b.add_argument("--port", type=int, default=8080, help="the SSI page and HTTP API")
    b.add_argument("--db", type=Path, help="keep the DSP's state in this SQLite file")
    b.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until interrupted)")
    b.set_defaults(func=_serve_bench)
    f = hsub.add_parser("fake-znp", help="serve the project's fake Z-Stack stick (try a profile without hardware)")
    where = f.add_mutually_exclusive_group()
    where.add_argument("--port", type=int, default=6638, help="TCP port on 127.0.0.1 (socket://127.0.0.1:PORT)")
    where.add_argument("--pty", action="store_true", help="a pseudo-terminal instead, opened as a serial port")
    f.add_argument("--ieee", default="00124B0001ABCDEF", help="the stick's EUI-64 (16 hex digits)")
    f.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until interrupted)")
    f.set_defaults(func=_fake_znp)
    e = hsub.add_parser("fake-ezsp", help="serve the project's fake EmberZNet NCP (EZSP over ASH, for bellows)")
    where = e.add_mutually_exclusive_group()
    where.add_argument("--port", type=int, default=6639, help="TCP port on 127.0.0.1 (socket://127.0.0.1:PORT)")
    where.add_argument("--pty", action="store_true", help="a pseudo-terminal instead, opened as a serial port")
    e.add_argument("--ieee", default="000D6F0001ABCDEF", help="the NCP's EUI-64 (16 hex digits)")
    e.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until interrupted)")
    e.set_defaults(func=_fake_ezsp)


def _list(args: argparse.Namespace) -> int:
    for path in sorted(SHIPPED.glob("*.yaml")):
        try:
            prof = load(path)
            print(f"{path.name:28s} {prof.radio:8s} {prof.port}  {prof.notes.splitlines()[0] if prof.notes else ''}")
        except ProfileError as e:
            print(f"{path.name:28s} INVALID: {e}")
    return 0


async def _open(profile: Any, timeout: float) -> dict[str, Any]:
    from emulator.transport.han import NullListener
    from emulator.transport.zigpy_han import ZigpyRadio

    radio_class(profile)  # the missing-extra error before any I/O
    radio = ZigpyRadio(profile, start_timeout_s=timeout)
    await radio.start(NullListener())
    try:
        return {**radio.network_info(), "network_formed": True, "install_codes": profile.install_codes}
    finally:
        await radio.stop()


async def _serve_fake(args: argparse.Namespace) -> None:
    from emulator.clock import RealClock, hold
    from emulator.transport.fake_znp import FakeZnpAir

    air: FakeZnpAir
    if args.hardware_command == "fake-ezsp":
        from emulator.ezsp.fake import FakeNcp
        from emulator.transport.fake_ezsp import FakeEzspAir

        air, what, radio = FakeEzspAir(FakeNcp(bytes.fromhex(args.ieee)), RealClock()), "fake EZSP NCP", "ezsp"
    else:
        from emulator.znp.fake import FakeZnp

        air, what, radio = FakeZnpAir(FakeZnp(bytes.fromhex(args.ieee)), RealClock()), "fake ZNP stick", "znp"
    url = await (air.serve_pty() if args.pty else air.serve_tcp(port=args.port))
    print(f"{what} {args.ieee.upper()} at {url}", flush=True)
    print(f"profile:  radio: {radio}\n          port: {url}", flush=True)
    try:
        await hold(args.seconds)
    finally:
        await air.stop()


async def _bench(args: argparse.Namespace, profile: Any, devices: list[Any]) -> None:
    from emulator.clock import RealClock, hold
    from emulator.dsp.repository import MemoryRepository, Repository
    from emulator.scenarios.bench_hub import start_bench
    from emulator.transport.http_api import HttpApi

    repo: Repository = MemoryRepository()
    if args.db is not None:
        from emulator.dsp.store import SqliteRepository

        repo = SqliteRepository(args.db)
    world = await start_bench(RealClock(), profile, devices, repo=repo)
    radio = world.premises[0].chf_runner.radio
    api = HttpApi(world.dsp, port=args.port)
    bound = await api.start()
    print(json.dumps({"ssi": f"http://127.0.0.1:{bound}/", "hub": world.premises[0].chf.hex().upper(),
                      "radio": getattr(radio, "network_info", dict)(),
                      "devices": [{"kind": d.kind, "eui": d.eui.hex().upper(), "permitted": True} for d in devices]},
                     indent=2), flush=True)
    try:
        await hold(args.seconds)
    finally:
        await api.stop()
        await world.stop()


def _serve_bench(args: argparse.Namespace) -> int:
    from emulator.scenarios.bench_hub import BenchDevice

    try:
        profile = load(args.profile)
        check_port(profile)
        if profile.radio == "virtual":
            raise RadioError(f"{profile.source}: serve needs a real radio (or the fake ZNP); the virtual bus "
                             f"is what 'smets2-emu run' uses")
        if not profile.install_codes:
            raise RadioError(f"{profile.source}: the {profile.radio} radio cannot do install-code joins (IC-2)")
        radio_class(profile)
        devices = [BenchDevice.parse(d) for d in args.device]
        asyncio.run(_bench(args, profile, devices))
    except KeyboardInterrupt:
        return 0
    except (ProfileError, RadioError, ValueError, OSError) as e:
        print(f"smets2-emu hardware serve: {describe_error(e)}", file=sys.stderr)
        return 2
    return 0


def _fake_znp(args: argparse.Namespace) -> int:
    """``hardware fake-znp`` and ``hardware fake-ezsp``: the fake radio the command names."""
    name = args.hardware_command
    try:
        if len(bytes.fromhex(args.ieee)) != 8:
            raise ValueError("the EUI-64 is 8 bytes")
    except ValueError as e:
        print(f"smets2-emu hardware {name}: --ieee {args.ieee!r}: expected 16 hex digits ({e})", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve_fake(args))
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        print(f"smets2-emu hardware {name}: {describe_error(e)}", file=sys.stderr)
        return 2
    return 0


_fake_ezsp = _fake_znp


def _check(args: argparse.Namespace) -> int:
    try:
        profile = load(args.profile)
        check_port(profile)
        if profile.radio == "virtual":
            print(json.dumps({"radio": "virtual", "ok": True, "note": "in-process bus, nothing to open"}))
            return 0
        info = asyncio.run(_open(profile, args.timeout))
    except (ProfileError, RadioError) as e:
        print(f"smets2-emu hardware check: {e}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as e:
        print(f"smets2-emu hardware check: cannot talk to the {args.profile} radio: {e}", file=sys.stderr)
        return 2
    print(json.dumps(info, indent=2))
    return 0
