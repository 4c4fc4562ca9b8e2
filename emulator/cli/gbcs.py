"""``smets2-emu gbcs decode|encode``: GBCS messages from and to hex."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from emulator.cli import describe_error
from emulator.gbcs import frames, security
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.frames import Cra, Message, OtherInfo
from emulator.gbcs.identities import parse_eui
from emulator.gbcs.keys import KeyStore


def register(sub: Any) -> None:
    p = sub.add_parser("gbcs", help="decode GBCS messages to JSON (checked with --keys), or encode")
    gsub = p.add_subparsers(dest="gbcs_command", metavar="ACTION")
    gsub.required = True
    d = gsub.add_parser("decode", help="decode messages (argument, or one hex message per line on stdin)")
    d.add_argument("hex", nargs="?", help="the message as hex; read stdin when absent")
    d.add_argument("--keys", type=Path, help="key dir (pki init output, RTDS keystore) or keystore.json")
    d.add_argument("--pretty", action="store_true", help="indent the JSON")
    d.set_defaults(func=_decode)
    e = gsub.add_parser("encode", help="build a message from a JSON description (file, or stdin with -)")
    e.add_argument("description", help="JSON file, or - for stdin")
    e.add_argument("--keys", type=Path, required=False, help="key store used to MAC and sign")
    e.set_defaults(func=_encode)


def load_keys(path: Path | None) -> KeyStore | None:
    """The key store at ``path`` (a folder of keys or a keystore.json); ValueError naming it and why not."""
    if path is None:
        return None
    from emulator import pki

    if not path.exists():
        raise ValueError(f"key store {path}: no such file or folder (make one with 'smets2-emu pki init {path}')")
    return pki.load_keys(path)


def _decode(args: argparse.Namespace) -> int:
    from emulator.gbcs.describe import describe

    try:
        keys = load_keys(args.keys)
    except (OSError, ValueError) as e:
        print(f"smets2-emu gbcs decode: {describe_error(e)}", file=sys.stderr)
        return 2
    lines = [args.hex] if args.hex is not None else sys.stdin
    bad = 0
    for index, line in enumerate(lines):
        text = line.strip().replace(" ", "")
        if not text:
            continue
        try:
            data = bytes.fromhex(text)
        except ValueError:
            report: dict[str, Any] = {"error": "input is not hexadecimal", "field": "input", "offset": None}
        else:
            report = describe(data, keys)
        report["index"] = index
        if "error" in report:
            bad += 1
        print(json.dumps(report, indent=2 if args.pretty else None))
    return 1 if bad else 0


_CRA_NAMES = {"command": Cra.COMMAND, "response": Cra.RESPONSE, "alert": Cra.ALERT}


def message_from_json(desc: dict[str, Any]) -> tuple[Message, bool]:
    """A :class:`Message` from a JSON description; returns (message, sign?)."""

    def need(name: str) -> Any:
        if name not in desc:
            raise ValueError(f"description lacks {name!r}")
        return desc[name]

    cra_raw = need("cra")
    if str(cra_raw).lower() not in _CRA_NAMES:
        raise ValueError(f"cra must be command, response or alert, not {cra_raw!r}")
    code = need("message_code")
    message_code = int(code, 16) if isinstance(code, str) else int(code)
    dt = desc.get("date_time")
    date_time = None
    if dt is not None:
        date_time = DlmsDateTime.from_epoch(float(dt)) if isinstance(dt, int | float) else \
            DlmsDateTime.decode(bytes.fromhex(dt))
    srp = desc.get("supplementary_remote_party_id")
    other = None
    if srp is not None:
        other = OtherInfo(message_code, parse_eui(srp), desc.get("supplementary_remote_party_counter"),
                          desc.get("supplementary_originator_counter"))
    msg = Message(
        cra=_CRA_NAMES[str(cra_raw).lower()],
        counter=int(need("counter")),
        originator=parse_eui(need("originator")),
        target=parse_eui(need("target")),
        message_code=message_code,
        payload=bytes.fromhex(desc.get("payload", "")),
        date_time=date_time,
        other_info=other,
        precommand=bool(desc.get("precommand", False)),
        mac_protected=bool(desc.get("mac", True)) and not desc.get("precommand", False),
    )
    return msg, bool(desc.get("sign", False))


def _encode(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.description == "-" else Path(args.description).read_text()
        desc = json.loads(text)
        items = desc if isinstance(desc, list) else [desc]
        keys = load_keys(args.keys) or KeyStore()
        for item in items:
            msg, do_sign = message_from_json(item)
            if do_sign:
                msg = security.sign(keys, msg)
            print((security.seal(keys, msg) if msg.mac_protected else frames.encode(msg)).hex().upper())
    except (OSError, ValueError, GbcsError) as e:
        print(f"smets2-emu gbcs encode: {describe_error(e)}", file=sys.stderr)
        return 2
    return 0
