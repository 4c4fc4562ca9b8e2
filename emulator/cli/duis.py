"""``smets2-emu duis sign|validate|send FILE``: try a DUIS request by hand, with the test keys.

    sign FILE      sign a request as its RequestID's originator (any old signature is replaced)
    validate FILE  safe parse, V5.4 XSD and the signature against the registered certificates
    send FILE      sign if unsigned, POST to the DSP's serviceS/T/D (chosen by command variant),
                   and check the answer (XSD, DSP signature)

Keys: ``--keys DIR`` (DCC Boxed's ZAZ1 keys in ../shared/duis/keys by default, or a ``pki init``
directory); the schema: ``--duis-dir`` (default $SMETS2_DUIS_DIR or ../shared/duis).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

_SERVICE_FOR_CV = {1: "serviceS", 2: "serviceS", 5: "serviceS", 4: "serviceT", 8: "serviceD"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("duis", help="sign, validate or send a DUIS request with the test keys")
    dsub = p.add_subparsers(dest="duis_command", metavar="ACTION")
    dsub.required = True
    for name, text in (("sign", "sign a request (stdout, or -o)"),
                       ("validate", "check a document: safe XML, the V5.4 XSD, its signature"),
                       ("send", "sign if needed, POST to the DSP and check its answer")):
        a = dsub.add_parser(name, help=text)
        a.add_argument("file", type=Path)
        a.add_argument("--duis-dir", type=Path, help="schema (xsd/) and keys (keys/); default ../shared/duis")
        a.add_argument("--keys", type=Path, help="XML-signing keys and certificates (default DUIS_DIR/keys)")
        if name != "validate":
            a.add_argument("--user", help="sign as this EUI (default: the RequestID's originator)")
        if name == "sign":
            a.add_argument("-o", "--output", type=Path)
        if name == "send":
            a.add_argument("--url", default="http://127.0.0.1:8080", help="the DSP (default %(default)s)")
            a.add_argument("--service", choices=sorted(set(_SERVICE_FOR_CV.values())),
                           help="endpoint (default from the command variant)")
        a.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from emulator.dsp.duis_xml import DuisXmlError
    from emulator.transport.duis_files import DuisFilesError

    try:
        return int(_dispatch(args))
    except (DuisXmlError, DuisFilesError, OSError) as e:
        code = getattr(e, "code", "")
        print(f"smets2-emu duis {args.duis_command}: {code + ': ' if code else ''}{e}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from emulator.dsp.duis_xml import decode_request, decode_response, parse
    from emulator.dsp.xmldsig import strip_whitespace
    from emulator.transport.duis_files import default_dir, load_schema, load_signer, load_trust

    duis_dir = args.duis_dir or default_dir()
    keys = args.keys or duis_dir / "keys"
    raw = args.file.read_bytes()
    root = parse(raw)
    if args.duis_command == "validate":
        load_schema(duis_dir / "xsd").check(root)
        who = load_trust(keys, {}).verify(root)
        kind = "request " + decode_request(root).request_id if _is_request(root) else \
            "response " + (decode_response(root).code or "")
        print(f"valid DUIS {kind}, signed by {who.eui}")
        return 0
    if _is_request(root):
        originator = decode_request(root).originator
    else:
        originator = ""
    for sig in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        root.remove(sig)
    signed = load_signer(keys, (args.user or originator).replace("-", "").upper()).sign(strip_whitespace(root))
    if args.duis_command == "sign":
        if args.output:
            args.output.write_bytes(signed)
        else:
            sys.stdout.buffer.write(signed + b"\n")
        return 0
    service = args.service or _SERVICE_FOR_CV.get(decode_request(root).command_variant, "serviceS")
    status, answer = asyncio.run(_post(f"{args.url.rstrip('/')}/api/v1/{service}", signed))
    sys.stdout.buffer.write(answer + b"\n")
    if not answer.startswith(b"<"):
        print(f"HTTP {status}: not DUIS", file=sys.stderr)
        return 1
    reply = parse(answer)
    load_schema(duis_dir / "xsd").check(reply, "the DSP's answer")
    signer = load_trust(keys, {}).verify(reply)
    code = decode_response(reply).code
    print(f"HTTP {status}: {code}, XSD-valid, signed by {signer.eui}", file=sys.stderr)
    return 0 if code in ("I0", "I99") else 2


def _is_request(root: Any) -> bool:
    from lxml import etree

    return bool(etree.QName(root).localname == "Request")


async def _post(url: str, body: bytes) -> tuple[int, bytes]:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.post(url, data=body, headers={"Content-Type": "application/xml"}) as r:
        return r.status, await r.read()
