"""``smets2-emu run uit|sit|mp121``: the journeys, end to end, with reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.dsp.policy import RestrictedPolicy


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="UIT, the SIT matrix or MP121 change of supplier, with a report")
    p.add_argument("journey", choices=("uit", "sit", "mp121"))
    p.add_argument("--report", type=Path, help="write the JSON report here")
    p.add_argument("--junit", type=Path, help="write JUnit XML here")
    p.add_argument("--pcap", type=Path, help="write the HAN traffic as a pcap (802.15.4/Zigbee) here")
    p.add_argument("--trace", type=Path, help="write every GBCS frame on the WAN and the HAN as JSON lines here")
    p.add_argument("--keys", type=Path, help="write the test PKI used to this folder (to check the trace)")
    p.add_argument("--db", type=Path, help="keep the DSP's state in this SQLite file")
    p.add_argument("--realtime", action="store_true", help="wall-clock time instead of virtual time")
    p.add_argument("--broker", help="mqtt://user:pass@host:port for an external broker; 'memory' for no broker")
    p.add_argument("--seed", type=int, default=1, help="fixes keys, loads and frames: a run replays exactly")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--han", choices=("virtual", "fake-znp", "fake-znp-pty", "fake-ezsp", "fake-ezsp-pty"),
                   default="virtual",
                   help="the HAN: the virtual bus, or the CHF on the real zigpy-znp driving a fake ZNP stick, or on "
                        "the real bellows driving a fake EmberZNet NCP (needs the radio extra)")
    p.add_argument("--restricted-policy", type=Path, metavar="FILE",
                   help="the alerts a Restricted device still delivers (RM-5): a CSV like "
                        "emulator/data/restricted_alerts.csv (code,decision,category,reason)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    """Errors a user can act on (no broker, a bad file, a radio that does not answer) reach
    ``emulator.cli.main``, which prints them in one line and exits 2."""
    from emulator.scenarios import journeys
    from emulator.scenarios.runner import RunOptions, run_sync

    policy = load_policy(args.restricted_policy)
    opts = RunOptions(args.journey, args.seed, args.realtime, args.broker, args.report, args.junit, args.pcap,
                      args.trace, args.keys, args.db, args.quiet, args.han, policy)
    profiles, journey = journeys.get(args.journey)
    report = run_sync(opts, profiles, journey)
    sys.stdout.write(report.to_text())
    return 0 if report.ok else 1


def load_policy(path: Path | None) -> RestrictedPolicy | None:
    """The Restricted policy with a user's alert list (``--restricted-policy FILE``), or None for the default."""
    from emulator.dsp.policy import PolicyError, RestrictedPolicy

    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the Restricted alert list ({e.strerror})") from None
    return RestrictedPolicy().with_alert_list(text, str(path))
