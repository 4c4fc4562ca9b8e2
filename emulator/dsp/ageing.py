"""An in-memory repository whose per-request state is bounded: a long fleet run must not grow
without end (issue 13). What is finished ages out, oldest first, once more than ``keep`` are held:

* request records that are over (done, timed out, refused, or a Pre-Command answered: its
  command variant 5 is a request of its own);
* Pre-Commands issued (they expire after the policy's lifetime anyway), firmware distributions,
  and deleted DCC schedules;
* each log keeps its last ``keep`` records.

A request still open (accepted, waiting, sent) is never aged out, so nothing accepted is lost;
a late answer to a request aged out is dropped as one to an unknown request (never delivered
twice). Inventory, counters, due timers and active schedules are kept as they are. For a durable
DSP use the SQLite store (``--db``).

A finished request record is held compact (:meth:`Kept.compact`, one tuple of atomic values) until
it ages out: the garbage collector does not walk it, where ``keep`` records held as objects made
every full collection of a long run a stall of up to a tenth of a second (see scenarios/heap.py).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from emulator.dsp.model import RequestRecord
from emulator.dsp.repository import MemoryRepository
from emulator.zigbee.jsonvalue import JsonObject

KEEP = 50_000
_FINISHED_REQUEST = frozenset({"done", "timeout", "refused", "precommand"})


def _finished(kind: str, value: JsonObject) -> bool:
    if kind == "request":
        return value.get("state") in _FINISHED_REQUEST
    if kind == "schedule":
        return not value.get("active", False)
    return kind in ("precommand", "firmware-distribution")


class AgeingRepository(MemoryRepository):
    def __init__(self, keep: int = KEEP) -> None:
        super().__init__()
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        self.keep = keep
        self._finished: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._done: dict[str, tuple[Any, ...]] = {}  # finished request records, compact
        self.aged_out = 0

    def put_request(self, record: RequestRecord) -> None:
        finished = record.state in _FINISHED_REQUEST
        if finished:
            self._requests.pop(record.request_id, None)
            if "request" in self._kv:
                self._kv["request"].pop(record.request_id, None)
            self._done[record.request_id] = record.compact()  # a snapshot, as the copy is
        else:
            self._done.pop(record.request_id, None)
            super().put_request(record)  # held as a record, not through _put
        self._age("request", record.request_id, finished)

    def request(self, request_id: str) -> RequestRecord | None:
        done = self._done.get(request_id)
        return RequestRecord.from_compact(done) if done is not None else super().request(request_id)

    def _get(self, kind: str, key: str) -> JsonObject | None:
        done = self._done.get(key) if kind == "request" else None
        return RequestRecord.from_compact(done).to_doc() if done is not None else super()._get(kind, key)

    def _items(self, kind: str) -> list[tuple[str, JsonObject]]:
        done = ([(k, RequestRecord.from_compact(v).to_doc()) for k, v in self._done.items()]
                if kind == "request" else [])
        return super()._items(kind) + done

    def _put(self, kind: str, key: str, value: JsonObject) -> None:
        if kind == "request":
            self._done.pop(key, None)
        super()._put(kind, key, value)
        self._age(kind, key, _finished(kind, value))

    def _age(self, kind: str, key: str, finished: bool) -> None:
        if finished:
            self._finished[(kind, key)] = None
            self._finished.move_to_end((kind, key))
            while len(self._finished) > self.keep:
                old_kind, old_key = self._finished.popitem(last=False)[0]
                super()._delete(old_kind, old_key)
                if old_kind == "request":
                    self._done.pop(old_key, None)
                self.aged_out += 1
        else:
            self._finished.pop((kind, key), None)

    def _delete(self, kind: str, key: str) -> None:
        super()._delete(kind, key)
        if kind == "request":
            self._done.pop(key, None)
        self._finished.pop((kind, key), None)

    def log(self, name: str, record: JsonObject) -> None:
        super().log(name, record)
        records = self._logs[name]
        if len(records) >= 2 * self.keep:  # trimmed in halves: amortised O(1) per record
            del records[:len(records) - self.keep]

    def held(self) -> int:
        """Keyed records held (all kinds): what a bounded run keeps in memory."""
        return sum(len(v) for v in self._kv.values()) + len(self._requests) + len(self._done) + len(self._timers)
