"""``smets2-emu zigbee install-code HEX``: the link key an install code gives, or why it is refused."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from emulator.zigbee.errors import InstallCodeError
from emulator.zigbee.install_code import link_key_from_install_code, parse


def register(sub: Any) -> None:
    p = sub.add_parser("zigbee", help="Zigbee helpers")
    zsub = p.add_subparsers(dest="zigbee_command", metavar="ACTION")
    zsub.required = True
    i = zsub.add_parser("install-code", help="check an install code (with its CRC) and print the link key")
    i.add_argument("code", help="hex, spaces/dashes allowed, CRC included (little-endian)")
    i.set_defaults(func=_install_code)


def _install_code(args: argparse.Namespace) -> int:
    try:
        key = link_key_from_install_code(parse(args.code))
    except InstallCodeError as e:
        print(f"smets2-emu zigbee install-code: {e}", file=sys.stderr)
        return 1
    print(key.hex())
    return 0
