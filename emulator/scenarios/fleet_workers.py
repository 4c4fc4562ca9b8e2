"""The worker processes of ``fleet run``: each is ``smets2-emu fleet hubs`` (the existing role,
unchanged) over a premises range, started, watched, killed and started again here.

A worker prints one JSON line ``{"event": "ready", ...}`` once its hubs are on the broker, and
``{"event": "stopped", ...}`` when it ends; its standard error is kept (the last lines) to say
why one failed. Memory is read from ``/proc/<pid>/status`` (VmRSS now, VmHWM peak).

With ``control``, the worker is started with ``--control stdin``: :meth:`Worker.send` writes the
driver's alert commands to its standard input, and its answers (alert_control.py) go to
``on_reply``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.scenarios.alert_control import AlertRaised, AlertRefused, parse_reply
from emulator.scenarios.fleet import HUB_SECRET_ENV
from emulator.transport.broker import BrokerError

#: A ready line lists every hub of the worker: 20,000 EUIs are ~400 KB on one line.
LINE_LIMIT = 1 << 24


def split(premises: int, workers: int) -> list[tuple[int, int]]:
    """(first, count) per worker: disjoint, in order, sizes differing by at most one."""
    if workers < 1 or workers > premises:
        raise ValueError(f"--workers must be 1 to the number of premises ({premises}), not {workers}")
    base, extra = divmod(premises, workers)
    out, first = [], 0
    for w in range(workers):
        count = base + (1 if w < extra else 0)
        out.append((first, count))
        first += count
    return out


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KB; (0, 0) if it is gone or this is not Linux."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def kb(name: str) -> int:
        return int(fields.get(name, "0 kB").split()[0])

    return kb("VmRSS"), kb("VmHWM")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


@dataclass(slots=True)
class Worker:
    index: int
    first: int
    count: int
    broker: str
    seed: int
    hub_secret: bytes | None
    gsme_wake_s: float
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0
    ready_s: float = 0.0
    starts: int = 0
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    stopped: dict[str, Any] = field(default_factory=dict)
    control: bool = False
    on_reply: Callable[[AlertRaised | AlertRefused], None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        env = dict(os.environ)
        if self.hub_secret is not None:
            env[HUB_SECRET_ENV] = self.hub_secret.hex()
        self._ready = asyncio.Event()
        self.started = time.perf_counter()
        self.starts += 1
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "emulator", "fleet", "hubs", "--broker", self.broker, "--first", str(self.first),
            "--count", str(self.count), "--seed", str(self.seed), "--gsme-wake", f"{self.gsme_wake_s:g}",
            *(["--control", "stdin"] if self.control else []),
            env=env, stdin=asyncio.subprocess.PIPE if self.control else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT)
        self._readers = [asyncio.ensure_future(self._read_stdout(self.proc)),
                         asyncio.ensure_future(self._read_stderr(self.proc))]

    async def _read_stdout(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            with contextlib.suppress(ValueError):
                doc = json.loads(line)
                if isinstance(doc, dict) and doc.get("event") == "ready":
                    self.ready_s = time.perf_counter() - self.started
                    self._ready.set()
                elif isinstance(doc, dict) and doc.get("event") == "stopped":
                    self.stopped = doc
                elif self.on_reply is not None and (reply := parse_reply(doc)) is not None:
                    self.on_reply(reply)

    async def _read_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            self.stderr_tail.append(line.decode(errors="replace").rstrip())

    async def wait_ready(self, timeout: float) -> None:
        """Until the worker says ready; :class:`BrokerError` with its last words if it ends or is late."""
        assert self.proc is not None
        ready = asyncio.ensure_future(self._ready.wait())
        ended = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait({ready, ended}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            ended.cancel()
        if self._ready.is_set():
            return
        await asyncio.sleep(0)  # let the readers take the last lines
        why = " | ".join(list(self.stderr_tail)[-3:]) or "no output"
        state = f"exited with status {self.proc.returncode}" if self.proc.returncode is not None else \
            f"not ready after {timeout:g} s"
        raise BrokerError(f"worker {self.index} (premises {self.first}..{self.first + self.count - 1}) {state}: {why}")

    def send(self, line: bytes) -> bool:
        """Write a control line to the worker (``control``); False if it is not running to take it."""
        proc = self.proc
        if proc is None or proc.returncode is not None or proc.stdin is None or proc.stdin.is_closing():
            return False
        try:
            proc.stdin.write(line)
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            return False
        return True

    def cpu_s(self) -> float:
        return cpu_s(self.proc.pid) if self.proc is not None and self.proc.returncode is None else 0.0

    def memory_kb(self) -> tuple[int, int]:
        return memory_kb(self.proc.pid) if self.proc is not None and self.proc.returncode is None else (0, 0)

    async def kill(self) -> None:
        """SIGKILL: the worker dies as a crashed machine would, saying nothing."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self._join_readers()

    async def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a clean stop: the worker prints its report), SIGKILL after ``timeout``."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._join_readers()

    async def _join_readers(self) -> None:
        for task in self._readers:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
        self._readers = []
