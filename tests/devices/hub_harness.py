"""A premises in memory: CHF (+GPF), ESME and GSME cores pumped together with no transport.

As h11 tests two connections against each other, this moves what one core outputs into the
other and advances an injected clock: HAN packets go from the CHF to a meter and back (those
for the sleepy GSME wait until it polls, as its parent holds them), WAN frames the CHF sends up
are collected in ``up``, the CHF's join permits are kept as a trust centre keeps them, and
``advance`` runs every core's ``handle_timer`` in time order. Nothing here decides anything a
device decides; ``lose`` lets a test drop frames on the air.

The DSP side (``dsp_command``) frames commands as the DCC does: a use case's payload (from an
RTDS reference file where one exists), MACed by the ACB, signed by the originator if critical.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from emulator.devices.base import Output, WanFrame
from emulator.devices.chf import Chf
from emulator.devices.endpoint import GbcsEndpoint, TrustAnchors
from emulator.devices.esme import Esme
from emulator.devices.events import DeviceEvent, JoinPermitted
from emulator.devices.gpf import Gpf
from emulator.devices.gsme import Gsme
from emulator.devices.meter import Meter
from emulator.devices.profile import PremisesProfile
from emulator.gbcs import frames, identities, security
from emulator.gbcs.frames import Message
from emulator.gbcs.keys import KeyStore
from emulator.pki.generate import device_eui
from emulator.scenarios.world import key_stores, view
from emulator.zigbee.packet import HanPacket
from tests.conftest import RTDS

# The RTDS reference messages are dated 2015-01-01: the premises lives then.
START = dt.datetime(2015, 1, 1, tzinfo=dt.UTC).timestamp()
CHF_EUI, ESME_EUI, GSME_EUI, GPF_EUI = (device_eui(0, k) for k in ("CHF", "ESME", "GSME", "GPF"))
FIRMWARE = bytes.fromhex("0123ABCD")
NOT_JOINED = 0xFFFE


@cache
def premises_keys() -> tuple[KeyStore, object]:
    """Every party's keys (private included) from the emulator's deterministic test PKI."""
    return key_stores(1, 1)


def rtds_message(folder: str, name: str) -> Message:
    """One RTDS 4.5.0 reference message, decoded."""
    return frames.decode(bytes.fromhex((RTDS / "messages" / folder / name).read_text().strip()))


def rtds_wire(folder: str, name: str) -> bytes:
    return bytes.fromhex((RTDS / "messages" / folder / name).read_text().strip())


def reseal(keys: KeyStore, msg: Message, *, counter: int | None = None, originator: bytes | None = None) -> bytes:
    """A reference command as our DCC would send it with our keys: same payload and message code,
    MACed by our ACB, signed by the originator when the reference one was critical."""
    m = msg.with_(counter=counter if counter is not None else msg.counter,
                  originator=originator or msg.originator, signature=None, mac=None)
    if msg.signature is not None:
        signed = security.sign(keys, m.with_(precommand=True, mac_protected=False))
        m = security.precommand_to_command(keys, signed, signed.signature or b"")
    return security.seal(keys, m.with_(mac_protected=True))


@dataclass(slots=True)
class Air:
    """What crossed the HAN, in order (for literal checks on frames)."""

    packets: list[HanPacket] = field(default_factory=list)


class Premises:
    """CHF + GPF, ESME and GSME in memory, on one injected clock."""

    def __init__(self, profile: PremisesProfile | None = None, *, start: float = START,
                 esme: Esme | None = None, gsme: Gsme | None = None) -> None:
        profile = profile or PremisesProfile()
        keys, maker = premises_keys()
        self.keys = keys
        self.maker = maker
        self.now = start
        self.gpf = Gpf(GPF_EUI, GbcsEndpoint(GPF_EUI, view(keys, [GPF_EUI]), TrustAnchors()), FIRMWARE)
        self.chf = Chf(CHF_EUI, GbcsEndpoint(CHF_EUI, view(keys, [CHF_EUI]), TrustAnchors()), FIRMWARE, self.gpf)
        public = maker.public_key()  # type: ignore[attr-defined]
        assert profile.electricity is not None and profile.gas is not None
        self.esme = esme or Esme(ESME_EUI, GbcsEndpoint(ESME_EUI, view(keys, [ESME_EUI]), TrustAnchors()), CHF_EUI,
                                 profile.electricity, start, public)
        self.gsme = gsme or Gsme(GSME_EUI, GbcsEndpoint(GSME_EUI, view(keys, [GSME_EUI]), TrustAnchors()), CHF_EUI,
                                 profile.gas, start, public)
        self.permits: dict[bytes, bytes] = {}
        self.held: deque[HanPacket] = deque()  # frames the CHF's radio holds for the sleepy GSME
        self.queue: deque[tuple[HanPacket, bool]] = deque()  # (packet, collected by a poll)
        self.up: list[WanFrame] = []
        self.events: list[DeviceEvent] = []
        self.air = Air()
        self.lose: Callable[[HanPacket], bool] = lambda packet: False
        self._next_nwk = 0x1001

    @property
    def meters(self) -> dict[bytes, Meter]:
        return {self.esme.eui: self.esme, self.gsme.eui: self.gsme}

    # --- feeding the cores ---------------------------------------------------------------------
    def apply(self, out: Output, sleepy: Meter | None = None) -> Output:
        """Take in what a core produced: packets onto the air, frames up, permits kept."""
        for event in out.events:
            if isinstance(event, JoinPermitted):
                self.permits[event.eui] = event.link_key
        self.events.extend(out.events)
        self.up.extend(out.wan)
        self.queue.extend((packet, False) for packet in out.han)
        if out.poll and sleepy is not None:
            self.queue.extend((packet, True) for packet in self.held)
            self.held.clear()
        return out

    def pump(self, limit: int = 100_000) -> None:
        """Deliver until the air is quiet."""
        for _ in range(limit):
            if not self.queue:
                return
            packet, polled = self.queue.popleft()
            if not polled and self.lose(packet):
                continue
            if not polled:
                self.air.packets.append(packet)
            if packet.dst == self.chf.eui:
                self.apply(self.chf.on_packet(packet, self.now))
                continue
            meter = self.meters.get(packet.dst)
            if meter is None or meter.nwk == NOT_JOINED:
                continue
            if meter.SLEEPY and not polled:
                self.held.append(packet)  # the parent holds it until the GSME polls
                continue
            self.apply(meter.on_packet(packet, self.now), meter)
        raise AssertionError(f"the air did not go quiet after {limit} frames")

    def command(self, wire: bytes) -> Output:
        """A command arrives from the WAN at the hub; the air is pumped quiet."""
        out = self.apply(self.chf.on_wan_command(wire, self.now))
        self.pump()
        return out

    def join(self, meter: Meter, link_key: bytes) -> str | None:
        """The meter joins as the trust centre allows (IC-2): the refusal reason, or None."""
        if meter.eui not in self.permits:
            return "not permitted"
        if self.permits[meter.eui] != link_key:
            return "wrong link key"
        nwk, self._next_nwk = self._next_nwk, self._next_nwk + 1
        meter.nwk = nwk
        meter.joined_at(self.now)
        self.apply(self.chf.device_joined(meter.eui, nwk, self.now))
        if isinstance(meter, Gsme):
            self.apply(meter.joined(self.now), meter)
        self.pump()
        return None

    def advance(self, seconds: float, limit: int = 1_000_000) -> None:
        """Let ``seconds`` pass: every core's timer fires in time order, the air pumped after each."""
        end = self.now + seconds
        cores: list[Chf | Meter] = [self.chf, self.esme, self.gsme]
        for _ in range(limit):
            due = [(t, i) for i, c in enumerate(cores) if (t := c.get_timer()) is not None and t <= end]
            if not due:
                self.now = end
                return
            when, i = min(due)
            self.now = max(self.now, when)
            core = cores[i]
            self.apply(core.handle_timer(self.now), core if isinstance(core, Meter) else None)
            self.pump()
        raise AssertionError(f"{limit} timer firings did not reach t+{seconds} s")

    def run_until(self, condition: Callable[[], bool], seconds: float, step: float = 1.0) -> bool:
        """Advance in ``step``s until ``condition`` holds or ``seconds`` have passed."""
        end = self.now + seconds
        while not condition():
            if self.now >= end:
                return False
            self.advance(min(step, end - self.now))
        return True

    def frames_up(self, kind: str, device: bytes | None = None) -> list[Message]:
        return [frames.decode(f.wire) for f in self.up if f.kind == kind and (device is None or f.device == device)]


ACB = identities.ACB
SUPPLIER = identities.SUPPLIER
NETWORK_OPERATOR = identities.NETWORK_OPERATOR
