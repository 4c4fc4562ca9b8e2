"""Command payload builders for the GSME and GPF (GCS) use cases: GBZ (ZCL in GBCS) and, for
GCS28 and GCS59, ASN.1, as GBCS and the RTDS 4.5.0 reference frame them.

Each builder reads the DUIS-level parameters of its SRV from ``req.body`` (element names of
the DUIS 5.4 schema; documented per builder) and falls back to sensible defaults, so an SRV
sent with an empty body still gets a command of the reference's structure. ZCL frames are the
declared commands of :mod:`emulator.zigbee.clusters.smart_energy` (or foundation Read
Attributes), wrapped by :mod:`emulator.gbcs.gbz`.

Issuer event ids are the request's time: the originator counter (milliseconds since 1970,
as DCC Boxed issues them) in seconds since 2000, so they rise from command to command.
Registered in :mod:`emulator.gbcs.usecase_builders`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emulator.gbcs import asn1, gbz
from emulator.gbcs.usecase_builders import Builder, UseCaseRequest
from emulator.zigbee import zcl
from emulator.zigbee.clusters import smart_energy as se
from emulator.zigbee.zcl import ZclCommand

NOW = 0  # ZCL "start now" / "implement immediately"
FOREVER = 0xFFFFFFFF
BASIC = 0x0000

Part = tuple[int, ZclCommand | tuple[int, ...], int | None]
"""One GBZ component to build: cluster, the command (or the attribute ids of a Read
Attributes), and the from-date-time (None: absent)."""


# --- DUIS parameters ---------------------------------------------------------------------------

def _int(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if value is None or value == "":
        return default
    return int(str(value), 0) if isinstance(value, str) and value.lower().startswith("0x") else int(value)


def _utc(body: Mapping[str, Any], key: str, default: int = NOW) -> int:
    """A DUIS xs:dateTime as ZCL UTCTime (seconds since 2000-01-01); absent: ``default``."""
    value = body.get(key)
    if not value:
        return default
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp()) - gbz.EPOCH_2000


def _text(body: Mapping[str, Any], key: str, default: str) -> bytes:
    value = body.get(key)
    return (default if value is None else str(value)).encode()


def issuer_event_id(req: UseCaseRequest) -> int:
    """The request's time in seconds since 2000 (from its millisecond counter)."""
    seconds = req.counter // 1000 - gbz.EPOCH_2000
    return seconds & FOREVER if seconds > 0 else req.counter & FOREVER


def execution_time(req: UseCaseRequest) -> int:
    """Future-dated SRVs: DUIS ``ExecutionDateTime``; otherwise 0 (act at once)."""
    return _utc(req.body, "ExecutionDateTime")


# --- framing -----------------------------------------------------------------------------------

def gbz_payload(parts: Sequence[Part]) -> bytes:
    """GBZ components with transaction sequence numbers 0, 1, 2 ... in order."""
    comps = []
    for seq, (cluster, command, from_date_time) in enumerate(parts):
        if isinstance(command, ZclCommand):
            frame = command.encode(seq, disable_default_response=False)
        else:
            frame = zcl.read_attributes(zcl.CLIENT_TO_SERVER, seq, command)
        if from_date_time is None:
            comps.append(gbz.Component(cluster, frame))
        else:
            comps.append(gbz.Component(cluster, from_date_time.to_bytes(4, "little") + frame, gbz.FROM_DATE_TIME))
    return gbz.GbzPayload(tuple(comps)).encode()


def reads(*parts: tuple[int, tuple[int, ...]]) -> Builder:
    """A parameterless read: Read Attributes on each (cluster, attribute ids)."""
    def build(req: UseCaseRequest) -> bytes:
        return gbz_payload([(cluster, ids, None) for cluster, ids in parts])
    return build


def single(cluster: int, make: Callable[[UseCaseRequest], ZclCommand]) -> Builder:
    def build(req: UseCaseRequest) -> bytes:
        return gbz_payload([(cluster, make(req), None)])
    return build


# --- Metering: reads (GBCS attribute sets, as the RTDS reads them) ------------------------------

CONSUMPTION_FORMAT = (0x0302, 0x0301, 0x0300)  # divisor, multiplier, unit of measure
READS: dict[str, tuple[tuple[int, tuple[int, ...]], ...]] = {
    "GCS13a": ((se.METERING, (*CONSUMPTION_FORMAT, 0x0000)),),
    "GCS13c": ((se.METERING, (*CONSUMPTION_FORMAT, 0x0100, 0x0102, 0x0104, 0x0106)),),
    "GCS13b": ((se.METERING, (0x0700, 0x0701, 0x0702, 0x0703, *CONSUMPTION_FORMAT)),),
    "GCS14": ((se.PRICE, (0x0617, 0x0616)), (se.PREPAYMENT, (0x0005, 0x0002, 0x0001, 0x0231, 0x0211, 0x0221))),
    "GCS21a": ((se.PRICE, (0x0306, 0x0305, 0x0304, 0x0303, 0x0302)),
               (se.METERING, (0x0B13, 0x0B12, 0x0B11, 0x0B10, 0x0B14, 0x0B15))),
    "GCS21e": ((BASIC, (0x0004, 0x0005, 0x0003)), (se.METERING, (0x0608, 0x0607))),
    "GCS21m": ((BASIC, (0x0004, 0x0005)), (se.METERING, (0x0608, 0x0607))),
    "GCS21j": ((se.PREPAYMENT, (0x0000,)),),
    "GCS33": ((se.METERING, (0x0205, 0x0014)),),
    "GCS38": ((se.METERING, (0x0206,)),),
    "GCS46": ((se.METERING, (0x0307,)),),
    "GCS60": ((se.METERING, (0x0A00,)), (se.PREPAYMENT, (0x0001,))),
    "GCS60a": ((se.METERING, (0x0A00,)), (se.PREPAYMENT, (0x0001,))),
}


# --- supply (GCS32 disable, GCS39 arm) ------------------------------------------------------------

SUPPLY_OFF, SUPPLY_ARMED, SUPPLY_ON = 0, 1, 2
ACKNOWLEDGE_REQUIRED = 0x01


def change_supply(status: int) -> Builder:
    """7.2 DisableSupply / 7.3 ArmSupply: Change Supply to off / armed (no DUIS parameters
    for a gas meter; ``ExecutionDateTime`` future-dates it)."""
    return single(se.METERING, lambda req: se.ChangeSupply(0, issuer_event_id(req), NOW, execution_time(req),
                                                           status, ACKNOWLEDGE_REQUIRED))


# --- prepayment ----------------------------------------------------------------------------------

def _credit_adjustment(adjustment_type: int) -> Builder:
    """1.5 UpdateMeterBalance: ``PrepaymentMode/AdjustMeterBalance`` (or ``CreditMode/...``):
    pence; ``ResetMeterBalance`` present gives an absolute adjustment of 0."""
    def make(req: UseCaseRequest) -> ZclCommand:
        mode = req.body.get("PrepaymentMode") or req.body.get("CreditMode") or {}
        value = _int(mode, "AdjustMeterBalance", 0) if isinstance(mode, Mapping) else 0
        return se.CreditAdjustment(issuer_event_id(req), execution_time(req), adjustment_type, value)
    return single(se.PREPAYMENT, make)


CREDIT_MODE_CONFIGURATION = 0x0C94
PREPAYMENT_MODE_CONFIGURATION = 0x0897


def _payment_mode(prepayment: bool) -> Builder:
    """1.6 UpdatePaymentMode: ``Credit`` or ``Prepayment`` (with ``DisablementThreshold``, pence,
    the cut-off value). GCS02 is to credit, GCS03 to prepayment."""
    def make(req: UseCaseRequest) -> ZclCommand:
        if prepayment:
            pp = req.body.get("Prepayment") or {}
            cut_off = _int(pp, "DisablementThreshold", 0) if isinstance(pp, Mapping) else 0
            config = PREPAYMENT_MODE_CONFIGURATION
        else:
            cut_off, config = -1, CREDIT_MODE_CONFIGURATION  # 0xFFFFFFFF: no cut-off in credit mode
        config = _int(req.body, "PaymentControlConfiguration", config)
        return se.ChangePaymentMode(0, issuer_event_id(req), execution_time(req), config, cut_off)
    return single(se.PREPAYMENT, make)


def _activate_emergency_credit(req: UseCaseRequest) -> bytes:
    """2.5 ActivateEmergencyCredit: Select Available Emergency Credit, from the DCC (device 0)."""
    return gbz_payload([(se.PREPAYMENT, se.SelectAvailableEmergencyCredit(NOW, 0), None)])


def _update_debt(req: UseCaseRequest) -> bytes:
    """2.3 UpdateDebt: three Change Debt components (time debt 1, time debt 2, payment debt).
    Reads ``DebtRecoveryRateCap``-style amounts as ``TimeDebtRegister1``, ``TimeDebtRegister2``,
    ``PaymentDebtRegister`` (pence) and ``DebtRecoveryPerPayment`` (percentage x100)."""
    b, eid = req.body, issuer_event_id(req)
    rate = _int(b, "DebtRecoveryRate", 50000)
    parts: list[Part] = [
        (se.PREPAYMENT, se.ChangeDebt(eid, b"", _int(b, "TimeDebtRegister1", 1000000), 0, 1, NOW, 0, 1, rate, 0),
         None),
        (se.PREPAYMENT, se.ChangeDebt(eid, b"", _int(b, "TimeDebtRegister2", 500000), 0, 3, NOW, 0, 0, rate, 0),
         None),
        (se.PREPAYMENT, se.ChangeDebt(eid, b"", _int(b, "PaymentDebtRegister", 1000000), 1, 5, NOW, 0, 1, 0,
                                      _int(b, "DebtRecoveryPerPayment", 100)), None),
    ]
    return gbz_payload(parts)


# --- device management, messaging ---------------------------------------------------------------

def _display_message(req: UseCaseRequest) -> bytes:
    """3.1 DisplayMessage: ``SupplierMessage`` shown now, until replaced (duration 0xFFFF)."""
    msg = _text(req.body, "SupplierMessage", "Reset")[:254]
    return gbz_payload([(se.MESSAGING, se.DisplayMessage(issuer_event_id(req), 0x00, NOW, 0xFFFF, msg), None)])


TENANCY_CHANGE_CONTROL = 0x00000200  # GBCS: restrict access to consumption data


def _change_of_tenancy(req: UseCaseRequest) -> bytes:
    """3.2 RestrictAccessForChangeOfTenancy: ``RestrictionDateTime``."""
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.PublishChangeOfTenancy(
        0, issuer_event_id(req), 0, _utc(req.body, "RestrictionDateTime"), TENANCY_CHANGE_CONTROL), None)])


SUPPLIER_CHANGE_CONTROL = 0x00001800


def _supplier_name(req: UseCaseRequest) -> bytes:
    """3.4 UpdateSupplierName: ``SupplierName`` and ``SupplierTelephoneNumber``."""
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.PublishChangeOfSupplier(
        0, issuer_event_id(req), 0, 0, NOW, SUPPLIER_CHANGE_CONTROL, _text(req.body, "SupplierName", "Supplier")[:254],
        _text(req.body, "SupplierTelephoneNumber", "")[:254]), None)])


PRIVACY_PIN = 0x02  # password type: the consumer's privacy PIN


def _disable_privacy_pin(req: UseCaseRequest) -> bytes:
    """3.5 DisablePrivacyPIN (no parameters): a Request New Password Response with an empty PIN."""
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.RequestNewPasswordResponse(
        issuer_event_id(req), NOW, 0, PRIVACY_PIN, b""), None)])


def _import_mprn(req: UseCaseRequest) -> bytes:
    """6.20.1 SetDeviceConfigurationImportMPxN: ``ImportMPRN``."""
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.UpdateSiteId(
        issuer_event_id(req), NOW, 0, _text(req.body, "ImportMPRN", "1234567890")[:254]), None)])


def _customer_id(req: UseCaseRequest) -> bytes:
    """9.1 RequestCustomerIdentificationNumber: the DCC draws the number (``CustomerIdentificationNumber``
    may give it)."""
    cin = _text(req.body, "CustomerIdentificationNumber", f"{req.counter % 10000:04d}")
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.UpdateCin(issuer_event_id(req), NOW, 0, cin[:254]), None)])


# 6.22 ConfigureAlertBehaviour: (event configuration, event ids) per component, as the RTDS
# configures a GSME. ``GasSupplierAlerts`` may give a list of {"Configuration", "EventIDs"}.
DEFAULT_ALERT_BEHAVIOURS: tuple[tuple[int, tuple[int, ...]], ...] = (
    (0x5B, (0x81AA, 0x81AB, 0x81C4)), (0x08, (0x810E,)), (0x4B, (0x81BD, 0x81BE, 0x81BF, 0x81C0)),
    (0x43, (0x8161, 0x8162, 0x81C6)),
)


def _alert_behaviour(req: UseCaseRequest) -> bytes:
    groups = DEFAULT_ALERT_BEHAVIOURS
    given = req.body.get("GasSupplierAlerts")
    if isinstance(given, list) and given:
        groups = tuple((_int(g, "Configuration", 0), tuple(int(str(e), 16) for e in g.get("EventIDs", ())))
                       for g in given)
    eid = issuer_event_id(req)
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.SetEventConfiguration(eid, NOW, config, 0, ids), None)
                        for config, ids in groups])


def _read_alert_behaviour(req: UseCaseRequest) -> bytes:
    """6.2.10 (GCS20r): Get Event Configuration for all events (0x81FF: every GSME event)."""
    return gbz_payload([(se.DEVICE_MANAGEMENT, se.GetEventConfiguration(_int(req.body, "EventID", 0x81FF)), None)])


# --- gas configuration ---------------------------------------------------------------------------

def _gas_conversion(req: UseCaseRequest) -> bytes:
    """6.6 UpdateDeviceConfigurationGasConversion: ``ConversionFactor`` (x 10^-6, trailing digit 5)
    and ``CalorificValue`` (MJ/m3 x 10^-1, trailing digit 1)."""
    eid, when = issuer_event_id(req), execution_time(req)
    return gbz_payload([
        (se.PRICE, se.PublishConversionFactor(eid, when, _int(req.body, "ConversionFactor", 1022640), 0x50), None),
        (se.PRICE, se.PublishCalorificValue(eid, when, _int(req.body, "CalorificValue", 394), 0x01, 0x10), None),
    ])


def _gas_flow(divisor: int) -> Builder:
    """6.7 UpdateDeviceConfigurationGasFlow: ``UncontrolledGasFlowRate`` (and the decimal form,
    GCS24a, with divisor 10000), ``SupplyTamperState`` / ``SupplyDepletionState``
    (0 Unchanged, 1 Lock, 2 Arm ... as GBCS numbers them; 3 = no change)."""
    def build(req: UseCaseRequest) -> bytes:
        eid = issuer_event_id(req)
        key = "UncontrolledGasFlowRateDecimal" if divisor != 1 else "UncontrolledGasFlowRate"
        return gbz_payload([
            (se.METERING, se.SetUncontrolledFlowThreshold(0, eid, _int(req.body, key, 0xF0F0), 0x01, 1, divisor,
                                                          60, 300), None),
            (se.METERING, se.SetSupplyStatus(eid, _int(req.body, "SupplyTamperState", 3),
                                             _int(req.body, "SupplyDepletionState", 3), 0, 3), None),
        ])
    return build


# DUIS GasBillingCalendar/Periodicity -> (billing period duration, duration type): the duration
# type's low nibble is the timebase (1 days, 2 weeks, 3 months), 0x20 "control not specified".
PERIODICITY: dict[str, tuple[int, int]] = {
    "Daily": (1, 0x21), "Weekly": (1, 0x22), "Monthly": (1, 0x23), "Quarterly": (3, 0x23),
    "SixMonthly": (6, 0x23), "Yearly": (12, 0x23),
}


def _billing_calendar(default_periodicity: str) -> Builder:
    """6.8 UpdateDeviceConfigurationBillingCalendar: ``BillingCalendar/GasBillingCalendar`` with
    ``BillingPeriodStart`` and ``Periodicity``: Publish Billing Period and Publish Block Period."""
    def build(req: UseCaseRequest) -> bytes:
        cal: Any = req.body.get("BillingCalendar", req.body)
        cal = cal.get("GasBillingCalendar", cal) if isinstance(cal, Mapping) else {}
        eid, start = issuer_event_id(req), _utc(cal, "BillingPeriodStart", 0x1C602900)
        duration, duration_type = PERIODICITY[str(cal.get("Periodicity", default_periodicity))]
        return gbz_payload([
            (se.PRICE, se.PublishBillingPeriod(0, eid, start, duration, duration_type, 0), None),
            (se.PRICE, se.PublishBlockPeriod(0, eid, start, duration, 0x02, duration_type, 0, 1), None),
        ])
    return build


def _billing_period_read(req: UseCaseRequest) -> bytes:
    """6.2.3 ReadDeviceConfigurationBillingCalendar: Get Billing Period (the latest one)."""
    return gbz_payload([(se.PRICE, se.GetBillingPeriod(NOW, FOREVER, 1, 0), None)])


# --- logs and profiles ----------------------------------------------------------------------------

def _period(req: UseCaseRequest, start_default: int, end_default: int) -> tuple[int, int]:
    period = req.body.get("ReadLogPeriod")
    src = period if isinstance(period, Mapping) else req.body
    return _utc(src, "StartDateTime", start_default), _utc(src, "EndDateTime", end_default)


DAILY_SNAPSHOT = 0x00000001  # snapshot cause: general (the daily read)
BILLING_PERIOD_SNAPSHOT = 0x00000002
CHANGE_OF_MODE_OR_TARIFF = 0x00006008


def _daily_reads(req: UseCaseRequest) -> bytes:
    """4.6.1 RetrieveImportDailyReadLog: ``ReadLogPeriod`` -> Get Snapshot for each of 31 days."""
    start, end = _period(req, 0x1C335604, 0x1E187E03)
    return gbz_payload([(se.METERING, se.GetSnapshot(start, end, day, DAILY_SNAPSHOT), None) for day in range(31)])


def _prepay_daily_reads(req: UseCaseRequest) -> bytes:
    """4.14 ReadPrepaymentDailyReadLog: Get Prepay Snapshot for each of 31 days."""
    start, end = _period(req, 0x1C349970, 0x1C374A80)
    return gbz_payload([(se.PREPAYMENT, se.GetPrepaySnapshot(start, end, day, DAILY_SNAPSHOT), None)
                        for day in range(31)])


def _billing_log(cause: int, prepay_first: bool) -> Builder:
    """4.4.2 / 4.4.3 Retrieve (change of mode / tariff | billing calendar) triggered billing data
    log: 12 Get Snapshot and 12 Get Prepay Snapshot for ``ReadLogPeriod``."""
    def build(req: UseCaseRequest) -> bytes:
        start, end = _period(req, 0x1C0E6C00, 0x1DC81280)
        metering: list[Part] = [(se.METERING, se.GetSnapshot(start, end, i, cause), None) for i in range(12)]
        prepay: list[Part] = [(se.PREPAYMENT, se.GetPrepaySnapshot(start, end, i, cause), None) for i in range(12)]
        return gbz_payload(prepay + metering if prepay_first else metering + prepay)
    return build


def _debt_log(req: UseCaseRequest) -> bytes:
    """4.4.4 RetrieveBillingDataLogDebtPayments: the last 10 payment-debt repayments before
    ``ReadLogPeriod/EndDateTime``; the from-date-time is the period's start."""
    start, end = _period(req, 0x006C0E1C, 0x1C35F900)
    return gbz_payload([(se.PREPAYMENT, se.GetDebtRepaymentLog(end, 10, 2), start)])


def _top_up_log(req: UseCaseRequest) -> bytes:
    """4.4.5 RetrieveBillingDataLogPrepaymentCredits: the last 5 top-ups."""
    start, end = _period(req, 0x006C0E1C, 0xFFFFFFFE)
    return gbz_payload([(se.PREPAYMENT, se.GetTopUpLog(end, 5), start)])


CONSUMPTION_DELIVERED = 0  # sample type


def _profile(req: UseCaseRequest) -> bytes:
    """4.8.1 ReadActiveImportProfileData: half-hour samples from ``ReadLogPeriod/StartDateTime``."""
    start, end = _period(req, 0x1C34A780, 0x1C34A780 + 96 * 1800)
    samples = max(1, min(0xFFFF, (end - start) // 1800 + 1))
    return gbz_payload([(se.METERING, se.GetSampledData(0, start, CONSUMPTION_DELIVERED, samples), None)])


def _daily_consumption(req: UseCaseRequest) -> bytes:
    """4.17 RetrieveDailyConsumptionLog: the daily consumption samples (sample id 1) from
    ``ReadLogPeriod/StartDateTime``, up to 731 days."""
    start, end = _period(req, 0x1C2A1B80, 0x1C2A1B80 + 730 * 86400)
    days = max(1, min(731, (end - start) // 86400 + 1))
    return gbz_payload([(se.METERING, se.GetSampledData(DAILY_CONSUMPTION_SAMPLE, start, CONSUMPTION_DELIVERED, days),
                         None)])


DAILY_CONSUMPTION_SAMPLE = 1
NETWORK_DATA_SAMPLE = 2  # the sample id GCS31 starts and GCS18 reads


def _network_data_read(req: UseCaseRequest) -> bytes:
    """4.10 ReadNetworkData: the 41 six-minute samples GCS31 records."""
    return gbz_payload([(se.METERING, se.GetSampledData(NETWORK_DATA_SAMPLE, 1, CONSUMPTION_DELIVERED, 41), None)])


def _network_data_record(req: UseCaseRequest) -> bytes:
    """14.1 RecordNetworkDataGAS: start sampling now, every 360 s, 41 samples."""
    return gbz_payload([(se.METERING, se.StartSampling(issuer_event_id(req), NOW, CONSUMPTION_DELIVERED, 360, 41),
                         None)])


# --- ASN.1: clock and GPF device log -------------------------------------------------------------

def _synchronise_clock(req: UseCaseRequest) -> bytes:
    """6.11 SynchroniseClock / 8.1.1 commission: SEQUENCE { validity start, validity end }
    (GeneralizedTime): ``CurrentDateTime`` less and plus ``TolerancePeriod`` seconds (default
    1800): the GSME sets its clock only while it is inside that window."""
    centre = _utc(req.body, "CurrentDateTime", issuer_event_id(req)) + gbz.EPOCH_2000
    tolerance = _int(req.body, "TolerancePeriod", 1800)
    return asn1.sequence(asn1.generalized_time(centre - tolerance), asn1.generalized_time(centre + tolerance)).encode()


def _restore_gpf_log(req: UseCaseRequest) -> bytes:
    """8.12.2 RestoreGPFDeviceLog: SEQUENCE OF { device id, device type } of the devices the old
    GPF (``OldGPFID``) had; the DSP gives them as ``DeviceLog`` [{"DeviceID", "DeviceType"}]."""
    entries = req.body.get("DeviceLog") or []
    return asn1.sequence(asn1.sequence(*(
        asn1.sequence(asn1.octets(bytes.fromhex(str(e["DeviceID"]).replace("-", ""))),
                      asn1.integer(int(e.get("DeviceType", 0))))
        for e in entries))).encode()


# --- tariff, price and calendars (GCS01a, GCS01b, GCS05; reads GCS21f, GCS21b) ---------------------

CANCEL = 0xFFFFFFFE  # start time of a cancellation ("never" in GBCS future-dating)
TARIFF_ID = 1
CURRENCIES = {"GBP": 826, "EUR": 978}
PRICE_TRAILING_DIGIT = 0x50  # 5 decimal places
DELIVERED_CALENDAR, FRIENDLY_CREDIT_CALENDAR = 0x00, 0x03
TOU_TARIFF, BLOCK_TARIFF = 0x00, 0x10
TOU_PRICES, BLOCK_PRICES = 0x01, 0x00  # price matrix sub-payload control


def _list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _date(text: str) -> int:
    """A DUIS date (``2015-01-01``, or ``--03-20`` for every year) as a ZCL Date."""
    parts = str(text).lstrip("-").split("-")
    year = int(parts[0]) - 1900 if len(parts) == 3 else 0xFF
    month, day = int(parts[-2]), int(parts[-1])
    return year | month << 8 | day << 16 | 0xFF << 24


def start_time(req: UseCaseRequest) -> int:
    """ExecutionDateTime, 0 for now, or CANCEL when the request cancels a future-dated one."""
    return CANCEL if str(req.body.get("Cancel", "")).lower() in ("true", "1") else execution_time(req)


# A switching table, as the DUIS gives it (flattened: DayProfiles [{DayID, Switches [{StartTime
# minutes, Tier}]}], WeekProfiles [{WeekID, DayIDs x7}], Seasons [{StartDate, WeekID}]) and special
# days [{Date, DayID}]. Defaults: one flat day (tier 1 in the delivered calendar).
DEFAULT_SWITCHING: dict[str, Any] = {"DayProfiles": [{"DayID": 1, "Switches": [{"StartTime": 0, "Tier": 1}]}],
                                     "WeekProfiles": [{"WeekID": 1, "DayIDs": [1] * 7}],
                                     "Seasons": [{"StartDate": "--01-01", "WeekID": 1}]}


def calendar_parts(req: UseCaseRequest, calendar_type: int, table: Mapping[str, Any],
                   special_days: list[Any], start: int) -> list[Part]:
    eid = issuer_event_id(req)
    days, weeks, seasons = (_list(table.get(k)) for k in ("DayProfiles", "WeekProfiles", "Seasons"))
    parts: list[Part] = [(se.CALENDAR, se.PublishCalendar(0, eid, eid, start, calendar_type, 0, b"", len(seasons),
                                                          len(weeks), len(days)), None)]
    for day in days:
        entries = tuple((_int(sw, "StartTime", 0), _int(sw, "Tier", 0)) for sw in _list(day.get("Switches")))
        parts.append((se.CALENDAR, se.PublishDayProfile(0, eid, eid, _int(day, "DayID", 1), len(entries), 0, 1,
                                                        calendar_type, entries), None))
    for week in weeks:
        ids = [int(x) for x in _list(week.get("DayIDs"))][:7] + [0] * max(0, 7 - len(_list(week.get("DayIDs"))))
        parts.append((se.CALENDAR, se.PublishWeekProfile(0, eid, eid, _int(week, "WeekID", 1), *ids), None))
    parts.append((se.CALENDAR, se.PublishSeasons(0, eid, eid, 0, 1, tuple(
        (_date(x.get("StartDate", "--01-01")), _int(x, "WeekID", 1)) for x in seasons)), None))
    specials = tuple((_date(x["Date"]), _int(x, "DayID", 1)) for x in special_days)
    parts.append((se.CALENDAR, se.PublishSpecialDays(0, eid, eid, start, calendar_type, len(specials), 0, 1,
                                                     specials), None))
    return parts


def price_parts(req: UseCaseRequest, prices: Mapping[str, Any], start: int,
                thresholds: list[int] | None = None) -> list[Part]:
    """Publish Tariff Information and Publish Price Matrix (and, with ``thresholds``, Publish
    Block Thresholds) from the DUIS ``GasPriceElements``: ``CurrencyUnits``, ``StandingCharge``,
    ``TOUTariff/TOUPrice`` [{Index, Price}] or ``BlockTariff/BlockPrice`` [{Index, Price}] with
    ``NumberOfThresholds``."""
    eid = issuer_event_id(req)
    block = prices.get("BlockTariff")
    tou = prices.get("TOUTariff")
    if isinstance(block, Mapping):
        rows = _list(block.get("BlockPrice"))
        entries = tuple((_int(r, "Index", i + 1) - 1, _int(r, "Price", 0)) for i, r in enumerate(rows))
        n_thresholds = _int(block, "NumberOfThresholds", len(thresholds or ()) or max(0, len(rows) - 1))
        tariff_type, tiers, control = BLOCK_TARIFF, 0, BLOCK_PRICES
    else:
        rows = _list(tou.get("TOUPrice")) if isinstance(tou, Mapping) else [{"Index": 1, "Price": 10000}]
        entries = tuple((_int(r, "Index", i + 1), _int(r, "Price", 0)) for i, r in enumerate(rows))
        tariff_type, tiers, n_thresholds, control = TOU_TARIFF, len(entries), 0, TOU_PRICES
    currency = CURRENCIES.get(str(prices.get("CurrencyUnits", "GBP")), 826)
    info_start = FOREVER if start == CANCEL else start  # the reference cancels tariff information so
    parts: list[Part] = [(se.PRICE, se.PublishTariffInformation(
        0, eid, TARIFF_ID, info_start, tariff_type, b"", tiers, n_thresholds, 0x00, currency, PRICE_TRAILING_DIGIT,
        _int(prices, "StandingCharge", 0), 0xFF, 1, 1000), None)]
    if thresholds is not None and tariff_type == BLOCK_TARIFF:
        parts.append((se.PRICE, se.PublishBlockThresholds(0, eid, start, TARIFF_ID, 0, 1, 0x01,
                                                          ((0, tuple(thresholds)),)), None))
    parts.append((se.PRICE, se.PublishPriceMatrix(0, eid, start, TARIFF_ID, 0, 1, control, entries), None))
    return parts


def _gas_prices(req: UseCaseRequest) -> Mapping[str, Any]:
    elements: Any = req.body.get("PriceElements", {})
    elements = elements.get("GasPriceElements", elements) if isinstance(elements, Mapping) else {}
    return elements if isinstance(elements, Mapping) else {}


def _update_tariff(req: UseCaseRequest) -> bytes:
    """1.1.1 UpdateImportTariffPrimaryElement: ``GasTariffElements`` (``SwitchingTable``,
    ``SpecialDays``, ``ThresholdMatrix/Thresholds``) and ``PriceElements/GasPriceElements``:
    the delivered calendar, then the tariff information, block thresholds and price matrix."""
    tariff: Any = req.body.get("GasTariffElements", {})
    tariff = tariff if isinstance(tariff, Mapping) else {}
    start = start_time(req)
    table = tariff.get("SwitchingTable") or DEFAULT_SWITCHING
    thresholds = [int(t) for t in _list((tariff.get("ThresholdMatrix") or {}).get("Thresholds"))]
    return gbz_payload(calendar_parts(req, DELIVERED_CALENDAR, table, _list(tariff.get("SpecialDays")), start)
                       + price_parts(req, _gas_prices(req), start, thresholds))


def _update_price(req: UseCaseRequest) -> bytes:
    """1.2.1 UpdatePricePrimaryElement: ``PriceElements/GasPriceElements`` only."""
    return gbz_payload(price_parts(req, _gas_prices(req), start_time(req)))


DEFAULT_FRIENDLY_CREDIT: dict[str, Any] = {
    "DayProfiles": [{"DayID": 1, "Switches": [{"StartTime": 0, "Tier": 1}]}],
    "WeekProfiles": [{"WeekID": 1, "DayIDs": [1] * 7}], "Seasons": [{"StartDate": "--01-01", "WeekID": 1}]}


def _prepay_configuration(req: UseCaseRequest) -> bytes:
    """2.1 UpdatePrepayConfiguration, ``UpdatePrepayConfigGas``: ``EmergencyCreditLimit``,
    ``EmergencyCreditThreshold``, ``DebtRecoveryRateCap`` (the overall debt cap), ``LowCreditThreshold``
    (from the execution time), ``MaxMeterBalance``, ``MaxCreditThreshold`` and the
    ``GasNonDisablementCalendar`` (friendly credit calendar: ``SwitchingTable`` and ``SpecialDays``)."""
    cfg: Any = req.body.get("UpdatePrepayConfigGas", req.body)
    cfg = cfg if isinstance(cfg, Mapping) else {}
    eid, start = issuer_event_id(req), start_time(req)
    cal: Any = cfg.get("GasNonDisablementCalendar") or {}
    parts: list[Part] = [
        (se.PREPAYMENT, se.EmergencyCreditSetup(eid, start, _int(cfg, "EmergencyCreditLimit", 1000000),
                                                _int(cfg, "EmergencyCreditThreshold", 100000)), None),
        (se.PREPAYMENT, se.SetOverallDebtCap(0, eid, start, _int(cfg, "DebtRecoveryRateCap", 100000)), None),
        (se.PREPAYMENT, se.SetLowCreditWarningLevel(_int(cfg, "LowCreditThreshold", 500000)), start),
        (se.PREPAYMENT, se.SetMaximumCreditLimit(0, eid, start, _int(cfg, "MaxMeterBalance", 25000000),
                                                 _int(cfg, "MaxCreditThreshold", 25000000)), None),
    ]
    return gbz_payload(parts + calendar_parts(req, FRIENDLY_CREDIT_CALENDAR,
                                              cal.get("SwitchingTable") or DEFAULT_FRIENDLY_CREDIT,
                                              _list(cal.get("SpecialDays")), start))


# The price attributes a tariff read asks for (RTDS GCS21f): threshold divisor and multiplier,
# block thresholds 1-3, tier block mode, block prices 1-4, tier prices 1-4, currency, trailing
# digit, standing charge.
TARIFF_ATTRIBUTES = (0x0203, 0x0202, 0x0100, 0x0101, 0x0102, 0x0615, 0x0400, 0x0401, 0x0402, 0x0403, 0x0410,
                     0x0420, 0x0430, 0x0440, 0x0616, 0x0617, 0x0301)
PREPAYMENT_ATTRIBUTES = (0x0239, 0x0006, 0x0216, 0x0226, 0x0040, 0x0010, 0x0011, 0x0031, 0x0021, 0x0022, 0x0217,
                         0x0227)
LATEST_CALENDAR = {DELIVERED_CALENDAR: FOREVER, FRIENDLY_CREDIT_CALENDAR: CANCEL}  # issuer calendar id "latest"


def calendar_reads(calendar_type: int) -> list[Part]:
    latest = LATEST_CALENDAR[calendar_type]
    return [(se.CALENDAR, se.GetDayProfiles(0, latest, 1, 0), None),
            (se.CALENDAR, se.GetWeekProfiles(0, latest, 1, 0), None),
            (se.CALENDAR, se.GetSeasons(0, latest), None),
            (se.CALENDAR, se.GetSpecialDays(NOW, 0, calendar_type, 0, latest), None)]


def _read_tariff(req: UseCaseRequest) -> bytes:
    """4.11.1 ReadTariffPrimaryElement (no parameters)."""
    return gbz_payload([(se.PRICE, TARIFF_ATTRIBUTES, None), *calendar_reads(DELIVERED_CALENDAR),
                        (se.PRICE, se.GetCurrentPrice(0), None)])


def _read_prepay_configuration(req: UseCaseRequest) -> bytes:
    """4.13 ReadPrepaymentConfiguration (no parameters)."""
    return gbz_payload([(se.PREPAYMENT, PREPAYMENT_ATTRIBUTES, None), (se.PRICE, (0x0617,), None),
                        *calendar_reads(FRIENDLY_CREDIT_CALENDAR)])


# --- the table -----------------------------------------------------------------------------------

BUILDERS: dict[str, Builder] = {
    **{name: reads(*parts) for name, parts in READS.items()},
    "GCS32": change_supply(SUPPLY_OFF),
    "GCS39": change_supply(SUPPLY_ARMED),
    "GCS40a": _credit_adjustment(0x00),
    "GCS40b": _credit_adjustment(0x01),
    "GCS40c": _credit_adjustment(0x03),
    "GCS40d": _credit_adjustment(0x02),
    "GCS02": _payment_mode(prepayment=False),
    "GCS03": _payment_mode(prepayment=True),
    "GCS04": _update_debt,
    "GCS06": _activate_emergency_credit,
    "GCS07": _display_message,
    "GCS09": _change_of_tenancy,
    "GCS44": _supplier_name,
    "GCS11": _disable_privacy_pin,
    "GCS41": _import_mprn,
    "GCS36": _customer_id,
    "GCS20": _alert_behaviour,
    "GCS20r": _read_alert_behaviour,
    "GCS23": _gas_conversion,
    "GCS24": _gas_flow(1),
    "GCS24a": _gas_flow(10000),
    "GCS25": _billing_calendar("Monthly"),
    "GCS25a": _billing_calendar("SixMonthly"),
    "GCS21d": _billing_period_read,
    "GCS21k": _billing_period_read,
    "GCS16a": _daily_reads,
    "GCS16b": _prepay_daily_reads,
    "GCS15b": _billing_log(CHANGE_OF_MODE_OR_TARIFF, prepay_first=True),
    "GCS15c": _billing_log(BILLING_PERIOD_SNAPSHOT, prepay_first=False),
    "GCS15d": _debt_log,
    "GCS15e": _top_up_log,
    "GCS17": _profile,
    "GCS61": _daily_consumption,
    "GCS18": _network_data_read,
    "GCS31": _network_data_record,
    "GCS28": _synchronise_clock,
    "GCS01a": _update_tariff,
    "GCS01b": _update_price,
    "GCS05": _prepay_configuration,
    "GCS21f": _read_tariff,
    "GCS21b": _read_prepay_configuration,
    "GCS59": _restore_gpf_log,
}
