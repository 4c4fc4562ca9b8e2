"""Asynchronous DUIS delivery: signed responses and alerts POSTed to each user's endpoint.

A durable outbox (SQLite, committed before :meth:`DeliveryQueue.enqueue` returns) holds every
document in the order it was produced. One worker per user POSTs that user's documents one at
a time, oldest first, with aiohttp, and retries the head of the queue with exponential backoff
until the endpoint answers 2xx: in order per user, and a DSP restart resumes where it stopped.
The outbox is also the delivery log the SSI shows. The bytes stored are the signed bytes sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from emulator.clock import Clock

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS duis_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
  body BLOB NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  delivered REAL, last_result TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS duis_outbox_pending ON duis_outbox (user, delivered, seq);
"""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the delivery log."""

    seq: int
    user: str
    kind: str  # response, device-alert, dcc-alert
    ref: str  # RequestID or ResponseID
    created: float
    attempts: int
    delivered: float | None
    last_result: str


class DeliveryQueue:
    def __init__(self, path: Path | str, endpoints: Mapping[str, str], clock: Clock, *,
                 first_retry_s: float = 0.5, max_retry_s: float = 60.0, timeout_s: float = 10.0) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.endpoints = {k.upper(): v for k, v in endpoints.items()}
        self.clock = clock
        self.first_retry_s, self.max_retry_s = first_retry_s, max_retry_s
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    # --- the outbox ------------------------------------------------------------------------------
    def enqueue(self, user: str, kind: str, ref: str, body: bytes) -> int:
        """Store a signed document for ``user`` (durable on return) and wake its worker."""
        cur = self.db.execute("INSERT INTO duis_outbox (user, kind, ref, body, created) VALUES (?, ?, ?, ?, ?)",
                              (user.upper(), kind, ref, body, self.clock.now()))
        seq = int(cur.lastrowid or 0)
        wake = self._wake.get(user.upper())
        if wake is not None:
            wake.set()
        return seq

    def log(self, limit: int = 200) -> list[Delivery]:
        rows = self.db.execute("SELECT seq, user, kind, ref, created, attempts, delivered, last_result "
                               "FROM duis_outbox ORDER BY seq DESC LIMIT ?", (limit,))
        return [Delivery(*row) for row in rows]

    def pending(self, user: str | None = None) -> int:
        if user is None:
            return int(self.db.execute("SELECT COUNT(*) FROM duis_outbox WHERE delivered IS NULL").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM duis_outbox WHERE delivered IS NULL AND user = ?",
                                   (user.upper(),)).fetchone()[0])

    def body(self, seq: int) -> bytes:
        row = self.db.execute("SELECT body FROM duis_outbox WHERE seq = ?", (seq,)).fetchone()
        return bytes(row[0]) if row else b""

    def _head(self, user: str) -> tuple[int, bytes, int] | None:
        row = self.db.execute("SELECT seq, body, attempts FROM duis_outbox WHERE user = ? AND delivered IS NULL "
                              "ORDER BY seq LIMIT 1", (user,)).fetchone()
        return (int(row[0]), bytes(row[1]), int(row[2])) if row else None

    def _note(self, seq: int, ok: bool, result: str) -> None:
        self.db.execute("UPDATE duis_outbox SET attempts = attempts + 1, last_result = ?, delivered = ? WHERE seq = ?",
                        (result, self.clock.now() if ok else None, seq))

    # --- the workers -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        for user in self.endpoints:
            self._wake[user] = asyncio.Event()
            self._workers[user] = asyncio.ensure_future(self._run(user))

    async def stop(self) -> None:
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        self.db.close()

    async def _run(self, user: str) -> None:
        url, wake = self.endpoints[user], self._wake[user]
        while True:
            head = self._head(user)
            if head is None:
                wake.clear()
                if self._head(user) is None:
                    await wake.wait()
                continue
            seq, body, attempts = head
            ok, result = await self._post(url, body)
            self._note(seq, ok, result)
            if not ok:
                delay = min(self.max_retry_s, self.first_retry_s * 2 ** min(attempts, 16))
                log.info("DUIS delivery %d to %s failed (%s): retry in %.1f s", seq, user, result, delay)
                await asyncio.sleep(delay)

    async def _post(self, url: str, body: bytes) -> tuple[bool, str]:
        assert self._session is not None
        try:
            async with self._session.post(url, data=body, headers={"Content-Type": "application/xml"}) as r:
                await r.read()
                return 200 <= r.status < 300, f"HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            return False, f"{type(e).__name__}: {e}"[:200]
