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
    CURRENT_SUMMATION_DELIVERED,
    FIRMWARE_VERSION_ATTR,
    METERING,
    SUPPLY_STATUS,
    Attr,
    answer_gbz,
)
from emulator.gbcs import gbz
from emulator.gbcs.frames import Message
from emulator.zigbee import zcl
from emulator.zigbee.clusters import tunneling
from emulator.zigbee.packet import CLUSTER_TUNNELING

REPORT_ATTRIBUTES = 0x0A


class Gsme(Meter):
    KIND = "GSME"
    SLEEPY = True

    def __init__(self, eui: bytes, endpoint: GbcsEndpoint, chf: bytes, profile: MeterProfile, start: float,
                 manufacturer_key: ec.EllipticCurvePublicKey | None = None) -> None:
        super().__init__(eui, endpoint, chf, profile.firmware_version, profile.manufacturer_code,
                         profile.image_type, manufacturer_key)
        self.profile = profile
        self.load = profile.load(start)
        self.valve = 2  # SupplyStatus: 0 off, 1 armed, 2 on
        self.wake_period = profile.wake_period_s
        self.next_wake: float | None = start + self.wake_period
        self.battery_mah = float(profile.battery_mah)

    def attribute(self, cluster: int, attr: int, now: float) -> Attr | None:
        if cluster != METERING:
            return None
        if attr == CURRENT_SUMMATION_DELIVERED:
            return ("uint48", self.load.energy_wh(now))
        if attr == FIRMWARE_VERSION_ATTR:
            return ("octets", self.firmware.version)
        if attr == SUPPLY_STATUS:
            return ("enum8", self.valve)
        return None

    def execute(self, msg: Message, now: float) -> bytes:
        if msg.payload[:2] == gbz.HEADER:
            return answer_gbz(msg.payload, self.attribute, now)
        return asn1_response(self, msg, now)

    def alert_context(self, code: int, now: float) -> AlertContext:
        """A GSME alert names its gas register (GCS53 pushes it as a billing snapshot)."""
        base = super().alert_context(code, now)
        return replace(base, log=alerts.gbz_billing_snapshot(now, self.load.energy_wh(now)))

    def tunnel_frame(self, gbcs: bytes, *, ack: bool) -> bytes:
        # The GSME is the tunnel client: PUT carries its responses and alerts.
        frame = tunneling.TransferDataClient(self.tunnel_id or 0, tunneling.gb_put(gbcs)).encode(self._next_seq())
        return bytes((frame[0] & ~0x10,)) + frame[1:] if ack else frame

    def joined(self, now: float) -> Output:
        """Just joined: open our tunnel to the CHF."""
        req = tunneling.RequestTunnel()
        return Output(han=[self._packet(CLUSTER_TUNNELING, req.encode(self._next_seq()))])

    def wake(self, now: float) -> Output:
        """One wake: mirror report, GET for queued commands, OTA progress."""
        out = Output()
        self.battery_mah -= 0.002  # ~2 uAh per wake: enough to show a trend in long runs
        report = zcl.ZclHeader(0x18, self._next_seq(), REPORT_ATTRIBUTES).encode() + \
            CURRENT_SUMMATION_DELIVERED.to_bytes(2, "little") + gbz.encode_attribute_value(
                "uint48", self.load.energy_wh(now))
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
