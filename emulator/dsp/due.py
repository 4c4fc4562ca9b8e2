"""When the DSP's timers are due: future-dated sends, response deadlines, re-sends and DCC
schedule runs. Sans-IO: the core sets and clears entries; the adapter asks :meth:`DueIndex.earliest`
and calls the core back at that time.

The index lives in memory for speed and is mirrored in the repository, so a restarted DSP
still sends its future-dated requests and still times out what it had sent.
"""

from __future__ import annotations

import heapq

from emulator.dsp.model import Due, DueEntry
from emulator.dsp.repository import Repository

__all__ = ["Due", "DueEntry", "DueIndex"]
_EVERY_KIND = tuple(Due)  # made once: iterating an enum class is slow, and every answer clears a request's


class DueIndex:
    """The entries by (kind, key), and a heap of them by time for :meth:`earliest`: every SRV sets
    and clears entries and the adapter asks for the earliest after each, so a scan of all of them
    (a fleet keeps thousands outstanding) would be paid on every message. The heap keeps stale
    items (cleared or moved entries) until they reach its top."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._entries: dict[tuple[Due, str], float] = {}
        self._heap: list[tuple[float, Due, str]] = []  # (at, kind, key), as DueEntry orders them
        for entry in repo.timers():
            self._entries[(entry.kind, entry.key)] = entry.at
            self._heap.append((entry.at, entry.kind, entry.key))
        heapq.heapify(self._heap)

    def set(self, kind: Due, key: str, at: float) -> None:
        self._entries[(kind, key)] = at
        heapq.heappush(self._heap, (at, kind, key))
        self.repo.put_timer(DueEntry(at, kind, key))

    def clear(self, key: str, *kinds: Due) -> None:
        for kind in kinds or _EVERY_KIND:
            if self._entries.pop((kind, key), None) is not None:
                self.repo.delete_timer(kind, key)

    def earliest(self) -> float | None:
        heap = self._heap
        while heap:
            at, kind, key = heap[0]
            if self._entries.get((kind, key)) == at:
                return at
            heapq.heappop(heap)  # cleared, or set again for another time
        return None

    def pop_due(self, now: float) -> list[DueEntry]:
        """The entries due at ``now``, earliest first, removed from the index."""
        due: list[DueEntry] = []
        while (at := self.earliest()) is not None and at <= now:
            _, kind, key = heapq.heappop(self._heap)
            entry = DueEntry(at, kind, key)
            self.clear(entry.key, entry.kind)
            due.append(entry)
        return due

    def __len__(self) -> int:
        return len(self._entries)
