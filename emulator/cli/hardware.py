"""``smets2-emu hardware list|check PROFILE``: dongle profiles, and a first look at the radio."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from emulator.hardware import ProfileError, RadioError, check_port, load, radio_class

SHIPPED = Path(__file__).resolve().parents[2] / "hardware"


def register(sub: Any) -> None:
    p = sub.add_parser("hardware", help="Zigbee dongle profiles for real radios")
    hsub = p.add_subparsers(dest="hardware_command", metavar="ACTION")
    hsub.required = True
    ls = hsub.add_parser("list", help="list the shipped profiles")
    ls.set_defaults(func=_list)
    c = hsub.add_parser("check", help="validate a profile, open its radio, report firmware/channel/network")
    c.add_argument("profile", type=Path)
    c.add_argument("--timeout", type=float, default=30.0)
    c.set_defaults(func=_check)


def _list(args: argparse.Namespace) -> int:
    for path in sorted(SHIPPED.glob("*.yaml")):
        try:
            prof = load(path)
            print(f"{path.name:28s} {prof.radio:8s} {prof.port}  {prof.notes.splitlines()[0] if prof.notes else ''}")
        except ProfileError as e:
            print(f"{path.name:28s} INVALID: {e}")
    return 0


async def _open(profile: Any, timeout: float) -> dict[str, Any]:
    cls = radio_class(profile)
    config = cls.SCHEMA({"device": {"path": profile.port, "baudrate": profile.baudrate,
                                    "flow_control": profile.flow_control},
                         "database_path": None, "ota": {"enabled": False}, "backup_enabled": False,
                         "topology_scan_enabled": False, "watchdog_enabled": False,
                         "network": {"channel": profile.channel}})
    app = await asyncio.wait_for(cls.new(config, auto_form=True, start_radio=True), timeout)
    try:
        state = app.state
        return {"radio": profile.radio, "port": profile.port, "firmware": str(getattr(state.node_info, "version", "")),
                "ieee": str(state.node_info.ieee), "channel": state.network_info.channel,
                "pan_id": f"0x{state.network_info.pan_id:04X}", "network_formed": True}
    finally:
        await app.shutdown()


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
        return 1
    except (OSError, TimeoutError) as e:
        print(f"smets2-emu hardware check: cannot talk to the {args.profile} radio: {e}", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=2))
    return 0
