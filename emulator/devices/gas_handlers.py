"""The GSME's answer to each Smart Energy command of the gas use cases: a handler per command
(:data:`HANDLERS`) applies it to :class:`~emulator.devices.gas_state.GasState` and returns the
answer GBCS defines (a specific response, several for a calendar get, a Default Response
status, or None for SUCCESS). Logs (snapshots, profiles, daily consumption, network data) are
computed from the register history, not stored.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from emulator.devices.gas_state import (
    ALL_LOGS,
    CLEARABLE_LOGS,
    LATEST_CALENDAR,
    NOT_FOUND,
    SUPPLY_ON,
    Calendar,
    GasState,
    block_tariff,
    record_event,
)
from emulator.gbcs import gbz, utrn
from emulator.zigbee.clusters import smart_energy as se
from emulator.zigbee.status import ZclStatus
from emulator.zigbee.zcl import ZclCommand

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
    tier = 1 if not block_tariff(s) else 0
    price = s.prices.get(tier, 0)
    current = int(now) - gbz.EPOCH_2000
    trailing_and_tier = t.price_trailing_digit & 0xF0 | tier
    tiers_and_register = (t.number_of_price_tiers & 0x0F) << 4 | tier
    return se.PublishPrice(0, b"", t.issuer_event_id, current & 0xFFFFFFFF, 0x01, t.currency, trailing_and_tier,
                           tiers_and_register, 0, 1440, price)


def _no_log(s: GasState, c: ZclCommand, now: float) -> Answer:
    """Debt repayments: the emulated meter recovers no debt by payment."""
    return NOT_FOUND


def _get_event_log(s: GasState, c: se.GetEventLog, now: float) -> Answer:
    """CS10a / CS10b: the log's events in the period (oldest first), from the request's offset, as many
    as asked (0: all); NOT_FOUND when none match, as the RTDS reference answers."""
    log = c.event_control_log_id & 0x0F
    found = [e for e in s.event_log if (log == ALL_LOGS or e[0] == log) and c.start_time <= e[2] <= c.end_time
             and (c.event_id == 0 or e[1] == c.event_id)]
    chosen = found[c.event_offset:]
    if c.number_of_events:
        chosen = chosen[:c.number_of_events]
    if not chosen:
        return NOT_FOUND
    events = b"".join(bytes((log_id,)) + code.to_bytes(2, "little") + t.to_bytes(4, "little") + bytes((len(data),))
                      + data for log_id, code, t, data in chosen)
    return se.PublishEventLog(len(found), 0, 1, 0x00, events)


def _clear_event_log(s: GasState, c: se.ClearEventLogRequest, now: float) -> Answer:
    """CS11: clear the general event log (the security log stays); the answer's bitmap says which logs
    were cleared (0x08, log 3, in the RTDS reference; nothing when the request names only the security log)."""
    logs = CLEARABLE_LOGS if c.log_id == ALL_LOGS else CLEARABLE_LOGS & {c.log_id}
    s.event_log[:] = [e for e in s.event_log if e[0] not in logs]
    return se.ClearEventLogResponse(sum(1 << log for log in logs))


TOP_UP_LOG_DEPTH = 5  # the top-ups a GSME keeps (GCS15e asks for the last five)


def _top_up_log(s: GasState, c: se.GetTopUpLog, now: float) -> Answer:
    """GCS15e: the top-ups taken up to ``latest_end``, newest first, as many as asked."""
    taken = [t for t in reversed(s.top_ups) if t[0] <= c.latest_end][:c.number_of_records or None]
    if not taken:
        return NOT_FOUND
    records = b"".join(bytes((len(code),)) + code + amount.to_bytes(4, "little", signed=True) + t.to_bytes(4, "little")
                       for t, code, amount in taken)
    return se.PublishTopUpLog(0, 1, records)


# ZCL Prepayment top-up results (Consumer Top Up Response) for the reasons a UTRN is refused.
TOP_UP_ACCEPTED, TOP_UP_INVALID, TOP_UP_DUPLICATE = 0, 1, 2
_TOP_UP_REFUSAL = {utrn.DUPLICATE: TOP_UP_DUPLICATE}


def _consumer_top_up(s: GasState, c: se.ConsumerTopUp, now: float) -> Answer:
    """CS01b: credit the UTRN's value; a refused UTRN is an event in the log and the response carries
    no value (all-FF, as the RTDS ERROR answer)."""
    try:
        if s.enter_utrn is None:
            raise utrn.UtrnError("this meter takes no top-ups", utrn.NOT_AUTHENTIC)
        top: utrn.TopUp = s.enter_utrn(c.top_up_code.decode("ascii", "replace"))
    except utrn.UtrnError as e:
        record_event(s, e.alert_code, int(now + s.clock_offset_s) - gbz.EPOCH_2000)
        return se.ConsumerTopUpResponse(_TOP_UP_REFUSAL.get(e.alert_code, TOP_UP_INVALID), -1, c.originating_device,
                                        -1)
    s.utrn_counter = top.counter
    s.credit_remaining += top.amount
    s.top_ups.append((int(now + s.clock_offset_s) - gbz.EPOCH_2000, c.top_up_code, top.amount))
    del s.top_ups[:-TOP_UP_LOG_DEPTH]
    return se.ConsumerTopUpResponse(TOP_UP_ACCEPTED, top.amount, c.originating_device, s.credit_remaining)


DAY = 86400
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
    # One tier in use: the whole register.
    payload = se.tou_delivered_registers(wh, (wh,), bill_to_date_time=z, projected_bill_time=z)
    return se.PublishSnapshot(c.snapshot_offset, z, len(times), 0, 1, c.snapshot_cause, se.SNAPSHOT_TOU_DELIVERED,
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
    se.GetTopUpLog: _top_up_log,
    se.GetDebtRepaymentLog: _no_log,
    se.GetEventLog: _get_event_log,
    se.ClearEventLogRequest: _clear_event_log,
    se.ConsumerTopUp: _consumer_top_up,
}

# Specific responses travel with default responses disabled when the reference does so.
RESPONSE_DDR: dict[type[ZclCommand], bool] = {
    se.ChangePaymentModeResponse: True, se.PublishDayProfile: True, se.PublishWeekProfile: True,
    se.PublishSeasons: True, se.PublishSpecialDays: True, se.PublishPrice: True, se.PublishSnapshot: True,
    se.PublishPrepaySnapshot: True, se.GetSampledDataResponse: True, se.PublishEventLog: True}
