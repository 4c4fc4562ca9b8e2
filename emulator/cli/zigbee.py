"""``smets2-emu zigbee install-code HEX``: the link key an install code gives, or why it is refused."""

from __future__ import annotations

import argparse
import sys

from emulator.zigbee.errors import InstallCodeError
from emulator.zigbee.install_code import link_key_from_install_code, parse

# InstallCodeError.reason -> the words an installer reads first.
_REASONS = {"length": "bad length", "crc": "bad CRC", "format": "not hexadecimal"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("zigbee", help="check an install code and derive its link key")
    zsub = p.add_subparsers(dest="zigbee_command", metavar="ACTION")
    zsub.required = True
    i = zsub.add_parser("install-code", help="check an install code (with its CRC) and print the link key")
    # nargs="+": a code copied from a label ("83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5") works unquoted.
    i.add_argument("code", nargs="+", help="hex, spaces/dashes/colons allowed, CRC included (little-endian)")
    i.set_defaults(func=_install_code)


def _install_code(args: argparse.Namespace) -> int:
    try:
        key = link_key_from_install_code(parse(" ".join(args.code)))
    except InstallCodeError as e:
        print(f"smets2-emu zigbee install-code: {_REASONS.get(e.reason, e.reason)}: {e.message}", file=sys.stderr)
        return 1
    print(key.hex())
    return 0
