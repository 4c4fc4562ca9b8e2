"""The bare MQTT baseline laid out as the fleet is: the responder (a "hub" answering every message
down with the same payload up, plain aiomqtt, QoS 1) in its own process, the requester in this
one, through the same broker. ``bench wan``'s echo has both ends in one process; the fleet's
DSP and hubs are in separate processes, so this layout is measured too, and both are reported
(with two cores this one is the faster: 980 to 1,311 round trips/s against ~740)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from typing import Any

import aiomqtt

from emulator.bench.wan import _NODELAY, echo_requests, echo_topics
from emulator.transport.broker import BrokerUrl, EmbeddedBroker


def _responder(url: BrokerUrl, down: str, up: str, ready: Any) -> None:
    async def main() -> None:
        async with aiomqtt.Client(url.host, url.port, username=url.username, password=url.password,
                                  socket_options=_NODELAY, max_inflight_messages=1000) as c:
            c.pending_calls_threshold = 100_000
            await c.subscribe(down, qos=1)
            ready.set()
            async for m in c.messages:
                await c.publish(up, bytes(m.payload), qos=1)

    asyncio.run(main())


async def split_echo(broker: EmbeddedBroker, n: int, concurrency: int, hub: bytes) -> dict[str, float]:
    """``n`` request/response pairs, ``concurrency`` outstanding, the responder in another process."""
    down, up = echo_topics(hub)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_responder, args=(broker.hub_url(hub), down, up, ready), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    try:
        if not await loop.run_in_executor(None, ready.wait, 60.0):
            raise RuntimeError("the echo responder did not subscribe within 60 s")
        return await echo_requests(broker.dsp_url(), down, up, n, concurrency)
    finally:
        proc.kill()
        await loop.run_in_executor(None, proc.join, 10)
