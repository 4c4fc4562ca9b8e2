"""``smets2-emu gbcs decode|encode``: GBCS messages from and to hex."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emulator.cli import describe_error
from emulator.gbcs import frames, security
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.frames import Cra, Message, OtherInfo
from emulator.gbcs.identities import parse_eui
from emulator.gbcs.keys import KeyStore
from emulator.zigbee.jsonvalue import Json, JsonObject


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
            report: JsonObject = {"error": "input is not hexadecimal", "field": "input", "offset": None}
        else:
            report = describe(data, keys)
        report["index"] = index
        if "error" in report:
            bad += 1
        print(json.dumps(report, indent=2 if args.pretty else None))
    return 1 if bad else 0


_CRA_NAMES = {"command": Cra.COMMAND, "response": Cra.RESPONSE, "alert": Cra.ALERT}


def message_from_json(desc: JsonObject) -> tuple[Message, bool]:
    """A :class:`Message` from a JSON description; returns (message, sign?). A field of the wrong
    kind is refused (ValueError) naming it."""

    def need(name: str) -> Json:
        if name not in desc:
            raise ValueError(f"description lacks {name!r}")
        return desc[name]

    def text(name: str, value: Json) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {value!r}")
        return value

    def integer(name: str, value: Json, base: int = 10) -> int:
        if isinstance(value, str):
            return int(value, base)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, not {value!r}")
        return int(value)

    def optional_integer(name: str) -> int | None:
        value = desc.get(name)
        return None if value is None else integer(name, value)

    cra_raw = need("cra")
    if str(cra_raw).lower() not in _CRA_NAMES:
        raise ValueError(f"cra must be command, response or alert, not {cra_raw!r}")
    message_code = integer("message_code", need("message_code"), 16)
    dt = desc.get("date_time")
    date_time = None
    if dt is not None:
        date_time = DlmsDateTime.from_epoch(float(dt)) if isinstance(dt, int | float) else \
            DlmsDateTime.decode(bytes.fromhex(text("date_time", dt)))
    srp = desc.get("supplementary_remote_party_id")
    other = None
    if srp is not None:
        other = OtherInfo(message_code, parse_eui(text("supplementary_remote_party_id", srp)),
                          optional_integer("supplementary_remote_party_counter"),
                          optional_integer("supplementary_originator_counter"))
    msg = Message(
        cra=_CRA_NAMES[str(cra_raw).lower()],
        counter=integer("counter", need("counter")),
        originator=parse_eui(text("originator", need("originator"))),
        target=parse_eui(text("target", need("target"))),
        message_code=message_code,
        payload=bytes.fromhex(text("payload", desc.get("payload", ""))),
        date_time=date_time,
        other_info=other,
        precommand=bool(desc.get("precommand", False)),
        mac_protected=bool(desc.get("mac", True)) and not desc.get("precommand", False),
    )
    return msg, bool(desc.get("sign", False))


def _encode(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.description == "-" else Path(args.description).read_text()
        desc: Json = json.loads(text)
        items = desc if isinstance(desc, list) else [desc]
        keys = load_keys(args.keys) or KeyStore()
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"a message description is a JSON object, not {item!r}")
            msg, do_sign = message_from_json(item)
            if do_sign:
                msg = security.sign(keys, msg)
            print((security.seal(keys, msg) if msg.mac_protected else frames.encode(msg)).hex().upper())
    except (OSError, ValueError, GbcsError) as e:
        print(f"smets2-emu gbcs encode: {describe_error(e)}", file=sys.stderr)
        return 2
    return 0
