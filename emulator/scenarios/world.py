"""A whole emulated world on one event loop: test PKI, DSP stub, WAN, and premises with a
CHF (+GPF), an ESME and a GSME each on its own virtual HAN. Journeys, the pytest plugin
and the fleet all build on this.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.clock import Clock
from emulator.devices.chf import DEVICE_TYPE_CODES, Chf
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.esme import Esme
from emulator.devices.events import DeviceEvent
from emulator.devices.gpf import Gpf
from emulator.devices.gsme import Gsme
from emulator.devices.profile import PremisesProfile
from emulator.devices.state_snapshot import MeterSnapshot, restore
from emulator.dsp.core import Dsp
from emulator.dsp.model import Device, Premises, Region, Response, ServiceRequest, Status, User
from emulator.dsp.policy import RestrictedPolicy
from emulator.dsp.repository import MemoryRepository, Repository
from emulator.gbcs import catalogue, frames, identities, security
from emulator.gbcs.credentials import ROOT_EUI
from emulator.gbcs.keys import KeyStore
from emulator.pki.derived import DerivedKeys
from emulator.pki.generate import build as build_pki
from emulator.pki.generate import device_eui, manufacturer_key
from emulator.pki.se_certs import enable_cbke
from emulator.transport.device_runner import ChfRunner, MeterRunner
from emulator.transport.device_state import StateFolder
from emulator.transport.dsp_service import DspService
from emulator.transport.han import HanDeviceLink, HanMedium
from emulator.transport.virtual_han import Impairments, Tap, VirtualHan
from emulator.transport.wan import DspPort, HubPort, MemoryWan
from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.install_code import link_key_from_install_code, with_crc

#: Makes one premises' HAN from (premises index, CHF EUI-64).
HanFactory = Callable[[int, bytes], Awaitable[HanMedium]]

SUPPLIER = identities.SUPPLIER.hex().upper()
SECOND_SUPPLIER = identities.SECOND_SUPPLIER.hex().upper()
NETWORK_OPERATOR = identities.NETWORK_OPERATOR.hex().upper()
OTHER_USER = "00DB123456780004"
USERS = {
    SUPPLIER: User(SUPPLIER, frozenset({"IS", "GS"}), "supplier"),
    SECOND_SUPPLIER: User(SECOND_SUPPLIER, frozenset({"IS", "GS"}), "second supplier"),
    NETWORK_OPERATOR: User(NETWORK_OPERATOR, frozenset({"ED", "GT"}), "network operator"),
    # DCC Boxed's third ZAZ1 test user (xml-sign-00DB123456780004-ds): registered here as an Other User.
    OTHER_USER: User(OTHER_USER, frozenset({"OU"}), "other user (DCC Boxed ZAZ1)"),
}


def install_code_for(seed: int, eui: bytes) -> bytes:
    """A device's install code (16 bytes + CRC), fixed by the seed: what is printed on its label."""
    return with_crc(hashlib.sha256(f"install-code/{seed}/{eui.hex()}".encode()).digest()[:16])


def key_stores(seed: int, premises: int) -> tuple[KeyStore, ec.EllipticCurvePrivateKey]:
    """Every party's keys (private included) from the deterministic test PKI."""
    issued, root, _, _ = build_pki(seed, premises)
    store = KeyStore()
    for item in issued:
        der = item.cert.public_bytes(serialization.Encoding.DER)
        store.add_private(item.eui, item.usage, item.key, der)  # type: ignore[arg-type]
    # The root trust anchor every device holds (GBCS reports its subject unique id as all zeros):
    # a replacement certificate must chain to it (CS02b).
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    store.add_public(ROOT_EUI, "ds", root_key, root.public_bytes(serialization.Encoding.DER))
    return store, manufacturer_key(seed)


def view(full: KeyStore, own: list[bytes]) -> KeyStore:
    """A party's view: its own private keys, everyone else's public keys (of a :class:`DerivedKeys`,
    a view that copies nothing)."""
    if isinstance(full, DerivedKeys):
        return full.view(own)
    store = KeyStore()
    for key in full:
        if key.eui in own:
            store.add(key)
        else:
            store.add_public(key.eui, key.usage, key.public, key.certificate_der)
    return store


@dataclass(slots=True)
class PremisesRuntime:
    index: int
    profile: PremisesProfile
    chf: bytes
    esme: bytes
    gsme: bytes
    gpf: bytes
    bus: HanMedium
    """The premises' HAN: a :class:`VirtualHan` unless the world was built on another medium."""
    chf_runner: ChfRunner
    esme_runner: MeterRunner | None
    gsme_runner: MeterRunner | None
    seed: int

    @property
    def id(self) -> str:
        return f"P{self.index:04d}"

    @property
    def install_codes(self) -> dict[bytes, bytes]:
        """The install codes on the labels of the meters and the GPF (derived when asked: a fleet
        reads them once, when a meter joins)."""
        return {e: install_code_for(self.seed, e) for e in (self.esme, self.gsme, self.gpf)}


@functools.lru_cache(maxsize=4096)
def _duis(eui: str) -> str:
    """An EUI as DUIS writes it in a RequestID (8 hex pairs joined by '-'): remembered for the devices
    a user addresses most, as a user sends to the same meters again and again."""
    return "-".join(eui[i:i + 2] for i in range(0, 16, 2))


class ServiceUser:
    """A Service User's client: RequestIDs with increasing counters, and the critical-SRV dance
    (CV 4 Pre-Command, sign with the user's DS key, CV 5)."""

    def __init__(self, eui: str, role: str, service: DspService, keys: KeyStore, clock: Clock) -> None:
        self.eui = eui
        self.role = role
        self.service = service
        self.keys = keys
        self.clock = clock
        self.counter = security.CounterSource()

    def request_id(self, target: str) -> str:
        counter = self.counter.next(self.clock.now())
        return f"{_duis(self.eui)}:{_duis(target or identities.DCC.hex().upper())}:{counter}"

    async def send(self, srv: str, target: str, body: dict[str, Any] | None = None, *, cv: int | None = None,
                   role: str | None = None) -> tuple[Response, Response | None]:
        """(immediate answer, final answer or None). Critical SRVs go through CV 4 and CV 5."""
        info = catalogue.srvs().get(srv)
        critical = bool(info and info.critical)
        variant = cv if cv is not None else (8 if info and info.non_device else 4 if critical else 1)
        req = ServiceRequest(self.request_id(target), srv, variant, dict(body or {}), role or self.role)
        ack = await self.service.submit(self.eui, req)
        if variant != 4 or ack.code != "I0" or "precommand" not in ack.body:
            if ack.code == "I99":
                return ack, await self.service.result(req.request_id)
            return ack, None
        pre = frames.decode(bytes.fromhex(ack.body["precommand"]))
        signed = security.sign(self.keys, pre)
        wire = frames.encode(signed.with_(mac_protected=False)).hex().upper()
        req5 = ServiceRequest(self.request_id(target), srv, 5, dict(body or {}), role or self.role,
                              signed_command=wire)
        ack5 = await self.service.submit(self.eui, req5)
        if ack5.code != "I99":
            return ack5, None
        return ack5, await self.service.result(req5.request_id)


@dataclass(slots=True)
class World:
    clock: Clock
    seed: int
    keys: KeyStore
    manufacturer: ec.EllipticCurvePrivateKey
    dsp: DspService
    users: dict[str, ServiceUser]
    premises: list[PremisesRuntime] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)

    async def stop(self) -> None:
        for p in self.premises:
            for r in (p.esme_runner, p.gsme_runner):
                if r is not None:
                    await r.stop()
            await p.chf_runner.stop()
            await p.bus.aclose()
        await self.dsp.stop()


async def build_world(clock: Clock, profiles: list[PremisesProfile], *, seed: int = 1,
                      dsp_port: DspPort | None = None, hub_port: Callable[[bytes], HubPort] | None = None,
                      repo: Repository | None = None, policy: RestrictedPolicy | None = None,
                      impairments: Impairments | None = None, tap: Tap | None = None,
                      response_timeout_s: float = 25.0, han: HanFactory | None = None,
                      first: int = 0, register: bool = True, state: StateFolder | None = None) -> World:
    """Create and start the DSP and every premises (devices installed, nothing commissioned yet).

    ``han`` makes each premises' HAN from (premises index, CHF EUI); the default is a virtual bus
    with ``impairments`` and ``tap``. Premises indices (so EUIs and ids ``P{i:04d}``) start at
    ``first``: separate processes given disjoint ranges build disjoint hubs. ``register=False``
    leaves them out of the world's own DSP inventory (a fleet worker's DSP is idle: the hubs answer
    the DSP of another process). With ``state``, every device keeps what a restart must not lose in
    that folder, and starts from what it kept there (a meter that was on the network joins again).
    """
    # Keys derived on use: a copy of every key for every party made a fleet's memory grow as N squared.
    keys, maker = DerivedKeys(seed, first + len(profiles)), manufacturer_key(seed)
    memory = MemoryWan() if dsp_port is None or hub_port is None else None
    port = dsp_port or (memory.dsp_port() if memory else None)
    assert port is not None
    hubs = hub_port or (memory.hub_port if memory else None)
    assert hubs is not None
    dsp_keys = view(keys, [identities.ACB, identities.TRANSITIONAL_COS])
    core = Dsp(repo or MemoryRepository(), policy, USERS, keys=dsp_keys)
    service = DspService(core, port, dsp_keys, clock, response_timeout_s)
    await service.start()
    world = World(clock, seed, keys, maker, service, {})
    for eui, user in USERS.items():
        role = sorted(user.roles)[0] if "IS" not in user.roles else "IS"
        world.users[eui] = ServiceUser(eui, role, service, view(keys, [bytes.fromhex(eui)]), clock)
    now = clock.now()
    for i, profile in enumerate(profiles, start=first):
        world.premises.append(await _premises(world, core, i, profile, hubs, impairments, tap, now, han, register,
                                              state))
    return world


async def _premises(world: World, core: Dsp, i: int, profile: PremisesProfile, hubs: Callable[[bytes], HubPort],
                    impairments: Impairments | None, tap: Tap | None, now: float,
                    han: HanFactory | None, register: bool, state: StateFolder | None = None) -> PremisesRuntime:
    chf, esme, gsme, gpf = (device_eui(i, k) for k in ("CHF", "ESME", "GSME", "GPF"))
    sink = world.events.append
    maker_public = world.manufacturer.public_key()
    bus: HanMedium = (await han(i, chf) if han is not None else
                      VirtualHan(seed=world.seed * 1000 + i, impairments=impairments, tap=tap))
    gpf_machine = Gpf(gpf, GbcsEndpoint(gpf, view(world.keys, [gpf]), TrustAnchors()), bytes.fromhex("0123ABCD"))
    chf_machine = Chf(chf, GbcsEndpoint(chf, view(world.keys, [chf]), TrustAnchors()), bytes.fromhex("0123ABCD"),
                      gpf_machine)
    kept = state.load(chf) if state is not None else None
    if kept is not None:
        restore(chf_machine, kept)
    chf_runner = ChfRunner(chf_machine, bus.radio(chf), hubs(chf), world.clock, sink, state)
    await chf_runner.start()
    esme_runner = gsme_runner = None
    rejoin: list[MeterRunner] = []
    if profile.electricity is not None:
        m = Esme(esme, GbcsEndpoint(esme, view(world.keys, [esme]), TrustAnchors()), chf, profile.electricity, now,
                 maker_public)
        esme_runner = MeterRunner(m, _attacher(bus, esme, sleepy=False), world.clock, sink, state)
        rejoin += _restored(esme_runner, state)
    if profile.gas is not None:
        g = Gsme(gsme, GbcsEndpoint(gsme, view(world.keys, [gsme]), TrustAnchors()), chf, profile.gas, now,
                 maker_public)
        gsme_runner = MeterRunner(g, _attacher(bus, gsme, sleepy=True), world.clock, sink, state)
        rejoin += _restored(gsme_runner, state)
    if profile.cbke:
        enable_cbke(world.seed, chf_machine, [r.machine for r in (esme_runner, gsme_runner) if r is not None])
    rt = PremisesRuntime(i, profile, chf, esme, gsme, gpf, bus, chf_runner, esme_runner, gsme_runner, world.seed)
    if register:
        register_premises(core, world.seed, i, profile)
    for runner in rejoin:  # it was on the network before the restart: it joins again with its install code
        await runner.try_join(link_key_from_install_code(install_code_for(world.seed, runner.machine.eui)))
    return rt


def _restored(runner: MeterRunner, state: StateFolder | None) -> list[MeterRunner]:
    """Give the meter what it kept in ``state``; [runner] if it should join again."""
    kept = state.load(runner.machine.eui) if state is not None else None
    if kept is None:
        return []
    restore(runner.machine, kept)
    return [runner] if isinstance(kept, MeterSnapshot) and kept.joined else []


def register_premises(core: Dsp, seed: int, index: int, profile: PremisesProfile) -> int:
    """Put premises ``index`` in the DSP's inventory (hub, meters, GPF; pending, with the installing
    supplier's install codes), as every process that shares the seed derives it. Rows already in the
    repository (a ``--db`` of an earlier run) are kept. Returns how many devices were added."""
    pid, chf = f"P{index:04d}", Eui64(device_eui(index, "CHF"))
    if core.repo.premises(pid) is None:
        core.add_premises(Premises(pid, Region(profile.region), chf, profile.economy7_load_control,
                                   profile.radio_teleswitch, profile.network_managed))
    added = 0
    for device in _inventory(seed, index, pid, profile):
        if core.repo.device(device.eui) is None:
            core.add_device(device)
            added += 1
    return added


def _inventory(seed: int, i: int, pid: str, profile: PremisesProfile) -> list[Device]:
    chf, esme, gsme, gpf = (device_eui(i, k) for k in ("CHF", "ESME", "GSME", "GPF"))
    out = [Device(Eui64(chf), "CHF", pid, Status.PENDING)]
    for eui, kind, meter in ((esme, "ESME", profile.electricity), (gsme, "GSME", profile.gas)):
        if meter is None:
            continue
        out.append(Device(Eui64(eui), kind, pid, Status.PENDING, meter.payment_mode,
                          meter.firmware_version.hex().upper(),
                          import_supplier=SUPPLIER if kind == "ESME" else None,
                          gas_supplier=SUPPLIER if kind == "GSME" else None,
                          installing_supplier=SUPPLIER, install_code=install_code_for(seed, eui).hex().upper()))
    if profile.gas is not None:
        out.append(Device(Eui64(gpf), "GPF", pid, Status.PENDING, gas_supplier=SUPPLIER,
                          paired_gsme=Eui64(gsme), firmware_version="0123ABCD"))
    return out


def _attacher(bus: HanMedium, eui: bytes, *, sleepy: bool) -> Callable[[MeterRunner], HanDeviceLink]:
    def attach(runner: MeterRunner) -> HanDeviceLink:
        return bus.attach(eui, runner, sleepy=sleepy)

    return attach


def device_type_code(kind: str) -> int:
    return DEVICE_TYPE_CODES[kind]
