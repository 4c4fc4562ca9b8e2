"""The gas meter (GSME): battery powered and sleepy; GBZ (ZCL) payloads (DV-4).

It wakes every ``wake_period_s``: it reports its registers to the GPF mirror, asks the
CHF for a queued command (GET), and carries on any firmware download while awake. The
CHF never pushes to it: everything it receives it has asked for (zigbee.md section 6).
Its parent holds the frames for it until it polls (``Output.poll``): at each wake, once
shortly after (the answer to its GET), and every ``FAST_POLL_S`` while work is in progress
(a download, a query, an alert not yet acknowledged). All of it runs on its own timer
(``get_timer``/``handle_timer``); the adapter only carries the polls out.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.devices import alerts, top_up
from emulator.devices.alerts import AlertContext
from emulator.devices.base import Output, earliest
from emulator.devices.endpoint import GbcsEndpoint
from emulator.devices.gas_state import record_event
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
from emulator.zigbee.zcl import DataType

FUTURE_DATED_DONE, FUTURE_DATED_FAILED = 0x8F66, 0x8F67
SET_CLOCK = (0x007F,)  # GCS28 Set Clock on GSME (6.11, and 8.1.1 at commissioning)
FAST_POLL_S = 0.25  # awake with work in progress, the GSME polls its parent this often
NOT_JOINED = 0xFFFE


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
        self.state.enter_utrn = lambda text: top_up.enter(self.endpoint, self.eui, text, self.state.utrn_counter)
        """What the gas use cases set (supply, payment mode, tariff ...) and the register its logs come from."""
        self.wake_period = profile.wake_period_s
        self.next_wake: float | None = start + self.wake_period
        self.battery_mah = float(profile.battery_mah)
        self.poll_at: float | None = None
        self.awaiting_answer = False  # just woke or joined: poll once more for what we asked for

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
            (METERING, CURRENT_SUMMATION_DELIVERED): (DataType.UINT48, energy),
            (METERING, 0x0100): (DataType.UINT48, energy),  # tier 1: a single-rate gas tariff
            (METERING, 0x0102): (DataType.UINT48, 0), (METERING, 0x0104): (DataType.UINT48, 0),
            (METERING, 0x0106): (DataType.UINT48, 0),
            (METERING, 0x0700): (DataType.UINT48, energy), (METERING, 0x0701): (DataType.UINT48, 0),
            (METERING, 0x0702): (DataType.UINT48, 0), (METERING, 0x0703): (DataType.UINT48, 0),
            (METERING, 0x0300): (DataType.ENUM8, 0x01),  # m3
            (METERING, 0x0301): (DataType.UINT24, 1), (METERING, 0x0302): (DataType.UINT24, 1000),
            (METERING, FIRMWARE_VERSION_ATTR): (DataType.OCTET_STRING, self.firmware.version),
            (METERING, 0x0205): (DataType.UINT16, int(self.battery_mah / 10)),  # remaining battery life, days
            (METERING, 0x0607): (DataType.ENUM8, 3), (METERING, 0x0608): (DataType.ENUM8, 3),
            (METERING, 0x0A00): (DataType.UINT32, energy // 10),  # bill to date
            (BASIC, 0x0003): (DataType.UINT8, 1),
            (BASIC, 0x0004): (DataType.CHAR_STRING, "smets2-emu"),
            (BASIC, 0x0005): (DataType.CHAR_STRING, self.KIND),
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

    def raise_alert_to(self, target: bytes | None, code: int, now: float, payload: bytes | None = None, *,
                       message_code: int | None = None, critical: bool | None = None) -> Output:
        """Every alert the GSME raises is also an event in its log (CS10a/CS10b read them)."""
        record_event(self.state, code, int(now + self.state.clock_offset_s) - gbz.EPOCH_2000)
        return super().raise_alert_to(target, code, now, payload, message_code=message_code, critical=critical)

    def _can_encrypt_for(self, party: bytes) -> bool:
        keys = self.endpoint.keys
        return keys.has(self.eui, "ka", private=True) and keys.has(party, "ka")

    def alert_context(self, code: int, now: float) -> AlertContext:
        """A GSME alert names its gas register (GCS53 pushes it as a billing snapshot)."""
        base = super().alert_context(code, now)
        return replace(base, log=alerts.gbz_billing_snapshot(now, self.register_wh(now)))

    def tunnel_frame(self, gbcs: bytes, *, ack: bool) -> bytes:
        # The GSME is the tunnel client: PUT carries its responses and alerts.
        put = tunneling.TransferDataClient(self.tunnel_id or 0, tunneling.gb_put(gbcs))
        return put.encode(self._next_seq(), disable_default_response=not ack)

    def joined(self, now: float) -> Output:
        """Just joined: open our tunnel to the CHF (and poll for its answer shortly)."""
        req = tunneling.RequestTunnel()
        self.poll_at, self.awaiting_answer = now + FAST_POLL_S, True
        return Output(han=[self._packet(CLUSTER_TUNNELING, req.encode(self._next_seq()))])

    def get_timer(self) -> float | None:
        if self.nwk == NOT_JOINED:  # off the network: nothing to wake for but the meter's own work
            return super().get_timer()
        if self._cbke_running():  # poll for the CHF's CBKE answers; no scheduled wake before the key
            return earliest(super().get_timer(), self.poll_at if self.poll_at is not None else 0.0)
        poll = self.poll_at if self.busy or self.awaiting_answer else None
        return earliest(super().get_timer(), self.next_wake, poll)

    def _cbke_running(self) -> bool:
        return self.key_establishment is not None and self.key_establishment.pending

    def handle_timer(self, now: float) -> Output:
        """The sleepy cycle: wake on schedule (poll, report, GET, OTA), poll once more for the
        answers, and keep polling while there is work in progress; a long download does not
        stop the scheduled wakes."""
        out = super().handle_timer(now)
        if self.nwk == NOT_JOINED:
            return out
        if self._cbke_running():
            if self.poll_at is None or now >= self.poll_at:
                out.poll = True
                self.poll_at = now + FAST_POLL_S
            return out
        if self.next_wake is not None and now >= self.next_wake:
            out.poll = True
            out.extend(self.wake(now))
            self.poll_at, self.awaiting_answer = now + FAST_POLL_S, True
        elif self.poll_at is not None and now >= self.poll_at and (self.busy or self.awaiting_answer):
            out.poll = True
            self.poll_at, self.awaiting_answer = now + FAST_POLL_S, False
        return out

    def on_key_established(self, now: float) -> Output:
        """With CBKE on, the tunnel waits for the link key (GBCS: CBKE first)."""
        return self.joined(now)

    def wake(self, now: float) -> Output:
        """One wake: mirror report, GET for queued commands, OTA progress."""
        out = Output()
        self.battery_mah -= 0.002  # ~2 uAh per wake: enough to show a trend in long runs
        out.extend(self.run_future_dated(now))
        summation = zcl.AttributeReport(CURRENT_SUMMATION_DELIVERED, DataType.UINT48, self.register_wh(now))
        report = zcl.report_attributes(zcl.SERVER_TO_CLIENT, self._next_seq(), (summation,))
        out.han.append(self._packet(METERING, report))
        if self.tunnel_id is None:
            out.extend(self.joined(now))
        else:
            get = tunneling.TransferDataClient(self.tunnel_id, tunneling.gb_get()).encode(self._next_seq())
            out.han.append(self._packet(CLUSTER_TUNNELING, get))
        if (self.firmware.download is None or self.resuming) and not self.querying:
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
