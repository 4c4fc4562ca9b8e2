"""The ``smets2-emu`` command: one module per command group here, each with ``register(subparsers)``.

``--help`` lists the commands grouped by what a user wants to do (``TASKS``). Errors a user can act
on (a broker that cannot be reached, a port that is taken, a file that cannot be read, bad input)
end the run with one line naming the thing and the reason, and exit status 2; set
``SMETS2_TRACEBACK=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

DESCRIPTION = """\
An emulated GB SMETS2 premises (comms hub, electricity meter, gas meter, gas proxy) and the
DCC's DSP stub around it, speaking GBCS over an MQTT WAN and a virtual (or real) Zigbee HAN."""

#: The commands by task, in the order ``--help`` shows them: (heading, command modules).
TASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Run a journey end to end and get a report", ("run",)),
    ("Serve a DSP and premises to work against (SSI page, HTTP API, MQTT)", ("dsp", "fleet")),
    # A module not built on this branch (duis: sign, validate or send DUIS requests) is skipped.
    ("Build, sign and look inside messages, keys and firmware", ("gbcs", "duis", "pki", "firmware", "zigbee")),
    ("Use a real Zigbee radio", ("hardware", "conformance")),
    ("Measure", ("bench",)),
)

EPILOG_TAIL = """\
'smets2-emu COMMAND --help' shows a command's options. Examples:
  smets2-emu run uit                      the user integration journey (embedded mosquitto, virtual time)
  smets2-emu run uit --broker memory      the same without MQTT (no mosquitto needed)
  smets2-emu dsp serve                    the SSI page on http://127.0.0.1:8080/ (state in ./smets2-data/)

Exit status: 0 done (every step passed), 1 a step or check failed, 2 the run could not start
(the one-line message says what to fix)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-laid-out command list; wraps nothing."""


def _commands(sub: Any) -> dict[str, tuple[str, str]]:
    """name -> (name with its actions, help) for every registered command."""
    helps = {action.dest: action.help or "" for action in sub._choices_actions}
    out = {}
    for name, parser in sub.choices.items():
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        label = f"{name} {'|'.join(actions[0].choices)}" if actions else name
        if name == "run":
            label = "run uit|sit|mp121"
        out[name] = (label, helps.get(name, ""))
    return out


def _epilog(sub: Any) -> str:
    commands = _commands(sub)
    width = max(len(label) for label, _ in commands.values()) + 2
    lines = []
    for heading, names in TASKS:
        present = [commands[n] for n in names if n in commands]
        if not present:
            continue
        lines.append(f"{heading}:")
        lines += [f"  {label:<{width}}{text}" for label, text in present]
        lines.append("")
    return "\n".join(lines) + "\n" + EPILOG_TAIL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smets2-emu", usage="smets2-emu COMMAND [ACTION] [OPTIONS]",
                                     description=DESCRIPTION, formatter_class=_Formatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help=argparse.SUPPRESS)
    sub.required = True
    for _, names in TASKS:
        for name in names:
            try:
                module = importlib.import_module(f"emulator.cli.{name}")
            except ModuleNotFoundError as e:
                if e.name == f"emulator.cli.{name}":
                    continue  # group not built yet
                raise
            module.register(sub)
    parser.epilog = _epilog(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """What ends a run with one line and status 2: the thing named and why, no traceback."""
    from emulator.hardware import RadioError
    from emulator.pki.generate import PkiError
    from emulator.transport.broker import BrokerError

    return (BrokerError, RadioError, PkiError, OSError, ValueError)


def describe_error(error: BaseException) -> str:
    """One line for a user: the thing and the reason, without Python's ``[Errno n]`` clutter."""
    if isinstance(error, OSError) and error.strerror:
        where = error.filename
        if error.errno == errno.EADDRINUSE:
            found = re.search(r"\('([^']*)', (\d+)\)", str(error))
            at = f"{found.group(1)}:{found.group(2)}" if found else "the address"
            return f"cannot listen on {at}: the port is taken (stop what holds it, or choose another with --port)"
        return f"{where}: {error.strerror}" if where else error.strerror
    text = " ".join(str(error).split())
    return text or type(error).__name__


def command_name(args: argparse.Namespace) -> str:
    """``smets2-emu dsp serve``: the command and its action, as the user typed them."""
    words = ["smets2-emu", str(getattr(args, "command", ""))]
    words += [str(v) for k, v in vars(args).items() if k.endswith("_command") and v]
    if getattr(args, "journey", None):
        words.append(str(args.journey))  # smets2-emu run uit
    return " ".join(w for w in words if w)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except _user_errors() as e:
        if os.environ.get("SMETS2_TRACEBACK"):
            raise
        print(f"{command_name(args)}: {describe_error(e)}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
