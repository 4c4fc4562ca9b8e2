"""No asyncio noise at exit (issue 15, item 8): a run cut short leaves no pending task to be
"destroyed" and no handler coroutine "never awaited" (what `run uit --broker mqtt://127.0.0.1:1`
printed before)."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings

import pytest

from emulator.clock import run
from emulator.transport.wan import MemoryWan, WanMessage
from emulator.transport.wan_messages import Command

HUB = bytes.fromhex("00DB1234567890A2")


def test_memory_wan_message_in_flight_when_the_loop_ends_is_never_an_unawaited_coroutine():
    got: list[WanMessage] = []

    async def main() -> None:
        wan = MemoryWan(latency_s=60)  # still on its way when main returns

        async def on_down(message: WanMessage) -> None:
            got.append(message)

        async def on_up(hub: bytes, message: WanMessage) -> None:
            got.append(message)

        await wan.hub_port(HUB).start(on_down)
        dsp = wan.dsp_port()
        await dsp.start(on_up)
        await dsp.send(HUB, Command("c1", "c1", b"\x00"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(main())
        gc.collect()
    assert got == []  # it really was still in flight
    assert not [w for w in caught if "never awaited" in str(w.message)], [str(w.message) for w in caught]


def test_tasks_left_pending_by_an_error_are_cancelled_not_destroyed(caplog: pytest.LogCaptureFixture):
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        asyncio.ensure_future(forever())  # noqa: RUF006 - left behind on purpose
        await asyncio.sleep(0)
        raise ConnectionRefusedError("the broker is not there")

    with caplog.at_level(logging.ERROR, logger="asyncio"), pytest.raises(ConnectionRefusedError):
        run(main())
    gc.collect()
    assert cancelled == [True]
    assert "Task was destroyed" not in caplog.text
