"""The GSME's and GPF's ZCL model: the state the gas use cases change, the attributes they read,
and the GBZ engine that acts on a GBZ command and answers it as the RTDS reference does.

:class:`GasState` holds what GBCS lets the DCC set on a gas meter (supply, payment mode,
credit and debts, prepayment limits, supplier, messages, tenancy, site id, customer id,
conversion factor and calorific value, uncontrolled flow settings, billing calendar, event
behaviours, sampling). :data:`HANDLERS` is the table from each declared SE command
(:mod:`emulator.zigbee.clusters.smart_energy`) to the function that applies it; Read
Attributes are answered from :data:`ATTRIBUTES` (state) and the device's own source
(registers, firmware, mirror). Sensitive reads (GBCS: the register, prepayment and log
use cases) go back in an encrypted component when the device can encrypt.

Answers follow the reference: a Default Response (SUCCESS) to a published command, in the
opposite direction with default responses enabled; the specific responses (Change Payment
Mode Response, Supply Status Response, Start Sampling Response, Publish Billing Period,
Report Event Configuration) where GBCS defines them; UNSUPPORTED_ATTRIBUTE for attributes
the meter does not model; NOT_FOUND for logs it does not hold.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.gbcs import asn1, gbz
from emulator.gbcs.errors import GbcsError
from emulator.zigbee import zcl
from emulator.zigbee.clusters import smart_energy as se
from emulator.zigbee.errors import ZigbeeError
from emulator.zigbee.status import ZclStatus
from emulator.zigbee.zcl import Direction, FrameType, ZclCommand, ZclFrameControl, ZclHeader

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

Attr = tuple[str, Any]  # (ZCL type name, value)
AttributeSource = Callable[[int, int, float], Attr | None]  # (cluster, attribute, now) -> value
Encrypt = Callable[[bytes], bytes]  # plaintext -> the "31 00000000 ..." encrypted part


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
    calendars: dict[int, Calendar] = field(default_factory=dict)  # calendar type -> the latest one
    tariff: se.PublishTariffInformation | None = None
    prices: dict[int, int] = field(default_factory=dict)  # price matrix: tier (TOU) or block index -> price
    block_thresholds: tuple[int, ...] = ()
    debt_recovery_method: dict[int, int] = field(default_factory=dict)  # debt amount type -> method
    register_at: Callable[[float], int] | None = None
    """The consumption register (Wh) at a past time: the GSME's load model. The logs (snapshots,
    profiles, daily consumption, network data) are computed from it, not stored."""
    installed_at: float | None = None  # no log entry before this
    pending: list[Pending] = field(default_factory=list)  # future-dated commands waiting for their time
    supply_off: list[tuple[float, float | None]] = field(default_factory=list)
    """(from, until) while the valve was shut (until None: still shut): no gas flows then."""

    @property
    def prepayment(self) -> bool:
        return bool(self.payment_configuration & PREPAYMENT_BIT)


def _block_tariff(s: GasState) -> bool:
    return s.tariff is not None and bool(s.tariff.tariff_type & 0x10)


def _threshold(i: int) -> Callable[[GasState], int]:
    return lambda s: s.block_thresholds[i] if i < len(s.block_thresholds) else 0


def _block_price(block: int) -> Callable[[GasState], int]:
    return lambda s: s.prices.get(block, 0) if _block_tariff(s) else 0


def _tier_price(tier: int) -> Callable[[GasState], int]:
    return lambda s: 0 if _block_tariff(s) else s.prices.get(tier, 0)


# --- attributes the state answers (cluster, attribute) -> (ZCL type, getter) ------------------------

ATTRIBUTES: dict[tuple[int, int], tuple[str, Callable[[GasState], Any]]] = {
    (METERING, SUPPLY_STATUS): ("enum8", lambda s: s.supply_status),
    (METERING, SITE_ID): ("octets", lambda s: s.site_id),
    (METERING, 0x0B10): ("uint16", lambda s: s.flow_threshold),
    (METERING, 0x0B11): ("enum8", lambda s: s.flow_unit),
    (METERING, 0x0B12): ("uint16", lambda s: s.flow_multiplier),
    (METERING, 0x0B13): ("uint16", lambda s: s.flow_divisor),
    (METERING, 0x0B14): ("uint8", lambda s: s.flow_stabilisation_period),
    (METERING, 0x0B15): ("uint16", lambda s: s.flow_measurement_period),
    (se.PRICE, 0x0616): ("uint16", lambda s: s.tariff.currency if s.tariff else 826),  # ISO 4217: GBP
    (se.PRICE, 0x0617): ("bitmap8", lambda s: s.tariff.price_trailing_digit if s.tariff else 0x50),
    (se.PRICE, 0x0615): ("enum8", lambda s: 0x00),
    (se.PRICE, 0x0202): ("uint24", lambda s: s.tariff.block_threshold_multiplier if s.tariff else 1),
    (se.PRICE, 0x0203): ("uint24", lambda s: s.tariff.block_threshold_divisor if s.tariff else 1000),
    (se.PRICE, 0x0301): ("uint32", lambda s: s.tariff.standing_charge if s.tariff else 0),
    **{(se.PRICE, 0x0100 + i): ("uint48", _threshold(i)) for i in range(3)},
    **{(se.PRICE, 0x0400 + i): ("uint32", _block_price(i)) for i in range(4)},
    **{(se.PRICE, 0x0400 + 0x10 * t): ("uint32", _tier_price(t)) for t in range(1, 5)},
    (se.PRICE, 0x0302): ("uint32", lambda s: s.conversion_factor),
    (se.PRICE, 0x0303): ("bitmap8", lambda s: s.conversion_factor_trailing_digit),
    (se.PRICE, 0x0304): ("uint32", lambda s: s.calorific_value),
    (se.PRICE, 0x0305): ("enum8", lambda s: s.calorific_value_unit),
    (se.PRICE, 0x0306): ("bitmap8", lambda s: s.calorific_value_trailing_digit),
    (se.PREPAYMENT, 0x0000): ("bitmap16", lambda s: s.payment_configuration),
    (se.PREPAYMENT, 0x0001): ("int32", lambda s: s.credit_remaining),
    (se.PREPAYMENT, 0x0002): ("int32", lambda s: s.emergency_credit_limit),
    (se.PREPAYMENT, 0x0005): ("bitmap8", lambda s: 0x01 if s.emergency_credit_active else 0x00),
    (se.PREPAYMENT, 0x0006): ("int32", lambda s: s.cut_off_value),
    (se.PREPAYMENT, 0x0010): ("uint32", lambda s: s.emergency_credit_limit),
    (se.PREPAYMENT, 0x0011): ("uint32", lambda s: s.emergency_credit_threshold),
    (se.PREPAYMENT, 0x0021): ("uint32", lambda s: s.maximum_credit_level),
    (se.PREPAYMENT, 0x0022): ("uint32", lambda s: s.maximum_credit_per_top_up),
    (se.PREPAYMENT, 0x0031): ("uint32", lambda s: s.low_credit_warning),
    (se.PREPAYMENT, 0x0040): ("int32", lambda s: s.overall_debt_cap),
    (se.PREPAYMENT, 0x0216): ("enum8", lambda s: s.debt_recovery_method.get(1, 0)),
    (se.PREPAYMENT, 0x0217): ("uint32", lambda s: s.debt_recovery.get(1, 0)),
    (se.PREPAYMENT, 0x0226): ("enum8", lambda s: s.debt_recovery_method.get(3, 0)),
    (se.PREPAYMENT, 0x0227): ("uint32", lambda s: s.debt_recovery.get(3, 0)),
    (se.PREPAYMENT, 0x0239): ("uint16", lambda s: 1000),  # debt recovery rate cap period (days x 10)
    (se.PREPAYMENT, 0x0211): ("uint32", lambda s: s.debts.get(1, 0)),
    (se.PREPAYMENT, 0x0221): ("uint32", lambda s: s.debts.get(3, 0)),
    (se.PREPAYMENT, 0x0231): ("uint32", lambda s: s.debts.get(5, 0)),
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


# --- command handlers: apply, then the answer (None: Default Response SUCCESS) ---------------------

Answer = ZclCommand | list[ZclCommand] | int | None
"""A specific response (or several, one component each), a Default Response status, or None: SUCCESS."""


def _change_supply(s: GasState, c: se.ChangeSupply, now: float) -> Answer:
    was_open = s.supply_status == SUPPLY_ON
    s.supply_status = c.proposed_supply_status
    if was_open and s.supply_status != SUPPLY_ON:
        s.supply_off.append((now, None))  # disabled or armed: the valve is shut until the consumer opens it
    elif not was_open and s.supply_status == SUPPLY_ON and s.supply_off and s.supply_off[-1][1] is None:
        s.supply_off[-1] = (s.supply_off[-1][0], now)
    return se.SupplyStatusResponse(c.provider_id, c.issuer_event_id, c.implementation_time, s.supply_status)


def _payment_mode(s: GasState, c: se.ChangePaymentMode, now: float) -> Answer:
    s.payment_configuration, s.cut_off_value = c.proposed_configuration, c.cut_off_value
    return se.ChangePaymentModeResponse(s.friendly_credit, s.friendly_credit_calendar_id,
                                        s.emergency_credit_limit, s.emergency_credit_threshold)


def _credit_adjustment(s: GasState, c: se.CreditAdjustment, now: float) -> Answer:
    # Adjustment types: 0 credit incremental, 1 credit absolute, 2 debt incremental, 3 debt absolute
    # (GBCS 1.5: GCS40a/b in prepayment, GCS40c/d in credit mode).
    if c.adjustment_type in (0x00, 0x02):
        s.credit_remaining += c.value
    else:
        s.credit_remaining = c.value
    return None


def _emergency_credit(s: GasState, c: se.SelectAvailableEmergencyCredit, now: float) -> Answer:
    if not s.prepayment:
        return ZclStatus.ACTION_DENIED  # emergency credit exists in prepayment mode only
    s.emergency_credit_active = True
    return None


def _debt(s: GasState, c: se.ChangeDebt, now: float) -> Answer:
    s.debts[c.amount_type] = c.debt_amount
    s.debt_recovery[c.amount_type] = c.recovery_amount
    s.debt_recovery_method[c.amount_type] = c.recovery_method
    return None


def _display(s: GasState, c: se.DisplayMessage, now: float) -> Answer:
    s.message = c.message
    return None


def _tenancy(s: GasState, c: se.PublishChangeOfTenancy, now: float) -> Answer:
    s.tenancy_change_time = c.implementation_time
    return None


def _supplier(s: GasState, c: se.PublishChangeOfSupplier, now: float) -> Answer:
    s.supplier_name, s.supplier_contact = c.proposed_provider_name, c.proposed_provider_contact
    return None


def _privacy_pin(s: GasState, c: se.RequestNewPasswordResponse, now: float) -> Answer:
    s.privacy_pin_disabled = c.password == b""
    return None


def _site_id(s: GasState, c: se.UpdateSiteId, now: float) -> Answer:
    s.site_id = c.site_id
    return None


def _cin(s: GasState, c: se.UpdateCin, now: float) -> Answer:
    s.customer_id_number = c.customer_id_number
    return None


def _event_configuration(s: GasState, c: se.SetEventConfiguration, now: float) -> Answer:
    for event in c.event_ids:
        s.event_configuration[event] = c.event_configuration
    return None


def _get_event_configuration(s: GasState, c: se.GetEventConfiguration, now: float) -> Answer:
    every = c.event_id & 0xFF == 0xFF
    records = tuple(sorted((e, v) for e, v in s.event_configuration.items()
                           if (every and e >> 8 == c.event_id >> 8) or e == c.event_id))
    return se.ReportEventConfiguration(0, 1, records)


def _conversion_factor(s: GasState, c: se.PublishConversionFactor, now: float) -> Answer:
    s.conversion_factor, s.conversion_factor_trailing_digit = c.conversion_factor, c.trailing_digit
    return None


def _calorific_value(s: GasState, c: se.PublishCalorificValue, now: float) -> Answer:
    s.calorific_value, s.calorific_value_unit = c.calorific_value, c.unit
    s.calorific_value_trailing_digit = c.trailing_digit
    return None


def _flow_threshold(s: GasState, c: se.SetUncontrolledFlowThreshold, now: float) -> Answer:
    s.flow_threshold, s.flow_unit, s.flow_multiplier = c.threshold, c.unit_of_measure, c.multiplier
    s.flow_divisor, s.flow_stabilisation_period = c.divisor, c.stabilisation_period
    s.flow_measurement_period = c.measurement_period
    return None


UNCHANGED = 3  # Set Supply Status: leave this state as it is


def _supply_states(s: GasState, c: se.SetSupplyStatus, now: float) -> Answer:
    if c.supply_tamper_state != UNCHANGED:
        s.supply_tamper_state = c.supply_tamper_state
    if c.supply_depletion_state != UNCHANGED:
        s.supply_depletion_state = c.supply_depletion_state
    if c.supply_uncontrolled_flow_state != UNCHANGED:
        s.supply_uncontrolled_flow_state = c.supply_uncontrolled_flow_state
    return None


def _billing_period(s: GasState, c: se.PublishBillingPeriod, now: float) -> Answer:
    s.billing_period_start, s.billing_period_duration = c.start_time, c.duration
    s.billing_period_duration_type, s.billing_issuer_event_id = c.duration_type, c.issuer_event_id
    return None


def _block_period(s: GasState, c: se.PublishBlockPeriod, now: float) -> Answer:
    return None  # a gas meter bills by period; the block period mirrors it


def _get_billing_period(s: GasState, c: se.GetBillingPeriod, now: float) -> Answer:
    if not s.billing_issuer_event_id:
        return NOT_FOUND
    return se.PublishBillingPeriod(0, s.billing_issuer_event_id, s.billing_period_start,
                                   s.billing_period_duration, s.billing_period_duration_type, 0)


def _start_sampling(s: GasState, c: se.StartSampling, now: float) -> Answer:
    sample_id = 2  # GBCS: the network data sample (GCS31 starts it, GCS18 reads it)
    start = c.start_time or int(now) - gbz.EPOCH_2000  # 0: start now
    s.sampling[sample_id] = (start, c.sample_request_interval, c.max_samples)
    return se.StartSamplingResponse(sample_id)


def _prepay_settings(s: GasState, c: ZclCommand, now: float) -> Answer:
    if isinstance(c, se.EmergencyCreditSetup):
        s.emergency_credit_limit, s.emergency_credit_threshold = c.emergency_credit_limit, \
            c.emergency_credit_threshold
    elif isinstance(c, se.SetLowCreditWarningLevel):
        s.low_credit_warning = c.level
    elif isinstance(c, se.SetMaximumCreditLimit):
        s.maximum_credit_level, s.maximum_credit_per_top_up = c.maximum_credit_level, c.maximum_credit_per_top_up
    elif isinstance(c, se.SetOverallDebtCap):
        s.overall_debt_cap = c.overall_debt_cap
    return None


def _calendar_by_id(s: GasState, issuer_calendar_id: int) -> Calendar | None:
    kind = LATEST_CALENDAR.get(issuer_calendar_id)
    if kind is not None:
        return s.calendars.get(kind)
    return next((c for c in s.calendars.values() if c.issuer_calendar_id == issuer_calendar_id), None)


def _publish_calendar(s: GasState, c: se.PublishCalendar, now: float) -> Answer:
    s.calendars[c.calendar_type] = Calendar(c.issuer_calendar_id, c.start_time, c.calendar_type,
                                            issuer_event_id=c.issuer_event_id)
    return None


def _day_profile(s: GasState, c: se.PublishDayProfile, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None:
        return NOT_FOUND
    cal.day_profiles[c.day_id] = c.entries
    return None


def _week_profile(s: GasState, c: se.PublishWeekProfile, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None:
        return NOT_FOUND
    cal.week_profiles[c.week_id] = (c.day_id_mon, c.day_id_tue, c.day_id_wed, c.day_id_thu, c.day_id_fri,
                                    c.day_id_sat, c.day_id_sun)
    return None


def _seasons(s: GasState, c: se.PublishSeasons, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None:
        return NOT_FOUND
    cal.seasons = c.entries
    return None


def _special_days(s: GasState, c: se.PublishSpecialDays, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None:
        return NOT_FOUND
    cal.special_days = c.entries
    return None


def _tariff_information(s: GasState, c: se.PublishTariffInformation, now: float) -> Answer:
    s.tariff = c
    return None


def _price_matrix(s: GasState, c: se.PublishPriceMatrix, now: float) -> Answer:
    s.prices = {tier: price for tier, price in c.entries}
    return None


def _block_thresholds(s: GasState, c: se.PublishBlockThresholds, now: float) -> Answer:
    s.block_thresholds = tuple(t for _, group in c.groups for t in group)
    return None


def _get_day_profiles(s: GasState, c: se.GetDayProfiles, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None or not cal.day_profiles:
        return NOT_FOUND
    days = sorted(d for d in cal.day_profiles if d >= c.start_day_id)
    days = days[:c.number_of_days] if c.number_of_days else days
    return [se.PublishDayProfile(0, cal.issuer_event_id, cal.issuer_calendar_id, d, len(cal.day_profiles[d]), 0, 1,
                                 cal.calendar_type, cal.day_profiles[d]) for d in days]


def _get_week_profiles(s: GasState, c: se.GetWeekProfiles, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None or not cal.week_profiles:
        return NOT_FOUND
    weeks = sorted(w for w in cal.week_profiles if w >= c.start_week_id)
    weeks = weeks[:c.number_of_weeks] if c.number_of_weeks else weeks
    return [se.PublishWeekProfile(0, cal.issuer_event_id, cal.issuer_calendar_id, w, *cal.week_profiles[w])
            for w in weeks]


def _get_seasons(s: GasState, c: se.GetSeasons, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None:
        return NOT_FOUND
    return se.PublishSeasons(0, cal.issuer_event_id, cal.issuer_calendar_id, 0, 1, cal.seasons)


def _get_special_days(s: GasState, c: se.GetSpecialDays, now: float) -> Answer:
    cal = _calendar_by_id(s, c.issuer_calendar_id)
    if cal is None or cal.calendar_type != c.calendar_type:
        cal = s.calendars.get(c.calendar_type)
    if cal is None:
        return NOT_FOUND
    return se.PublishSpecialDays(0, cal.issuer_event_id, cal.issuer_calendar_id, cal.start_time, cal.calendar_type,
                                 len(cal.special_days), 0, 1, cal.special_days)


def _current_price(s: GasState, c: se.GetCurrentPrice, now: float) -> Answer:
    t = s.tariff
    if t is None:
        return NOT_FOUND
    tier = 1 if not _block_tariff(s) else 0
    price = s.prices.get(tier, 0)
    current = int(now) - gbz.EPOCH_2000
    trailing_and_tier = t.price_trailing_digit & 0xF0 | tier
    tiers_and_register = (t.number_of_price_tiers & 0x0F) << 4 | tier
    return se.PublishPrice(0, b"", t.issuer_event_id, current & 0xFFFFFFFF, 0x01, t.currency, trailing_and_tier,
                           tiers_and_register, 0, 1440, price)


def _no_log(s: GasState, c: ZclCommand, now: float) -> Answer:
    """Top-ups and debt repayments: the emulated meter has taken none."""
    return NOT_FOUND


DAY = 86400
SNAPSHOT_TOU_DELIVERED = 0x00  # snapshot payload type: TOU information set, delivered registers
PREPAY_DEBT_CREDIT_STATUS = 0x00  # prepay snapshot payload type: debt / credit status


def _history_start(s: GasState, now: float) -> float:
    """The earliest time the logs may show: installation, or a change of tenancy that has taken
    effect (GCS09: the new occupant does not see the old one's consumption)."""
    first = s.installed_at if s.installed_at is not None else now
    if s.tenancy_change_time is not None and s.tenancy_change_time + gbz.EPOCH_2000 <= now:
        first = max(first, s.tenancy_change_time + gbz.EPOCH_2000)
    return first


def _midnight(t: float) -> int:
    return int(t) // DAY * DAY


def _daily_times(s: GasState, now: float, start: int, end: int) -> list[int]:
    """Midnights (Unix) from the latest backwards that the meter has lived through, inside
    [start, end] (ZCL UTC, seconds since 2000)."""
    first = _history_start(s, now)
    out: list[int] = []
    t = _midnight(now)
    while t >= first and len(out) < 366:
        z = t - gbz.EPOCH_2000
        if start <= z <= end:
            out.append(t)
        t -= DAY
    return out


def _snapshot(s: GasState, c: se.GetSnapshot, now: float) -> Answer:
    if s.register_at is None:
        return NOT_FOUND
    times = _daily_times(s, now, c.earliest_start, c.latest_end)
    if c.snapshot_offset >= len(times):
        return NOT_FOUND
    t = times[c.snapshot_offset]
    wh = s.register_at(t)
    z = t - gbz.EPOCH_2000
    payload = (wh.to_bytes(6, "little") + bytes(4) + z.to_bytes(4, "little") + bytes(4) + z.to_bytes(4, "little")
               + b"\x00" + b"\x01" + wh.to_bytes(6, "little"))  # one tier in use: the whole register
    return se.PublishSnapshot(c.snapshot_offset, z, len(times), 0, 1, c.snapshot_cause, SNAPSHOT_TOU_DELIVERED,
                              payload)


def _prepay_snapshot(s: GasState, c: se.GetPrepaySnapshot, now: float) -> Answer:
    times = _daily_times(s, now, c.earliest_start, c.latest_end)
    if c.snapshot_offset >= len(times):
        return NOT_FOUND
    t = times[c.snapshot_offset]
    values = (s.credit_remaining, s.emergency_credit_limit if s.emergency_credit_active else 0,
              s.debts.get(1, 0), s.debts.get(3, 0), s.debts.get(5, 0), s.overall_debt_cap)
    payload = b"".join(v.to_bytes(4, "little", signed=True) for v in values)
    return se.PublishPrepaySnapshot(c.snapshot_offset, t - gbz.EPOCH_2000, len(times), 0, 1, c.snapshot_cause,
                                    PREPAY_DEBT_CREDIT_STATUS, payload)


HALF_HOUR_PROFILE, DAILY_CONSUMPTION, NETWORK_DATA = 0, 1, 2  # sample ids (GCS17, GCS61, GCS18)
SAMPLE_INTERVAL = {HALF_HOUR_PROFILE: 1800, DAILY_CONSUMPTION: DAY}


def _sampled_data(s: GasState, c: se.GetSampledData, now: float) -> Answer:
    if s.register_at is None:
        return NOT_FOUND
    first = _history_start(s, now)
    if c.sample_id == NETWORK_DATA:
        if NETWORK_DATA not in s.sampling:
            return NOT_FOUND
        started, interval, most = s.sampling[NETWORK_DATA]
        begin = max(started + gbz.EPOCH_2000, c.earliest_sample_time + gbz.EPOCH_2000, first)
        count = min(most, c.number_of_samples)
    elif c.sample_id in SAMPLE_INTERVAL:
        interval = SAMPLE_INTERVAL[c.sample_id]
        begin = max(c.earliest_sample_time + gbz.EPOCH_2000, first)
        begin = -(-int(begin) // interval) * interval  # the first whole interval
        count = c.number_of_samples
    else:
        return NOT_FOUND
    count = max(0, min(count, int((now - begin) // interval), 0xFFFF))
    if count == 0:
        return NOT_FOUND
    reads = [s.register_at(begin + i * interval) for i in range(count + 1)]
    samples = tuple((min(0xFFFFFF, max(0, b - a)),) for a, b in itertools.pairwise(reads))
    wire_interval = interval if interval <= 0xFFFF else 0  # daily samples: no interval in seconds fits 16 bits
    return se.GetSampledDataResponse(c.sample_id, int(begin) - gbz.EPOCH_2000, c.sample_type, wire_interval, count,
                                     samples)


Handler = Callable[[GasState, Any, float], Answer]
HANDLERS: dict[type[ZclCommand], Handler] = {
    se.ChangeSupply: _change_supply,
    se.ChangePaymentMode: _payment_mode,
    se.CreditAdjustment: _credit_adjustment,
    se.SelectAvailableEmergencyCredit: _emergency_credit,
    se.ChangeDebt: _debt,
    se.DisplayMessage: _display,
    se.PublishChangeOfTenancy: _tenancy,
    se.PublishChangeOfSupplier: _supplier,
    se.RequestNewPasswordResponse: _privacy_pin,
    se.UpdateSiteId: _site_id,
    se.UpdateCin: _cin,
    se.SetEventConfiguration: _event_configuration,
    se.GetEventConfiguration: _get_event_configuration,
    se.PublishConversionFactor: _conversion_factor,
    se.PublishCalorificValue: _calorific_value,
    se.SetUncontrolledFlowThreshold: _flow_threshold,
    se.SetSupplyStatus: _supply_states,
    se.PublishBillingPeriod: _billing_period,
    se.PublishBlockPeriod: _block_period,
    se.GetBillingPeriod: _get_billing_period,
    se.StartSampling: _start_sampling,
    se.EmergencyCreditSetup: _prepay_settings,
    se.SetLowCreditWarningLevel: _prepay_settings,
    se.SetMaximumCreditLimit: _prepay_settings,
    se.SetOverallDebtCap: _prepay_settings,
    se.PublishCalendar: _publish_calendar,
    se.PublishDayProfile: _day_profile,
    se.PublishWeekProfile: _week_profile,
    se.PublishSeasons: _seasons,
    se.PublishSpecialDays: _special_days,
    se.PublishTariffInformation: _tariff_information,
    se.PublishPriceMatrix: _price_matrix,
    se.PublishBlockThresholds: _block_thresholds,
    se.GetDayProfiles: _get_day_profiles,
    se.GetWeekProfiles: _get_week_profiles,
    se.GetSeasons: _get_seasons,
    se.GetSpecialDays: _get_special_days,
    se.GetCurrentPrice: _current_price,
    se.GetSnapshot: _snapshot,
    se.GetPrepaySnapshot: _prepay_snapshot,
    se.GetSampledData: _sampled_data,
    se.GetTopUpLog: _no_log,
    se.GetDebtRepaymentLog: _no_log,
}

# Specific responses travel with default responses disabled when the reference does so.
_RESPONSE_DDR: dict[type[ZclCommand], bool] = {
    se.ChangePaymentModeResponse: True, se.PublishDayProfile: True, se.PublishWeekProfile: True,
    se.PublishSeasons: True, se.PublishSpecialDays: True, se.PublishPrice: True, se.PublishSnapshot: True,
    se.PublishPrepaySnapshot: True, se.GetSampledDataResponse: True}


# --- the engine -------------------------------------------------------------------------------------

def _reply_header(request: ZclHeader, command_id: int) -> ZclHeader:
    """A global-command answer: same sequence, opposite direction, default responses left enabled
    (as the RTDS responses carry them)."""
    fc = ZclFrameControl(FrameType.GLOBAL, request.manufacturer_specific, Direction(1 - request.direction), False)
    return ZclHeader(fc, request.sequence, command_id, request.manufacturer_code)


def _default_response(request: ZclHeader, status: int) -> bytes:
    return _reply_header(request, zcl.DEFAULT_RESPONSE).encode() + bytes((request.command_id, status))


ADDITIONAL_HEADER_CONTROL, ADDITIONAL_FRAME_COUNTER = 0x00, 0x00


def _encrypted(cluster: int, frame: bytes, encrypt: Encrypt) -> gbz.Component:
    """An encrypted GBZ component: additional header (control, frame counter, the ZCL header),
    the ciphered part's length, and the ``31 ...`` part holding the ZCL payload."""
    header, payload = ZclHeader.decode(frame)
    part = encrypt(payload)
    extra = bytes((ADDITIONAL_HEADER_CONTROL, ADDITIONAL_FRAME_COUNTER)) + header.encode()
    return gbz.Component(cluster, extra + len(part).to_bytes(2, "big") + part, gbz.ENCRYPTED)


def _malformed() -> bytes:
    """A Default Response MALFORMED_COMMAND to a frame whose header could not even be read."""
    fc = ZclFrameControl(FrameType.GLOBAL, False, Direction.SERVER_TO_CLIENT, False)
    return ZclHeader(fc, 0, zcl.DEFAULT_RESPONSE).encode() + bytes((0, MALFORMED_COMMAND))


def _read(request: ZclHeader, payload: bytes, cluster: int, state: GasState, source: AttributeSource,
          now: float) -> bytes:
    records: list[tuple[int, int, str | None, Any]] = []
    for attr in zcl.decode_read_attributes(payload):
        found = source(cluster, attr, now)
        if found is None and (cluster, attr) in ATTRIBUTES:
            type_name, getter = ATTRIBUTES[(cluster, attr)]
            found = (type_name, getter(state))
        records.append((attr, UNSUPPORTED_ATTRIBUTE, None, None) if found is None else (attr, 0, *found))
    return gbz.read_attributes_response(records)


def answer_command(state: GasState, cluster: int, frame: bytes, source: AttributeSource, now: float,
                   *, encrypted: bool = False, encrypt: Encrypt | None = None) -> list[gbz.Component]:
    """Act on one ZCL frame of a GBZ command and return the components that answer it."""
    return _answer_command(state, cluster, frame, source, now, encrypted, encrypt)


def _answer_command(state: GasState, cluster: int, frame: bytes, source: AttributeSource, now: float,
                    encrypted: bool, encrypt: Encrypt | None) -> list[gbz.Component]:
    try:
        header, command = zcl.decode_command(cluster, frame, strict=True)
    except ZigbeeError:
        try:
            header, _ = zcl.ZclHeader.decode(frame)
        except ZigbeeError:
            return [gbz.Component(cluster, _malformed())]
        return [gbz.Component(cluster, _default_response(header, ZclStatus.UNSUP_CLUSTER_COMMAND))]
    if not header.cluster_specific:
        if header.command_id != zcl.READ_ATTRIBUTES or not isinstance(command, bytes):
            return [gbz.Component(cluster, _default_response(header, ZclStatus.UNSUP_GENERAL_COMMAND))]
        try:
            records = _read(header, command, cluster, state, source, now)
        except ZigbeeError:
            return [gbz.Component(cluster, _default_response(header, MALFORMED_COMMAND))]
        if encrypted and encrypt is not None:
            fc = ZclFrameControl(FrameType.GLOBAL, header.manufacturer_specific, Direction(1 - header.direction), True)
            rsp = ZclHeader(fc, header.sequence, zcl.READ_ATTRIBUTES_RESPONSE, header.manufacturer_code)
            return [_encrypted(cluster, rsp.encode() + records, encrypt)]
        return [gbz.Component(cluster, _reply_header(header, zcl.READ_ATTRIBUTES_RESPONSE).encode() + records)]
    assert isinstance(command, ZclCommand)
    handler = HANDLERS.get(type(command))
    if handler is None:
        return [gbz.Component(cluster, _default_response(header, ZclStatus.UNSUP_CLUSTER_COMMAND))]
    state.last_issuer_event_id = getattr(command, "issuer_event_id", state.last_issuer_event_id)
    answer = handler(state, command, now)
    if isinstance(answer, ZclCommand):
        answer = [answer]
    if isinstance(answer, list):
        out: list[gbz.Component] = []
        for a in answer:
            frame = a.encode(header.sequence, disable_default_response=_RESPONSE_DDR.get(type(a), False))
            out.append(_encrypted(cluster, frame, encrypt) if isinstance(a, ENCRYPTED_LOGS) and encrypt is not None
                       else gbz.Component(cluster, frame))
        return out
    return [gbz.Component(cluster, _default_response(header, ZclStatus.SUCCESS if answer is None else int(answer)))]


CANCELLED = (0xFFFFFFFE, 0xFFFFFFFF)  # start times that cancel a future-dated command
# The gas use cases whose SRVs the device itself holds until their time (SRV catalogue: future-dated
# response "Device": 1.1.1 GCS01a, 1.2.1 GCS01b, 1.6 GCS02/GCS03, 2.1 GCS05).
DEVICE_FUTURE_DATED = frozenset({0x006B, 0x00A3, 0x006C, 0x006D, 0x006F})
TIME_FIELDS = ("start_time", "implementation_time")


def _start_of(command: ZclCommand, from_date_time: int | None) -> int | None:
    """When a command is to take effect (ZCL UTC), for the commands GBCS lets the DCC future-date."""
    for name in TIME_FIELDS:
        if hasattr(command, name):
            return int(getattr(command, name))
    return from_date_time


def _dated(cluster: int, frame: bytes, from_date_time: int | None) -> tuple[ZclCommand | None, int | None]:
    try:
        _, command = zcl.decode_command(cluster, frame, strict=True)
    except ZigbeeError:
        return None, None
    if not isinstance(command, ZclCommand):
        return None, None
    return command, _start_of(command, from_date_time)


def _acknowledge(state: GasState, cluster: int, frame: bytes, command: ZclCommand | None) -> gbz.Component:
    """The answer to a queued (or cancelled) component: what the meter would say now."""
    header, _ = ZclHeader.decode(frame)
    if isinstance(command, se.ChangePaymentMode):
        rsp = se.ChangePaymentModeResponse(state.friendly_credit, state.friendly_credit_calendar_id,
                                           state.emergency_credit_limit, state.emergency_credit_threshold)
        return gbz.Component(cluster, rsp.encode(header.sequence, disable_default_response=True))
    return gbz.Component(cluster, _default_response(header, ZclStatus.SUCCESS))


def _future_dated(state: GasState, cmd: gbz.GbzPayload, now: float, message_code: int,
                  counter: int) -> list[gbz.Component] | None:
    """A command dated in the future is queued whole (GBCS dates the command, not its parts); one
    dated "never" cancels the queued one of the same use case. None: act on it now."""
    if message_code not in DEVICE_FUTURE_DATED:
        return None
    dated = []
    for comp in cmd.components:
        frame = comp.body[4:] if comp.from_date_time is not None else comp.body
        command, start = _dated(comp.cluster, frame, comp.from_date_time) if not comp.encrypted else (None, None)
        dated.append((comp.cluster, frame, command, start))
    starts = [start for _, _, _, start in dated if start]
    if any(start in CANCELLED for start in starts):
        state.pending = [p for p in state.pending if p.message_code != message_code]
    elif starts and max(starts) > int(now) - gbz.EPOCH_2000:
        due = max(starts)
        state.pending += [Pending(due, message_code, counter, cluster, frame, bool(start))
                          for cluster, frame, _, start in dated]
    else:
        return None
    return [_acknowledge(state, cluster, frame, command) for cluster, frame, command, _ in dated]


def run_due(state: GasState, source: AttributeSource, now: float) -> list[Executed]:
    """Apply the future-dated commands whose time has come (in the order they were queued)."""
    due_at = int(now) - gbz.EPOCH_2000
    ready = [p for p in state.pending if p.due <= due_at]
    state.pending = [p for p in state.pending if p.due > due_at]
    done = []
    for p in ready:
        header, _ = ZclHeader.decode(p.frame)
        answers = answer_command(state, p.cluster, p.frame, source, now)
        ok = all(not (a.zcl().command == zcl.DEFAULT_RESPONSE and a.zcl().payload[1:2] != b"\x00")
                 for a in answers if not a.encrypted)
        if p.reports:
            done.append(Executed(p.message_code, p.counter, p.cluster, header.frame_control.to_int(),
                                 header.command_id, ok))
    return done


def next_due(state: GasState) -> float | None:
    return min((p.due + gbz.EPOCH_2000 for p in state.pending), default=None)


def answer_gbz(payload: bytes, source: AttributeSource, now: float, state: GasState | None = None, *,
               message_code: int = 0, encrypt: Encrypt | None = None, counter: int = 0) -> bytes:
    """The GBZ response to a GBZ command payload, after acting on it (``state``). Components
    dated in the future are queued (:func:`run_due` applies them) and acknowledged now."""
    state = state if state is not None else GasState()
    try:
        cmd = gbz.decode(payload)
    except GbcsError:
        return gbz.GbzPayload(()).encode()
    queued = _future_dated(state, cmd, now, message_code, counter)
    if queued is not None:
        return gbz.GbzPayload(tuple(queued)).encode()
    sensitive = ENCRYPTED_READS.get(message_code, frozenset())
    components = []
    for comp in cmd.components:
        if comp.encrypted:
            components.append(gbz.Component(comp.cluster, _malformed()))
            continue
        frame = comp.body[4:] if comp.from_date_time is not None else comp.body
        components.extend(answer_command(state, comp.cluster, frame, source, now,
                                         encrypted=comp.cluster in sensitive, encrypt=encrypt))
    return gbz.GbzPayload(tuple(components)).encode()


# --- the ASN.1 gas use cases ----------------------------------------------------------------------

CLOCK_SET, CLOCK_NOT_SET = 0, 1


def synchronise_clock(state: GasState, payload: bytes, now: float) -> bytes:
    """GCS28: SEQUENCE { validity start, validity end }. The GSME answers SEQUENCE { its time
    before the command, result }: inside the window its clock stands (success); outside it, the
    clock is set to the window's start (success too); an unreadable command is refused (1)."""
    device_time = now + state.clock_offset_s
    try:
        window = asn1.decode(payload).children or ()
        start, end = (asn1.parse_generalized_time(t) for t in window[:2])
    except (GbcsError, ValueError):
        start = end = None
    if start is None or end is None:
        return asn1.sequence(asn1.generalized_time(device_time), asn1.integer(CLOCK_NOT_SET)).encode()
    if not start <= device_time <= end:
        state.clock_offset_s = start - now
    return asn1.sequence(asn1.generalized_time(device_time), asn1.integer(CLOCK_SET)).encode()


def restore_device_log(log: dict[bytes, int], payload: bytes) -> bytes:
    """GCS59: SEQUENCE { SEQUENCE OF { device id, device type } } -> the GPF adds each device
    and answers SEQUENCE { SEQUENCE OF { the entry, result 0 } } (1 for an entry it cannot read)."""
    results: list[asn1.Tlv] = []
    try:
        entries = (asn1.decode(payload).children or ())[0].children or ()
    except (GbcsError, IndexError):
        entries = ()
    for entry in entries:
        kids = entry.children or ()
        ok = len(kids) == 2 and kids[0].tag == asn1.OCTET_STRING and len(kids[0].value) == 8
        if ok:
            log[kids[0].value] = kids[1].int()
        results.append(asn1.sequence(entry, asn1.integer(0 if ok else 1)))
    return asn1.sequence(asn1.sequence(*results)).encode()
