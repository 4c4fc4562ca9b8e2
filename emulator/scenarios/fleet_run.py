"""``smets2-emu fleet run``: the whole fleet from one command on one machine.

1. the broker: the embedded mosquitto (per-hub users and ACL), or ``--broker URL``;
2. W worker processes, each ``fleet hubs`` over its share of the premises (fleet_workers.py);
3. the DSP in this process (the pieces ``fleet dsp`` is made of: inventory from the seed, the
   DSP service over MQTT, the joins watch), with a bounded in-memory store (dsp/ageing.py):
   every premises is commissioned, and a seeded share of ESMEs is set Restricted;
4. the load: requests from the mix (load_mix.py) at ``rate`` per second, the same sequence for
   the same seed, at most ``max_inflight`` outstanding; a request that fails for want of
   transport (E20 unreachable, E21 timed out) is sent again until ``retry_for_s`` after its first
   send - so a fault may delay a request, never lose it. The mix's alert rows are in the same
   sequence: the premises' worker is told to have that meter raise the alert (alert_control.py),
   and the alert is followed to the DSP (fleet_alerts.py);
5. faults at set times (``broker-restart@T``, ``kill-worker@T[:W]``, ``node-kill@T[:N]``): the broker
   killed and started again on its port and persistence; a worker killed with SIGKILL, started
   again, and its premises installed again (a fresh worker keeps no state); one node of a
   RabbitMQ cluster (``cluster``: the DSP on node 0, worker w on node w mod N, each client
   failing over to the next node) killed for good;
6. a report: one line per second on ``progress``, per-second and whole-run latency percentiles
   per request kind (HDR histograms), DUIS codes, GBCS counter losses and re-orderings
   (counters.py), alerts, memory per premises, start times, retries and recovery times.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import RealClock
from emulator.devices.chf import ALERT_RESEND_S
from emulator.dsp.ageing import AgeingRepository
from emulator.dsp.core import COMMAND_RESEND_S, Dsp
from emulator.gbcs import frames, identities
from emulator.gbcs.errors import GbcsError
from emulator.pki.generate import device_eui
from emulator.scenarios import fleet
from emulator.scenarios.alert_control import RaiseAlert
from emulator.scenarios.counters import CounterWatch
from emulator.scenarios.fleet_alerts import NOT_SENT_WORKER_DOWN, AlertLedger, AlertLogRepository
from emulator.scenarios.fleet_stats import (
    FaultRecord,
    KindStats,
    Tracker,
    in_flight_to,
    latency_ms,
    progress_line,
    second_record,
)
from emulator.scenarios.fleet_workers import Worker, cpu_s, memory_kb, split
from emulator.scenarios.heap import freeze_long_lived
from emulator.scenarios.load_mix import LoadPlan, MixRow, Pick, load_mix, restricted_premises
from emulator.scenarios.report import StepFailed
from emulator.scenarios.world import SUPPLIER, USERS, ServiceUser, key_stores, view
from emulator.transport.broker import BrokerUrl, EmbeddedBroker
from emulator.transport.dsp_service import DspService
from emulator.transport.mqtt_wan import MqttDspPort
from emulator.transport.rabbit_cluster import RabbitCluster
from emulator.transport.wan import DspPort, UpHandler
from emulator.transport.wan_messages import Ack, Command, DeviceAlert, DeviceResponse, DownMessage, UpMessage
from emulator.zigbee import ota_file
from emulator.zigbee.eui64 import Eui64

FAULT_KINDS = ("broker-restart", "kill-worker", "node-kill")
_FAULT = re.compile(r"^(broker-restart|kill-worker|node-kill)@(\d+(?:\.\d+)?)(?::(\d+))?$")
#: Codes that say the command did not get through (not that the device refused it): sent again.
TRANSPORT_FAILURES = frozenset({"E20", "E21"})
RETRY_PAUSE_S = 1.0
#: How often the commissioning phase says how far it is.
COMMISSION_PROGRESS_S = 10.0
#: After the requests drained, how long the run waits for raised alerts to settle: two of the
#: CHF's re-sends of an unacknowledged alert, and a little.
ALERT_SETTLE_S = 2 * ALERT_RESEND_S + 5.0
UNFINISHED = "unfinished"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    at_s: float
    worker: int = 0

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``broker-restart@T``, ``kill-worker@T[:W]`` or ``node-kill@T[:N]`` (T seconds into the load;
        a node-kill's node defaults to 1, one the DSP is not on)."""
        m = _FAULT.match(text)
        if m is None:
            raise ValueError(f"fault {text!r}: expected broker-restart@SECONDS, kill-worker@SECONDS[:WORKER] "
                             "or node-kill@SECONDS[:NODE]")
        if m.group(1) == "broker-restart" and m.group(3):
            raise ValueError(f"fault {text!r}: broker-restart takes no worker")
        default = 1 if m.group(1) == "node-kill" else 0
        return cls(m.group(1), float(m.group(2)), int(m.group(3) or default))


@dataclass(slots=True)
class RunOptions:
    premises: int
    workers: int = 1                    # 0: the hubs run elsewhere (compose replicas, other machines)
    broker: str | None = None           # None: the embedded mosquitto
    rate: float = 50.0
    duration_s: float = 10.0
    seed: int = 1
    mix: list[MixRow] = field(default_factory=load_mix)
    faults: list[Fault] = field(default_factory=list)
    restricted_share: float = 0.1
    gsme_wake_s: float = 30.0           # the profile's: each wake costs the worker CPU (HAN polls)
    max_inflight: int = 512
    response_timeout_s: float = 25.0
    resend_s: float = COMMAND_RESEND_S
    retry_for_s: float = 120.0
    ready_timeout_s: float = 300.0
    commission_timeout_s: float = 300.0
    commission_concurrency: int = 500
    firmware_size: int = 256
    cluster: int = 0                    # RabbitMQ nodes started for the run (rabbit_cluster.py); 0: none

    def check(self) -> None:
        fleet.check_range(0, self.premises)
        if self.workers == 0 and self.broker is None:
            raise ValueError("--workers 0 (hubs run elsewhere) needs --broker, the broker they are on")
        if self.workers:
            split(self.premises, self.workers)
        if self.cluster and self.broker is not None:
            raise ValueError("--cluster starts its own brokers: it takes no --broker")
        for f in self.faults:
            if f.kind == "broker-restart" and (self.broker is not None or self.cluster):
                raise ValueError("--fault broker-restart needs the embedded broker (no --broker, no --cluster)")
            if f.kind == "node-kill" and not 0 <= f.worker < self.cluster:
                raise ValueError(f"--fault node-kill@{f.at_s:g}:{f.worker} needs --cluster with more than "
                                 f"{f.worker} nodes")
            if f.kind == "kill-worker" and not 0 <= f.worker < self.workers:
                raise ValueError(f"--fault kill-worker@{f.at_s:g}:{f.worker}: workers are 0 to {self.workers - 1}")
            if f.at_s >= self.duration_s:
                raise ValueError(f"--fault {f.kind}@{f.at_s:g} is not within --duration {self.duration_s:g}")
        if self.rate <= 0 or self.duration_s <= 0:
            raise ValueError("--rate and --duration must be more than 0")
        if self.workers == 0 and all(r.is_alert for r in self.mix):
            raise ValueError("the mix has only alert rows, and --workers 0 runs no worker to raise them")


class WireTap(DspPort):
    """The DSP's port, reading the GBCS counters of what goes down and comes up (counters.py),
    counting re-sent commands and alerts, and telling ``ledger`` of alerts up and acks down. The
    frames go on unchanged."""

    def __init__(self, inner: DspPort, ledger: AlertLedger | None = None) -> None:
        self.inner = inner
        self.ledger = ledger
        self.counters = CounterWatch()
        self.alerts = CounterWatch()
        self.alerts_received = 0
        self.resends = 0
        self._sent_ids: dict[str, None] = {}

    async def start(self, on_up: UpHandler) -> None:
        async def up(hub: bytes, message: UpMessage) -> None:
            if isinstance(message, DeviceAlert | DeviceResponse):
                msg = _frame(message.gbcs)
                if msg is not None and isinstance(message, DeviceAlert):
                    if self.alerts.received((msg.originator, msg.target), msg.counter, solicited=False) != "duplicate":
                        self.alerts_received += 1
                    if self.ledger is not None:
                        self.ledger.arrived(msg.originator, msg.counter, message.id, time.monotonic())
                elif msg is not None:
                    self.counters.received((msg.target, msg.originator), msg.counter)
            await on_up(hub, message)

        await self.inner.start(up)

    async def send(self, hub: bytes, message: DownMessage) -> None:
        if isinstance(message, Ack) and self.ledger is not None:
            self.ledger.acknowledged(message.ids)
        if isinstance(message, Command):
            mid = message.id
            if mid in self._sent_ids:
                self.resends += 1
            else:
                self._sent_ids[mid] = None
                if len(self._sent_ids) > 100_000:
                    del self._sent_ids[next(iter(self._sent_ids))]
                msg = _frame(message.gbcs)
                if msg is not None:
                    self.counters.sent((msg.originator, msg.target), msg.counter)
        await self.inner.send(hub, message)

    async def stop(self) -> None:
        await self.inner.stop()


def _frame(gbcs: bytes) -> frames.Message | None:
    try:
        return frames.decode(gbcs)
    except (GbcsError, ValueError):
        return None


@dataclass(slots=True)
class _Fleet:
    """What a run holds while it runs."""

    options: RunOptions
    broker: EmbeddedBroker | None
    cluster: RabbitCluster | None
    workers: list[Worker]
    service: DspService
    joins: fleet.JoinWatch
    tap: WireTap
    user: ServiceUser
    bodies: dict[str, Callable[[int], dict[str, Any]]]
    tracker: Tracker
    ledger: AlertLedger
    started: float = 0.0


def _bodies(options: RunOptions) -> dict[str, Callable[[int], dict[str, Any]]]:
    """The named bodies of the mix, for premises i."""
    _, manufacturer = key_stores(options.seed, 1)
    profile = fleet.fleet_profile().electricity
    assert profile is not None
    image = ota_file.sample_image(manufacturer, manufacturer_code=profile.manufacturer_code,
                                  image_type=profile.image_type, file_version=0x00010203,
                                  size=options.firmware_size).hex()

    def esme(i: int) -> str:
        return device_eui(i, "ESME").hex().upper()

    return {
        "none": lambda i: {},
        "firmware": lambda i: {"image": image, "targets": [esme(i)]},
        "daily-read-schedule": lambda i: {"DSPScheduledServiceReferenceVariant": "4.6.1", "DeviceID": esme(i),
                                          "ScheduleStartDate": "2030-01-01", "ScheduleFrequency": "Daily"},
    }


def _target(pick: Pick) -> tuple[str, str | None]:
    """(RequestID target, role) of a pick."""
    kind = {"esme": "ESME", "restricted-esme": "ESME", "gsme": "GSME", "chf": "CHF"}.get(pick.row.target)
    if kind is None:
        return "", None
    return device_eui(pick.premises, kind).hex().upper(), "GS" if kind == "GSME" else None


async def _request(f: _Fleet, pick: Pick, sem: asyncio.Semaphore) -> None:
    loop = asyncio.get_running_loop()
    token = f.tracker.begin(pick.premises, loop.time(), pick.row.target)
    target, role = _target(pick)
    body = f.bodies[pick.row.body](pick.premises)
    first = loop.time()
    code, accepted = "E1", False
    try:
        while True:
            try:
                ack, final = await f.user.send(pick.row.srv, target, body, role=role)
                code = final.code if final is not None else ack.code
                accepted = accepted or final is not None or (pick.row.target == "dcc" and ack.code == "I0")
            except Exception as e:  # a load generator counts what went wrong and goes on
                code = type(e).__name__
            if code not in TRANSPORT_FAILURES or loop.time() - first + RETRY_PAUSE_S > f.options.retry_for_s:
                break
            f.tracker.resends += 1
            await asyncio.sleep(RETRY_PAUSE_S)
    except asyncio.CancelledError:  # the run ended first: counted as lost (it may have been accepted)
        code, accepted = UNFINISHED, True
        raise
    finally:
        sem.release()
        f.tracker.end(token, pick.row.name, code, accepted, loop.time())


def _raise_alert(f: _Fleet, pick: Pick) -> None:
    """Tell the worker of the premises to have the meter raise the row's alert (its answer goes
    to the ledger); a worker that is down cannot take it: not raised."""
    ident = f.ledger.ask(pick.row, pick.premises)
    device = "GSME" if pick.row.target == "gsme" else "ESME"
    worker = next((w for w in f.workers if w.first <= pick.premises < w.first + w.count), None)
    line = RaiseAlert(ident, pick.premises, device, pick.row.alert_code).line()
    if worker is None or not worker.send(line):
        f.ledger.not_sent(ident, NOT_SENT_WORKER_DOWN)


async def _commission(f: _Fleet, premises: range, say: Callable[[str], None] | None = None) -> dict[str, str]:
    """Install and commission ``premises`` (again, after a worker restart: its hubs are fresh);
    with ``say``, a progress line every :data:`COMMISSION_PROGRESS_S` (a GSME's steps wait for its
    wake, so a large fleet takes minutes: the user sees it move)."""
    for i in premises:
        for kind in ("ESME", "GSME"):
            eui = device_eui(i, kind).hex().upper()
            f.joins.commissioned.discard(eui)
            f.joins.joined.discard(eui)
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + f.options.commission_timeout_s
    sem = asyncio.Semaphore(f.options.commission_concurrency)
    profile = fleet.fleet_profile()
    done = [0, 0]  # commissioned, given up

    async def one(i: int) -> str | None:
        why = await fleet._commission_retrying(f.user, f.options.seed, i, profile, deadline, sem, f.joins)
        done[why is not None] += 1
        return why

    async def report() -> None:
        while True:
            await asyncio.sleep(COMMISSION_PROGRESS_S)
            if say is not None:
                say(f"fleet run: commissioning: {done[0]:,} of {len(premises):,} premises done"
                    + (f", {done[1]:,} given up" if done[1] else "") + f" ({loop.time() - started:.0f} s; "
                    f"{f.options.commission_concurrency} at a time, each GSME step waits for its wake)")

    ticker = asyncio.ensure_future(report())
    try:
        results = await asyncio.gather(*(one(i) for i in premises))
    finally:
        ticker.cancel()
    return {f"P{i:04d}": why for i, why in zip(premises, results, strict=True) if why is not None}


async def _restrict(f: _Fleet, premises: list[int]) -> None:
    for i in premises:
        eui = Eui64(device_eui(i, "ESME"))
        r = await f.service.set_restricted(SUPPLIER, eui, True)
        if r.code != "I0":
            raise StepFailed(f"could not set ESME {eui} Restricted: {r.code} {r.message}")


async def _inject(f: _Fleet, fault: Fault, say: Callable[[str], None]) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, f.started + fault.at_s - loop.time()))
    if fault.kind == "broker-restart":
        record = FaultRecord(fault.kind, fault.at_s, frozenset(range(f.options.premises)))
        f.tracker.fault(record, loop.time(), f.tap.resends)
        assert f.broker is not None
        say(f"fleet run: fault at {fault.at_s:g} s: broker killed")
        await f.broker.kill()
        await f.broker.restart()
        record.detail = f"broker back after {loop.time() - record.started:.2f} s"
        f.tracker.fault_over(record, loop.time())
        say(f"fleet run: {record.detail}")
        return
    if fault.kind == "node-kill":
        await _kill_node(f, fault, say)
        return
    w = f.workers[fault.worker]
    record = FaultRecord(fault.kind, fault.at_s, frozenset(range(w.first, w.first + w.count)))
    f.tracker.fault(record, loop.time(), f.tap.resends)
    say(f"fleet run: fault at {fault.at_s:g} s: worker {w.index} (premises {w.first}..{w.first + w.count - 1}) killed")
    await w.kill()
    f.ledger.worker_killed(range(w.first, w.first + w.count), time.monotonic())
    await w.start()
    await w.wait_ready(f.options.ready_timeout_s)
    back = loop.time() - record.started
    failed = await _commission(f, range(w.first, w.first + w.count))
    record.detail = (f"worker {w.index} ready again after {back:.2f} s, its premises installed again after "
                     f"{loop.time() - record.started:.2f} s" + (f"; not commissioned: {failed}" if failed else ""))
    f.tracker.fault_over(record, loop.time())
    say(f"fleet run: {record.detail}")


async def _kill_node(f: _Fleet, fault: Fault, say: Callable[[str], None]) -> None:
    """One RabbitMQ node killed for good: the premises of the workers on it are affected (their
    hubs fail over to the next node, where their queues' mirrors took over: rabbit_cluster.py);
    over once the node is dead, recovered once every request it caught has ended."""
    assert f.cluster is not None
    loop = asyncio.get_running_loop()
    n = len(f.cluster.nodes)
    on_node = [w for w in f.workers if w.index % n == fault.worker]
    affected = frozenset(i for w in on_node for i in range(w.first, w.first + w.count))
    record = FaultRecord(fault.kind, fault.at_s, affected or frozenset(range(f.options.premises)))
    f.tracker.fault(record, loop.time(), f.tap.resends)
    name = f.cluster.nodes[fault.worker].name
    say(f"fleet run: fault at {fault.at_s:g} s: RabbitMQ node {name} killed "
        f"(workers {[w.index for w in on_node]} fail over)")
    await f.cluster.kill_node(fault.worker)
    record.detail = f"node {name} killed (stays down); {len(affected):,} premises' hubs on it fail over"
    f.tracker.fault_over(record, loop.time())


@dataclass(slots=True)
class _Ticks:
    """The per-second records and progress lines, on their own clock (not on sends: a slow rate
    still gets its line a second)."""

    f: _Fleet
    say: Callable[[str], None]
    seconds: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0                        # requests
    picks: int = 0                       # requests and alerts: what the rate paces
    draining: bool = False
    _done_before: int = 0

    def tick(self) -> None:
        rec = second_record(len(self.seconds) + 1, self.f.tracker, self._done_before, self.sent)
        rec["alerts"] = self.f.ledger.second_record()
        self._done_before = rec["done"]
        self.seconds.append(rec)
        line = progress_line(rec, sum(self.f.tracker.errors_by_code().values()), self.f.tap.alerts_received)
        if self.draining:
            # A read of a gas meter waits for the meter's next wake: say so, or the tail looks hung.
            gas = in_flight_to(self.f.tracker, "gsme")
            line += (f" (draining: {gas:,} of them to gas meters, which answer when they next wake, every "
                     f"{self.f.options.gsme_wake_s:g} s)" if gas else " (draining)")
        self.say(line)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        at = self.f.started + 1.0
        while True:
            await asyncio.sleep(max(0.0, at - loop.time()))
            self.tick()
            at += 1.0


async def _load(f: _Fleet, plan: LoadPlan, say: Callable[[str], None]) -> tuple[int, float, list[dict[str, Any]]]:
    """Send the mix at the rate for the duration, one progress line a second; (sent, seconds, per-second)."""
    loop = asyncio.get_running_loop()
    o = f.options
    sem = asyncio.Semaphore(o.max_inflight)
    tasks: set[asyncio.Task[None]] = set()
    f.started = loop.time()
    ticks = _Ticks(f, say)
    ticker = asyncio.ensure_future(ticks.run())
    faults = [asyncio.ensure_future(_inject(f, fault, say)) for fault in o.faults]
    try:
        while loop.time() - f.started < o.duration_s:
            await sem.acquire()
            pick = next(plan)
            ticks.picks += 1
            if pick.row.is_alert:
                sem.release()
                _raise_alert(f, pick)
            else:
                f.tracker.kinds[pick.row.name].sent += 1
                task = asyncio.ensure_future(_request(f, pick, sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                ticks.sent += 1
            await asyncio.sleep(max(0.0, f.started + ticks.picks / o.rate - loop.time()))
        wall = loop.time() - f.started
        # Drain: what was accepted is answered (or re-sent until retry_for_s), faults finish; then
        # every alert raised is at the DSP, acknowledged and logged (a hub whose alert or ack a
        # fault lost re-sends it after ALERT_RESEND_S), or counted as not.
        ticks.draining = True
        limit = f.started + o.duration_s + o.retry_for_s + o.response_timeout_s + o.ready_timeout_s
        pending = set(tasks) | set(faults)
        while pending and loop.time() < limit:
            _, pending = await asyncio.wait(pending, timeout=1.0)
        alerts_limit = min(limit, loop.time() + ALERT_SETTLE_S)
        while f.ledger.waiting() and loop.time() < alerts_limit:
            await asyncio.sleep(0.05)
    finally:
        ticker.cancel()
        left = list(tasks) + faults
        for task in left:
            task.cancel()
        await asyncio.gather(ticker, *left, return_exceptions=True)
    ticks.tick()  # the last, partial second: every answer is in a record
    for fault_task in faults:
        if fault_task.done() and not fault_task.cancelled() and fault_task.exception() is not None:
            raise fault_task.exception()  # type: ignore[misc]
    return ticks.sent, wall, ticks.seconds


async def run_fleet(options: RunOptions, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the fleet as the module docstring says; the report."""
    options.check()
    say = progress or (lambda line: None)
    # Alerts are raised through the workers' control channel: with the hubs elsewhere (--workers 0)
    # the mix's alert rows cannot be driven, and are left out (the report says so).
    mix = options.mix if options.workers else [r for r in options.mix if not r.is_alert]
    if len(mix) < len(options.mix):
        say("fleet run: the mix's alert rows are left out: alerts are raised through worker processes "
            "(--workers 0 has none)")
    t0 = time.perf_counter()
    broker: EmbeddedBroker | None = None
    cluster: RabbitCluster | None = None
    hub_urls: list[str] = []
    if options.cluster:
        cluster = RabbitCluster(options.cluster, {device_eui(i, "CHF") for i in range(options.premises)})
        try:
            await cluster.start()
        except BaseException:
            await cluster.stop()
            raise
        dsp_url, secret = cluster.dsp_url(0), cluster.secret
        hub_urls = [cluster.hub_url(n) for n in range(options.cluster)]
    elif options.broker is None:
        broker = EmbeddedBroker()
        await broker.start({device_eui(i, "CHF") for i in range(options.premises)})
        dsp_url, hub_urls, secret = broker.dsp_url(), [f"mqtt://127.0.0.1:{broker.port}"], broker.secret
    else:
        dsp_url, hub_urls, secret = BrokerUrl.parse(options.broker), [options.broker], None
    broker_s = time.perf_counter() - t0
    broker_rss0 = _broker_rss_kb(broker, cluster)
    say(f"fleet run: broker {_broker_name(options, broker, cluster)} ({broker_s:.2f} s)")
    ledger = AlertLedger(mix)
    control = any(r.is_alert for r in mix)
    # Worker w on node w mod N of a cluster (the DSP is on node 0): commands cross the cluster.
    workers = [Worker(w, first, count, hub_urls[w % len(hub_urls)], options.seed, secret, options.gsme_wake_s,
                      control=control, on_reply=ledger.on_reply)
               for w, (first, count) in enumerate(split(options.premises, options.workers) if options.workers else [])]
    service: DspService | None = None
    try:
        for w in workers:
            await w.start()
        for w in workers:
            await w.wait_ready(options.ready_timeout_s)
        hubs_ready_s = time.perf_counter() - t0
        say(f"fleet run: {options.workers} workers ready, {options.premises:,} premises on the broker "
            f"({hubs_ready_s:.1f} s)")
        keys, _ = key_stores(options.seed, options.premises)
        dsp_keys = view(keys, [identities.ACB, identities.TRANSITIONAL_COS])
        repo = AlertLogRepository(ledger.logged)  # the DSP's SAT and diagnostics logs tell the ledger
        core = Dsp(repo, None, USERS, keys=dsp_keys)
        core.resend_s = options.resend_s
        # The DSP gives a GSME an hour (it answers when it next wakes); these wake every gsme_wake_s.
        core.device_timeouts["GSME"] = options.response_timeout_s + options.gsme_wake_s
        fleet.add_inventory(core, options.seed, [fleet.fleet_profile()] * options.premises)
        tap = WireTap(MqttDspPort(dsp_url), ledger)
        joins = fleet.JoinWatch(tap)
        clock = RealClock()
        service = DspService(core, joins, dsp_keys, clock, options.response_timeout_s)
        service.user_listeners.append(ledger.user_told)
        await service.start()
        user = ServiceUser(SUPPLIER, "IS", service, view(keys, [bytes.fromhex(SUPPLIER)]), clock)
        tracker = Tracker({r.name: KindStats(r.srv, r.expect) for r in mix if not r.is_alert})
        f = _Fleet(options, broker, cluster, workers, service, joins, tap, user, _bodies(options), tracker, ledger)
        failed = await _commission(f, range(options.premises), say)
        commissioned_s = time.perf_counter() - t0
        say(f"fleet run: {options.premises - len(failed):,} premises commissioned ({commissioned_s:.1f} s)")
        restricted = [i for i in restricted_premises(options.seed, options.premises, options.restricted_share)
                      if f"P{i:04d}" not in failed]
        await _restrict(f, restricted)
        ok = [i for i in range(options.premises) if f"P{i:04d}" not in failed]
        if not ok:
            raise StepFailed(f"no premises was commissioned: {next(iter(failed.values()))}")
        rows = mix if restricted else [r for r in mix if r.target != "restricted-esme"]
        plan = LoadPlan(rows, options.seed, options.premises, restricted)
        plan.open = [i for i in plan.open if f"P{i:04d}" not in failed]
        rss = [w.memory_kb() for w in workers]
        freeze_long_lived()  # inventory, keys and commissioning: not walked by the load's collections
        cpu0 = _cpu(f)
        sent, wall, seconds = await _load(f, plan, say)
        # A restarted broker or worker starts its count again: what it used before is not counted.
        cpu = {k: round(max(0.0, v - cpu0.get(k, 0.0)), 2) for k, v in _cpu(f).items()}
        tracker.close_faults(tap.resends)
        rss_after = [w.memory_kb() for w in workers]
        dsp_rss, _ = memory_kb(os.getpid())
        report = _report(options, broker, f, failed, restricted, broker_s, hubs_ready_s, commissioned_s, rss,
                         rss_after, dsp_rss, sent, wall, seconds, repo)
        report["cpu"] = _cpu_report(cpu, tracker.done(), sum(s.raised for s in ledger.rows.values()))
        # The broker's memory before any client and after the load (every node of a cluster).
        report["memory"]["broker_rss_mb"] = {"at_start": round(broker_rss0 / 1024, 1),
                                             "after_load": round(_broker_rss_kb(broker, cluster) / 1024, 1)}
        return report
    finally:
        if service is not None:
            await service.stop()
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
        if broker is not None:
            await broker.stop()
        if cluster is not None:
            await cluster.stop()


def _broker_name(o: RunOptions, broker: EmbeddedBroker | None, cluster: RabbitCluster | None) -> str:
    if cluster is not None:
        return cluster.describe()
    return f"embedded mosquitto :{broker.port}" if broker is not None else str(o.broker)


def _broker_rss_kb(broker: EmbeddedBroker | None, cluster: RabbitCluster | None) -> int:
    pids = list(cluster.pids().values()) if cluster is not None else []
    if broker is not None and broker.proc is not None:
        pids.append(broker.proc.pid)
    return sum(memory_kb(pid)[0] for pid in pids)


def _cpu(f: _Fleet) -> dict[str, float]:
    """CPU seconds used so far by the DSP and load generator (this process), the broker, each worker."""
    out = {"dsp": cpu_s(os.getpid())}
    if f.broker is not None and f.broker.proc is not None:
        out["broker"] = cpu_s(f.broker.proc.pid)
    if f.cluster is not None:  # one entry per live node (a killed node's count is gone)
        out.update({k: cpu_s(pid) for k, pid in f.cluster.pids().items()})
    for w in f.workers:
        out[f"worker{w.index}"] = w.cpu_s()
    return out


def _cpu_report(cpu: dict[str, float], done: int, alerts: int = 0) -> dict[str, Any]:
    """CPU seconds during the load, and per request in ms: what a core can carry, whatever else
    the machine runs (a wall-clock rate on a shared machine says more about the neighbours).
    The mix's alerts cost CPU too (raised, signed, sent; checked, logged, acknowledged):
    ``ms_per_message`` counts requests and alerts raised together."""
    workers = sum(v for k, v in cpu.items() if k.startswith("worker"))
    brokers = sum(v for k, v in cpu.items() if k.startswith("broker"))
    per = {"dsp": cpu.get("dsp", 0.0), "broker": round(brokers, 2), "workers": round(workers, 2)}
    messages = done + alerts
    return {"seconds": cpu, "ms_per_request": {k: round(1000 * v / done, 3) if done else None for k, v in per.items()},
            "ms_per_message": {k: round(1000 * v / messages, 3) if messages else None for k, v in per.items()}}


def _report(o: RunOptions, broker: EmbeddedBroker | None, f: _Fleet, failed: dict[str, str], restricted: list[int],
            broker_s: float, hubs_ready_s: float, commissioned_s: float, rss: list[tuple[int, int]],
            rss_after: list[tuple[int, int]], dsp_rss: int, sent: int, wall: float, seconds: list[dict[str, Any]],
            repo: AgeingRepository) -> dict[str, Any]:
    t = f.tracker
    now_kb = sum(r for r, _ in rss)
    peak_kb = max(sum(p for _, p in rss), sum(p for _, p in rss_after))
    done = t.done()
    return {
        "premises": o.premises, "workers": o.workers, "seed": o.seed,
        "broker": _broker_name(o, broker, f.cluster),
        "restricted_premises": len(restricted),
        "start": {"broker_s": round(broker_s, 2), "hubs_ready_s": round(hubs_ready_s, 2),
                  "worker_ready_s": [round(w.ready_s, 2) for w in f.workers],
                  "commissioned_s": round(commissioned_s, 2), "commission_failures": len(failed),
                  "commission_failed": dict(list(failed.items())[:10])},
        "memory": {"workers_rss_mb": round(now_kb / 1024, 1), "workers_peak_mb": round(peak_kb / 1024, 1),
                   "kb_per_premises": round(now_kb / o.premises, 1),
                   "peak_kb_per_premises": round(peak_kb / o.premises, 1),
                   "dsp_rss_mb": round(dsp_rss / 1024, 1), "dsp_records_held": repo.held(),
                   "dsp_records_aged_out": repo.aged_out},
        "throughput": {"target_rate": o.rate, "load_s": round(wall, 2), "sent": sent, "done": done,
                       "per_s": round(done / wall, 1) if wall else 0.0},
        "accepted": t.accepted, "lost": t.lost,
        "unfinished": sum(k.codes.get(UNFINISHED, 0) for k in t.kinds.values()),
        "unexpected": dict(sorted(t.unexpected.items())),
        "errors_by_code": t.errors_by_code(),
        "requests": {name: {"srv": k.srv, "sent": k.sent, "codes": dict(k.codes)} for name, k in t.kinds.items()},
        "latency": {name: latency_ms(k.run) for name, k in t.kinds.items() if k.run.total},
        "counters": {"lost": f.tap.counters.lost(), "reordered": f.tap.counters.reordered,
                     "duplicates": f.tap.counters.duplicates, "unsolicited": f.tap.counters.unsolicited},
        "alerts": {"driven": f.ledger.report() if f.ledger.rows else None,
                   "received": f.tap.alerts_received, "reordered": f.tap.alerts.reordered,
                   "duplicates": f.tap.alerts.duplicates},
        "retries": {"dsp_resends": f.tap.resends, "load_resends": t.resends},
        "faults": [r.to_dict() for r in t.faults],
        "seconds": seconds,
        "mix": [{"name": r.name, "weight": r.weight, "srv": r.srv, "target": r.target, "body": r.body,
                 "expect": r.expect}
                for r in o.mix],
    }


def parse_faults(texts: list[str]) -> list[Fault]:
    return [Fault.parse(t) for t in texts]

