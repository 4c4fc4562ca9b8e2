"""``smets2-emu firmware build|inspect``: signed Zigbee OTA images for the emulated meters."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emulator.zigbee import ota_file
from emulator.zigbee.errors import OtaFileError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("firmware", help="build and inspect signed Zigbee OTA images")
    fsub = p.add_subparsers(dest="firmware_command", metavar="ACTION")
    fsub.required = True
    b = fsub.add_parser("build", help="build a signed OTA file with the test PKI's manufacturer key")
    b.add_argument("output", type=Path)
    b.add_argument("--manufacturer-code", type=lambda x: int(x, 0), default=0x1234)
    b.add_argument("--image-type", type=lambda x: int(x, 0), required=True, help="1 ESME, 2 GSME, 3 CHF")
    b.add_argument("--version", type=lambda x: int(x, 16), required=True, help="file version, hex (e.g. 0124ABCD)")
    b.add_argument("--size", type=int, default=16 * 1024, help="image bytes")
    b.add_argument("--seed", type=int, default=1, help="test PKI seed (the manufacturer key)")
    b.add_argument("--label", default="smets2-emu sample")
    b.set_defaults(func=_build)
    i = fsub.add_parser("inspect", help="print an OTA file's header and check its signature")
    i.add_argument("file", type=Path)
    i.add_argument("--seed", type=int, default=1, help="test PKI seed of the manufacturer key to verify with")
    i.set_defaults(func=_inspect)


def _build(args: argparse.Namespace) -> int:
    from emulator.pki.generate import manufacturer_key

    data = ota_file.sample_image(manufacturer_key(args.seed), manufacturer_code=args.manufacturer_code,
                                 image_type=args.image_type, file_version=args.version, size=args.size,
                                 label=args.label)
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data)} bytes, sha256 {ota_file.file_hash(data).hex()}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from emulator.pki.generate import manufacturer_key

    try:
        data = args.file.read_bytes()
        f = ota_file.decode(data)
    except (OSError, OtaFileError) as e:
        print(f"smets2-emu firmware inspect: {args.file}: {e}", file=sys.stderr)
        return 1
    try:
        ota_file.verify(data, manufacturer_key(args.seed).public_key())
        signature = "valid"
    except OtaFileError as e:
        signature = f"invalid: {e}"
    h = f.header
    print(json.dumps({"manufacturer_code": f"0x{h.manufacturer_code:04X}", "image_type": h.image_type,
                      "file_version": f"{h.file_version:08X}",
                      "header_string": h.header_string.decode(errors="replace"),
                      "size": len(data), "sub_elements": [f"0x{e.tag:04X}:{len(e.data)}" for e in f.elements],
                      "sha256": ota_file.file_hash(data).hex(), "signature": signature}, indent=2))
    return 0 if signature == "valid" else 1
