"""The WAN boundary between hubs and the DSP, and its in-memory implementation.

Messages are the frozen dataclasses of :mod:`emulator.transport.wan_messages` (JSON on MQTT):
down ``command`` (GBCS + request id), ``firmware`` (an OTA file for the hub to hold, with its
target devices) and ``ack``; up ``response`` and ``alert`` (GBCS, device, counter) and events
(joins, refused joins, unreachable devices). Every message carries an ``id`` so receivers drop
repeats (WN-1). The in-memory WAN hands the objects over as they are.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from emulator.transport.wan_messages import DownMessage, UpMessage, WanMessage

__all__ = ["DownHandler", "DownMessage", "DspPort", "HubPort", "MemoryWan", "UpHandler", "UpMessage", "WanMessage"]

UpHandler = Callable[[bytes, UpMessage], Awaitable[None]]  # (hub EUI, message)
DownHandler = Callable[[DownMessage], Awaitable[None]]


class DspPort(ABC):
    """What the DSP service needs of the WAN."""

    @abstractmethod
    async def start(self, on_up: UpHandler) -> None: ...

    @abstractmethod
    async def send(self, hub: bytes, message: DownMessage) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...


class HubPort(ABC):
    """What a hub (CHF adapter) needs of the WAN."""

    @abstractmethod
    async def start(self, on_down: DownHandler) -> None: ...

    @abstractmethod
    async def send(self, message: UpMessage) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...


class MemoryWan:
    """Hubs and a DSP in one process, no broker: for unit tests and single-process fleets."""

    def __init__(self, latency_s: float = 0.001) -> None:
        self.latency_s = latency_s
        self.dsp_handler: UpHandler | None = None
        self.hubs: dict[bytes, DownHandler] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last: dict[bytes, float] = {}

    def _later(self, deliver_to: Callable[[], Awaitable[None]], dest: bytes = b"") -> None:
        # Per destination FIFO, as a broker keeps order per topic: asyncio orders timers due at
        # the same instant arbitrarily, so each delivery is due strictly after the previous one.
        loop = asyncio.get_running_loop()
        when = max(loop.time() + self.latency_s, self._last.get(dest, 0.0) + 1e-6)
        self._last[dest] = when

        def deliver() -> None:
            # The handler's coroutine is made only now: one made at send time and never run (the
            # loop closed first) would be reported at exit as "never awaited".
            task = asyncio.ensure_future(deliver_to())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        loop.call_at(when, deliver)

    def dsp_port(self) -> DspPort:
        return _MemoryDsp(self)

    def hub_port(self, hub: bytes) -> HubPort:
        return _MemoryHub(self, hub)


class _MemoryDsp(DspPort):
    def __init__(self, wan: MemoryWan) -> None:
        self.wan = wan

    async def start(self, on_up: UpHandler) -> None:
        self.wan.dsp_handler = on_up

    async def send(self, hub: bytes, message: DownMessage) -> None:
        handler = self.wan.hubs.get(hub)
        if handler is None:
            raise ConnectionError(f"hub {hub.hex().upper()} is not connected to the WAN")
        self.wan._later(lambda: handler(message), hub)

    async def stop(self) -> None:
        self.wan.dsp_handler = None


class _MemoryHub(HubPort):
    def __init__(self, wan: MemoryWan, hub: bytes) -> None:
        self.wan = wan
        self.hub = hub

    async def start(self, on_down: DownHandler) -> None:
        self.wan.hubs[self.hub] = on_down

    async def send(self, message: UpMessage) -> None:
        handler = self.wan.dsp_handler
        if handler is not None:
            self.wan._later(lambda: handler(self.hub, message), b"dsp")

    async def stop(self) -> None:
        self.wan.hubs.pop(self.hub, None)
