"""Where the DSP keeps its state: an interface, an in-memory implementation, and (in
``store.py``) SQLite. The core writes through the repository before it answers, so
nothing it acknowledged is lost on restart (RM-12)."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from emulator.dsp.model import Device, Premises, RequestRecord

LOGS = ("sat", "diagnostics", "audit", "firmware", "responses", "csp")


class Repository(ABC):
    @abstractmethod
    def device(self, eui: str) -> Device | None: ...

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

    @abstractmethod
    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """A small keyed record: request state, counters, install-code exchanges."""

    @abstractmethod
    def put(self, kind: str, key: str, value: dict[str, Any]) -> None: ...

    @abstractmethod
    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...

    @abstractmethod
    def delete(self, kind: str, key: str) -> None: ...

    def request(self, request_id: str) -> RequestRecord | None:
        doc = self.get("request", request_id)
        return RequestRecord.from_doc(doc) if doc is not None else None

    def put_request(self, record: RequestRecord) -> None:
        self.put("request", record.request_id, record.to_doc())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes inside happen together or not at all (a durable store commits them at the end)."""
        yield

    @abstractmethod
    def log(self, name: str, record: dict[str, Any]) -> None:
        """Append to one of ``LOGS``."""

    @abstractmethod
    def read_log(self, name: str) -> list[dict[str, Any]]: ...


class MemoryRepository(Repository):
    def __init__(self) -> None:
        self._devices: dict[str, Device] = {}
        self._premises: dict[str, Premises] = {}
        self._kv: dict[str, dict[str, dict[str, Any]]] = {}
        self._logs: dict[str, list[dict[str, Any]]] = {name: [] for name in LOGS}

    def device(self, eui: str) -> Device | None:
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

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        return self._kv.get(kind, {}).get(key)

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        self._kv.setdefault(kind, {})[key] = value

    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return list(self._kv.get(kind, {}).items())

    def delete(self, kind: str, key: str) -> None:
        self._kv.get(kind, {}).pop(key, None)

    def log(self, name: str, record: dict[str, Any]) -> None:
        if name not in self._logs:
            raise KeyError(f"unknown log {name!r}; logs are {LOGS}")
        self._logs[name].append(record)

    def read_log(self, name: str) -> list[dict[str, Any]]:
        return list(self._logs.get(name, []))
