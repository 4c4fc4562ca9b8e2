"""Where the DSP keeps its state: an interface, an in-memory implementation, and (in
``store.py``) SQLite. The core writes through the repository before it answers, so
nothing it acknowledged is lost on restart (RM-12).

Every record has its own typed methods (``request``/``put_request``, ``schedule``/...); under
them, an implementation stores small keyed JSON documents by table (``_get``/``_put``), which
nothing outside the repositories sees."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator

from emulator.dsp.jsondoc import integer, number, text
from emulator.dsp.model import (
    CodeExchange,
    Device,
    Due,
    DueEntry,
    FirmwareDistribution,
    Issued,
    Premises,
    RequestRecord,
    Schedule,
)
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.jsonvalue import JsonObject

LOGS = ("sat", "diagnostics", "audit", "firmware", "responses", "csp")


class Repository(ABC):
    @abstractmethod
    def device(self, eui: Eui64) -> Device | None: ...

    def device_named(self, text: str) -> Device | None:
        """The device whose EUI ``text`` writes (hex, or DUIS's hyphenated pairs); None if none is."""
        eui = Eui64.from_hex_or_none(text)
        return self.device(eui) if eui is not None else None

    @abstractmethod
    def put_device(self, device: Device) -> None: ...

    @abstractmethod
    def devices(self) -> list[Device]: ...

    @abstractmethod
    def premises(self, pid: str) -> Premises | None: ...

    @abstractmethod
    def put_premises(self, premises: Premises) -> None: ...

    @abstractmethod
    def all_premises(self) -> list[Premises]: ...

    # --- the storage under the typed records: keyed JSON documents by table -----------------
    @abstractmethod
    def _get(self, table: str, key: str) -> JsonObject | None: ...

    @abstractmethod
    def _put(self, table: str, key: str, doc: JsonObject) -> None: ...

    @abstractmethod
    def _items(self, table: str) -> list[tuple[str, JsonObject]]: ...

    @abstractmethod
    def _delete(self, table: str, key: str) -> None: ...

    # --- typed records ------------------------------------------------------------------------
    def request(self, request_id: str) -> RequestRecord | None:
        doc = self._get("request", request_id)
        return RequestRecord.from_doc(doc) if doc is not None else None

    def put_request(self, record: RequestRecord) -> None:
        self._put("request", record.request_id, record.to_doc())

    def last_counter(self, user: str) -> int | None:
        """The highest RequestID counter ``user`` has sent (replays are refused, E2)."""
        doc = self._get("counter", user)
        return integer(doc, "value") if doc is not None else None

    def put_last_counter(self, user: str, counter: int) -> None:
        self._put("counter", user, {"value": counter})

    def schedule(self, schedule_id: str) -> Schedule | None:
        doc = self._get("schedule", schedule_id)
        return _schedule(schedule_id, doc) if doc is not None else None

    def put_schedule(self, schedule: Schedule) -> None:
        self._put("schedule", schedule.schedule_id, schedule.to_doc())

    def schedules(self) -> list[Schedule]:
        return [_schedule(sid, doc) for sid, doc in self._items("schedule")]

    def code_exchange(self, exchange_id: str) -> CodeExchange | None:
        doc = self._get("install-code", exchange_id)
        return CodeExchange.from_doc({"exchange_id": exchange_id, **doc}) if doc is not None else None

    def put_code_exchange(self, exchange: CodeExchange) -> None:
        self._put("install-code", exchange.exchange_id, exchange.to_doc())

    def code_exchanges(self) -> list[CodeExchange]:
        return [CodeExchange.from_doc({"exchange_id": xid, **doc}) for xid, doc in self._items("install-code")]

    def precommand(self, key: str) -> Issued | None:
        """The Pre-Command issued as the frame ``key`` (:func:`~emulator.dsp.model.frame_key`)."""
        doc = self._get("precommand", key)
        return Issued.from_doc(doc) if doc is not None else None

    def put_precommand(self, record: Issued) -> None:
        self._put("precommand", record.key, record.to_doc())

    def put_firmware_distribution(self, record: FirmwareDistribution) -> None:
        self._put("firmware-distribution", f"{record.request_id}#{record.hub}", record.to_doc())

    def timers(self) -> list[DueEntry]:
        return [DueEntry(number(doc, "at"), Due(text(doc, "kind")), text(doc, "key")) for _, doc in self._items("due")]

    def put_timer(self, entry: DueEntry) -> None:
        doc: JsonObject = {"kind": entry.kind.value, "key": entry.key, "at": entry.at}
        self._put("due", f"{entry.kind.value}|{entry.key}", doc)

    def delete_timer(self, kind: Due, key: str) -> None:
        self._delete("due", f"{kind.value}|{key}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside happen together or not at all (a durable store commits them at the end)."""
        yield

    @abstractmethod
    def log(self, name: str, record: JsonObject) -> None:
        """Append to one of ``LOGS``."""

    @abstractmethod
    def read_log(self, name: str) -> list[JsonObject]: ...


def _schedule(schedule_id: str, doc: JsonObject) -> Schedule:
    # A store written before the records were typed keyed a schedule by its id only and named its
    # class "class": it still loads.
    return Schedule.from_doc({"schedule_id": schedule_id, "srv_class": doc.get("class", ""), **doc})


class MemoryRepository(Repository):
    def __init__(self) -> None:
        self._devices: dict[Eui64, Device] = {}
        self._premises: dict[str, Premises] = {}
        self._kv: dict[str, dict[str, JsonObject]] = {}
        self._logs: dict[str, list[JsonObject]] = {name: [] for name in LOGS}
        # Request records are held as records (a copy in, a copy out), not as JSON documents: every
        # SRV writes its record twice and reads it once, and converting it to and from JSON cost more
        # than the rest of the core's bookkeeping. A document put under "request" still reads back.
        self._requests: dict[str, RequestRecord] = {}
        # The due timers, as the entries they are (immutable): each SRV sets two and clears them.
        self._timers: dict[tuple[Due, str], DueEntry] = {}

    def timers(self) -> list[DueEntry]:
        return list(self._timers.values()) + super().timers()

    def put_timer(self, entry: DueEntry) -> None:
        if "due" in self._kv:  # a document put under "due" for the same timer: this replaces it
            super().delete_timer(entry.kind, entry.key)
        self._timers[(entry.kind, entry.key)] = entry

    def delete_timer(self, kind: Due, key: str) -> None:
        self._timers.pop((kind, key), None)
        if "due" in self._kv:
            super().delete_timer(kind, key)

    def request(self, request_id: str) -> RequestRecord | None:
        held = self._requests.get(request_id)
        return held.copy() if held is not None else super().request(request_id)

    def put_request(self, record: RequestRecord) -> None:
        if "request" in self._kv:
            self._kv["request"].pop(record.request_id, None)
        self._requests[record.request_id] = record.copy()

    def device(self, eui: Eui64) -> Device | None:
        return self._devices.get(eui)

    def put_device(self, device: Device) -> None:
        self._devices[device.eui] = device

    def devices(self) -> list[Device]:
        return list(self._devices.values())

    def premises(self, pid: str) -> Premises | None:
        return self._premises.get(pid)

    def put_premises(self, premises: Premises) -> None:
        self._premises[premises.id] = premises

    def all_premises(self) -> list[Premises]:
        return list(self._premises.values())

    def _get(self, table: str, key: str) -> JsonObject | None:
        held = self._requests.get(key) if table == "request" else None
        return held.to_doc() if held is not None else self._kv.get(table, {}).get(key)

    def _put(self, table: str, key: str, doc: JsonObject) -> None:
        if table == "request":
            self._requests.pop(key, None)
        self._kv.setdefault(table, {})[key] = doc

    def _items(self, table: str) -> list[tuple[str, JsonObject]]:
        held = [(k, r.to_doc()) for k, r in self._requests.items()] if table == "request" else []
        return list(self._kv.get(table, {}).items()) + held

    def _delete(self, table: str, key: str) -> None:
        if table == "request":
            self._requests.pop(key, None)
        self._kv.get(table, {}).pop(key, None)

    def log(self, name: str, record: JsonObject) -> None:
        if name not in self._logs:
            raise KeyError(f"unknown log {name!r}; logs are {LOGS}")
        self._logs[name].append(record)

    def read_log(self, name: str) -> list[JsonObject]:
        return list(self._logs.get(name, []))
