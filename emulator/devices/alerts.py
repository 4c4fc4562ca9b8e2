"""Device alerts: how GBCS frames each one, and an outbox that retries until acknowledged (DV-6).

Framing comes from GBCS, alert by alert, never from a group label:

- An alert that has its own use case (the billing data log push ECS68/GCS53, the
  future-dated outcome alerts, the firmware distribution receipt, the meter integrity
  warning, ECS80, ECS100-ECS200, and the hub's CS14/DBCH/CCS08) goes with that use
  case's message code, and is device-signed exactly when the use case is a critical
  alert (GBCS type SME.A.C); see :data:`USE_CASE_ALERTS`.
- Every other alert goes as a Generic Critical Alert (``0x1000``, signed) when its code
  is in GBCS's critical alert block ``0x8F00``-``0x8FFF``, else as a Generic Non Critical
  Alert (``0x1001``, MAC only).

Both rules reproduce every alert of the RTDS 4.5.0 set (tests/devices/test_alerts_rtds.py).
Bodies follow the reference's structure: a DLMS Data-Notification (ESME, hub) or a GBZ
alert (GSME) with the code, the time and the content the use case defines.

GBCS devices resend an alert that the DCC has not acknowledged (about every 300 s);
the emulator acknowledges alerts end to end (the DSP's receipt travels back down), so
an alert lost on the HAN or WAN is sent again, and the receiver de-duplicates by
(originator, counter).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from emulator.gbcs import dlms, gbz
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.zigbee import zcl
from emulator.zigbee.clusters import smart_energy as se

RETRY_INTERVAL_S = 300.0
MAX_ATTEMPTS = 12

GENERIC_CRITICAL_ALERT = 0x1000
GENERIC_NON_CRITICAL_ALERT = 0x1001
CRITICAL_CODES = range(0x8F00, 0x8FFF + 1)  # GBCS: the critical alert codes


class Body(Enum):
    """The content an alert carries after its code and time (one form per use case)."""

    NONE = "none"  # generic alerts: code and time only
    FUTURE_DATED = "future-dated"  # message code, counter and the object the command acted on
    FIRMWARE_RECEIPT = "firmware-receipt"  # hash of the image received
    INTEGRITY = "integrity"  # meter integrity issue warning code
    BILLING_LOG = "billing-log"  # the encrypted billing data log
    COMMAND_REF = "command-ref"  # ECS100: message code and counter of the command not supported
    APC_PROCESSED = "apc-processed"  # ECS101: level, start, end, percentage
    APC_ENDED = "apc-ended"  # ECS102: level, percentage
    OPERATIONAL = "operational"  # ECS200: a JSON operational update
    OUTAGE = "outage"  # ECS80: outage start and restoration times
    HUB = "hub"  # CS14, DBCH, CCS08: built by the hub itself


@dataclass(frozen=True, slots=True)
class AlertRoute:
    """How one alert travels: its message code (use case) and whether the device signs it."""

    message_code: int
    use_case: str
    signed: bool
    body: Body


# (device kind, alert code) -> (message code, use case, device-signed, body). The signing
# column is the use case's GBCS type: SME.A.C alerts are signed, SME.A.NC alerts MACed.
USE_CASE_ALERTS: dict[tuple[str, int], AlertRoute] = {
    ("ESME", 0x8F0A): AlertRoute(0x0061, "ECS68", True, Body.BILLING_LOG),
    ("GSME", 0x8F0A): AlertRoute(0x008B, "GCS53", True, Body.BILLING_LOG),
    ("ESME", 0x8F36): AlertRoute(0x0067, "ECS80", True, Body.OUTAGE),
    ("ESME", 0x8F66): AlertRoute(0x00CC, "Future Dated Execution Alert (DLMS)", True, Body.FUTURE_DATED),
    ("ESME", 0x8F67): AlertRoute(0x00CC, "Future Dated Execution Alert (DLMS)", True, Body.FUTURE_DATED),
    ("GSME", 0x8F66): AlertRoute(0x00CD, "Future Dated Execution Alert (GBZ)", True, Body.FUTURE_DATED),
    ("GSME", 0x8F67): AlertRoute(0x00CD, "Future Dated Execution Alert (GBZ)", True, Body.FUTURE_DATED),
    ("ESME", 0x8F72): AlertRoute(0x00CE, "Firmware Distribution Receipt Alert (ESME)", True, Body.FIRMWARE_RECEIPT),
    ("GSME", 0x8F72): AlertRoute(0x00CF, "Firmware Distribution Receipt Alert (GSME)", True, Body.FIRMWARE_RECEIPT),
    ("ESME", 0x81A0): AlertRoute(0x00F0, "Meter Integrity Issue Warning Alert (ESME)", False, Body.INTEGRITY),
    ("GSME", 0x81A0): AlertRoute(0x00F2, "Meter Integrity Issue Warning Alert (GSME)", False, Body.INTEGRITY),
    ("ESME", 0x8F85): AlertRoute(0x0120, "ECS100", True, Body.COMMAND_REF),
    ("ESME", 0x8F86): AlertRoute(0x0121, "ECS101", True, Body.APC_PROCESSED),
    ("ESME", 0x8F87): AlertRoute(0x0122, "ECS102", True, Body.APC_ENDED),
    ("ESME", 0x8F88): AlertRoute(0x0123, "ECS200", True, Body.OPERATIONAL),
    ("CHF", 0x8F12): AlertRoute(0x0018, "CS14", False, Body.HUB),
    ("CHF", 0x8F20): AlertRoute(0x0110, "DBCH06", False, Body.HUB),
    ("CHF", 0x8F26): AlertRoute(0x0111, "DBCH07", False, Body.HUB),
    ("CHF", 0x8F28): AlertRoute(0x0112, "DBCH08", False, Body.HUB),
    ("CHF", 0x8F2A): AlertRoute(0x0113, "DBCH09", False, Body.HUB),
    ("CHF", 0x8F2C): AlertRoute(0x0114, "DBCH10", False, Body.HUB),
    ("CHF", 0x8F2D): AlertRoute(0x0115, "DBCH11", False, Body.HUB),
    ("CHF", 0x8F89): AlertRoute(0x0128, "CCS08", True, Body.HUB),
    ("CHF", 0x8F8A): AlertRoute(0x0128, "CCS08", True, Body.HUB),
    ("GPF", 0x8071): AlertRoute(0x00B2, "GCS62", False, Body.HUB),
    ("PPMID", 0x8F8B): AlertRoute(0x012B, "CS09", True, Body.HUB),
}

# The outcome (0x8F66 success / 0x8F67 failure) of a future-dated ASN.1 command goes with the
# message code of that command's family, not the device's DLMS/GBZ one; all are signed.
FUTURE_DATED_ASN1: dict[str, AlertRoute] = {
    "CS06": AlertRoute(0x00CA, "Future Dated Firmware Activation Alert", True, Body.HUB),
    **{uc: AlertRoute(0x00CB, "Future Dated Update Security Credentials Alert", True, Body.HUB)
       for uc in ("CS02a", "CS02b", "CS02c", "CS02d", "CS02e")},
    "CS02g": AlertRoute(0x0124, "CS02g future-dated alert", True, Body.HUB),
}
FUTURE_DATED_OUTCOMES = (0x8F66, 0x8F67)


def route(kind: str, code: int, about: str | None = None) -> AlertRoute:
    """How a ``kind`` device (ESME, GSME, CHF, GPF, PPMID) frames alert ``code`` (see the module
    docstring); ``about`` is the use case of the command a future-dated outcome reports."""
    if code in FUTURE_DATED_OUTCOMES and about is not None:
        for prefix, how in FUTURE_DATED_ASN1.items():
            if about.startswith(prefix):
                return how
    found = USE_CASE_ALERTS.get((kind, code))
    if found is not None:
        return found
    if code in CRITICAL_CODES:
        return AlertRoute(GENERIC_CRITICAL_ALERT, "GCA", True, Body.NONE)
    return AlertRoute(GENERIC_NON_CRITICAL_ALERT, "GNCA", False, Body.NONE)


def alert_is_critical(code: int, kind: str = "ESME") -> bool:
    """Is alert ``code`` from a ``kind`` device device-signed (a critical alert)?"""
    return route(kind, code).signed


@dataclass(frozen=True, slots=True)
class AlertContext:
    """What an alert's content names. The defaults give a well-formed body of the reference's
    length when an alert is raised on its own (the SIT raises every code)."""

    command_code: int = 0  # message code of the command an outcome alert is about
    command_counter: int = 0
    target: bytes = b""  # DLMS class(2) + OBIS(6) + attribute(1), or GBZ cluster(2) + frame control + command
    image_hash: bytes = bytes(32)
    warning: int = 0x0005  # meter integrity issue warning
    level: int = 0  # APC level
    percentage: int = 100
    start: float | None = None
    end: float | None = None
    log: bytes = b""  # billing data log plaintext
    originator: bytes = bytes(8)
    recipient: bytes = bytes(8)


Encrypt = Callable[[bytes], bytes]  # plaintext -> the ``31 00000000 ...`` encrypted part


def next_counter(current: int, now: float) -> int:
    """The counter :class:`emulator.gbcs.security.CounterSource` will issue next at ``now``
    (an alert body names its own counter before the envelope takes it)."""
    return max(current + 1, int(now * 1000))


def dlms_body(code: int, now: float, counter: int, body: Body, ctx: AlertContext,
              encrypt: Encrypt | None = None) -> bytes:
    """The DLMS Data-Notification of an ESME (or hub) alert."""
    stamp = DlmsDateTime.from_epoch(now).encode()
    when = [DlmsDateTime.from_epoch(t).encode() for t in (ctx.start if ctx.start is not None else now,
                                                            ctx.end if ctx.end is not None else now)]
    ref = ctx.command_code.to_bytes(2, "big") + ctx.command_counter.to_bytes(8, "big")
    content: tuple[dlms.Data, ...]
    if body is Body.FUTURE_DATED:
        content = (dlms.Data("octet-string", ref + ctx.target.ljust(9, b"\0")),)
    elif body is Body.FIRMWARE_RECEIPT:
        content = (dlms.Data("octet-string", ctx.image_hash),)
    elif body is Body.INTEGRITY:
        content = (dlms.Data("octet-string", ctx.warning.to_bytes(2, "big")),)
    elif body is Body.COMMAND_REF:
        content = (dlms.Data("octet-string", ref),)
    elif body is Body.APC_PROCESSED:
        content = (dlms.Data("unsigned", ctx.level), dlms.Data("octet-string", when[0]),
                   dlms.Data("octet-string", when[1]), dlms.Data("unsigned", ctx.percentage))
    elif body is Body.APC_ENDED:
        content = (dlms.Data("unsigned", ctx.level), dlms.Data("unsigned", ctx.percentage))
    elif body is Body.OPERATIONAL:
        update = {"outputState": str(ctx.percentage), "inputState": str(ctx.level), "other-data": ""}
        content = (dlms.Data("utf8-string", json.dumps(update, separators=(",", ":")).encode()),)
    elif body is Body.OUTAGE:
        content = (dlms.Data("octet-string", when[0]), dlms.Data("octet-string", when[1]))
    elif body is Body.BILLING_LOG:
        content = _billing_log(counter, ctx, encrypt)
    else:
        content = ()
    return dlms.DataNotification(dlms.invoke_id_for(counter), code, stamp, content).encode()


def _billing_log(counter: int, ctx: AlertContext, encrypt: Encrypt | None) -> tuple[dlms.Data, ...]:
    """ECS68: the push header (the reference's nested structure naming the parties) and the
    log, encrypted for the recipient."""
    def octets(b: bytes) -> dlms.Data:
        return dlms.Data("octet-string", b)

    header = dlms.Data("array", (dlms.Data("structure", (dlms.Data("enum", 2), dlms.Data("structure", (
        octets(b"\x04" + counter.to_bytes(8, "big")), octets(ctx.originator), octets(ctx.recipient), octets(b""),
        dlms.Data("structure", (dlms.Data("enum", 2), dlms.Data("structure", (octets(b"\x02"), octets(b""))))),
    )))),))
    return header, octets(encrypt(ctx.log) if encrypt is not None else b"\x31" + bytes(4) + ctx.log + bytes(12))


SNAPSHOT_HEADER = zcl.cluster_header(se.PublishSnapshot.DIRECTION, 0, se.PublishSnapshot.COMMAND_ID)
"""The ZCL header in GCS53's encrypted component: a Metering Publish Snapshot (server to client,
no default response)."""
FIRMWARE_ALERT_START = b"\x09\x20"  # GBZ firmware receipt: the hash as a 32-byte octet string


def gbz_body(code: int, now: float, counter: int, body: Body, ctx: AlertContext,
             encrypt: Encrypt | None = None) -> bytes:
    """The GBZ alert of a GSME alert."""
    when = int(now) - gbz.EPOCH_2000
    if body is Body.NONE:
        return gbz.GbzPayload((), code, when).encode()
    if body is Body.BILLING_LOG:
        part = encrypt(ctx.log) if encrypt is not None else b"\x31" + bytes(4) + ctx.log + bytes(12)
        comp = gbz.encrypted_component(se.METERING, SNAPSHOT_HEADER, part)
        return gbz.GbzPayload((comp,), code, when).encode()
    if body is Body.FUTURE_DATED:
        ref = ctx.command_code.to_bytes(2, "big") + ctx.command_counter.to_bytes(8, "big") + ctx.target.ljust(4, b"\0")
        extra = bytes((len(ref),)) + ref
    elif body is Body.FIRMWARE_RECEIPT:
        extra = FIRMWARE_ALERT_START + ctx.image_hash
    elif body is Body.INTEGRITY:
        extra = ctx.warning.to_bytes(2, "big")
    else:  # no other GBZ alert form exists: send code and time
        return gbz.GbzPayload((), code, when).encode()
    return gbz.GbzPayload((), code, when, alert_extra=extra, alert_count=1).encode()


def dlms_billing_log(now: float, import_wh: int, tiers: tuple[int, ...] = ()) -> bytes:
    """An ESME billing data log entry as DLMS data: capture time, total import, TOU registers."""
    entry = dlms.Data("structure", (dlms.Data("octet-string", DlmsDateTime.from_epoch(now).encode()),
                                    dlms.Data("double-long-unsigned", import_wh & 0xFFFFFFFF),
                                    *(dlms.Data("double-long-unsigned", t & 0xFFFFFFFF) for t in tiers)))
    return dlms.encode_data(dlms.Data("array", (entry,)))


UINT48 = (1 << 48) - 1
SNAPSHOT_CAUSE_GENERAL = 0x00000001


def gbz_billing_snapshot(now: float, summation_wh: int, tiers: tuple[int, ...] = ()) -> bytes:
    """GCS53's log: a Metering Publish Snapshot payload of type 0 (TOU information set
    delivered registers): issuer event id, snapshot time, found/index/total, cause, type,
    then current summation, bill to date (+ time), projected bill (+ time), trailing digit,
    tiers in use and the tier summations."""
    t = (int(now) - gbz.EPOCH_2000) & 0xFFFFFFFF
    registers = se.tou_delivered_registers(summation_wh & UINT48, tuple(tier & UINT48 for tier in tiers),
                                           bill_to_date_time=t, projected_bill_time=t)
    snapshot = se.PublishSnapshot(t, t, 1, 0, 1, SNAPSHOT_CAUSE_GENERAL, se.SNAPSHOT_TOU_DELIVERED, registers)
    return snapshot.encode_payload()


@dataclass(slots=True)
class PendingAlert:
    counter: int
    code: int
    wire: bytes
    first_sent: float
    next_due: float
    attempts: int = 1


class AlertOutbox:
    """Alerts sent and not yet acknowledged, with their retry deadlines (pure state)."""

    def __init__(self, retry_interval: float = RETRY_INTERVAL_S, max_attempts: int = MAX_ATTEMPTS) -> None:
        self.retry_interval = retry_interval
        self.max_attempts = max_attempts
        self.pending: dict[int, PendingAlert] = {}
        self.given_up: list[PendingAlert] = []

    def sent(self, counter: int, code: int, wire: bytes, now: float) -> None:
        self.pending[counter] = PendingAlert(counter, code, wire, now, now + self.retry_interval)

    def acknowledged(self, counter: int) -> bool:
        return self.pending.pop(counter, None) is not None

    def due(self, now: float) -> list[PendingAlert]:
        """Alerts to send again now; each is rescheduled (or given up after max attempts)."""
        out: list[PendingAlert] = []
        for alert in list(self.pending.values()):
            if alert.next_due > now:
                continue
            if alert.attempts >= self.max_attempts:
                del self.pending[alert.counter]
                self.given_up.append(alert)
                continue
            alert.attempts += 1
            alert.next_due = now + self.retry_interval
            out.append(alert)
        return out

    def next_deadline(self) -> float | None:
        # Asked after every frame the meter handles, nearly always with nothing pending.
        return min([a.next_due for a in self.pending.values()]) if self.pending else None
