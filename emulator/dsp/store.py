"""SQLite repository: the DSP's durable state (RM-12). An adapter: it does file I/O.

Writes are committed before the call returns, so a restarted DSP finds every flag,
log line and inventory change it had acknowledged. WAL mode keeps writers quick.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from emulator.dsp.jsondoc import loads_object
from emulator.dsp.model import Device, Premises, Region, Status
from emulator.dsp.repository import LOGS, Repository
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.jsonvalue import JsonObject

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (eui TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS premises (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kv (kind TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_name ON logs (name, seq);
"""


class SqliteRepository(Repository):
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk (fsync) before the call returns, so a DSP killed right after
        # acknowledging a flag change still has it (RM-12).
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self._devices: dict[Eui64, Device] = {}
        for (doc,) in self.db.execute("SELECT doc FROM devices"):
            d = json.loads(doc)
            d["status"] = Status(d["status"])
            d["eui"] = Eui64.from_hex(d["eui"])
            d["paired_gsme"] = Eui64.from_hex(d["paired_gsme"]) if d.get("paired_gsme") else None
            dev = Device(**d)
            self._devices[dev.eui] = dev

    def close(self) -> None:
        self.db.close()

    def device(self, eui: Eui64) -> Device | None:
        return self._devices.get(eui)

    def put_device(self, device: Device) -> None:
        doc = dataclasses.asdict(device)
        doc.update(status=device.status.value, eui=str(device.eui),
                   paired_gsme=str(device.paired_gsme) if device.paired_gsme else None)
        self.db.execute("INSERT OR REPLACE INTO devices VALUES (?, ?)", (str(device.eui), json.dumps(doc)))
        self._devices[device.eui] = device

    def devices(self) -> list[Device]:
        return list(self._devices.values())

    def premises(self, pid: str) -> Premises | None:
        row = self.db.execute("SELECT doc FROM premises WHERE id = ?", (pid,)).fetchone()
        return _premises(row[0]) if row else None

    def put_premises(self, premises: Premises) -> None:
        doc = dataclasses.asdict(premises)
        doc.update(region=premises.region.value, hub=str(premises.hub))
        self.db.execute("INSERT OR REPLACE INTO premises VALUES (?, ?)", (premises.id, json.dumps(doc)))

    def all_premises(self) -> list[Premises]:
        return [_premises(doc) for (doc,) in self.db.execute("SELECT doc FROM premises ORDER BY id")]

    def _get(self, table: str, key: str) -> JsonObject | None:
        row = self.db.execute("SELECT doc FROM kv WHERE kind = ? AND key = ?", (table, key)).fetchone()
        return loads_object(row[0], f"{table} {key}") if row else None

    def _put(self, table: str, key: str, doc: JsonObject) -> None:
        self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (table, key, json.dumps(doc)))

    def _items(self, table: str) -> list[tuple[str, JsonObject]]:
        return [(k, loads_object(d, f"{table} {k}"))
                for k, d in self.db.execute("SELECT key, doc FROM kv WHERE kind = ?", (table,))]

    def _delete(self, table: str, key: str) -> None:
        self.db.execute("DELETE FROM kv WHERE kind = ? AND key = ?", (table, key))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction (nested calls join the outer one)."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def log(self, name: str, record: JsonObject) -> None:
        if name not in LOGS:
            raise KeyError(f"unknown log {name!r}; logs are {LOGS}")
        self.db.execute("INSERT INTO logs (name, doc) VALUES (?, ?)", (name, json.dumps(record)))

    def read_log(self, name: str) -> list[JsonObject]:
        rows = self.db.execute("SELECT doc FROM logs WHERE name = ? ORDER BY seq", (name,))
        return [loads_object(d, f"{name} log") for (d,) in rows]


def _premises(doc: str) -> Premises:
    d = json.loads(doc)
    d.update(region=Region(d["region"]), hub=Eui64.from_hex(d["hub"]))
    return Premises(**d)
