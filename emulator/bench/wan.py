"""WAN benchmark: SRV round trips end to end (DSP -> MQTT -> CHF -> HAN -> ESME and back) per
second with p50/p99 latency, and in the same run a bare aiomqtt request/response echo through
the same broker; real time, one process, the embedded mosquitto."""

from __future__ import annotations

import asyncio
import math
import socket
import time

import aiomqtt

from emulator.clock import RealClock
from emulator.devices.profile import PremisesProfile
from emulator.gbcs.identities import ESME
from emulator.scenarios.steps import commission, install
from emulator.scenarios.world import SUPPLIER, build_world
from emulator.transport.broker import BrokerUrl, EmbeddedBroker, start_broker
from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort
from emulator.zigbee.jsonvalue import JsonObject

_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.nan


async def echo_requests(dsp_url: BrokerUrl, down: str, up: str, n: int, concurrency: int) -> dict[str, float]:
    """``n`` requests on ``down`` as the DSP, each answered on ``up`` by an echo somewhere,
    ``concurrency`` outstanding: round trips per second and p50/p99 latency."""
    waiting: dict[str, asyncio.Future[None]] = {}
    lat: list[float] = []
    loop = asyncio.get_running_loop()
    async with aiomqtt.Client(dsp_url.host, dsp_url.port, username=dsp_url.username, password=dsp_url.password,
                              socket_options=_NODELAY, max_inflight_messages=1000) as c:
        c.pending_calls_threshold = 100_000
        await c.subscribe(up, qos=1)

        async def reader() -> None:
            async for m in c.messages:
                fut = waiting.pop(bytes(m.payload).decode(), None)
                if fut is not None:
                    fut.set_result(None)

        rtask = asyncio.ensure_future(reader())
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                key = f"m{i}"
                fut: asyncio.Future[None] = loop.create_future()
                waiting[key] = fut
                t = time.perf_counter()
                await c.publish(down, key.encode(), qos=1)
                await fut
                lat.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
        rtask.cancel()
    return {"round_trips_per_s": n / wall, "p50_ms": _pct(lat, 0.5) * 1000, "p99_ms": _pct(lat, 0.99) * 1000}


def echo_topics(hub: bytes) -> tuple[str, str]:
    """The echo's (down, up) topics: a hub's, which the broker's ACL lets the hub and the DSP use."""
    return f"smets2/hubs/{hub.hex().upper()}/down", f"smets2/hubs/{hub.hex().upper()}/up/response"


async def bare_echo(broker: EmbeddedBroker, n: int, concurrency: int, hub: bytes | None = None) -> dict[str, float]:
    """Request/response through the broker with plain aiomqtt, both ends in this process: the floor
    for the WAN (as ``hub``, default any hub the broker knows)."""
    hub = hub if hub is not None else next(iter(broker.hubs))
    hub_url = broker.hub_url(hub)
    down, up = echo_topics(hub)

    async def echo_server(ready: asyncio.Event) -> None:
        async with aiomqtt.Client(hub_url.host, hub_url.port, username=hub_url.username,
                                  password=hub_url.password, socket_options=_NODELAY) as c:
            await c.subscribe(down, qos=1)
            ready.set()
            async for m in c.messages:
                await c.publish(up, bytes(m.payload), qos=1)

    ready = asyncio.Event()
    server = asyncio.ensure_future(echo_server(ready))
    await ready.wait()
    try:
        return await echo_requests(broker.dsp_url(), down, up, n, concurrency)
    finally:
        server.cancel()


async def srv_round_trips(broker: EmbeddedBroker, n: int, concurrency: int) -> dict[str, float]:
    clock = RealClock()
    world = await build_world(clock, [PremisesProfile(gas=None)], dsp_port=MqttDspPort(broker.dsp_url()),
                              hub_port=lambda hub: MqttHubPort(broker.hub_url(hub), hub))
    p = world.premises[0]
    sup = world.users[SUPPLIER]
    await install(world, p, sup)
    await commission(world, p, sup)
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    failures = 0

    async def one() -> None:
        nonlocal failures
        async with sem:
            t = time.perf_counter()
            _, final = await sup.send("11.2", ESME.hex().upper())
            if final is None or final.code != "I0":
                failures += 1
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - t0
    await world.stop()
    return {"round_trips_per_s": n / wall, "p50_ms": _pct(lat, 0.5) * 1000, "p99_ms": _pct(lat, 0.99) * 1000,
            "failures": failures}


async def _run(seconds: float) -> JsonObject:
    from emulator.pki.generate import device_eui

    n = max(200, int(1500 * seconds))
    async with start_broker(hubs={device_eui(0, "CHF")}) as broker:
        srv = await srv_round_trips(broker, n, 64)
        echo = await bare_echo(broker, n, 64)
        return {"broker": broker.kind, "requests": n, "concurrency": 64,
                "srv_round_trips_per_s": round(srv["round_trips_per_s"], 1), "srv_p50_ms": round(srv["p50_ms"], 2),
                "srv_p99_ms": round(srv["p99_ms"], 2), "srv_failures": srv["failures"],
                "echo_round_trips_per_s": round(echo["round_trips_per_s"], 1),
                "echo_p50_ms": round(echo["p50_ms"], 2), "echo_p99_ms": round(echo["p99_ms"], 2),
                "ratio_srv_vs_echo": round(srv["round_trips_per_s"] / echo["round_trips_per_s"], 3),
                "goal_srv_round_trips_per_s": 1200, "goal_ratio": 0.7}


def run(seconds: float = 1.0) -> JsonObject:
    return asyncio.run(_run(seconds))

