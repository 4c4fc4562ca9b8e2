"""When the DSP's timers are due: future-dated sends, response deadlines, re-sends and DCC
schedule runs. Sans-IO: the core sets and clears entries; the adapter asks :meth:`DueIndex.earliest`
and calls the core back at that time.

The index lives in memory for speed and is mirrored in the repository, so a restarted DSP
still sends its future-dated requests and still times out what it had sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from emulator.dsp.repository import Repository


class Due(StrEnum):
    SEND = "send"  # a future-dated request reaches its execution time
    DEADLINE = "deadline"  # no answer by now: E21 (E30 for a future-dated request)
    RESEND = "resend"  # no answer yet: send the command again (WN-1), checked again first
    SCHEDULE = "schedule"  # a DCC schedule's next run


@dataclass(frozen=True, slots=True, order=True)
class DueEntry:
    at: float
    kind: Due
    key: str  # a request id, or a schedule id


class DueIndex:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._entries: dict[tuple[Due, str], float] = {}
        for _, doc in repo.items("due"):
            self._entries[(Due(doc["kind"]), doc["key"])] = float(doc["at"])

    def set(self, kind: Due, key: str, at: float) -> None:
        self._entries[(kind, key)] = at
        self.repo.put("due", f"{kind.value}|{key}", {"kind": kind.value, "key": key, "at": at})

    def clear(self, key: str, *kinds: Due) -> None:
        for kind in kinds or tuple(Due):
            if self._entries.pop((kind, key), None) is not None:
                self.repo.delete("due", f"{kind.value}|{key}")

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
