"""``smets2-emu conformance``: run every UIT step and SIT case that applies to a device under test
against it, the hub on a dongle (``--profile``) or, for CI, on the fake ZNP stick with the emulated
ESME as the device (``--han fake-znp``, ``--fault`` to make it misbehave)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("conformance", help="run the UIT and SIT cases that apply to a device under test "
                                           "against it, with an HTML and JUnit report")
    p.add_argument("--profile", type=Path, help="the dongle's profile (hardware/*.yaml); the hub runs on it")
    p.add_argument("--device", required=True, metavar="KIND:INSTALLCODE[:EUI64]",
                   help="the device under test (ESME or GSME); the EUI-64 defaults to the test PKI's for that kind")
    p.add_argument("--journeys", default="uit,sit", help="which journeys' cases to run: uit, sit or uit,sit")
    p.add_argument("--report", type=Path, help="write the HTML report here")
    p.add_argument("--junit", type=Path, help="write JUnit XML here")
    p.add_argument("--json", type=Path, help="write the JSON report here")
    p.add_argument("--join-timeout", type=float, default=120.0, help="seconds the device has to join")
    p.add_argument("--alert-retry", type=float, default=360.0,
                   help="seconds the device has to send an unacknowledged alert again")
    p.add_argument("--vectors", type=Path, help="the RTDS 4.5.0 folder (default ../shared/vectors/gbcs-rtds-4.5.0)")
    p.add_argument("--manufacturer-code", type=lambda v: int(v, 16), default=0x1234, metavar="HEX",
                   help="the device's Zigbee manufacturer code, for the OTA image it is offered (default 1234)")
    p.add_argument("--han", choices=("radio", "fake-znp"), default="radio",
                   help="fake-znp: no dongle; the fake ZNP stick with the emulated ESME as the device (CI)")
    p.add_argument("--fault", action="append", default=[], metavar="NAME[:SRV]",
                   help="with --han fake-znp: make the emulated device misbehave (wrong-structure[:SRV], "
                        "no-alert-retry, refused-join)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from emulator.hardware import ProfileError, RadioError, check_port, load, radio_class
    from emulator.scenarios.bench_hub import BenchDevice
    from emulator.scenarios.conformance import JOURNEYS, Settings, default_vectors
    from emulator.scenarios.conformance_run import ConformanceOptions, run_sync
    from emulator.scenarios.report import Progress

    try:
        device = BenchDevice.parse(args.device)
        journeys = tuple(j.strip() for j in args.journeys.split(",") if j.strip())
        unknown = [j for j in journeys if j not in JOURNEYS]
        if unknown or not journeys:
            raise ValueError(f"--journeys {args.journeys!r}: expected uit, sit or uit,sit")
        if args.fault and args.han != "fake-znp":
            raise ValueError("--fault makes the emulated device misbehave: it needs --han fake-znp")
        profile = None
        if args.han == "radio":
            if args.profile is None:
                raise ValueError("--profile is needed (the dongle the hub runs on), or --han fake-znp")
            profile = load(args.profile)
            check_port(profile)
            if profile.radio == "virtual":
                raise RadioError(f"{profile.source}: conformance needs a real radio (or --han fake-znp)")
            if not profile.install_codes:
                raise RadioError(f"{profile.source}: the {profile.radio} radio cannot do install-code joins (IC-2)")
            radio_class(profile)
        settings = Settings(device, journeys, args.join_timeout, args.alert_retry, args.vectors or default_vectors(),
                            args.manufacturer_code)
        opts = ConformanceOptions(settings, profile, args.han, list(args.fault), args.seed, args.report, args.junit,
                                  args.json, None if args.quiet else Progress(sys.stderr))
        if args.fault:
            from emulator.devices.faults import Faults

            Faults.parse(opts.faults, device.kind)  # a bad fault name is refused before anything starts
    except (ProfileError, RadioError, ValueError) as e:
        print(f"smets2-emu conformance: {e}", file=sys.stderr)
        return 2
    report = run_sync(opts)
    sys.stdout.write(report.to_text())
    joined = next((s for s in report.steps if s.id == "join"), None)
    if joined is not None and not joined.ok:
        print(f"smets2-emu conformance: {joined.detail}", file=sys.stderr)
    return 0 if report.ok else 1
