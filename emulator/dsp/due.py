"""When the DSP's timers are due: future-dated sends, response deadlines, re-sends and DCC
schedule runs. Sans-IO: the core sets and clears entries; the adapter asks :meth:`DueIndex.earliest`
and calls the core back at that time.

The index lives in memory for speed and is mirrored in the repository, so a restarted DSP
still sends its future-dated requests and still times out what it had sent.
"""

from __future__ import annotations

from emulator.dsp.model import Due, DueEntry
from emulator.dsp.repository import Repository

__all__ = ["Due", "DueEntry", "DueIndex"]


class DueIndex:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._entries: dict[tuple[Due, str], float] = {}
        for entry in repo.timers():
            self._entries[(entry.kind, entry.key)] = entry.at

    def set(self, kind: Due, key: str, at: float) -> None:
        self._entries[(kind, key)] = at
        self.repo.put_timer(DueEntry(at, kind, key))

    def clear(self, key: str, *kinds: Due) -> None:
        for kind in kinds or tuple(Due):
            if self._entries.pop((kind, key), None) is not None:
                self.repo.delete_timer(kind, key)

    def earliest(self) -> float | None:
        return min(self._entries.values(), default=None)

    def pop_due(self, now: float) -> list[DueEntry]:
        """The entries due at ``now``, earliest first, removed from the index."""
        due = sorted(DueEntry(at, kind, key) for (kind, key), at in self._entries.items() if at <= now)
        for entry in due:
            self.clear(entry.key, entry.kind)
        return due

    def __len__(self) -> int:
        return len(self._entries)
