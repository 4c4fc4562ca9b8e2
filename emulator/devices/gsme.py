"""The gas meter (GSME): battery powered and sleepy; GBZ (ZCL) payloads (DV-4).

It wakes every ``wake_period_s``: it reports its registers to the GPF mirror, asks the
CHF for a queued command (GET), and carries on any firmware download while awake. The
CHF never pushes to it: everything it receives it has asked for (zigbee.md section 6).
"""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices import alerts
from emulator.devices.alerts import AlertContext
from emulator.devices.base import Output
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.meter import Meter
from emulator.devices.profile import MeterProfile
from emulator.devices.usecase_handlers import asn1_response
from emulator.devices.zcl_model import (
    BASIC,
    CURRENT_SUMMATION_DELIVERED,
    FIRMWARE_VERSION_ATTR,
    METERING,
    Attr,
    GasState,
    answer_gbz,
    run_due,
    synchronise_clock,
)
from emulator.gbcs import gbz, security
from emulator.gbcs.frames import Message
from emulator.zigbee import zcl
from emulator.zigbee.clusters import tunneling
from emulator.zigbee.packet import CLUSTER_TUNNELING

REPORT_ATTRIBUTES = 0x0A
FUTURE_DATED_DONE, FUTURE_DATED_FAILED = 0x8F66, 0x8F67
SET_CLOCK = (0x007F,)  # GCS28 Set Clock on GSME (6.11, and 8.1.1 at commissioning)


class Gsme(Meter):
    KIND = "GSME"
    SLEEPY = True

    def __init__(self, eui: bytes, endpoint: GbcsEndpoint, chf: bytes, profile: MeterProfile, start: float,
                 manufacturer_key: ec.EllipticCurvePublicKey | None = None) -> None:
        super().__init__(eui, endpoint, chf, profile.firmware_version, profile.manufacturer_code,
                         profile.image_type, manufacturer_key)
        self.profile = profile
        self.load = profile.load(start)
        self.state = GasState(register_at=self.register_wh, installed_at=start)
        """What the gas use cases set (supply, payment mode, tariff ...) and the register its logs come from."""
        self.wake_period = profile.wake_period_s
        self.next_wake: float | None = start + self.wake_period
        self.battery_mah = float(profile.battery_mah)

    def register_wh(self, t: float) -> int:
        """The gas register at ``t``: the load model's consumption, less what would have flowed
        while the valve was shut (GCS32 disable / GCS39 arm shut it)."""
        total = self.load.energy_wh(t)
        for start, end in self.state.supply_off:
            if start < t:
                total -= self.load.energy_wh(min(end if end is not None else t, t)) - self.load.energy_wh(start)
        return total

    @property
    def valve(self) -> int:
        """SupplyStatus: 0 off, 1 armed, 2 on (GCS32 disables, GCS39 arms)."""
        return self.state.supply_status

    def attribute(self, cluster: int, attr: int, now: float) -> Attr | None:
        """The registers and identity the GSME measures itself; the settings come from
        :attr:`state` (zcl_model.ATTRIBUTES)."""
        energy = self.register_wh(now)
        own: dict[tuple[int, int], Attr] = {
            (METERING, CURRENT_SUMMATION_DELIVERED): ("uint48", energy),
            (METERING, 0x0100): ("uint48", energy),  # tier 1: a single-rate gas tariff
            (METERING, 0x0102): ("uint48", 0), (METERING, 0x0104): ("uint48", 0), (METERING, 0x0106): ("uint48", 0),
            (METERING, 0x0700): ("uint48", energy), (METERING, 0x0701): ("uint48", 0),
            (METERING, 0x0702): ("uint48", 0), (METERING, 0x0703): ("uint48", 0),
            (METERING, 0x0300): ("enum8", 0x01),  # m3
            (METERING, 0x0301): ("uint24", 1), (METERING, 0x0302): ("uint24", 1000),
            (METERING, FIRMWARE_VERSION_ATTR): ("octets", self.firmware.version),
            (METERING, 0x0205): ("uint16", int(self.battery_mah / 10)),  # remaining battery life, days
            (METERING, 0x0607): ("enum8", 3), (METERING, 0x0608): ("enum8", 3),
            (METERING, 0x0A00): ("uint32", energy // 10),  # bill to date
            (BASIC, 0x0003): ("uint8", 1),
            (BASIC, 0x0004): ("string", "smets2-emu"),
            (BASIC, 0x0005): ("string", self.KIND),
        }
        return own.get((cluster, attr))

    def execute(self, msg: Message, now: float) -> bytes:
        if msg.payload[:2] == gbz.HEADER:
            def encrypt(plain: bytes) -> bytes:
                return security.encrypt_part(self.endpoint.keys, self.eui, msg.originator, msg.counter, plain)

            return answer_gbz(msg.payload, self.attribute, now, self.state, message_code=msg.message_code,
                              encrypt=encrypt if self._can_encrypt_for(msg.originator) else None, counter=msg.counter)
        if msg.message_code in SET_CLOCK:
            return synchronise_clock(self.state, msg.payload, now)
        return asn1_response(self, msg, now)

    def run_future_dated(self, now: float) -> Output:
        """Apply the future-dated commands now due and report each by alert: 0x8F66 done,
        0x8F67 not done, naming the command's message code, counter, cluster and ZCL command."""
        out = Output()
        for done in run_due(self.state, self.attribute, now):
            target = done.cluster.to_bytes(2, "big") + bytes((done.frame_control, done.command_id))
            context = AlertContext(done.message_code, done.counter, target)
            out.extend(self.raise_alert_about(FUTURE_DATED_DONE if done.ok else FUTURE_DATED_FAILED, now, context))
        return out

    def _can_encrypt_for(self, party: bytes) -> bool:
        keys = self.endpoint.keys
        return keys.has(self.eui, "ka", private=True) and keys.has(party, "ka")

    def alert_context(self, code: int, now: float) -> AlertContext:
        """A GSME alert names its gas register (GCS53 pushes it as a billing snapshot)."""
        base = super().alert_context(code, now)
        return replace(base, log=alerts.gbz_billing_snapshot(now, self.register_wh(now)))

    def tunnel_frame(self, gbcs: bytes, *, ack: bool) -> bytes:
        # The GSME is the tunnel client: PUT carries its responses and alerts.
        frame = tunneling.TransferDataClient(self.tunnel_id or 0, tunneling.gb_put(gbcs)).encode(self._next_seq())
        return bytes((frame[0] & ~0x10,)) + frame[1:] if ack else frame

    def joined(self, now: float) -> Output:
        """Just joined: open our tunnel to the CHF."""
        req = tunneling.RequestTunnel()
        return Output(han=[self._packet(CLUSTER_TUNNELING, req.encode(self._next_seq()))])

    def on_key_established(self, now: float) -> Output:
        """With CBKE on, the tunnel waits for the link key (GBCS: CBKE first)."""
        return self.joined(now)

    def wake(self, now: float) -> Output:
        """One wake: mirror report, GET for queued commands, OTA progress."""
        out = Output()
        self.battery_mah -= 0.002  # ~2 uAh per wake: enough to show a trend in long runs
        out.extend(self.run_future_dated(now))
        report = zcl.ZclHeader(0x18, self._next_seq(), REPORT_ATTRIBUTES).encode() + \
            CURRENT_SUMMATION_DELIVERED.to_bytes(2, "little") + gbz.encode_attribute_value(
                "uint48", self.register_wh(now))
        out.han.append(self._packet(METERING, report))
        if self.tunnel_id is None:
            out.extend(self.joined(now))
        else:
            get = tunneling.TransferDataClient(self.tunnel_id, tunneling.gb_get()).encode(self._next_seq())
            out.han.append(self._packet(CLUSTER_TUNNELING, get))
        if self.firmware.download is None and not self.querying:
            out.han.append(self.query_next_image(now))
        self.next_wake = now + self.wake_period
        return out

    def on_tunnel(self, command: zcl.ZclCommand | bytes, now: float) -> Output:
        if isinstance(command, tunneling.RequestTunnelResponse):
            self.tunnel_id = command.tunnel_id
            get = tunneling.TransferDataClient(self.tunnel_id, tunneling.gb_get()).encode(self._next_seq())
            return Output(han=[self._packet(CLUSTER_TUNNELING, get)])
        if isinstance(command, tunneling.TransferDataServer):
            try:
                _, remaining, gbcs_bytes = tunneling.split_gb_header(command.data)
            except ValueError:
                return Output()
            out = Output()
            if gbcs_bytes:
                out.extend(self.on_gbcs(gbcs_bytes, now))
            if remaining and self.tunnel_id is not None:
                get = tunneling.TransferDataClient(self.tunnel_id, tunneling.gb_get()).encode(self._next_seq())
                out.han.append(self._packet(CLUSTER_TUNNELING, get))
            return out
        return Output()

    @property
    def busy(self) -> bool:
        """Awake work in progress (the adapter polls fast while this holds)."""
        return self.firmware.download is not None or self.querying or bool(self.outbox.pending)
