"""ESME configuration use cases with structured DUIS parameters: billing calendar (ECS30/30a),
load limiting (ECS28a), voltage thresholds (ECS29a-d) and the maximum demand period (ECS37).

Each function reads the DUIS elements named in its docstring and returns the ordered DLMS
requests GBCS defines for the use case (:class:`~emulator.gbcs.esme_ops.Op`).
"""

from __future__ import annotations

from collections.abc import Mapping

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import CANCEL, ParameterError, Params, execution_time
from emulator.gbcs.esme_ops import Op, ValueFn, act, put

NEVER = b"\xff" * 5  # a DLMS date with every field "not specified"


def xs_time(text: str, name: str) -> bytes:
    """xs:time "HH:MM:SS" -> DLMS time (hour, minute, second, hundredths)."""
    try:
        h, m, s = (int(float(x)) for x in text.strip().rstrip("Z").split(":")[:3])
    except ValueError:
        raise ParameterError(f"{name} is not an xs:time: {text!r}", field=name) from None
    return bytes((h, m, s, 0))


def _u32(v: int) -> Data:
    return Data("double-long-unsigned", v)


# --- 6.8 billing calendar ---------------------------------------------------------------------

def billing_calendar(p: Params) -> Data:
    """ElectricityBillingCalendar: BillingTime and one of Daily, Weekly (day 1-7), Monthly
    (DayOfMonth), Quarterly / SixMonthly / Yearly (DayOfMonth, BillingPeriodStartMonth).
    Default: midnight on the first of each month."""
    time = xs_time(p.text("BillingTime", "00:00:00"), "BillingTime")
    dates: list[bytes]
    if p.has("Daily"):
        dates = [NEVER]
    elif p.has("Weekly"):
        day = p.int("Weekly", 1) if not isinstance(p.find("Weekly"), Mapping) else p.int("DayOfWeek", 1)
        dates = [b"\xff\xff\xff\xff" + bytes((day,))]
    else:
        period = next((k for k in ("Quarterly", "SixMonthly", "Yearly") if p.has(k)), "Monthly")
        day = p.int("DayOfMonth", 1) if period != "Monthly" or isinstance(p.find("Monthly"), Mapping) \
            else p.int("Monthly", 1)
        if period == "Monthly":
            dates = [bytes((0xFF, 0xFF, 0xFF, day, 0xFF))]
        else:
            step = {"Quarterly": 3, "SixMonthly": 6, "Yearly": 12}[period]
            first = p.int("BillingPeriodStartMonth", 1)
            months = [(first - 1 + i) % 12 + 1 for i in range(0, 12, step)]
            dates = [bytes((0xFF, 0xFF, m, day, 0xFF)) for m in months]
    return Data("array", tuple(Data("structure", (Data("octet-string", time), Data("octet-string", d)))
                               for d in dates))


BILLING_CALENDAR: tuple[Op, ...] = (put(22, "0-0:15.0.0.255", 4, billing_calendar),)


# --- 6.4.1 load limiting ----------------------------------------------------------------------

_LOAD_LIMIT = ("0-0:94.44.0.3", "0-0:94.44.128.7", "0-0:94.44.128.6", "0-0:94.44.128.8")


def _when(p: Params) -> Data:
    return Data("octet-string", CANCEL if p.bool("Cancel", False) else execution_time(p))


def load_limiting() -> tuple[Op, ...]:
    """UpdateDeviceConfigurationLoadLimitingGeneralSettings: LoadLimitSupplyState ("Disable": the
    supply is disabled on a breach; "Unchanged"), LoadLimitPowerThreshold (W), LoadLimitPeriod (s),
    LoadLimitRestorationPeriod (s), ExecutionDateTime (and ``Cancel``, as for 1.6)."""
    def state(p: Params) -> Data:
        return Data("boolean", 0xFF if p.text("LoadLimitSupplyState", "Unchanged") == "Disable" else 0)

    values: tuple[ValueFn, ...] = (state, lambda p: _u32(p.int("LoadLimitPowerThreshold", 0)),
              lambda p: _u32(p.int("LoadLimitPeriod", 0)), lambda p: _u32(p.int("LoadLimitRestorationPeriod", 0)))
    return (*(put(9000, ln, 4, v) for ln, v in zip(_LOAD_LIMIT, values, strict=True)),
            *(put(9000, ln, 6, _when) for ln in _LOAD_LIMIT))


# --- 6.5 voltage --------------------------------------------------------------------------------

# RMS voltage register monitors: (object, DUIS threshold element, DUIS measurement period element)
_RMS = (("0-0:17.0.1.255", "RMSExtremeOverVoltageThreshold", "RMSExtremeOverVoltageMeasurementPeriod"),
        ("0-0:17.0.2.255", "RMSExtremeUnderVoltageThreshold", "RMSExtremeUnderVoltageMeasurementPeriod"),
        ("0-0:17.0.3.255", "RMSVoltageSagThreshold", "RMSVoltageSagMeasurementPeriod"),
        ("0-0:17.0.4.255", "RMSVoltageSwellThreshold", "RMSVoltageSwellMeasurementPeriod"))
_PHASE_CODE = {1: 32, 2: 52, 3: 72}  # OBIS C of the phase voltage objects


def _phase_settings(p: Params, phase: int) -> Params:
    """AverageRMSVoltageSettings of a phase: SinglePhaseVoltageSettings, or the PolyPhaseVoltageSettings
    entry with that Phase."""
    entries = p.find("PolyPhaseVoltageSettings")
    for entry in entries if isinstance(entries, list) else [entries] if entries else []:
        if isinstance(entry, Mapping) and str(entry.get("Phase", "")).strip() == str(phase):
            return Params(entry)
    single = p.find("SinglePhaseVoltageSettings")
    return Params(single) if isinstance(single, Mapping) else p


def _element(name: str) -> ValueFn:
    return lambda p: _u32(p.int(name, 0))


def _phase_value(phase: int, name: str) -> ValueFn:
    return lambda p: _u32(_phase_settings(p, phase).int(name, 0))


def voltage(poly: bool, reset: bool) -> tuple[Op, ...]:
    """UpdateDeviceConfigurationVoltage: RMSVoltageSettings (thresholds and periods of the four RMS
    monitors), SinglePhaseVoltageSettings or PolyPhaseVoltageSettings (per Phase: AverageRMSOver/
    UnderVoltageThreshold, AverageRMSVoltageMeasurementPeriod). ECS29a/b reset the voltage counters
    (DUIS: RMSVoltageCountersNotReset absent), ECS29c/d keep them; b and d are polyphase."""
    phases = (1, 2, 3) if poly else (1,)
    periods = tuple(put(7, f"1-0:{_PHASE_CODE[ph]}.24.0.255", 4, _phase_value(ph, "AverageRMSVoltageMeasurementPeriod"))
                    for ph in phases)
    rms = tuple(op for ln, threshold, period in _RMS
                for op in (put(71, ln, 4, _element(threshold)), put(71, ln, 6, _element(period))))

    def averages(first_over: bool) -> tuple[Op, ...]:
        out: list[Op] = []
        for ph in phases:
            over = put(1, f"1-0:{_PHASE_CODE[ph]}.35.0.4", 2, _phase_value(ph, "AverageRMSOverVoltageThreshold"))
            under = put(1, f"1-0:{_PHASE_CODE[ph]}.31.0.4", 2, _phase_value(ph, "AverageRMSUnderVoltageThreshold"))
            out += [over, under] if first_over and ph == 1 else [under, over]
        return tuple(out)

    if reset:
        resets = tuple(act(3, f"1-0:{_PHASE_CODE[ph]}.{kind}.0.4", 1) for ph in phases for kind in (32, 36))
        return (*periods, *rms, *averages(first_over=True), *resets)
    return (*averages(first_over=False), *periods, *rms)


# --- 6.18.1 maximum demand configurable time period -------------------------------------------

_MD_SCRIPTS = bytes.fromhex("00000A8064FF")  # 0-0:10.128.100.255, scripts 1 (start) and 2 (end)


def _md_entry(index: int, time: bytes) -> Data:
    return Data("structure", (
        Data("long-unsigned", index), Data("boolean", 0xFF), Data("octet-string", _MD_SCRIPTS),
        Data("long-unsigned", index + 1), Data("octet-string", time), Data("long-unsigned", 0xFFFF),
        Data("bit-string", (7, b"\xfe")), Data("bit-string", (0, b"")),
        Data("octet-string", bytes.fromhex("000001FFFF")), Data("octet-string", NEVER)))


def max_demand_period(p: Params) -> Data:
    """MaximumDemandTimePeriodSchedule: StartTime, EndTime (xs:time; default 16:00-19:00), every day."""
    return Data("array", (_md_entry(0, xs_time(p.text("StartTime", "16:00:00"), "StartTime")),
                          _md_entry(1, xs_time(p.text("EndTime", "19:00:00"), "EndTime"))))


# --- 2.3 debt ----------------------------------------------------------------------------------

_TIME_DEBT = ("0-0:19.20.1.255", "0-0:19.20.2.255")  # time-based debt charges 1 and 2
_PAYMENT_DEBT = "0-0:19.20.3.255"
_PERIOD = {"HOURLY": 3600, "DAILY": 86400}


def _unit_charge(i: int) -> ValueFn:
    """ElecDebtRecovery<i>: DebtRecoveryRate at DebtRecoveryRatePriceScale, as a passive unit charge."""
    def value(p: Params) -> Data:
        r = _sub(p, f"ElecDebtRecovery{i}")
        return Data("structure", (
            Data("structure", (Data("integer", 0), Data("integer", r.int("DebtRecoveryRatePriceScale", 0)))),
            Data("structure", (Data("long-unsigned", 0), Data("octet-string", bytes(6)), Data("integer", 0))),
            Data("array", (Data("structure", (Data("octet-string", b""),
                                              Data("long", r.int("DebtRecoveryRate", 0)))),))))
    return value


def _recovery_period(i: int) -> ValueFn:
    def value(p: Params) -> Data:
        period = _sub(p, f"ElecDebtRecovery{i}").text("DebtRecoveryRatePeriod", "DAILY").upper()
        if period not in _PERIOD:
            raise ParameterError(f"DebtRecoveryRatePeriod must be HOURLY or DAILY, got {period!r}",
                                 field="DebtRecoveryRatePeriod")
        return _u32(_PERIOD[period])
    return value


def _sub(p: Params, name: str) -> Params:
    found = p.find(name)
    return Params(found) if isinstance(found, Mapping) else Params({})


def _amount(name: str) -> ValueFn:
    return lambda p: Data("double-long", p.int(name, 0))


# UpdateDebt: ElecDebtRecovery1/2 (DebtRecoveryRate, DebtRecoveryRatePriceScale, DebtRecoveryRatePeriod),
# DebtRecoveryPerPayment, PaymentDebtRegister, TimeDebtRegister1/2: the passive unit charges and their
# periods, activated, then the three debt registers set.
DEBT: tuple[Op, ...] = (
    put(113, _TIME_DEBT[0], 6, _unit_charge(1)),
    put(113, _TIME_DEBT[1], 6, _unit_charge(2)),
    put(113, _PAYMENT_DEBT, 13, lambda p: Data("long-unsigned", p.int("DebtRecoveryPerPayment", 0))),
    put(113, _TIME_DEBT[0], 8, _recovery_period(1)),
    put(113, _TIME_DEBT[1], 8, _recovery_period(2)),
    act(113, _TIME_DEBT[0], 2), act(113, _TIME_DEBT[1], 2),
    act(113, _PAYMENT_DEBT, 4, _amount("PaymentDebtRegister")),
    act(113, _TIME_DEBT[0], 4, _amount("TimeDebtRegister1")),
    act(113, _TIME_DEBT[1], 4, _amount("TimeDebtRegister2")),
)


CONFIG: dict[str, tuple[Op, ...]] = {
    "ECS07": DEBT,
    "ECS30": BILLING_CALENDAR,
    "ECS30a": BILLING_CALENDAR,
    "ECS28a": load_limiting(),
    "ECS29a": voltage(poly=False, reset=True),
    "ECS29b": voltage(poly=True, reset=True),
    "ECS29c": voltage(poly=False, reset=False),
    "ECS29d": voltage(poly=True, reset=False),
    "ECS37": (put(10, "0-0:12.0.0.255", 2, max_demand_period),),
}
