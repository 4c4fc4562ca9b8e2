"""Device alerts on demand: the control channel between ``fleet run`` and its hub workers.

``fleet run`` draws alerts from its seeded mix (load_mix.py) as it draws requests, and tells
the worker that holds the premises, one JSON line on the worker's standard input
(``fleet hubs --control stdin``)::

    {"command": "raise-alert", "id": 17, "premises": 3, "device": "ESME", "code": "0x8F57"}

The worker has that meter raise the alert through its own device core (``MeterRunner.raise_alert``:
framed, signed or MACed, and sent over the HAN to its CHF exactly as an alert the meter raises
by itself), and answers on its standard output, next to its ``ready`` and ``stopped`` events::

    {"event": "alert-raised", "id": 17, "device": "<EUI>", "counter": 1767312000123, "at": 5123.456}
    {"event": "alert-refused", "id": 17, "reason": "ESME not joined"}

``device`` and ``counter`` are the alert's GBCS originator and counter, what the DSP will see;
``at`` is ``time.monotonic()`` at the raise (one clock for every process of the machine on
Linux), so the driver can time raise -> DSP. A line that cannot be used is refused with the
reason (a few fixed phrases, so the driver can count them) and the worker goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from emulator.scenarios.world import PremisesRuntime, World

RAISE_ALERT = "raise-alert"
ALERT_RAISED = "alert-raised"
ALERT_REFUSED = "alert-refused"
DEVICES = ("ESME", "GSME")


class ControlError(ValueError):
    """A control line that cannot be used; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    """Driver -> worker: premises ``premises``'s ``device`` raises alert ``code``."""

    id: int
    premises: int
    device: str
    code: int

    def line(self) -> bytes:
        return (json.dumps({"command": RAISE_ALERT, "id": self.id, "premises": self.premises,
                            "device": self.device, "code": f"0x{self.code:04X}"}) + "\n").encode()

    @classmethod
    def parse(cls, line: bytes) -> RaiseAlert:
        try:
            doc = json.loads(line)
        except ValueError as e:
            raise ControlError(f"not JSON: {e}") from None
        if not isinstance(doc, dict) or doc.get("command") != RAISE_ALERT:
            raise ControlError(f"not a {RAISE_ALERT} command")
        ident, premises, device, code = (doc.get(k) for k in ("id", "premises", "device", "code"))
        if not isinstance(ident, int) or isinstance(ident, bool):
            raise ControlError(f"id {ident!r} is not a number")
        if not isinstance(premises, int) or isinstance(premises, bool) or premises < 0:
            raise ControlError(f"premises {premises!r} is not an index")
        if device not in DEVICES:
            raise ControlError(f"device {device!r} is not one of {', '.join(DEVICES)}")
        try:
            value = int(code, 16) if isinstance(code, str) else -1
        except ValueError:
            value = -1
        if not 0 <= value <= 0xFFFF:
            raise ControlError(f"code {code!r} is not an alert code such as 0x8F57")
        return cls(ident, premises, str(device), value)


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """Worker -> driver: the alert went out as GBCS ``counter`` of ``device``, at ``at``."""

    id: int
    device: str
    counter: int
    at: float


@dataclass(frozen=True, slots=True)
class AlertRefused:
    """Worker -> driver: the alert was not raised, and why."""

    id: int
    reason: str


def reply_line(reply: AlertRaised | AlertRefused) -> str:
    if isinstance(reply, AlertRaised):
        return json.dumps({"event": ALERT_RAISED, "id": reply.id, "device": reply.device, "counter": reply.counter,
                           "at": reply.at})
    return json.dumps({"event": ALERT_REFUSED, "id": reply.id, "reason": reply.reason})


def parse_reply(doc: object) -> AlertRaised | AlertRefused | None:
    """A worker's event line (decoded JSON) as a reply; None if it is another event or malformed."""
    if not isinstance(doc, dict):
        return None
    ident = doc.get("id")
    if not isinstance(ident, int):
        return None
    if doc.get("event") == ALERT_RAISED:
        device, counter, at = doc.get("device"), doc.get("counter"), doc.get("at")
        if isinstance(device, str) and isinstance(counter, int) and isinstance(at, int | float):
            return AlertRaised(ident, device, counter, float(at))
    elif doc.get("event") == ALERT_REFUSED:
        return AlertRefused(ident, str(doc.get("reason", "")))
    return None


class AlertControl:
    """The worker's side: raise what the control lines ask on the world's meters, say so on
    ``out`` (a line a reply). :meth:`start` is ``run_hubs``'s ``prepare`` hook."""

    def __init__(self, out: Callable[[str], None] | None = None) -> None:
        self.out = out or _print
        self.world: World | None = None
        self.first = 0
        self.raised = 0
        self.refused = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, world: World) -> None:
        """Hold ``world`` and read standard input (the pipe ``fleet run`` writes) until it ends."""
        self.attach(world)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 16)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        self._task = asyncio.ensure_future(self._read(reader))

    def attach(self, world: World) -> None:
        self.world = world
        self.first = world.premises[0].index if world.premises else 0

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            if line.strip():
                self.out(reply_line(self.handle(line)))

    def handle(self, line: bytes) -> AlertRaised | AlertRefused:
        """One control line: raise the alert, or say why not."""
        try:
            cmd = RaiseAlert.parse(line)
        except ControlError as e:
            self.refused += 1
            return AlertRefused(-1, f"control line refused: {e}")
        why = self._refusal(cmd)
        if why is not None:
            self.refused += 1
            return AlertRefused(cmd.id, why)
        p = self._premises(cmd.premises)
        assert p is not None
        runner = p.esme_runner if cmd.device == "ESME" else p.gsme_runner
        assert runner is not None
        runner.raise_alert(cmd.code)
        at = time.monotonic()
        self.raised += 1
        # The counter the device core just issued to the alert: what the DSP will see.
        return AlertRaised(cmd.id, runner.machine.eui.hex().upper(), runner.machine.endpoint.alert_counter.value, at)

    def _premises(self, index: int) -> PremisesRuntime | None:
        if self.world is None or not 0 <= index - self.first < len(self.world.premises):
            return None
        return self.world.premises[index - self.first]

    def _refusal(self, cmd: RaiseAlert) -> str | None:
        p = self._premises(cmd.premises)
        if p is None:
            return "premises not in this worker"
        runner = p.esme_runner if cmd.device == "ESME" else p.gsme_runner
        if runner is None:
            return f"no {cmd.device} at the premises"
        if not runner.joined.is_set():
            return f"{cmd.device} not joined"
        return None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _print(line: str) -> None:
    print(line, flush=True)
