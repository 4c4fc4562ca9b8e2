"""``smets2-emu pki init DIR``: a reproducible local test PKI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pki", help="a reproducible test PKI: keys and certificates for every party")
    psub = p.add_subparsers(dest="pki_command", metavar="ACTION")
    psub.required = True
    i = psub.add_parser("init", help="create a root CA, remote-party and device keys and certificates")
    i.add_argument("directory", type=Path)
    i.add_argument("--premises", type=int, default=1, help="number of premises (CHF, ESME, GSME, GPF each)")
    i.add_argument("--seed", type=int, default=1, help="the same seed gives byte-identical files")
    i.add_argument("--force", action="store_true", help="replace an existing PKI in DIR")
    i.set_defaults(func=_init)


def _init(args: argparse.Namespace) -> int:
    from emulator.cli import describe_error
    from emulator.pki.generate import PkiError, count, init

    try:
        manifest = init(args.directory, seed=args.seed, premises=args.premises, force=args.force)
    except (PkiError, OSError) as e:
        print(f"smets2-emu pki init: {describe_error(e)}", file=sys.stderr)
        return 2
    n = count(manifest, "premises")
    print(f"test PKI in {args.directory}: seed {manifest['seed']}, {count(manifest, 'remote_parties')} remote parties, "
          f"{n} premises ({4 * n} devices), keystore.json")
    return 0
