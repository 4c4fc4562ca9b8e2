"""Where a long-running DSP (``dsp serve``, ``fleet dsp``) keeps its state: on disk by default.

``--data DIR`` (default ``./smets2-data``) holds ``dsp.sqlite``; ``--db FILE`` names the file
itself; ``--db :memory:`` keeps nothing (the state goes with the process). Each run says where in
one line, so nobody wonders why a restarted DSP still knows its meters.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

DEFAULT_DATA = Path("smets2-data")
DB_NAME = "dsp.sqlite"
IN_MEMORY = ":memory:"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, metavar="DIR",
                        help=f"keep the DSP's state (SQLite) in DIR/{DB_NAME}, created if need be "
                             f"(default ./{DEFAULT_DATA}/)")
    parser.add_argument("--db", metavar="FILE",
                        help=f"keep the DSP's state in this SQLite file instead; '{IN_MEMORY}' keeps none")


def dsp_db(args: argparse.Namespace) -> Path | None:
    """The SQLite file for the DSP's state (its folder created), or None for in memory. OSError
    naming the folder when it cannot be made, ValueError naming the file when it is not a database."""
    if args.db == IN_MEMORY:
        return None
    if args.db:
        path = Path(args.db)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        folder: Path = args.data
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / DB_NAME
    _check_opens(path)
    return path


def _check_opens(path: Path) -> None:
    """Say now, naming the file, if SQLite cannot use it (not a database, not writable)."""
    try:
        db = sqlite3.connect(path)
        try:
            db.execute("PRAGMA schema_version").fetchone()
        finally:
            db.close()
    except sqlite3.Error as e:
        raise ValueError(f"DSP state {path}: SQLite cannot use it ({e})") from None


def where(db: Path | None) -> str:
    """The line a run prints about its state."""
    if db is None:
        return "DSP state in memory only (--db :memory:): it is lost when this process ends"
    return f"DSP state in {db} (kept across restarts; --db :memory: to keep none)"
