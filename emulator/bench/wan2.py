"""The WAN benchmark with the hub side in a second process (both cores): SRV round trips,
DSP -> MQTT -> CHF -> HAN -> ESME and back, and the bare echo done the same way."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import socket
import time
from typing import Any

import aiomqtt

from emulator.bench.wan import _pct
from emulator.clock import RealClock
from emulator.devices.profile import PremisesProfile
from emulator.dsp.core import Dsp
from emulator.dsp.model import Device, Premises, Region, Status
from emulator.dsp.repository import MemoryRepository
from emulator.gbcs.identities import ACB, ESME
from emulator.pki.generate import device_eui
from emulator.scenarios.world import SUPPLIER, USERS, ServiceUser, build_world, key_stores, view
from emulator.transport.broker import BrokerUrl, start_broker
from emulator.transport.dsp_service import DspService
from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort
from emulator.transport.wan import MemoryWan
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code
from emulator.zigbee.jsonvalue import JsonObject

_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def _hub_main(url: BrokerUrl, ready: Any, stop: Any, echo: bool) -> None:
    async def hub() -> None:
        if echo:
            hub_eui = device_eui(0, "CHF").hex().upper()
            async with aiomqtt.Client(url.host, url.port, username=url.username, password=url.password,
                                      socket_options=_NODELAY) as c:
                await c.subscribe(f"smets2/hubs/{hub_eui}/down", qos=1)
                ready.set()
                async for m in c.messages:
                    await c.publish(f"smets2/hubs/{hub_eui}/up/response", bytes(m.payload), qos=1)
            return
        memory = MemoryWan()
        world = await build_world(RealClock(), [PremisesProfile(gas=None)], dsp_port=memory.dsp_port(),
                                  hub_port=lambda h: MqttHubPort(url, h))
        p = world.premises[0]
        code = p.install_codes[p.esme]
        entry = p.chf_runner.machine.device_log.add(p.esme, "ESME", code, world.clock.now())
        p.chf_runner.machine.kinds[p.esme] = "ESME"
        await p.chf_runner.radio.permit_join(p.esme, entry.link_key, float("inf"))
        assert p.esme_runner is not None
        await p.esme_runner.join(link_key_from_install_code(code))
        await asyncio.sleep(0.5)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await world.stop()

    asyncio.run(hub())


async def _dsp_side(url: BrokerUrl, n: int, concurrency: int) -> dict[str, float]:
    keys, _ = key_stores(1, 1)
    core = Dsp(MemoryRepository(), None, USERS)
    hub = Eui64(device_eui(0, "CHF"))
    core.add_premises(Premises("P0000", Region.NORTH, hub))
    core.add_device(Device(hub, "CHF", "P0000", Status.COMMISSIONED))
    core.add_device(Device(Eui64(ESME), "ESME", "P0000", Status.COMMISSIONED, import_supplier=SUPPLIER))
    clock = RealClock()
    service = DspService(core, MqttDspPort(url), view(keys, [ACB]), clock)
    await service.start()
    user = ServiceUser(SUPPLIER, "IS", service, view(keys, [bytes.fromhex(SUPPLIER)]), clock)
    lat: list[float] = []
    failures = 0
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        nonlocal failures
        async with sem:
            t = time.perf_counter()
            _, final = await user.send("11.2", ESME.hex().upper())
            failures += final is None or final.code != "I0"
            lat.append(time.perf_counter() - t)

    for _ in range(50):  # warm-up
        await one()
    lat.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - t0
    await service.stop()
    return {"rate": n / wall, "p50": _pct(lat, 0.5) * 1000, "p99": _pct(lat, 0.99) * 1000, "failures": failures}


async def _echo_side(url: BrokerUrl, n: int, concurrency: int) -> dict[str, float]:
    hub = Eui64(device_eui(0, "CHF"))
    waiting: dict[str, asyncio.Future[None]] = {}
    lat: list[float] = []
    async with aiomqtt.Client(url.host, url.port, username=url.username, password=url.password,
                              socket_options=_NODELAY, max_inflight_messages=1000) as c:
        c.pending_calls_threshold = 100_000
        await c.subscribe(f"smets2/hubs/{hub}/up/response", qos=1)

        async def reader() -> None:
            async for m in c.messages:
                fut = waiting.pop(bytes(m.payload).decode(), None)
                if fut is not None:
                    fut.set_result(None)

        task = asyncio.ensure_future(reader())
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                waiting[f"m{i}"] = fut
                t = time.perf_counter()
                await c.publish(f"smets2/hubs/{hub}/down", f"m{i}".encode(), qos=1)
                await fut
                lat.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
        task.cancel()
    return {"rate": n / wall, "p50": _pct(lat, 0.5) * 1000, "p99": _pct(lat, 0.99) * 1000}


async def _run(n: int, concurrency: int) -> tuple[str, dict[str, float], dict[str, float]]:
    """The broker's kind and the figures of the SRV and the echo sides."""
    ctx = mp.get_context("spawn")
    out: dict[str, dict[str, float]] = {}
    async with start_broker(hubs={device_eui(0, "CHF")}) as broker:
        for echo in (False, True):
            ready, stop = ctx.Event(), ctx.Event()
            proc = ctx.Process(target=_hub_main, args=(broker.hub_url(device_eui(0, "CHF")), ready, stop, echo))
            proc.start()
            await asyncio.get_running_loop().run_in_executor(None, ready.wait, 60)
            r = await (_echo_side(broker.dsp_url(), n, concurrency) if echo else
                       _dsp_side(broker.dsp_url(), n, concurrency))
            stop.set()
            proc.terminate() if echo else None
            proc.join(10)
            out["echo" if echo else "srv"] = r
        return broker.kind, out["srv"], out["echo"]


def run(seconds: float = 1.0) -> JsonObject:
    n = max(500, int(3000 * seconds))
    kind, srv, echo = asyncio.run(_run(n, 64))
    return {"broker": kind, "processes": 2, "requests": n, "concurrency": 64,
            "srv_round_trips_per_s": round(srv["rate"], 1), "srv_p50_ms": round(srv["p50"], 2),
            "srv_p99_ms": round(srv["p99"], 2), "srv_failures": srv["failures"],
            "echo_round_trips_per_s": round(echo["rate"], 1), "echo_p50_ms": round(echo["p50"], 2),
            "echo_p99_ms": round(echo["p99"], 2), "ratio_srv_vs_echo": round(srv["rate"] / echo["rate"], 3),
            "goal_srv_round_trips_per_s": 1200, "goal_ratio": 0.7}
