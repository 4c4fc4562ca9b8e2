"""A state folder for devices: one file per device, written atomically (issue 15.7).

The cores say what to keep (:func:`emulator.devices.state_snapshot.snapshot`) and when
(:class:`~emulator.devices.state_snapshot.SaveSchedule`); this writes it: ``<EUI>.json`` in the
folder, through a temporary file that is flushed, fsynced and renamed over the old one, then
the folder fsynced, so a crash leaves the old state or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from emulator.devices.state_snapshot import Snapshot, StateError, decode, encode


class StateFolder:
    """Where devices keep what a restart must not lose."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writes = 0

    def path(self, eui: bytes) -> Path:
        return self.folder / f"{eui.hex().upper()}.json"

    def load(self, eui: bytes) -> Snapshot | None:
        """The device's last saved state (None: it has none yet); StateError naming the file if unreadable."""
        path = self.path(eui)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return decode(data)
        except StateError as e:
            raise StateError(f"device state {path}: {e}") from None

    def save(self, eui: bytes, state: Snapshot) -> None:
        path = self.path(eui)
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "wb") as f:
            f.write(encode(state))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self._sync_folder()
        self.writes += 1

    def _sync_folder(self) -> None:
        # The rename is durable only once the folder's entry is on disk (POSIX; not on Windows).
        with contextlib.suppress(OSError):
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
