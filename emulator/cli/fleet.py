"""``smets2-emu fleet hubs|dsp``: the hubs of a premises range, or the DSP, in their own process,
meeting only at the MQTT broker (see ``emulator/scenarios/fleet.py`` and ``docker/compose.yaml``).

``--first auto`` (replicas that cannot be told apart by their arguments) takes the first premises
index from, in this order:

1. ``WORKER_INDEX`` (0, 1, 2 ...) in the environment: ``first = WORKER_INDEX * count``;
2. a replica number R (1, 2, 3 ...) ending the host name as ``-R`` or ``_R``;
3. a replica number R ending the first label of this host's name in the DNS, looked up by address
   (PTR) at the resolver of ``/etc/resolv.conf``: Docker's resolver answers with the container
   name, which compose makes ``<project>-worker-R`` (``_R`` for compose v1);

   and then ``first = (R - 1) * count``. Nothing found: exit 2 saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from emulator.cli import describe_error, fleet_run, state

_REPLICA = re.compile(r"[-_](\d+)$")
WORKER_INDEX_ENV = "WORKER_INDEX"


def register(sub: Any) -> None:
    p = sub.add_parser("fleet", help="many premises: hubs and the DSP in separate processes over MQTT")
    fsub = p.add_subparsers(dest="fleet_command", metavar="ROLE")
    fsub.required = True
    h = fsub.add_parser("hubs", help="run the hubs (CHF, ESME, GSME) of premises FIRST .. FIRST+COUNT-1",
                        description="Each hub connects as the broker URL's user, or, with SMETS2_HUB_SECRET "
                                    "(hex) in the environment, as its own EUI with the embedded broker's password.")
    h.add_argument("--broker", required=True, help="mqtt://user:pass@host:port")
    h.add_argument("--first", required=True, type=_first, help="first premises index, or 'auto' (replica number)")
    h.add_argument("--count", required=True, type=_positive, help="how many premises")
    h.add_argument("--seed", type=int, default=1, help="the DSP's seed: keys and install codes")
    h.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until SIGTERM/SIGINT)")
    h.add_argument("--gsme-wake", type=float, default=None, help="GSME wake period in s (default: the profile's)")
    h.add_argument("--wait", type=float, default=15.0, help="how long to wait for the broker at start")
    h.add_argument("--state", type=Path, metavar="DIR",
                   help="keep each device's state (counters, device log, firmware and download progress, "
                        "credentials) in DIR, one file per device, and resume from it (default: keep none)")
    h.add_argument("--connections", type=_connections, default=None, metavar="N|per-hub",
                   help="MQTT connections the hubs share (default: one per hub up to 2,000 hubs, "
                        "else one per 5,000; see docs/fleet.md)")
    h.add_argument("--hubs-file", type=Path, metavar="FILE",
                   help="write every hub EUI of the range here, one a line (the events list the first 16)")
    h.add_argument("--control", choices=["stdin"], default=None,
                   help="raise the device alerts asked for on standard input, one JSON line each "
                        "(fleet run's alerts; emulator/scenarios/alert_control.py)")
    h.set_defaults(func=_hubs)
    d = fsub.add_parser("dsp", help="run the DSP over the broker for premises 0 .. PREMISES-1, with the SSI API")
    d.add_argument("--broker", required=True, help="mqtt://user:pass@host:port (the DSP's user)")
    d.add_argument("--premises", required=True, type=_positive, help="total premises of all workers")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--host", default="127.0.0.1", help="address of the SSI/API (0.0.0.0 in a container)")
    d.add_argument("--port", type=int, default=8080, help="port of the SSI/API (0: any free port)")
    state.add_arguments(d)
    d.add_argument("--drive", action="store_true", help="commission every premises, then read at --rate")
    d.add_argument("--srv", default="4.1.1", help="the read SRV sent to each ESME in turn")
    d.add_argument("--rate", type=_positive_float, default=20.0, help="reads per second")
    d.add_argument("--seconds", type=float, default=0, help="read (or serve) this long (0: until SIGTERM/SIGINT)")
    d.add_argument("--commission-timeout", type=_positive_float, default=120.0,
                   help="give up commissioning a premises after this long (hubs may start late)")
    d.add_argument("--wait", type=float, default=15.0, help="how long to wait for the broker at start")
    d.add_argument("--restricted-policy", type=Path, metavar="FILE",
                   help="the alerts a Restricted device still delivers (RM-5): a CSV like "
                        "emulator/data/restricted_alerts.csv")
    d.set_defaults(func=_dsp)
    fleet_run.register(fsub)


def _first(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a premises index nor 'auto'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _number(kind: type[int] | type[float], least: float, strict: bool) -> Any:
    """An argparse type: a whole number (or any number) of at least (or more than) ``least``."""
    what = "a whole number" if kind is int else "a number"
    bound = f"more than {least:g}" if strict else f"at least {least:g}"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < least or (strict and value == least):
            raise argparse.ArgumentTypeError(f"{value} is not {bound}")
        return value

    return parse


def _connections(text: str) -> int:
    """``per-hub`` (0: one connection per hub) or a number of shared connections."""
    if text == "per-hub":
        return 0
    value: int = _positive(text)
    return value


_positive = _number(int, 1, strict=False)
_positive_float = _number(float, 0, strict=True)


# --- --first auto ------------------------------------------------------------------------------


def replica_number(name: str) -> int | None:
    """R of ``...-R`` / ``..._R`` at the end of the first label of ``name``."""
    m = _REPLICA.search(name.split(".")[0])
    return int(m.group(1)) if m else None


def replica_first(count: int, env: Mapping[str, str] | None = None, hostname: str | None = None,
                  dns_name: Callable[[], str | None] | None = None) -> tuple[int, str]:
    """(first premises index, how it was found) by the rule in the module docstring; ValueError if none."""
    env = os.environ if env is None else env
    if env.get(WORKER_INDEX_ENV, "") != "":
        raw = env[WORKER_INDEX_ENV]
        if not raw.isdigit():
            raise ValueError(f"{WORKER_INDEX_ENV}={raw!r} is not 0, 1, 2 ...")
        return int(raw) * count, f"{WORKER_INDEX_ENV}={raw}"
    host = hostname if hostname is not None else socket.gethostname()
    lookups: list[tuple[str, Callable[[], str | None]]] = [("host name", lambda: host),
                                                           ("DNS name", dns_name or own_dns_name)]
    for what, lookup in lookups:
        name = lookup()
        r = replica_number(name) if name else None
        if r is not None:
            if r < 1:
                raise ValueError(f"{what} {name!r}: replica numbers start at 1; set {WORKER_INDEX_ENV} instead")
            return (r - 1) * count, f"replica {r} from the {what} {name}"
    raise ValueError(f"--first auto: no {WORKER_INDEX_ENV}, and neither the host name {host!r} nor its DNS name "
                     f"ends in -<replica number>; set {WORKER_INDEX_ENV} or give --first")


def own_dns_name() -> str | None:
    """This host's name in the DNS by its address (PTR), at the first resolver of /etc/resolv.conf."""
    try:
        address = socket.gethostbyname(socket.gethostname())
        text = Path("/etc/resolv.conf").read_text()
    except OSError:
        return None
    servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver") and len(line.split()) > 1]
    return ptr_lookup(address, servers[0]) if servers else None


def ptr_lookup(address: str, server: str, port: int = 53, timeout: float = 2.0) -> str | None:
    """The PTR name of an IPv4 ``address`` from the DNS server at ``server``, None if it has none."""
    qname = ".".join(reversed(address.split("."))) + ".in-addr.arpa"
    ident = os.urandom(2)
    query = ident + bytes.fromhex("01000001000000000000") + _encode_name(qname) + b"\x00\x0c\x00\x01"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(query, (server, port))
            reply = s.recv(4096)
        return parse_ptr_reply(reply, ident)
    except (OSError, ValueError, IndexError):
        return None


def _encode_name(name: str) -> bytes:
    return b"".join(bytes((len(label),)) + label.encode("ascii") for label in name.split(".")) + b"\x00"


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    """A (possibly compressed) DNS name at ``pos``: (name, position after it)."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(128):
        n = data[pos]
        if n & 0xC0 == 0xC0:
            end = pos + 2 if end is None else end
            pos = ((n & 0x3F) << 8) | data[pos + 1]
        elif n == 0:
            return ".".join(labels), end if end is not None else pos + 1
        else:
            labels.append(data[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
    raise ValueError("DNS name loops")


def parse_ptr_reply(reply: bytes, ident: bytes) -> str | None:
    """The first PTR answer of a DNS reply to query ``ident``."""
    if reply[:2] != ident or reply[3] & 0x0F:
        return None
    questions, answers = int.from_bytes(reply[4:6], "big"), int.from_bytes(reply[6:8], "big")
    pos = 12
    for _ in range(questions):
        pos = _read_name(reply, pos)[1] + 4
    for _ in range(answers):
        pos = _read_name(reply, pos)[1]
        rtype, length = int.from_bytes(reply[pos:pos + 2], "big"), int.from_bytes(reply[pos + 8:pos + 10], "big")
        if rtype == 12:
            return _read_name(reply, pos + 10)[0]
        pos += 10 + length
    return None


# --- the roles -----------------------------------------------------------------------------------


def _fail(role: str, message: object) -> int:
    print(f"smets2-emu fleet {role}: {message}", file=sys.stderr)
    return 2


def _hub_secret() -> bytes | None:
    from emulator.scenarios.fleet import HUB_SECRET_ENV

    raw = os.environ.get(HUB_SECRET_ENV, "")
    try:
        return bytes.fromhex(raw) if raw else None
    except ValueError:
        raise ValueError(f"{HUB_SECRET_ENV} is not hex") from None


async def _signalled(main: Callable[[asyncio.Event], Any]) -> Any:
    """Run ``main(stop)``; SIGTERM and SIGINT set ``stop`` (a clean stop, not an exception)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await main(stop)


def _hubs(args: argparse.Namespace) -> int:
    from emulator.devices.state_snapshot import StateError
    from emulator.scenarios.alert_control import AlertControl
    from emulator.scenarios.fleet import HubsReport, check_range, run_hubs
    from emulator.transport.broker import BrokerError, BrokerUrl

    try:
        url = BrokerUrl.parse(args.broker)
        first, how = replica_first(args.count) if args.first == "auto" else (int(args.first), "--first")
        check_range(first, args.count)
        secret = _hub_secret()
    except ValueError as e:
        return _fail("hubs", e)
    print(f"smets2-emu fleet hubs: premises {first}..{first + args.count - 1} ({how})", file=sys.stderr, flush=True)

    def ready(report: HubsReport) -> None:
        if args.hubs_file is not None:
            args.hubs_file.write_text("".join(f"{hub}\n" for hub in report.hubs))
        doc = report.to_dict()
        print(json.dumps({"event": "ready", **{k: doc[k] for k in ("first", "count", "connections", "start_s",
                                                                   "hubs", "hubs_listed")}}), flush=True)

    control = AlertControl() if args.control == "stdin" else None

    async def main(stop: asyncio.Event) -> HubsReport:
        try:
            return await run_hubs(url, seed=args.seed, first=first, count=args.count, seconds=args.seconds,
                                  stop=stop, hub_secret=secret, gsme_wake_s=args.gsme_wake, wait_s=args.wait,
                                  links=args.connections, on_ready=ready, state=args.state,
                                  prepare=control.start if control is not None else None)
        finally:
            if control is not None:
                await control.stop()

    try:
        report: HubsReport = asyncio.run(_signalled(main))
    except (BrokerError, StateError) as e:  # StateError names the device file it could not read
        return _fail("hubs", e)
    print(json.dumps({"event": "stopped", **report.to_dict()}), flush=True)
    return 0


def _dsp(args: argparse.Namespace) -> int:
    from emulator.cli.run import load_policy
    from emulator.scenarios.fleet import DriveOptions, check_range, run_dsp
    from emulator.transport.broker import BrokerError, BrokerUrl

    try:
        url = BrokerUrl.parse(args.broker)
        check_range(0, args.premises)
        policy = load_policy(args.restricted_policy)
    except ValueError as e:  # PolicyError is a ValueError
        return _fail("dsp", e)
    options = DriveOptions(args.srv, args.rate, args.commission_timeout) if args.drive else None
    try:
        db = state.dsp_db(args)
    except OSError as e:
        return _fail("dsp", describe_error(e))

    token = secrets.token_urlsafe(18)

    def ready(port: int) -> None:
        print(f"SSI on http://{args.host}:{port}/", file=sys.stderr, flush=True)
        print(f"SSI token {token} (changing calls; the page: http://{args.host}:{port}/#token={token})",
              file=sys.stderr, flush=True)
        print(f"smets2-emu fleet dsp: {state.where(db)}", file=sys.stderr, flush=True)

    async def main(stop: asyncio.Event) -> dict[str, Any]:
        return await run_dsp(url, seed=args.seed, premises=args.premises, http_port=args.port, db=db,
                             http_host=args.host, drive_options=options, seconds=args.seconds, stop=stop,
                             wait_s=args.wait, on_ready=ready, policy=policy, token=token)

    try:
        summary: dict[str, Any] = asyncio.run(_signalled(main))
    except BrokerError as e:
        return _fail("dsp", e)
    except OSError as e:  # the SSI port is taken, the --db cannot be opened
        return _fail("dsp", describe_error(e))
    print(json.dumps(summary), flush=True)
    if options is None:
        return 0
    return 0 if summary["commissioned"] == args.premises and summary["failures"] == 0 else 1
