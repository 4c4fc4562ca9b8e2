"""What the gas use cases set on a GSME (and the GPF keeps): :class:`GasState`, its published
calendars and future-dated commands, and the ZCL attributes that read it back.

:data:`ATTRIBUTES` maps (cluster, attribute) to its ZCL type and the state it shows; the
device adds what it measures itself (registers, firmware, battery) through its attribute
source. :data:`ENCRYPTED_READS` and :data:`ENCRYPTED_LOGS` say which answers GBCS treats as
sensitive consumption data (sent in encrypted GBZ components).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.zigbee.clusters import smart_energy as se
from emulator.zigbee.status import ZclStatus
from emulator.zigbee.zcl import DataType

UNSUPPORTED_ATTRIBUTE = ZclStatus.UNSUPPORTED_ATTRIBUTE
MALFORMED_COMMAND = ZclStatus.MALFORMED_COMMAND
NOT_FOUND = ZclStatus.NOT_FOUND
METERING = se.METERING
BASIC = 0x0000
CURRENT_SUMMATION_DELIVERED = 0x0000
SUPPLY_STATUS = 0x0014
FIRMWARE_VERSION_ATTR = 0x0206  # what GCS38 reads (RTDS 11.2_GCS38)
INSTANTANEOUS_DEMAND = 0x0400
SITE_ID = 0x0307

SUPPLY_OFF, SUPPLY_ARMED, SUPPLY_ON = 0, 1, 2
CREDIT_MODE = 0x0C94
PREPAYMENT_MODE = 0x0897
PREPAYMENT_BIT = 0x0002  # payment control configuration: prepayment mode enabled



@dataclass(slots=True)
class Calendar:
    """A published calendar (delivered tariff switching, or the friendly credit periods)."""

    issuer_calendar_id: int
    start_time: int
    calendar_type: int
    day_profiles: dict[int, tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    week_profiles: dict[int, tuple[int, ...]] = field(default_factory=dict)
    seasons: tuple[tuple[int, ...], ...] = ()
    special_days: tuple[tuple[int, ...], ...] = ()
    issuer_event_id: int = 0


LATEST_CALENDAR = {0xFFFFFFFF: 0x00, 0xFFFFFFFE: 0x03}


@dataclass(frozen=True, slots=True)
class Pending:
    """A future-dated command component: applied at ``due`` (ZCL UTC), then reported by alert."""

    due: int
    message_code: int
    counter: int
    cluster: int
    frame: bytes
    reports: bool = True  # the component carried its own start time: its outcome is alerted


@dataclass(frozen=True, slots=True)
class Executed:
    """A future-dated command applied: what its 0x8F66 (done) / 0x8F67 (failed) alert names."""

    message_code: int
    counter: int
    cluster: int
    frame_control: int
    command_id: int
    ok: bool  # "latest" issuer calendar ids -> calendar type


@dataclass(slots=True)
class GasState:
    """What the gas use cases set on a GSME (and what the GPF keeps of it)."""

    supply_status: int = SUPPLY_ON
    payment_configuration: int = CREDIT_MODE
    cut_off_value: int = -1
    credit_remaining: int = 2500000  # meter balance, in the currency unit x 10^-5 GBCS uses (int32)
    emergency_credit_limit: int = 1000000
    emergency_credit_threshold: int = 200000
    emergency_credit_active: bool = False
    friendly_credit: int = 0x01
    friendly_credit_calendar_id: int = 2
    debts: dict[int, int] = field(default_factory=dict)  # debt amount type -> amount
    debt_recovery: dict[int, int] = field(default_factory=dict)  # debt amount type -> recovery amount
    low_credit_warning: int = 0
    maximum_credit_level: int = 0
    maximum_credit_per_top_up: int = 0
    overall_debt_cap: int = 0
    message: bytes = b""
    tenancy_change_time: int | None = None
    supplier_name: bytes = b""
    supplier_contact: bytes = b""
    privacy_pin_disabled: bool = False
    site_id: bytes = b""  # the MPRN
    customer_id_number: bytes = b""
    conversion_factor: int = 1022640
    conversion_factor_trailing_digit: int = 0x50
    calorific_value: int = 394
    calorific_value_unit: int = 0x01
    calorific_value_trailing_digit: int = 0x10
    flow_threshold: int = 200
    flow_unit: int = 0x01
    flow_multiplier: int = 1
    flow_divisor: int = 1
    flow_stabilisation_period: int = 10
    flow_measurement_period: int = 3600
    supply_tamper_state: int = 0
    supply_depletion_state: int = 0
    supply_uncontrolled_flow_state: int = 0
    billing_period_start: int = 0
    billing_period_duration: int = 1
    billing_period_duration_type: int = 0x23
    billing_issuer_event_id: int = 0
    event_configuration: dict[int, int] = field(default_factory=dict)
    sampling: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # id -> (start, interval, max)
    clock_offset_s: float = 0.0
    last_issuer_event_id: int = 0
    # the GSME's logs (CS10a/b): (log id, event id, time since 2000, data), oldest first, each log bounded
    event_log: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    calendars: dict[int, Calendar] = field(default_factory=dict)  # calendar type -> the latest one
    tariff: se.PublishTariffInformation | None = None
    prices: dict[int, int] = field(default_factory=dict)  # price matrix: tier (TOU) or block index -> price
    block_thresholds: tuple[int, ...] = ()
    debt_recovery_method: dict[int, int] = field(default_factory=dict)  # debt amount type -> method
    register_at: Callable[[float], int] | None = None
    # CS01b: checks a UTRN against the meter's keys and the last counter taken (set by the GSME, which
    # holds the keys); raises emulator.gbcs.utrn.UtrnError
    enter_utrn: Callable[[str], Any] | None = None
    utrn_counter: int = 0
    top_ups: list[tuple[int, bytes, int]] = field(default_factory=list)  # (time since 2000, UTRN, amount)
    """The consumption register (Wh) at a past time: the GSME's load model. The logs (snapshots,
    profiles, daily consumption, network data) are computed from it, not stored."""
    installed_at: float | None = None  # no log entry before this
    pending: list[Pending] = field(default_factory=list)  # future-dated commands waiting for their time
    supply_off: list[tuple[float, float | None]] = field(default_factory=list)
    """(from, until) while the valve was shut (until None: still shut): no gas flows then."""

    @property
    def prepayment(self) -> bool:
        return bool(self.payment_configuration & PREPAYMENT_BIT)


def block_tariff(s: GasState) -> bool:
    return s.tariff is not None and bool(s.tariff.tariff_type & 0x10)


def _threshold(i: int) -> Callable[[GasState], int]:
    return lambda s: s.block_thresholds[i] if i < len(s.block_thresholds) else 0


def _block_price(block: int) -> Callable[[GasState], int]:
    return lambda s: s.prices.get(block, 0) if block_tariff(s) else 0


def _tier_price(tier: int) -> Callable[[GasState], int]:
    return lambda s: 0 if block_tariff(s) else s.prices.get(tier, 0)


# --- attributes the state answers (cluster, attribute) -> (ZCL type, getter) ------------------------

ATTRIBUTES: dict[tuple[int, int], tuple[DataType, Callable[[GasState], Any]]] = {
    (METERING, SUPPLY_STATUS): (DataType.ENUM8, lambda s: s.supply_status),
    (METERING, SITE_ID): (DataType.OCTET_STRING, lambda s: s.site_id),
    (METERING, 0x0B10): (DataType.UINT16, lambda s: s.flow_threshold),
    (METERING, 0x0B11): (DataType.ENUM8, lambda s: s.flow_unit),
    (METERING, 0x0B12): (DataType.UINT16, lambda s: s.flow_multiplier),
    (METERING, 0x0B13): (DataType.UINT16, lambda s: s.flow_divisor),
    (METERING, 0x0B14): (DataType.UINT8, lambda s: s.flow_stabilisation_period),
    (METERING, 0x0B15): (DataType.UINT16, lambda s: s.flow_measurement_period),
    (se.PRICE, 0x0616): (DataType.UINT16, lambda s: s.tariff.currency if s.tariff else 826),  # ISO 4217: GBP
    (se.PRICE, 0x0617): (DataType.BITMAP8, lambda s: s.tariff.price_trailing_digit if s.tariff else 0x50),
    (se.PRICE, 0x0615): (DataType.ENUM8, lambda s: 0x00),
    (se.PRICE, 0x0202): (DataType.UINT24, lambda s: s.tariff.block_threshold_multiplier if s.tariff else 1),
    (se.PRICE, 0x0203): (DataType.UINT24, lambda s: s.tariff.block_threshold_divisor if s.tariff else 1000),
    (se.PRICE, 0x0301): (DataType.UINT32, lambda s: s.tariff.standing_charge if s.tariff else 0),
    **{(se.PRICE, 0x0100 + i): (DataType.UINT48, _threshold(i)) for i in range(3)},
    **{(se.PRICE, 0x0400 + i): (DataType.UINT32, _block_price(i)) for i in range(4)},
    **{(se.PRICE, 0x0400 + 0x10 * t): (DataType.UINT32, _tier_price(t)) for t in range(1, 5)},
    (se.PRICE, 0x0302): (DataType.UINT32, lambda s: s.conversion_factor),
    (se.PRICE, 0x0303): (DataType.BITMAP8, lambda s: s.conversion_factor_trailing_digit),
    (se.PRICE, 0x0304): (DataType.UINT32, lambda s: s.calorific_value),
    (se.PRICE, 0x0305): (DataType.ENUM8, lambda s: s.calorific_value_unit),
    (se.PRICE, 0x0306): (DataType.BITMAP8, lambda s: s.calorific_value_trailing_digit),
    (se.PREPAYMENT, 0x0000): (DataType.BITMAP16, lambda s: s.payment_configuration),
    (se.PREPAYMENT, 0x0001): (DataType.INT32, lambda s: s.credit_remaining),
    (se.PREPAYMENT, 0x0002): (DataType.INT32, lambda s: s.emergency_credit_limit),
    (se.PREPAYMENT, 0x0005): (DataType.BITMAP8, lambda s: 0x01 if s.emergency_credit_active else 0x00),
    (se.PREPAYMENT, 0x0006): (DataType.INT32, lambda s: s.cut_off_value),
    (se.PREPAYMENT, 0x0010): (DataType.UINT32, lambda s: s.emergency_credit_limit),
    (se.PREPAYMENT, 0x0011): (DataType.UINT32, lambda s: s.emergency_credit_threshold),
    (se.PREPAYMENT, 0x0021): (DataType.UINT32, lambda s: s.maximum_credit_level),
    (se.PREPAYMENT, 0x0022): (DataType.UINT32, lambda s: s.maximum_credit_per_top_up),
    (se.PREPAYMENT, 0x0031): (DataType.UINT32, lambda s: s.low_credit_warning),
    (se.PREPAYMENT, 0x0040): (DataType.INT32, lambda s: s.overall_debt_cap),
    (se.PREPAYMENT, 0x0216): (DataType.ENUM8, lambda s: s.debt_recovery_method.get(1, 0)),
    (se.PREPAYMENT, 0x0217): (DataType.UINT32, lambda s: s.debt_recovery.get(1, 0)),
    (se.PREPAYMENT, 0x0226): (DataType.ENUM8, lambda s: s.debt_recovery_method.get(3, 0)),
    (se.PREPAYMENT, 0x0227): (DataType.UINT32, lambda s: s.debt_recovery.get(3, 0)),
    (se.PREPAYMENT, 0x0239): (DataType.UINT16, lambda s: 1000),  # debt recovery rate cap period (days x 10)
    (se.PREPAYMENT, 0x0211): (DataType.UINT32, lambda s: s.debts.get(1, 0)),
    (se.PREPAYMENT, 0x0221): (DataType.UINT32, lambda s: s.debts.get(3, 0)),
    (se.PREPAYMENT, 0x0231): (DataType.UINT32, lambda s: s.debts.get(5, 0)),
}

# Message code -> clusters whose read answers go back encrypted (GBCS sensitive data; RTDS).
ENCRYPTED_LOGS = (se.PublishSnapshot, se.PublishPrepaySnapshot, se.GetSampledDataResponse)
"""Log answers are sensitive consumption data: encrypted whenever the device can (RTDS GCS15-18, 61)."""
ENCRYPTED_READS: dict[int, frozenset[int]] = {
    0x0074: frozenset({METERING}),  # GCS13a
    0x00B6: frozenset({METERING}),  # GCS13c
    0x00B8: frozenset({METERING}),  # GCS13b
    0x0075: frozenset({se.PREPAYMENT}),  # GCS14
}


# --- the event and security logs (ZCL Events log ids, as the RTDS CS10a/CS10b answers carry them) ----------
GENERAL_EVENT_LOG, SECURITY_EVENT_LOG = 3, 4
ALL_LOGS = 0
LOG_CAPACITY = 100  # entries kept per log; the oldest is dropped first, as a meter's log wraps
# Events the GSME files in its security log: those the RTDS CS10b security log holds, and the
# security failures the ESME files in its own (every other event goes to the general log).
SECURITY_EVENTS = frozenset({
    0x8F0C, 0x8F1B, 0x8F1C, 0x8F1D, 0x8F1E, 0x8F30, 0x8F3D, 0x8F3E, 0x8F3F, 0x8F43, 0x8F47, 0x8F48, 0x8F49,
    0x8F4A, 0x8F4B, 0x8F4C, 0x8F4D, 0x8F4E, 0x8F4F, 0x8F51, 0x8F52, 0x8F53, 0x8F5B, 0x8F60, 0x8F63, 0x8F64,
    0x8F70, 0x8F72, 0x8F73, 0x8F74, 0x8F78, 0x8F82})
# GBCS lets a Service User clear the general event log, never the security log.
CLEARABLE_LOGS = frozenset({GENERAL_EVENT_LOG})


def record_event(s: GasState, code: int, since_2000: int, data: bytes = b"") -> None:
    """File event ``code`` in its log (bounded: the oldest entry of that log goes first)."""
    log = SECURITY_EVENT_LOG if code in SECURITY_EVENTS else GENERAL_EVENT_LOG
    s.event_log.append((log, code, since_2000 & 0xFFFFFFFF, data))
    same = [i for i, e in enumerate(s.event_log) if e[0] == log]
    if len(same) > LOG_CAPACITY:
        del s.event_log[same[0]]
