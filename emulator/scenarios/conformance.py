"""Device-under-test conformance: the hub on a dongle with the DSP, one real device joining with its
install code, and every UIT step and SIT case that applies to its type run against it.

Each case passes, fails with the difference, or does not apply. What the device must answer
comes from the reference, never from the emulated meters: the DUIS code from the SIT rules
(:func:`emulator.scenarios.sit.expected`), and the response's structure from the RTDS 4.5.0
response of the same SRV and message code (``../shared/vectors``; :mod:`emulator.gbcs.response_shape`).
Timing failures are the DSP's: no device response within its deadline is E21.

The alert check withholds the first alert the device raises after SRV 11.1 (its firmware
receipt) from the hub, so it goes unacknowledged; a conforming device sends it again (DV-6).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from emulator.clock import Clock, until
from emulator.dsp.model import Status
from emulator.gbcs import catalogue, frames, usecases
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.frames import Cra, Message
from emulator.gbcs.response_shape import Shape, difference, mirror_difference, shape
from emulator.scenarios import sit, uit
from emulator.scenarios.bench_hub import BenchDevice
from emulator.scenarios.report import Recorder, Step, StepFailed, StepNotApplicable, check
from emulator.scenarios.steps import send_ok
from emulator.scenarios.trace import gbcs_in
from emulator.scenarios.world import SUPPLIER, ServiceUser, World
from emulator.transport.dsp_service import alert_code_of
from emulator.transport.han import HanListener, HanPacket
from emulator.transport.wan import DspPort, UpHandler
from emulator.transport.wan_messages import Command, DownMessage
from emulator.zigbee import ota_file
from emulator.zigbee.eui64 import Eui64

JOURNEYS = ("uit", "sit")
JOIN_TIMEOUT_S = 120.0
#: GBCS devices resend an unacknowledged alert about every 300 s; a little slack on top.
ALERT_RETRY_S = 360.0
FIRMWARE_TIMEOUT_S = 1800.0
NEVER_JOINED = "not run: the device never joined"
#: Use-case name prefixes per device type (GBCS: ECS electricity, GCS gas, CS both).
PREFIXES = {"ESME": ("ECS", "CS"), "GSME": ("GCS", "CS")}
#: The payload family a device type never answers in (GBCS: an ESME speaks DLMS, a GSME GBZ), so a
#: CS use case's reference from the other meter is not held against it.
FOREIGN = {"ESME": "gbz", "GSME": "dlms"}


def default_vectors() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "gbcs-rtds-4.5.0"


@dataclass(frozen=True, slots=True)
class Reference:
    name: str
    message_code: int
    shape: Shape


class References:
    """The RTDS responses per SRV: what a device's answer is held against."""

    def __init__(self, root: Path | None) -> None:
        self.root = root if root is not None and (root / "messages").is_dir() else None

    @cache  # noqa: B019  (one instance per run)
    def of(self, srv: str, device_type: str) -> tuple[Reference, ...]:
        if self.root is None:
            return ()
        out = []
        for folder in sorted((self.root / "messages").glob(f"{srv}_*")):
            if not folder.name.split("_", 1)[1].startswith(PREFIXES.get(device_type, ())):
                continue
            for path in sorted(folder.glob("*_RESPONSE_GBCS.HEX")):
                try:
                    msg = frames.decode(bytes.fromhex(path.read_text().strip()))
                except (GbcsError, ValueError):
                    continue
                ref = Reference(path.name.removesuffix("_GBCS.HEX"), msg.message_code, shape(msg.payload))
                if not (isinstance(ref.shape, tuple) and ref.shape[0] == FOREIGN.get(device_type)):
                    out.append(ref)
        return tuple(out)

    def judge(self, srv: str, device_type: str, msg: Message, command: Message | None) -> str:
        """The pass detail, or StepFailed naming the difference: from the command it answers (the
        use case, one DLMS result per request), then from the closest RTDS response."""
        if command is not None and msg.message_code != command.message_code:
            raise StepFailed(f"wrong use case: the response carries message code 0x{msg.message_code:04X}, the "
                             f"command 0x{command.message_code:04X}")
        got = shape(msg.payload)
        if isinstance(got, tuple) and got[0] == "undecodable":
            raise StepFailed(f"wrong response structure: the payload does not decode ({got[1]})")
        mirror = mirror_difference(msg.payload, command.payload) if command is not None else None
        if mirror is not None:
            raise StepFailed(f"wrong response structure: {mirror}")
        same = [r for r in self.of(srv, device_type) if r.message_code == msg.message_code]
        if isinstance(got, tuple) and got[0] == "dlms":  # held against responses with the same results
            same = [r for r in same if isinstance(r.shape, tuple) and r.shape[1] == got[1]]
        if _refusals_only(got):  # a GBZ answer of ZCL Default Responses only: the GBZ form of error results
            same = [r for r in same if _refusals_only(r.shape)]
        if not same:
            return (f"I0; no RTDS response for message code 0x{msg.message_code:04X} with these results: checked "
                    f"against its command only")
        diffs = []
        for ref in same:
            found = difference(got, ref.shape)
            if found is None:
                return f"I0, structure as {ref.name}"
            diffs.append((ref.name, found))
        name, found = min(diffs, key=lambda d: len(d[1]))
        raise StepFailed(f"wrong response structure: expected {name}; {found}")


def _refusals_only(s: Shape) -> bool:
    return (isinstance(s, tuple) and s[0] == "gbz" and isinstance(s[1], tuple) and bool(s[1])
            and all(isinstance(c, tuple) and c[1:] == ("general", 0x0B) for c in s[1]))


class AlertGate:
    """Between the hub's radio and the CHF: withholds the device's next alert once (so the hub
    does not acknowledge it) and notes when the device sends it again."""

    def __init__(self, inner: HanListener, device: bytes, now: Callable[[], float]) -> None:
        self.inner, self.device, self.now = inner, device, now
        self.armed = False
        self.withheld: tuple[int, int, float] | None = None
        """(alert code, GBCS counter, when) of the alert withheld."""
        self.resent_at: float | None = None

    def packet_received(self, packet: HanPacket) -> None:
        msg = self._alert(packet)
        if msg is not None and self.armed and self.withheld is None:
            self.withheld = (alert_code_of(msg), msg.counter, self.now())
            return  # lost before the hub: no acknowledgement goes back
        if msg is not None and self.withheld is not None and msg.counter == self.withheld[1]:
            self.resent_at = self.resent_at or self.now()
        self.inner.packet_received(packet)

    def _alert(self, packet: HanPacket) -> Message | None:
        if packet.src != self.device:
            return None
        wire = gbcs_in(packet)
        try:
            msg = frames.decode(wire) if wire else None
        except (GbcsError, ValueError):
            return None
        return msg if msg is not None and msg.cra is Cra.ALERT else None

    def device_joined(self, eui: bytes, nwk: int) -> None:
        self.inner.device_joined(eui, nwk)

    def device_left(self, eui: bytes) -> None:
        self.inner.device_left(eui)

    def join_refused(self, eui: bytes, reason: str) -> None:
        self.inner.join_refused(eui, reason)

    def connection_lost(self, error: Exception | None) -> None:
        self.inner.connection_lost(error)


class CommandLog(DspPort):
    """The DSP's WAN port, noting each command's GBCS by request id (what a response answers)."""

    def __init__(self, inner: DspPort) -> None:
        self.inner = inner
        self.sent: dict[str, str] = {}

    async def start(self, on_up: UpHandler) -> None:
        await self.inner.start(on_up)

    async def stop(self) -> None:
        await self.inner.stop()

    async def send(self, hub: bytes, message: DownMessage) -> None:
        if isinstance(message, Command):
            self.sent[message.request_id] = message.gbcs.hex().upper()
        await self.inner.send(hub, message)


@dataclass(slots=True)
class Settings:
    device: BenchDevice
    journeys: tuple[str, ...] = JOURNEYS
    join_timeout_s: float = JOIN_TIMEOUT_S
    alert_retry_s: float = ALERT_RETRY_S
    vectors: Path | None = field(default_factory=default_vectors)
    manufacturer_code: int = 0x1234
    image_size: int = 2048


class Session:
    """One conformance run's state: the world, the device, the references."""

    def __init__(self, world: World, settings: Settings, rec: Recorder) -> None:
        self.world, self.settings, self.rec = world, settings, rec
        self.device = settings.device
        self.eui = self.device.eui.hex().upper()
        self.kind = self.device.kind
        self.refs = References(settings.vectors)
        self.commands = CommandLog(world.dsp.port)
        world.dsp.port = self.commands
        self.joined = False
        radio = world.premises[0].chf_runner.radio
        inner = getattr(radio, "listener", None)
        self.gate = AlertGate(inner, self.device.eui, world.clock.now) if inner is not None else None
        if self.gate is not None:
            radio.listener = self.gate  # type: ignore[attr-defined]

    @property
    def channel(self) -> str:
        info = getattr(self.world.premises[0].chf_runner.radio, "network_info", None)
        return str(info().get("channel", "?")) if callable(info) else "?"

    @property
    def clock(self) -> Clock:
        return self.world.clock

    def status(self) -> Status | None:
        dev = self.world.dsp.core.repo.device(Eui64(self.device.eui))
        return dev.status if dev else None

    async def checked(self, user: ServiceUser, srv: str, *, body: dict[str, object] | None = None,
                      role: str | None = None, expect: str = "I0") -> str:
        """Send ``srv`` to the device; the pass detail, or StepFailed naming the difference."""
        ack, final = await user.send(srv, self.eui, dict(body or {}), role=role)
        if expect in sit.DEVICE_REFUSES.values():  # sent by the DSP, refused by the device: no answer
            check(ack.code == "I99", f"wrong response code: expected I99 (sent), received {ack.code} ({ack.message})")
            code = final.code if final is not None else "none"
            check(code == expect, f"wrong final response: expected {expect} (the device refuses it and does not "
                                  f"answer), received {code} ({final.message if final is not None else ''})")
            return code
        if expect != "I0":
            check(ack.code == expect, f"wrong response code: expected {expect}, received {ack.code} ({ack.message})")
            return ack.code
        check(ack.code in ("I99", "I0"), f"wrong response code: expected I0, received {ack.code} ({ack.message})")
        if final is None:
            return ack.code
        if final.code == "E21":
            raise StepFailed(f"timing: no device response within the DSP's deadline (E21: {final.message})")
        check(final.code == "I0", f"wrong response code: expected I0, received {final.code} ({final.message})")
        wire = final.body.get("gbcs")
        if not isinstance(wire, str):
            return "I0"
        sent = self.commands.sent.pop(final.request_id, None)
        command = frames.decode(bytes.fromhex(sent)) if sent else None
        return self.refs.judge(srv, self.kind, frames.decode(bytes.fromhex(wire)), command)

    def step(self, id: str, name: str, requirements: list[str] | None = None) -> AbstractContextManager[Step]:
        return self.rec.step(id, name, requirements)


async def run(world: World, rec: Recorder, settings: Settings) -> None:
    """Every applicable case against the device, into ``rec``."""
    s = Session(world, settings, rec)
    with s.step("join", f"{s.kind} {s.eui} joins with its install code", ["IC-2"]) as st:
        wanted = {Status.INSTALLED_NOT_COMMISSIONED, Status.COMMISSIONED}
        s.joined = await until(lambda: s.status() in wanted, settings.join_timeout_s, every=0.5)
        check(s.joined, f"no join: the {s.kind} never joined within {settings.join_timeout_s:.0f} s; the hub "
                        f"permitted exactly {s.eui} with its install code's link key, so either the device joined "
                        f"with another key and the trust centre refused it, or it never tried (power, range, "
                        f"channel {s.channel})")
        st.detail = "joined; the hub told the DSP"
    if not s.joined:
        for id, name in [("commission", "commission (8.1.1)"), *_plan(s)]:
            with s.step(id, name):
                raise StepNotApplicable(NEVER_JOINED)
        return
    with s.step("commission", f"commission the {s.kind} (8.1.1, critical)", ["DV-3"]) as st:
        st.detail = await s.checked(world.users[SUPPLIER], "8.1.1")
    if "uit" in settings.journeys:
        await _uit(s)
    if "sit" in settings.journeys:
        await _sit(s)
    if "uit" in settings.journeys:
        with s.step("uit.decommission", f"decommission the {s.kind} (8.3)") as st:
            await send_ok(world.users[SUPPLIER], "8.3", "", {"device": s.eui})
            check(s.status() == Status.DECOMMISSIONED, f"status {s.status()} after 8.3, expected Decommissioned")


def _plan(s: Session) -> list[tuple[str, str]]:
    """The case ids a run would have had (to report them as not run)."""
    out = []
    if "uit" in s.settings.journeys:
        out += [(f"uit.{n}", n) for n in ("sample1", "restrict", "rejected", "allowed", "alerts", "firmware",
                                           "alert-retry", "clear", "sample2", "decommission")]
    if "sit" in s.settings.journeys:
        out += [(f"sit.{c.id}", f"SRV {c.srv}") for c in sit.matrix() if c.device_type == s.kind]
    return out


async def _set_restricted(s: Session, on: bool) -> None:
    r = await s.world.dsp.set_restricted(SUPPLIER, Eui64(s.device.eui), on)
    check(r.code == "I0", f"{'set' if on else 'clear'} Restricted: {r.code} {r.message}")


async def _uit(s: Session) -> None:
    sup = s.world.users[SUPPLIER]
    role = uit.supplier_role(s.kind)
    for phase in ("sample1", "sample2"):
        if phase == "sample2":
            with s.step("uit.clear", "supplier clears Restricted", ["RM-2", "RM-7"]):
                await _set_restricted(s, False)
        for srv in uit.SAMPLE_SRVS:
            with s.step(f"uit.{phase}.{srv}", f"sample SRV {srv} answered as the reference", ["RM-4"]) as st:
                st.detail = await s.checked(sup, srv, role=role)
        if phase == "sample2":
            return
        with s.step("uit.restrict", "supplier sets Restricted", ["RM-1", "RM-2"]):
            await _set_restricted(s, True)
        with s.step("uit.rejected", "every consumption SRV rejected with E72 before the device", ["RM-4"]) as st:
            srvs = uit.cons_srvs(s.kind, s.world.dsp.core.policy)
            for srv in srvs:
                await s.checked(sup, srv, role=role, expect="E72")
            st.detail = f"{len(srvs)} SRVs E72"
        for srv in ("11.2", "6.2.4"):
            with s.step(f"uit.allowed.{srv}", f"allowed SRV {srv} still answered while Restricted", ["RM-4"]) as st:
                st.detail = await s.checked(sup, srv, role=role)
        with s.step("uit.alerts", "alerts raised at will (SAT or diagnostics)", ["RM-5"]):
            raise StepNotApplicable("a real device cannot be made to raise an alert at will; alert delivery and "
                                    "retry are checked with its firmware receipt (uit.alert-retry)")
        await _firmware(s, sup)


async def _firmware(s: Session, sup: ServiceUser) -> None:
    gate, settings = s.gate, s.settings
    version = 0x0124ABCD
    with s.step("uit.firmware", "OTA firmware: the device downloads and alerts its receipt", ["DV-5"]) as st:
        if gate is not None:
            gate.armed = True
        img = ota_file.sample_image(s.world.manufacturer, manufacturer_code=settings.manufacturer_code,
                                    image_type=1 if s.kind == "ESME" else 2, file_version=version,
                                    size=settings.image_size)
        await send_ok(sup, "11.1", "", {"image": img.hex(), "targets": [s.eui]})
        got = await until(lambda: gate is None or gate.withheld is not None, FIRMWARE_TIMEOUT_S, every=1)
        check(got, f"missing alert: no firmware receipt alert within {FIRMWARE_TIMEOUT_S:.0f} s of SRV 11.1")
        st.detail = f"receipt alert 0x{gate.withheld[0]:04X}" if gate and gate.withheld else "distributed"
    with s.step("uit.alert-retry", "an alert the hub did not acknowledge is sent again", ["DV-6"]) as st:
        if gate is None or gate.withheld is None:
            raise StepNotApplicable("no alert was withheld (the radio adapter gives no listener to gate)")
        code, counter, at = gate.withheld
        resent = await until(lambda: gate.resent_at is not None, settings.alert_retry_s, every=1)
        check(resent, f"missing alert: alert 0x{code:04X} (counter {counter}) went unacknowledged and was not sent "
                      f"again within {settings.alert_retry_s:.0f} s (alert never retried)")
        assert gate.resent_at is not None
        st.detail = f"alert 0x{code:04X} sent again after {gate.resent_at - at:.0f} s"
    with s.step("uit.activate", "activate the image (11.3) and read the version (11.2)", ["DV-5"]) as st:
        await send_ok(sup, "11.3", s.eui, {"image_hash": ota_file.file_hash(img).hex()})
        st.detail = await s.checked(sup, "11.2")


def addressed_elsewhere(srv: str, device_type: str) -> str | None:
    """Why the SRV's use case for ``device_type`` is another device's, from the use case's title in
    the catalogue (``GCS59 Restore GPF Device Log`` is the GPF's, not a GSME's); None if it is this
    device's (or names none)."""
    uc = usecases.use_case_for(srv, device_type)
    info = catalogue.message_codes().get(uc.message_code) if uc is not None else None
    if info is None:
        return None
    named = set(re.findall(r"\b(ESME|GSME|GPF|CHF)\b", info.use_case))
    if not named or device_type in named:
        return None
    return f"use case {info.use_case} addresses the {'/'.join(sorted(named))}, not the {device_type}"


async def _sit(s: Session) -> None:
    cases = [c for c in sit.matrix() if c.device_type == s.kind]
    p = s.world.premises[0]
    for restricted in (False, True):
        if restricted:
            with s.step("sit.set", "responsible supplier sets Restricted", ["RM-2", "RM-7"]):
                await _set_restricted(s, True)
        for c in (c for c in cases if c.restricted == restricted):
            user_eui, codes = sit.ROLES[c.role]
            state = "Restricted" if c.restricted else "not Restricted"
            with s.step(f"sit.{c.id}", f"SRV {c.srv}, {state}, {c.role}: expect {c.expected}",
                        ["RM-4"] if c.restricted else []) as st:
                elsewhere = addressed_elsewhere(c.srv, s.kind)
                if elsewhere is not None and c.expected == "I0":
                    raise StepNotApplicable(elsewhere)
                st.detail = await s.checked(s.world.users[user_eui], c.srv, body=sit._body(c, p),
                                            role=codes[s.kind], expect=c.expected)
    with s.step("sit.clear", "responsible supplier clears Restricted", ["RM-2"]):
        await _set_restricted(s, False)
    with s.step("sit.alerts", "every catalogue alert from a Restricted device", ["RM-5"]):
        raise StepNotApplicable("a real device cannot be made to raise each alert code at will")
