"""The fleet benchmark (issue 13): N premises (default 20,000) in one hubs worker process
(``run_hubs``, as ``fleet hubs`` runs them) against the embedded mosquitto, and in this process
the DSP reading their ESMEs; in the same run the bare MQTT request/response baseline.

Figures:

* memory: the worker's peak RSS (VmHWM) minus its RSS just before it builds the premises, per
  premises; start: from the first premises built to the worker ready (every hub on the broker);
* SRV round trips: SRV 4.1.1 (read instantaneous import registers) through DSP -> MQTT -> CHF ->
  HAN -> ESME and back, to the ESMEs of the first ``READ_PREMISES`` premises in turn while all N
  run, ``CONCURRENCY`` at once; p50/p99 latency. Those premises are installed as ``bench wan2``
  installs its one (meter in the CHF's device log, joined; Commissioned in the DSP's inventory):
  commissioning 20,000 premises through SRVs would be a benchmark of its own;
* the baseline: the same number of request/response pairs through the same broker with plain
  aiomqtt (``bench wan``'s echo), as a hub outside the fleet.

A watchdog kills the worker if its RSS passes ``RSS_LIMIT_MB`` (the machine is shared).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import threading
import time
from typing import Any

from emulator.bench.wan import _pct, bare_echo
from emulator.clock import RealClock
from emulator.dsp.core import Dsp
from emulator.dsp.model import Device, Premises, Region, Status
from emulator.dsp.repository import MemoryRepository
from emulator.gbcs import identities
from emulator.pki.derived import DerivedKeys
from emulator.pki.generate import MAX_PREMISES, device_eui
from emulator.scenarios.fleet import connections_for
from emulator.scenarios.world import SUPPLIER, USERS, ServiceUser, World, view
from emulator.transport.broker import BrokerUrl, start_broker
from emulator.transport.dsp_service import DspService
from emulator.transport.mqtt_wan import MqttDspPort
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code

PREMISES = 20_000
READ_PREMISES = 1000
CONCURRENCY = 64
SRV = "4.1.1"
RSS_LIMIT_MB = 4000
START_WAIT_S = 600.0
#: The echo baseline's hub: outside any fleet's range.
ECHO_HUB = device_eui(MAX_PREMISES - 1, "CHF")
GOALS = {"kb_per_premises": 100, "start_s": 60, "srv_round_trips_per_s": 1200, "srv_p99_ms": 50, "ratio": 0.7}


def _status_kb(pid: int | str, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


async def _install(world: World, count: int) -> None:
    """The first ``count`` premises of the worker: the ESME in its CHF's device log, and joined."""
    for p in world.premises[:count]:
        code = p.install_codes[p.esme]
        chf = p.chf_runner.machine
        entry = chf.device_log.add(p.esme, "ESME", code, world.clock.now())
        chf.kinds[p.esme] = "ESME"
        await p.chf_runner.radio.permit_join(p.esme, entry.link_key, float("inf"))
        assert p.esme_runner is not None
        await p.esme_runner.join(link_key_from_install_code(code))


def _worker(url: BrokerUrl, secret: bytes, premises: int, installed: int, conn: Any, stop: Any) -> None:
    """The hubs worker process: report its RSS before building, then the ready report, then wait."""
    from emulator.scenarios.fleet import HubsReport, run_hubs

    async def main() -> None:
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=lambda: (stop.wait(), loop.call_soon_threadsafe(done.set)), daemon=True).start()
        conn.send({"rss_before_kb": _status_kb("self", "VmRSS")})

        async def prepare(world: World) -> None:
            await _install(world, installed)

        def ready(report: HubsReport) -> None:
            conn.send({"ready": True, "start_s": report.start_s, "connections": report.connections,
                       "rss_ready_kb": _status_kb("self", "VmRSS"), "hwm_ready_kb": _status_kb("self", "VmHWM")})

        await run_hubs(url, first=0, count=premises, stop=done, hub_secret=secret, prepare=prepare, on_ready=ready,
                       wait_s=60.0)

    asyncio.run(main())


def _watchdog(pid: int, limit_mb: int, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        try:
            if _status_kb(pid, "VmRSS") > limit_mb * 1024:
                os.kill(pid, 9)
                return
        except (OSError, ValueError):
            return


async def _reads(url: BrokerUrl, premises: int, installed: int, n: int) -> dict[str, float]:
    keys = DerivedKeys(1, premises)
    core = Dsp(MemoryRepository(), None, USERS)
    targets = []
    for i in range(installed):
        pid, hub, esme = f"P{i:04d}", device_eui(i, "CHF").hex().upper(), device_eui(i, "ESME").hex().upper()
        core.add_premises(Premises(pid, Region.NORTH, Eui64.from_hex(hub)))
        core.add_device(Device(Eui64.from_hex(hub), "CHF", pid, Status.COMMISSIONED))
        core.add_device(Device(Eui64.from_hex(esme), "ESME", pid, Status.COMMISSIONED, import_supplier=SUPPLIER))
        targets.append(esme)
    clock = RealClock()
    service = DspService(core, MqttDspPort(url), view(keys, [identities.ACB]), clock)
    await service.start()
    user = ServiceUser(SUPPLIER, "IS", service, view(keys, [bytes.fromhex(SUPPLIER)]), clock)
    lat: list[float] = []
    failures = 0
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(target: str) -> None:
        nonlocal failures
        async with sem:
            t = time.perf_counter()
            try:
                _, final = await user.send(SRV, target)
                failures += final is None or final.code != "I0"
            except Exception:  # a benchmark counts what went wrong and goes on
                failures += 1
            lat.append(time.perf_counter() - t)

    try:
        await asyncio.gather(*(one(t) for t in targets))  # warm-up: every installed meter once (keys derived)
        warm_failures, failures = failures, 0
        lat.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one(targets[i % len(targets)]) for i in range(n)))
        wall = time.perf_counter() - t0
    finally:
        await service.stop()
    return {"rate": n / wall, "p50": _pct(lat, 0.5) * 1000, "p99": _pct(lat, 0.99) * 1000,
            "failures": failures, "warm_failures": warm_failures}


async def _run(premises: int, n: int, rss_limit_mb: int) -> dict[str, Any]:
    installed = min(premises, READ_PREMISES)
    ctx = mp.get_context("spawn")
    loop = asyncio.get_running_loop()
    # One connection per hub (a small fleet) logs in as each hub: the broker must know their users.
    per_hub = connections_for(premises, None) == premises
    hubs = {device_eui(i, "CHF") for i in range(premises)} if per_hub else set()
    async with start_broker(hubs=hubs | {ECHO_HUB}) as broker:
        ours, theirs = ctx.Pipe()
        stop = ctx.Event()
        url = BrokerUrl("127.0.0.1", broker.port)
        proc = ctx.Process(target=_worker, args=(url, broker.secret, premises, installed, theirs, stop))
        t0 = time.perf_counter()
        proc.start()
        assert proc.pid is not None
        halt = threading.Event()
        threading.Thread(target=_watchdog, args=(proc.pid, rss_limit_mb, halt), daemon=True).start()
        try:
            before = await _receive(loop, ours, 120.0, proc)
            ready = await _receive(loop, ours, START_WAIT_S, proc)
            ready["process_start_s"] = round(time.perf_counter() - t0, 3)
            srv = await _reads(broker.dsp_url(), premises, installed, n)
            hwm_kb = _status_kb(proc.pid, "VmHWM")
            rss_kb = _status_kb(proc.pid, "VmRSS")
        finally:
            stop.set()
            halt.set()
            await loop.run_in_executor(None, proc.join, 120)
            if proc.is_alive():
                proc.kill()
        echo = await bare_echo(broker, n, CONCURRENCY, ECHO_HUB)
    grown_kb = ready["hwm_ready_kb"] - before["rss_before_kb"]
    figures = {
        "broker": broker.kind, "premises": premises, "hub_connections": ready["connections"],
        "worker_rss_before_mb": round(before["rss_before_kb"] / 1024, 1),
        "worker_peak_rss_at_ready_mb": round(ready["hwm_ready_kb"] / 1024, 1),
        "kb_per_premises": round(grown_kb / premises, 1),
        "worker_peak_rss_after_reads_mb": round(hwm_kb / 1024, 1),
        "worker_rss_after_reads_mb": round(rss_kb / 1024, 1),
        "kb_per_premises_after_reads": round((hwm_kb - before["rss_before_kb"]) / premises, 1),
        "start_s": ready["start_s"], "process_start_s": ready["process_start_s"],
        "srv": SRV, "read_premises": installed, "requests": n, "concurrency": CONCURRENCY,
        "srv_round_trips_per_s": round(srv["rate"], 1), "srv_p50_ms": round(srv["p50"], 2),
        "srv_p99_ms": round(srv["p99"], 2), "srv_failures": srv["failures"],
        "warm_up_failures": srv["warm_failures"],
        "echo_round_trips_per_s": round(echo["round_trips_per_s"], 1), "echo_p50_ms": round(echo["p50_ms"], 2),
        "echo_p99_ms": round(echo["p99_ms"], 2),
        "ratio_srv_vs_echo": round(srv["rate"] / echo["round_trips_per_s"], 3),
    }
    figures.update({f"goal_{k}": v for k, v in GOALS.items()})
    figures["goals_met"] = {
        "kb_per_premises": figures["kb_per_premises"] <= GOALS["kb_per_premises"],
        "start_s": figures["start_s"] < GOALS["start_s"],
        "srv_round_trips_per_s": figures["srv_round_trips_per_s"] >= GOALS["srv_round_trips_per_s"],
        "srv_p99_ms": figures["srv_p99_ms"] < GOALS["srv_p99_ms"],
        "ratio": figures["ratio_srv_vs_echo"] >= GOALS["ratio"],
    }
    return figures


async def _receive(loop: asyncio.AbstractEventLoop, conn: Any, timeout: float, proc: Any) -> dict[str, Any]:
    """The worker's next report; RuntimeError if it dies or says nothing within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await loop.run_in_executor(None, conn.poll, 0.5):
            doc: dict[str, Any] = conn.recv()
            return doc
        if not proc.is_alive():
            raise RuntimeError(f"the hubs worker ended (exit code {proc.exitcode}; killed at "
                               f"{RSS_LIMIT_MB} MB RSS if -9)")
    raise RuntimeError(f"the hubs worker said nothing within {timeout:g} s")


def run(seconds: float = 1.0, premises: int = PREMISES, rss_limit_mb: int = RSS_LIMIT_MB) -> dict[str, Any]:
    n = max(2000, int(3000 * seconds))
    return asyncio.run(_run(premises, n, rss_limit_mb))
