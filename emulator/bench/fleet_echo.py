"""The bare MQTT baseline laid out as the fleet is: the responder (a "hub" answering every message
down with the same payload up, plain aiomqtt, QoS 1) in its own process, the requester in this
one, through the same broker. ``bench wan``'s echo has both ends in one process; the fleet's
DSP and hubs are in separate processes, so this layout is measured too, and both are reported
(with two cores this one is the faster: 980 to 1,311 round trips/s against ~740).

``split_link_echo`` is the same layout through the fleet's own MQTT links (``MqttDspPort`` and
``MqttHubPort``: their outboxes, PUBACK accounting and batched socket I/O, and the WAN messages'
encoding), the responder answering each command with a response carrying the command's bytes:
what the fleet's MQTT alone costs, with no GBCS, HAN or device behind it. Since the links were made
cheaper than plain aiomqtt, this is the stricter baseline: the fleet's ratio is given against it too."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from typing import Any

import aiomqtt

from emulator.bench.wan import _NODELAY, _pct, echo_requests, echo_topics
from emulator.transport.broker import BrokerUrl, EmbeddedBroker
from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort
from emulator.transport.wan import DownMessage, UpMessage
from emulator.transport.wan_messages import Command, DeviceResponse
from emulator.zigbee.eui64 import Eui64

#: The link echo's command: about the size of an SRV 4.1.1 command frame.
LINK_ECHO_GBCS = bytes(range(96))


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


def _link_responder(url: BrokerUrl, hub: bytes, ready: Any, stop: Any) -> None:
    async def main() -> None:
        port = MqttHubPort(url, hub)
        device = Eui64(hub)

        async def on_down(message: DownMessage) -> None:
            if isinstance(message, Command):
                await port.send(DeviceResponse(f"r{message.id}", device, 1, message.gbcs))

        await port.start(on_down)
        ready.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, stop.wait)
        await port.stop()

    asyncio.run(main())


async def _spawned(target: Any, args: tuple[Any, ...], ready: Any) -> Any:
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=target, args=args, daemon=True)
    proc.start()
    if not await asyncio.get_running_loop().run_in_executor(None, ready.wait, 60.0):
        proc.kill()
        raise RuntimeError("the echo responder did not subscribe within 60 s")
    return proc


async def split_link_echo(broker: EmbeddedBroker, n: int, concurrency: int, hub: bytes) -> dict[str, float]:
    """``n`` commands and responses through the fleet's MQTT links, ``concurrency`` outstanding, the
    hub's end in another process."""
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = await _spawned(_link_responder, (broker.hub_url(hub), hub, ready, stop), ready)
    loop = asyncio.get_running_loop()
    waiting: dict[str, asyncio.Future[None]] = {}
    lat: list[float] = []

    async def on_up(_hub: bytes, message: UpMessage) -> None:
        fut = waiting.pop(message.id, None)
        if fut is not None:
            fut.set_result(None)

    port = MqttDspPort(broker.dsp_url())
    await port.start(on_up)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            fut: asyncio.Future[None] = loop.create_future()
            waiting[f"rc{i}"] = fut
            t = time.perf_counter()
            await port.send(hub, Command(f"c{i}", f"c{i}", LINK_ECHO_GBCS))
            await fut
            lat.append(time.perf_counter() - t)

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
    finally:
        await port.stop()
        stop.set()
        await loop.run_in_executor(None, proc.join, 10)
        if proc.is_alive():
            proc.kill()
    return {"round_trips_per_s": n / wall, "p50_ms": _pct(lat, 0.5) * 1000, "p99_ms": _pct(lat, 0.99) * 1000}


async def split_echo(broker: EmbeddedBroker, n: int, concurrency: int, hub: bytes) -> dict[str, float]:
    """``n`` request/response pairs, ``concurrency`` outstanding, the responder in another process."""
    down, up = echo_topics(hub)
    ready = mp.get_context("spawn").Event()
    proc = await _spawned(_responder, (broker.hub_url(hub), down, up, ready), ready)
    try:
        return await echo_requests(broker.dsp_url(), down, up, n, concurrency)
    finally:
        proc.kill()
        await asyncio.get_running_loop().run_in_executor(None, proc.join, 10)
