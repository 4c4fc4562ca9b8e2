"""The ``smets2-emu`` command. Each sub-command group lives in its own module here and
exposes ``register(subparsers)``; the parser is assembled from the list below."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Sub-command modules, in the order `--help` lists them.
_GROUPS = ("run", "gbcs", "pki", "zigbee", "firmware", "hardware", "dsp", "duis", "fleet", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smets2-emu", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _GROUPS:
        try:
            module = importlib.import_module(f"emulator.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"emulator.cli.{name}":
                continue  # group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
