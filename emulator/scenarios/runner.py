"""Run a journey from options: build the world (PKI, broker, DSP, premises), run, report."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from emulator.clock import Clock, make_clock
from emulator.clock import run as run_loop
from emulator.devices.profile import PremisesProfile
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.repository import MemoryRepository, Repository
from emulator.scenarios.report import Progress, Recorder, Report
from emulator.scenarios.trace import Trace, TracedDspPort
from emulator.scenarios.world import HanFactory, World, build_world
from emulator.transport.wan import DspPort, HubPort, MemoryWan

Journey = Callable[[World, Recorder], Awaitable[None]]


@dataclass(slots=True)
class RunOptions:
    journey: str
    seed: int = 1
    realtime: bool = False
    broker: str | None = None  # None: embedded broker; "memory": no broker; "mqtt://...": external
    report: Path | None = None
    junit: Path | None = None
    pcap: Path | None = None
    trace: Path | None = None
    keys: Path | None = None
    db: Path | None = None
    quiet: bool = False
    han: str = "virtual"  # "virtual": the in-process bus; "fake-znp" / "fake-znp-pty": zigpy-znp over a fake stick;
    # "fake-ezsp" / "fake-ezsp-pty": bellows over a fake EmberZNet NCP
    policy: RestrictedPolicy | None = None  # None: the default Restricted policy (RM-4, RM-5)


Ports = tuple[DspPort, Callable[[bytes], HubPort], dict[str, str]]


@contextlib.asynccontextmanager
async def wan_ports(opts: RunOptions, clock: Clock, hubs: int) -> AsyncIterator[Ports]:
    """The WAN for a run: in memory, the embedded broker, or an external one."""
    if opts.broker == "memory":
        wan = MemoryWan()
        yield wan.dsp_port(), wan.hub_port, {"wan": "memory"}
        return
    from emulator.transport.broker import BrokerUrl, start_broker
    from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort

    if opts.broker:
        url = BrokerUrl.parse(opts.broker)
        info = {"wan": "mqtt", "broker": f"external {url.host}:{url.port}"}
        yield (MqttDspPort(url), lambda hub: MqttHubPort(url, hub), info)
        return
    from emulator.pki.generate import device_eui

    async with start_broker(hubs={device_eui(i, "CHF") for i in range(hubs)}) as broker:
        info = {"wan": "mqtt", "broker": f"embedded {broker.kind} on 127.0.0.1:{broker.port}"}
        yield (MqttDspPort(broker.dsp_url()), lambda hub: MqttHubPort(broker.hub_url(hub), hub), info)


async def run_journey(opts: RunOptions, profiles: list[PremisesProfile], journey: Journey) -> Report:
    clock = make_clock(virtual=not opts.realtime)
    report = Report(opts.journey, opts.seed, not opts.realtime)
    trace = Trace(opts.trace, opts.pcap, clock.now) if (opts.trace or opts.pcap) else None
    if opts.keys is not None:
        from emulator.pki.generate import init

        init(opts.keys, seed=opts.seed, premises=len(profiles), force=True)
    repo: Repository
    if opts.db is not None:
        from emulator.dsp.store import SqliteRepository

        repo = SqliteRepository(opts.db)
    else:
        repo = MemoryRepository()
    wall0, virt0 = time.perf_counter(), clock.now()
    progress = None if opts.quiet else Progress(sys.stderr)
    rec = Recorder(report, clock.now, progress)
    async with wan_ports(opts, clock, len(profiles)) as (dsp_port, hub_port, info):
        if trace is not None:
            dsp_port = TracedDspPort(dsp_port, trace, clock.now)
        han: HanFactory | None = None
        pty = opts.han.endswith("-pty")
        if opts.han.startswith("fake-ezsp"):
            from emulator.transport.fake_ezsp import fake_ezsp_han

            han = fake_ezsp_han(clock, seed=opts.seed, pty=pty, tap=trace.han if trace else None)
            info = {**info, "han": f"bellows over the fake EZSP NCP ({'pty' if pty else 'TCP'})"}
        elif opts.han != "virtual":
            from emulator.transport.fake_znp import fake_znp_han

            han = fake_znp_han(clock, seed=opts.seed, pty=pty, tap=trace.han if trace else None)
            info = {**info, "han": f"zigpy-znp over the fake ZNP ({'pty' if pty else 'TCP'})"}
        world = await build_world(clock, profiles, seed=opts.seed, dsp_port=dsp_port, hub_port=hub_port, repo=repo,
                                  tap=trace.han if trace else None, han=han, policy=opts.policy)
        try:
            await journey(world, rec)
        finally:
            await world.stop()
            await asyncio.sleep(0)
        report.summary.update(info)
    if trace is not None:
        report.summary.update({"trace_frames": trace.frames, "han_packets": trace.han_packets,
                               "han_fragments": trace.han_fragments})
        trace.close()
    report.wall_s = time.perf_counter() - wall0
    report.virtual_s = clock.now() - virt0
    if opts.report:
        opts.report.write_text(report.to_json())
    if opts.junit:
        opts.junit.write_text(report.to_junit())
    return report


def run_sync(opts: RunOptions, profiles: list[PremisesProfile], journey: Journey) -> Report:
    return run_loop(run_journey(opts, profiles, journey), virtual=not opts.realtime)
