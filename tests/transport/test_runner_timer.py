"""The runners' timer fires the machine only when its deadline is due, however the deadline moves
(later, earlier, cleared), and keeps one loop handle while a moved deadline is no earlier (issue 13:
a handle cancelled and made again per frame filled the loop's heap)."""

from __future__ import annotations

import asyncio

from emulator.clock import VirtualClock, run
from emulator.transport.device_runner import _Timer


def test_the_timer_fires_at_the_deadline_it_was_last_given_and_only_then() -> None:
    async def main() -> None:
        clock = VirtualClock()
        fired: list[float] = []
        timer = _Timer(lambda: fired.append(clock.now()))
        t0 = clock.now()
        timer.arm(t0 + 5, clock)
        first = timer.handle
        timer.arm(t0 + 8, clock)  # later: the same handle stays, fires at 5 and re-arms for 8
        assert timer.handle is first
        await asyncio.sleep(6)
        assert fired == []
        await asyncio.sleep(3)
        assert fired == [t0 + 8]
        timer.arm(clock.now() + 10, clock)
        timer.arm(clock.now() + 2, clock)  # earlier: a new handle
        await asyncio.sleep(3)
        assert fired == [t0 + 8, t0 + 11]
        timer.arm(clock.now() + 1, clock)
        timer.arm(None, clock)  # cleared: the handle fires and finds nothing due
        await asyncio.sleep(2)
        assert len(fired) == 2 and timer.handle is None
        timer.arm(clock.now() + 1, clock)
        timer.cancel()
        assert timer.handle is None
        await asyncio.sleep(2)
        assert len(fired) == 2

    run(main())


def test_a_deadline_moved_later_on_every_frame_keeps_one_handle() -> None:
    async def main() -> None:
        clock = VirtualClock()
        fired: list[float] = []
        timer = _Timer(lambda: fired.append(clock.now()))
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]
        for i in range(100):  # a command sets a resend deadline, its answer clears it
            timer.arm(clock.now() + 5 + i * 0.01, clock)
            timer.arm(None, clock)
        assert len(loop._scheduled) - before == 1  # type: ignore[attr-defined]
        await asyncio.sleep(10)
        assert fired == []

    run(main())
