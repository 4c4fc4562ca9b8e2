"""The fleet: premises hubs and the DSP in separate processes that share nothing but the MQTT
broker and a seed (the split ``docker/compose.yaml`` runs, one DSP and N workers).

* :func:`run_hubs` (a worker) builds premises ``first .. first+count-1`` with
  :func:`~emulator.scenarios.world.build_world` (CHF + GPF, ESME and GSME on a virtual HAN),
  every CHF on the broker through its own :class:`MqttHubPort`, or above
  :data:`PER_HUB_CONNECTIONS_MAX` hubs over a few shared connections (:class:`MqttMux`; where
  and why: docs/fleet.md). The world's own DSP is left
  idle on an unconnected in-memory port: the hubs answer only the broker.
* :func:`run_dsp` runs the DSP service over :class:`MqttDspPort` with the inventory of premises
  ``0 .. premises-1`` exactly as ``build_world`` registers it (:func:`add_inventory`), the SSI
  HTTP API, and with ``drive`` a load driver: commission every premises, then read a meter SRV
  at a steady rate and summarise (requests, I0, failures, p50/p95 latency).

Both sides derive the same things from the seed alone: keys (the test PKI derives each key from
(seed, EUI, usage), so a store for more premises holds the same keys for the first ones; both
sides derive a key when a message first needs it, :mod:`emulator.pki.derived`), install codes
(:func:`install_code_for`), EUIs and premises ids (:func:`device_eui`, ``P{i:04d}``). A worker
whose range reaches beyond the DSP's ``premises`` is not in its inventory and is never driven.

Joins. In :func:`~emulator.scenarios.steps.install` the journey makes the meters join itself,
because it holds their runners. Here the DSP holds none, so each worker plays the installer on
site: when its CHF permits a meter to join (the CHF's ``JoinPermitted``, which only SRV 8.11
adding the meter to the device log causes) the meter is switched on and joins with the install
code on its label (IC-2). The DSP sees the join as the hub's ``joined`` event, exactly as in the
single-process journeys, and goes on with SRV 8.1.1. No side tells the other anything out of band.

Collisions between workers are impossible by construction when their ranges are disjoint:
every EUI, broker client id (``chf-<EUI>``), topic and premises id derives from the index.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt

from emulator.clock import Clock, RealClock, until
from emulator.devices.chf import DEVICE_TYPE_CODES
from emulator.devices.events import DeviceEvent, JoinPermitted
from emulator.devices.profile import PremisesProfile
from emulator.dsp.ageing import AgeingRepository
from emulator.dsp.core import Dsp
from emulator.dsp.model import Status
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.repository import Repository
from emulator.gbcs import identities
from emulator.pki.derived import DerivedKeys
from emulator.pki.generate import MAX_PREMISES as EUI_PREMISES
from emulator.pki.generate import device_eui
from emulator.scenarios.heap import built_then_frozen, freeze_long_lived
from emulator.scenarios.report import StepFailed
from emulator.scenarios.steps import send_ok
from emulator.scenarios.world import (
    SUPPLIER,
    USERS,
    PremisesRuntime,
    ServiceUser,
    World,
    build_world,
    install_code_for,
    register_premises,
    view,
)
from emulator.transport import topics
from emulator.transport.broker import BrokerError, BrokerUrl, hub_password, mux_password
from emulator.transport.device_state import StateFolder
from emulator.transport.dsp_service import DspService
from emulator.transport.http_api import HttpApi
from emulator.transport.mqtt_mux import MqttMux, links_for
from emulator.transport.mqtt_wan import MqttDspPort, MqttHubPort
from emulator.transport.wan import DownMessage, DspPort, MemoryWan, UpHandler, UpMessage
from emulator.transport.wan_messages import JoinedEvent
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code

#: Premises indices the EUI scheme tells apart (``device_eui(MAX_PREMISES)`` is premises 0's again).
MAX_PREMISES = EUI_PREMISES
#: Hubs a worker gives a connection each (``links=None``); above, they share a few (mqtt_mux.py).
#: Where and why: docs/fleet.md.
PER_HUB_CONNECTIONS_MAX = 2000
#: Hub EUIs listed in the ready and stopped events (the rest: ``hubs_file``, or derive them).
HUBS_LISTED = 16
#: A worker given this (hex) derives each hub's broker password as the embedded broker does
#: (user = the CHF EUI, HMAC of the secret): per-hub users and the per-hub ACL.
HUB_SECRET_ENV = "SMETS2_HUB_SECRET"
JOIN_WAIT_S = 15.0
MAX_INFLIGHT_READS = 512
T = TypeVar("T")


def check_range(first: int, count: int) -> None:
    """Raise ValueError naming the problem unless ``first .. first+count-1`` is a valid range."""
    if first < 0:
        raise ValueError(f"--first must be 0 or more, not {first}")
    if count < 1:
        raise ValueError(f"--count must be at least 1, not {count}")
    if first + count > MAX_PREMISES:
        raise ValueError(f"premises {first}..{first + count - 1}: the EUI scheme allows indices below {MAX_PREMISES}")


def fleet_profile(gsme_wake_s: float | None = None) -> PremisesProfile:
    """Every fleet premises: the default profile (CHF, ESME, GSME). The GSME's wake period only
    changes the hub side (how soon a sleepy meter fetches its commands), never the inventory."""
    profile = PremisesProfile()
    if gsme_wake_s is None or profile.gas is None:
        return profile
    return dataclasses.replace(profile, gas=dataclasses.replace(profile.gas, wake_period_s=gsme_wake_s))


def _url(broker: str | BrokerUrl) -> BrokerUrl:
    return broker if isinstance(broker, BrokerUrl) else BrokerUrl.parse(broker)


def hub_credentials(url: BrokerUrl, hub: bytes, secret: bytes | None) -> BrokerUrl:
    """The hub's own broker user with a secret, else the URL's (a fleet-wide hub user)."""
    return url if secret is None else url.with_user(hub.hex().upper(), hub_password(secret, hub))


async def probe_broker(url: BrokerUrl, wait_s: float = 15.0) -> None:
    """Connect once; raise :class:`BrokerError` naming the problem (refused, or unreachable for ``wait_s``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    who = url.username or "(anonymous)"
    while True:
        try:
            async with aiomqtt.Client(url.host, url.port, username=url.username, password=url.password,
                                      identifier=f"probe-{os.getpid()}-{os.urandom(3).hex()}", timeout=5):
                return
        except aiomqtt.MqttCodeError as e:
            raise BrokerError(f"broker {url.host}:{url.port} refused user {who}: {e}") from None
        except (aiomqtt.MqttError, OSError) as e:
            if loop.time() >= deadline:
                raise BrokerError(f"broker {url.host}:{url.port} unreachable after {wait_s:g} s: {e}") from None
        await asyncio.sleep(0.5)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Until ``stop`` is set, or ``seconds`` have passed (0: no limit)."""
    if seconds <= 0:
        await stop.wait()
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


# --- the hubs role ---------------------------------------------------------------------------


@dataclass(slots=True)
class HubsReport:
    first: int
    count: int
    connections: int = 0
    """MQTT connections the hubs use: ``count`` (one each) or a multiplexer's few."""
    joins: int = 0
    join_failures: dict[str, str] = field(default_factory=dict)
    reconnects: int = 0
    seconds: float = 0.0
    start_s: float = 0.0

    @property
    def hubs(self) -> list[str]:
        """Every hub EUI of the range (derived: a worker keeps no list of them)."""
        return [device_eui(i, "CHF").hex().upper() for i in range(self.first, self.first + self.count)]

    def to_dict(self) -> dict[str, Any]:
        """The report for the ready and stopped events: the first :data:`HUBS_LISTED` hubs only (a
        20,000-hub line helped nobody); ``hubs_listed`` says whether that is all of them."""
        listed = [device_eui(i, "CHF").hex().upper()
                  for i in range(self.first, self.first + min(self.count, HUBS_LISTED))]
        return {"role": "hubs", **dataclasses.asdict(self), "hubs": listed,
                "hubs_listed": "all" if self.count <= HUBS_LISTED else f"first {HUBS_LISTED} of {self.count}"}


class Installer:
    """The installer at every premises of a worker: a meter joins, with the install code on its
    label, when its CHF permits it (after SRV 8.11 put it in the device log)."""

    def __init__(self, world: World) -> None:
        self.meters = {eui: (p, eui) for p in world.premises for eui in (p.esme, p.gsme)}
        self.joins = 0
        self.failures: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        backlog = [e for e in world.events if isinstance(e, JoinPermitted)]
        world.events.clear()  # a long-running worker keeps no event history
        for p in world.premises:
            p.chf_runner.sink = self.on_event
            for runner in (p.esme_runner, p.gsme_runner):
                if runner is not None:
                    runner.sink = None
        for event in backlog:
            self.on_event(event)

    def on_event(self, event: DeviceEvent) -> None:
        if isinstance(event, JoinPermitted) and event.eui in self.meters:
            task = asyncio.ensure_future(self._join(*self.meters[event.eui]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _join(self, p: PremisesRuntime, eui: bytes) -> None:
        runner = p.esme_runner if eui == p.esme else p.gsme_runner
        if runner is None or runner.joined.is_set():
            return
        reason = await runner.try_join(link_key_from_install_code(p.install_codes[eui]))
        if reason is None:
            self.joins += 1
            self.failures.pop(eui.hex().upper(), None)
        else:
            self.failures[eui.hex().upper()] = reason

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def _reconnects(world: World, mux: MqttMux | None) -> int:
    if mux is not None:
        return mux.reconnects
    ports = (p.chf_runner.wan for p in world.premises)
    return sum(port.link.reconnects for port in ports if isinstance(port, MqttHubPort))


def mux_credentials(url: BrokerUrl, secret: bytes | None) -> BrokerUrl:
    """The multiplexing user with a secret (the embedded broker's), else the URL's (a fleet-wide hub user)."""
    return url if secret is None else url.with_user(topics.MUX_USER, mux_password(secret))


def connections_for(count: int, links: int | None) -> int:
    """MQTT connections for ``count`` hubs: ``links`` if given (0: one per hub), else one per hub
    up to :data:`PER_HUB_CONNECTIONS_MAX` and a multiplexer's few above."""
    if links is None:
        return count if count <= PER_HUB_CONNECTIONS_MAX else links_for(count)
    return count if links == 0 else min(links, count)


async def run_hubs(broker_url: str | BrokerUrl, *, seed: int = 1, first: int, count: int, clock: Clock | None = None,
                   seconds: float = 0.0, stop: asyncio.Event | None = None, hub_secret: bytes | None = None,
                   gsme_wake_s: float | None = None, wait_s: float = 15.0, links: int | None = None,
                   prepare: Callable[[World], Awaitable[None]] | None = None,
                   on_ready: Callable[[HubsReport], None] | None = None, state: Path | None = None) -> HubsReport:
    """Run the hubs of premises ``first .. first+count-1`` until ``stop`` is set or for ``seconds``.
    ``links``: MQTT connections (None: :func:`connections_for` decides; 0: one per hub).
    ``prepare`` runs on the built world before the worker is ready (a benchmark's pre-installed meters).
    With ``state``, every device keeps its state in that folder and resumes from it."""
    url = _url(broker_url)
    check_range(first, count)
    connections = connections_for(count, links)
    mux = MqttMux(mux_credentials(url, hub_secret), connections, f"hubs-{first}") if connections < count else None
    started = time.perf_counter()
    if mux is None:
        await probe_broker(hub_credentials(url, device_eui(first, "CHF"), hub_secret), wait_s)

        def port(hub: bytes) -> MqttHubPort:
            return MqttHubPort(hub_credentials(url, hub, hub_secret), hub)
    else:
        await mux.start(wait_s)
        port = mux.hub_port
    try:
        # The world's own DSP stays idle (the hubs answer the broker): it gets no inventory.
        with built_then_frozen():
            world = await build_world(clock or RealClock(), [fleet_profile(gsme_wake_s)] * count, seed=seed,
                                      first=first, dsp_port=MemoryWan().dsp_port(), hub_port=port, register=False,
                                      state=StateFolder(state) if state is not None else None)
        if mux is not None and not await mux.wait_subscribed(wait_s + count / 1000):
            raise TimeoutError
    except TimeoutError:
        if mux is not None:
            await mux.stop()
        raise BrokerError(f"a hub of premises {first}..{first + count - 1} did not get onto broker "
                          f"{url.host}:{url.port}") from None
    installer = Installer(world)
    if prepare is not None:
        await prepare(world)
    freeze_long_lived()  # the installer's table and what ``prepare`` made live as long as the worker
    report = HubsReport(first, count, connections, start_s=round(time.perf_counter() - started, 3))
    try:
        if on_ready is not None:
            on_ready(report)
        await _wait(stop or asyncio.Event(), seconds)
    finally:
        await installer.stop()
        report.joins, report.join_failures = installer.joins, dict(installer.failures)
        report.reconnects = _reconnects(world, mux)
        report.seconds = round(time.perf_counter() - started, 3)
        await world.stop()
        if mux is not None:
            await mux.stop()
    return report


# --- the DSP role ----------------------------------------------------------------------------


def add_inventory(core: Dsp, seed: int, profiles: Sequence[PremisesProfile], first: int = 0) -> int:
    """Register premises ``first ..`` as ``build_world`` does; returns how many devices were added."""
    return sum(register_premises(core, seed, i, profile) for i, profile in enumerate(profiles, start=first))


@dataclass(slots=True)
class DriveOptions:
    """``--drive``: commission every premises, then ``srv`` to every ESME in turn at ``rate`` per second."""

    srv: str = "4.1.1"
    rate: float = 20.0
    commission_timeout_s: float = 120.0
    commission_concurrency: int = 32


@dataclass(slots=True)
class _Reads:
    requests: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)  # ESMEs that answered I0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _meters(i: int, profile: PremisesProfile) -> list[tuple[bytes, str]]:
    kinds = [("ESME", profile.electricity), ("GSME", profile.gas)]
    return [(device_eui(i, kind), kind) for kind, meter in kinds if meter is not None]


def _status(repo: Repository, eui: bytes) -> Status | None:
    dev = repo.device(Eui64(eui))
    return dev.status if dev else None


async def _until_joined(repo: Repository, eui: bytes, kind: str) -> None:
    if await until(lambda: _status(repo, eui) in (Status.INSTALLED_NOT_COMMISSIONED, Status.COMMISSIONED),
                   JOIN_WAIT_S):
        return
    raise StepFailed(f"{kind} {eui.hex().upper()} did not join within {JOIN_WAIT_S:g} s of SRV 8.11")


async def commission_premises(user: ServiceUser, seed: int, i: int, profile: PremisesProfile,
                              joins: JoinWatch | None = None) -> None:
    """SRV 8.14.1, SRV 8.11 per meter (its hub's installer then joins it), SRV 8.1.1 per meter.
    Steps done in this run (a retry) are skipped. A meter the DSP's kept state (``--data``/``--db``
    of an earlier run) shows Commissioned is installed again: its hub may be a fresh worker that
    keeps no state. With ``joins`` the DSP waits for that meter's join event, else it goes on after
    SRV 8.11 (a hub that kept its state answers SRV 8.1.1 at once)."""
    repo = user.service.core.repo
    chf = device_eui(i, "CHF")
    if _status(repo, chf) != Status.COMMISSIONED:
        await send_ok(user, "8.14.1", "", {"device": chf.hex().upper()})
    meters = _meters(i, profile)
    kept = {eui for eui, _ in meters if _status(repo, eui) == Status.COMMISSIONED and
            (joins is None or eui.hex().upper() not in joins.commissioned)}
    for eui, kind in meters:
        if _status(repo, eui) in (Status.PENDING, Status.WHITELISTED) or eui in kept:
            await send_ok(user, "8.11", chf, {"device": eui.hex(), "device_type": DEVICE_TYPE_CODES[kind],
                                              "install_code": install_code_for(seed, eui).hex()})
    for eui, kind in meters:
        if eui not in kept:
            await _until_joined(repo, eui, kind)
        elif joins is not None:
            await joins.wait_joined(eui.hex().upper(), JOIN_WAIT_S)
    for eui, kind in meters:
        if _status(repo, eui) != Status.COMMISSIONED or eui in kept:
            await send_ok(user, "8.1.1", eui)
        if _status(repo, eui) != Status.COMMISSIONED:
            raise StepFailed(f"{kind} {eui.hex().upper()} not Commissioned after SRV 8.1.1")
        if joins is not None:
            joins.commissioned.add(eui.hex().upper())


class JoinWatch(DspPort):
    """The DSP's WAN port, noting the devices whose hubs report a join in this run and the meters
    commissioned in this run: the DSP's kept state cannot tell a meter commissioned by an earlier
    run (whose hub may have restarted empty) from one commissioned now."""

    def __init__(self, inner: DspPort) -> None:
        self.inner = inner
        self.joined: set[str] = set()
        self.commissioned: set[str] = set()

    async def start(self, on_up: UpHandler) -> None:
        async def up(hub: bytes, message: UpMessage) -> None:
            if isinstance(message, JoinedEvent):
                self.joined.add(str(message.device))
            await on_up(hub, message)

        await self.inner.start(up)

    async def wait_joined(self, eui: str, timeout: float) -> bool:
        """Until the hub reports ``eui`` joined in this run, at most ``timeout`` seconds."""
        return await until(lambda: eui in self.joined, timeout)

    async def send(self, hub: bytes, message: DownMessage) -> None:
        await self.inner.send(hub, message)

    async def stop(self) -> None:
        await self.inner.stop()


async def _commission_retrying(user: ServiceUser, seed: int, i: int, profile: PremisesProfile,
                               deadline: float, sem: asyncio.Semaphore, joins: JoinWatch | None) -> str | None:
    """None once commissioned, else the last failure (retried until ``deadline``: hubs may start late)."""
    loop = asyncio.get_running_loop()
    async with sem:
        while True:
            try:
                await commission_premises(user, seed, i, profile, joins)
                return None
            except StepFailed as e:
                if loop.time() + 2.0 >= deadline:
                    return str(e)
            await asyncio.sleep(2.0)


async def commission_all(user: ServiceUser, seed: int, premises: int, options: DriveOptions,
                         joins: JoinWatch | None = None) -> dict[str, str]:
    """Commission premises 0..premises-1 concurrently; failures by premises id."""
    deadline = asyncio.get_running_loop().time() + options.commission_timeout_s
    sem = asyncio.Semaphore(options.commission_concurrency)
    profile = fleet_profile()
    results = await asyncio.gather(*(_commission_retrying(user, seed, i, profile, deadline, sem, joins)
                                     for i in range(premises)))
    return {f"P{i:04d}": why for i, why in enumerate(results) if why is not None}


async def _read_once(user: ServiceUser, srv: str, target: str, reads: _Reads, sem: asyncio.Semaphore) -> None:
    t0 = time.perf_counter()
    try:
        ack, final = await user.send(srv, target)
        code = final.code if final is not None else ack.code
    except Exception as e:  # a driver counts what went wrong and goes on
        code = type(e).__name__
    finally:
        sem.release()
    reads.latencies.append(time.perf_counter() - t0)
    reads.codes[code] += 1
    if code == "I0":
        reads.answered.add(target)


async def read_load(user: ServiceUser, targets: list[str], srv: str, rate: float, seconds: float,
                    stop: asyncio.Event) -> tuple[_Reads, float]:
    """``srv`` to each target in turn, ``rate`` per second, for ``seconds`` (0: until ``stop``); (reads, wall)."""
    loop = asyncio.get_running_loop()
    reads = _Reads()
    tasks: set[asyncio.Task[None]] = set()
    sem = asyncio.Semaphore(MAX_INFLIGHT_READS)
    t0 = loop.time()
    while targets and not stop.is_set() and (seconds <= 0 or loop.time() - t0 < seconds):
        await sem.acquire()  # at most MAX_INFLIGHT_READS outstanding: beyond that the rate drops
        task = asyncio.ensure_future(_read_once(user, srv, targets[reads.requests % len(targets)], reads, sem))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        reads.requests += 1
        await asyncio.sleep(max(0.0, t0 + reads.requests / rate - loop.time()))
    wall = loop.time() - t0
    if tasks:
        await asyncio.wait(tasks, timeout=user.service.timeout + 5)
    return reads, wall


def drive_summary(premises: int, failed: dict[str, str], commission_s: float, options: DriveOptions,
                  reads: _Reads, wall: float) -> dict[str, Any]:
    done = sum(reads.codes.values())
    return {"premises": premises, "commissioned": premises - len(failed), "commission_failures": failed,
            "commission_s": round(commission_s, 3), "srv": options.srv, "rate_target": options.rate,
            "requests": reads.requests, "completed": done, "i0": reads.codes.get("I0", 0),
            "failures": reads.requests - reads.codes.get("I0", 0), "codes": dict(reads.codes),
            "meters_read": len(reads.answered), "read_s": round(wall, 3),
            "reads_per_s": round(done / wall, 1) if wall > 0 else 0.0,
            "p50_ms": round(_pct(reads.latencies, 0.5) * 1000, 2),
            "p95_ms": round(_pct(reads.latencies, 0.95) * 1000, 2)}


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """The result of ``work``, or None (``work`` cancelled) if ``stop`` is set first."""
    task, stopped = asyncio.ensure_future(work), asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def drive(user: ServiceUser, seed: int, premises: int, options: DriveOptions, seconds: float,
                stop: asyncio.Event, joins: JoinWatch | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    failed = await _unless_stopped(commission_all(user, seed, premises, options, joins), stop)
    if failed is None:  # stopped while commissioning: say which premises were not done
        failed = {f"P{i:04d}": "stopped before commissioned" for i in range(premises)
                  if any(_status(user.service.core.repo, eui) != Status.COMMISSIONED
                         for eui, _ in _meters(i, fleet_profile()))}
    commission_s = time.perf_counter() - t0
    targets = [device_eui(i, "ESME").hex().upper() for i in range(premises) if f"P{i:04d}" not in failed]
    reads, wall = await read_load(user, targets, options.srv, options.rate, seconds, stop)
    return drive_summary(premises, failed, commission_s, options, reads, wall)


def _repository(db: Path | None) -> Repository:
    if db is None:
        return AgeingRepository()  # bounded: a long run must not grow without end
    from emulator.dsp.store import SqliteRepository

    return SqliteRepository(db)


def _heard(service: DspService, premises: int) -> dict[str, int]:
    ours = {device_eui(i, "CHF").hex().upper() for i in range(premises)}
    heard = set(service.delivered_per_hub)
    return {"hubs_heard": len(heard & ours), "foreign_hubs": len(heard - ours)}


async def run_dsp(broker_url: str | BrokerUrl, *, seed: int = 1, premises: int, http_port: int = 8080,
                  db: Path | None = None, http_host: str = "127.0.0.1", drive_options: DriveOptions | None = None,
                  seconds: float = 0.0, clock: Clock | None = None, stop: asyncio.Event | None = None,
                  wait_s: float = 15.0, response_timeout_s: float = 25.0,
                  on_ready: Callable[[int], None] | None = None, token: str | None = None,
                  policy: RestrictedPolicy | None = None) -> dict[str, Any]:
    """The DSP over the broker with the SSI API on ``http_port`` (0: any), until ``stop`` or for
    ``seconds``. With ``drive_options``: commission, then read for ``seconds``; the summary.
    ``token`` authenticates the SSI's changing calls (random if not given)."""
    url = _url(broker_url)
    check_range(0, premises)
    await probe_broker(url, wait_s)
    clock = clock or RealClock()
    stop = stop or asyncio.Event()
    keys = DerivedKeys(seed, premises)
    repo = _repository(db)
    dsp_keys = view(keys, [identities.ACB, identities.TRANSITIONAL_COS])
    core = Dsp(repo, policy, USERS, keys=dsp_keys)
    add_inventory(core, seed, [fleet_profile()] * premises)
    joins = JoinWatch(MqttDspPort(url))
    service = DspService(core, joins, dsp_keys, clock, response_timeout_s)
    await service.start()
    freeze_long_lived()  # the inventory and the service: not walked by every full collection
    api = HttpApi(service, host=http_host, port=http_port, token=token)
    summary: dict[str, Any] = {"role": "dsp", "premises": premises}
    try:
        bound = await api.start()
        if on_ready is not None:
            on_ready(bound)
        if drive_options is None:
            await _wait(stop, seconds)
        else:
            user = ServiceUser(SUPPLIER, "IS", service, view(keys, [bytes.fromhex(SUPPLIER)]), clock)
            summary.update(await drive(user, seed, premises, drive_options, seconds, stop, joins))
        summary.update(_heard(service, premises))
    finally:
        await api.stop()
        await service.stop()
        close = getattr(repo, "close", None)
        if close is not None:
            close()
    return summary
