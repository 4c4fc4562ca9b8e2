"""``smets2-emu fleet run``: broker, worker processes, DSP and load from one command
(``emulator/scenarios/fleet_run.py``). Progress goes to standard error, one line a second; the
human summary to standard error at the end; the JSON report to ``--report FILE`` (or standard
output without it). Exit 0 when nothing accepted was lost (no request, no alert raised) and every
fault recovered, 1 if not, 2 when the run could not be set up (one line saying why)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any


def register(fsub: Any) -> None:
    from emulator.cli.fleet import _number, _positive, _positive_float

    _count = _number(int, 0, strict=False)

    r = fsub.add_parser("run", help="the whole fleet on this machine: broker, hub workers, DSP and a load mix",
                        description="Starts the broker (embedded mosquitto unless --broker), W worker processes "
                                    "(fleet hubs), the DSP and a seeded load generator; reports throughput, latency "
                                    "per SRV kind, losses, errors and memory.")
    r.add_argument("--premises", required=True, type=_positive, help="how many premises (CHF, ESME, GSME each)")
    r.add_argument("--workers", type=_count, default=1,
                   help="worker processes for the hubs (0: they run elsewhere, e.g. compose worker replicas "
                        "on --broker; commissioning waits for them)")
    r.add_argument("--broker", default=None, help="mqtt://user:pass@host:port[,host:port...] "
                                                  "(default: the embedded mosquitto)")
    r.add_argument("--cluster", type=_count, default=0, metavar="NODES",
                   help="start a RabbitMQ cluster of NODES nodes for the run instead (apt-get install "
                        "rabbitmq-server): the DSP on node 0, worker w on node w mod NODES")
    r.add_argument("--rate", type=_positive_float, default=50.0,
                   help="requests and alerts per second (the mix's rows share it)")
    r.add_argument("--mix", type=Path, default=None,
                   help="the SRV and alert mix, a CSV like emulator/data/load_mix.csv (docs/fleet.md)")
    r.add_argument("--duration", type=_positive_float, default=10.0, help="seconds of load")
    r.add_argument("--report", type=Path, default=None, help="write the JSON report here")
    r.add_argument("--seed", type=int, default=1, help="keys, install codes, Restricted premises and the load")
    r.add_argument("--fault", action="append", default=[], metavar="KIND@T",
                   help="broker-restart@T, kill-worker@T[:W] or node-kill@T[:N] (a --cluster node, default 1), "
                        "T seconds into the load (repeatable)")
    r.add_argument("--restricted", type=float, default=0.1, help="share of ESMEs set Restricted at start")
    r.add_argument("--gsme-wake", type=_positive_float, default=30.0,
                   help="GSME wake period in s (the profile's 30 s; a gas read waits for the wake)")
    r.add_argument("--max-inflight", type=_positive, default=512, help="requests outstanding at most")
    r.add_argument("--resend", type=_positive_float, default=None,
                   help="the DSP re-sends an unanswered command this often (default: the DSP's 20 s)")
    r.add_argument("--commission-concurrency", type=_positive, default=500,
                   help="premises commissioned at once (default 500: a GSME's steps wait for its wake, "
                        "so each round of them takes about two wakes)")
    r.add_argument("--retry-for", type=_positive_float, default=120.0,
                   help="re-send a request failed by transport (E20/E21) for this long")
    r.set_defaults(func=_run)


def _fail(message: object) -> int:
    print(f"smets2-emu fleet run: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    from emulator.scenarios.fleet_run import RunOptions, parse_faults, run_fleet
    from emulator.scenarios.fleet_stats import summary_text
    from emulator.scenarios.load_mix import load_mix
    from emulator.scenarios.report import StepFailed
    from emulator.transport.broker import BrokerError

    try:
        options = RunOptions(args.premises, args.workers, args.broker, args.rate, args.duration, args.seed,
                             load_mix(args.mix), parse_faults(args.fault), args.restricted, args.gsme_wake,
                             args.max_inflight)
        if args.resend is not None:
            options.resend_s = args.resend
        options.retry_for_s = args.retry_for
        options.cluster = args.cluster
        options.commission_concurrency = args.commission_concurrency
        if args.broker is not None:
            from emulator.transport.broker import BrokerUrl

            BrokerUrl.parse(args.broker)
        options.check()
    except ValueError as e:  # MixError is a ValueError
        return _fail(e)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    async def main() -> dict[str, Any]:
        # SIGTERM as SIGINT: the run is cancelled, and its broker and workers are stopped on the way out.
        task = asyncio.ensure_future(run_fleet(options, say))
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await task

    try:
        report = asyncio.run(main())
    except (BrokerError, StepFailed, OSError) as e:
        return _fail(e)
    except (asyncio.CancelledError, KeyboardInterrupt):
        return _fail("stopped before the end: no report")
    text = json.dumps(report, indent=1)
    if args.report is not None:
        args.report.write_text(text + "\n")
    else:
        print(text, flush=True)
    print(summary_text(report), file=sys.stderr, flush=True)
    recovered = all(f["recovery_s"] is not None for f in report["faults"])
    # An alert raised and never at the DSP is lost, unless a killed worker held it (docs/fleet.md).
    driven = report["alerts"]["driven"] or {}
    alerts_lost = driven.get("lost", 0) - driven.get("lost_with_killed_worker", 0)
    return 0 if report["lost"] == 0 and alerts_lost == 0 and recovered else 1
