"""Time for the emulator: real wall-clock time, or accelerated virtual time.

The sans-IO cores never read a clock: they take ``now`` (seconds since 1970, UTC)
as an argument and report their next deadline. Only the asyncio adapters ask a
:class:`Clock` for ``now()`` and sleep with ``asyncio.sleep``.

Virtual time is an event loop whose clock jumps to the next timer when nothing is
runnable. Real I/O still works: before jumping, the loop polls its sockets for a
short real *grace* period, so a reply from a broker on loopback arrives before a
time-out that is due later in virtual time. That keeps the whole stack (MQTT,
SQLite, subprocesses) on one loop, with no patched ``sleep`` anywhere.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

T = TypeVar("T")

#: 2026-01-01T00:00:00Z: where virtual runs start unless told otherwise (reproducible dates).
DEFAULT_VIRTUAL_START = 1767225600.0


class Clock(ABC):
    """What an adapter needs of time."""

    @abstractmethod
    def now(self) -> float:
        """Seconds since 1970-01-01 UTC on this clock."""

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(max(0.0, delay))

    async def sleep_until(self, when: float) -> None:
        await self.sleep(when - self.now())

    @property
    def virtual(self) -> bool:
        return False


class RealClock(Clock):
    """Wall-clock time (``--realtime``)."""

    def now(self) -> float:
        return time.time()


class _JumpingSelector(selectors.BaseSelector):
    """Wraps the loop's real selector; turns idle waits into virtual-time jumps."""

    def __init__(self, real: selectors.BaseSelector, loop: VirtualTimeLoop, grace: float) -> None:
        self._real = real
        self._loop = loop
        self._grace = grace

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return self._real.select(0)
        if self._loop.executor_jobs:
            # A thread is working for the loop (aiomqtt connects in one): its result arrives
            # through the self-pipe in real time, so wait in real time, briefly, and do not jump.
            return self._real.select(0.01 if timeout is None else min(timeout, 0.01))
        # Only the loop's own wake-up pipe registered: no real I/O can arrive, jump at once.
        # Otherwise wait a little real time for I/O in flight; a long jump (past a time-out)
        # waits longer than a short one (a poll interval), which costs nothing if it is early.
        # (epoll counts in whole milliseconds, so anything between 0 and 1 ms costs 1 ms.)
        if len(self._real.get_map()) <= 1:
            grace = 0.0
        elif self._loop.io_waiting():
            grace = self._grace if timeout is None or timeout > 1.0 else 0.001
        elif timeout is None or timeout <= 1.0:
            grace = 0.0  # nothing awaited and a short jump (a poll interval): take what has arrived, go
        else:
            grace = 0.001 if timeout < 60 else self._grace
        ready = self._real.select(grace)
        if ready:
            return ready
        if timeout is None:
            # Nothing scheduled at all: wait for real I/O (a subprocess, a socket).
            return self._real.select(None)
        self._loop.advance(timeout)
        return []

    def register(self, fileobj: FileDescriptorLike, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: FileDescriptorLike, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def close(self) -> None:
        self._real.close()

    def get_key(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._real.get_key(fileobj)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._real.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual and jumps over idle waits."""

    def __init__(self, grace: float = 0.005) -> None:
        super().__init__()
        self._virtual_now = 0.0
        self.executor_jobs = 0
        self.io_pending = 0  # adapters count replies they await (e.g. an MQTT PUBACK)
        # Adapters whose I/O the selector cannot see in flight (a pty's line discipline) say so here.
        self.io_probes: list[Callable[[], bool]] = []
        real = self._selector  # type: ignore[has-type]
        self._selector = _JumpingSelector(real, self, grace)

    def time(self) -> float:
        return self._virtual_now

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        self.executor_jobs += 1
        fut = super().run_in_executor(executor, func, *args)
        fut.add_done_callback(self._executor_done)
        return fut

    def _executor_done(self, _: asyncio.Future[Any]) -> None:
        self.executor_jobs -= 1

    def io_waiting(self) -> bool:
        return bool(self.io_pending) or any(probe() for probe in self.io_probes)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (never back)."""
        if seconds > 0:
            self._virtual_now += seconds


class VirtualClock(Clock):
    """Virtual time on a :class:`VirtualTimeLoop`: ``now()`` = ``start`` + loop time."""

    def __init__(self, start: float = DEFAULT_VIRTUAL_START) -> None:
        self.start = start

    def now(self) -> float:
        loop = asyncio.get_running_loop()
        if not isinstance(loop, VirtualTimeLoop):
            raise RuntimeError("VirtualClock needs a VirtualTimeLoop (use emulator.clock.run)")
        return self.start + loop.time()

    @property
    def virtual(self) -> bool:
        return True


class ManualClock(Clock):
    """A clock the caller moves by hand: for pumping sans-IO cores in tests without asyncio."""

    def __init__(self, start: float = DEFAULT_VIRTUAL_START) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t

    @property
    def virtual(self) -> bool:
        return True


def run(coro: Coroutine[Any, Any, T], *, virtual: bool = True) -> T:
    """Run ``coro`` on a virtual-time loop (default) or a normal loop (real time)."""
    if not virtual:
        return asyncio.run(coro)
    loop = VirtualTimeLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending when the main coroutine ends (an error cut a run short) and let
    them finish, as ``asyncio.run`` does: no "Task was destroyed but it is pending!" at exit."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


async def until(condition: Callable[[], bool], timeout: float, *, every: float = 0.05) -> bool:
    """Wait for ``condition()`` to hold: True as soon as it does, False if it still does not after
    ``timeout`` seconds of the running loop's clock (virtual or real). Callers say what failed:
    ``assert await until(lambda: ..., 60), f"... not within 60 s: {state}"``.

    How everything waits for something to happen (never a fixed sleep): a loaded machine only
    makes the wait longer, and a deadline turns a hang into a failure that names the condition.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() >= deadline:
            return bool(condition())
        await asyncio.sleep(min(every, max(0.0, deadline - loop.time())))
    return True


async def hold(seconds: float) -> None:
    """Serve for ``seconds``, or until cancelled (Ctrl-C) when ``seconds`` is 0."""
    if seconds:
        await asyncio.sleep(seconds)
    else:
        await asyncio.Event().wait()


class awaiting_io:
    """Tell a virtual-time loop that a reply is on its way, so it waits for it before jumping."""

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop):
            loop.io_pending += 1

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop):
            loop.io_pending -= 1


def make_clock(virtual: bool, start: float = DEFAULT_VIRTUAL_START) -> Clock:
    return VirtualClock(start) if virtual else RealClock()
