"""The Smart Energy cluster commands GB gas use cases carry in GBZ (SE 1.4 as GBCS profiles it).

One frozen dataclass per command, declared as a :mod:`emulator.zigbee.zcl` schema row list,
so the DSP's builders (``emulator.gbcs.usecases_gas``) and the GSME/GPF (``emulator.devices``)
encode and decode the same definition. Directions are as the DCC sees them: commands the
Price, Messaging and Device Management servers publish go server-to-client (the meter is
the client); Metering and Prepayment requests go client-to-server.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.zigbee.errors import ZigbeeEncodeError
from emulator.zigbee.types import (
    Reader,
    UInt,
    WireType,
    bitmap8,
    bitmap16_le,
    enum8,
    octstr,
    rest_of_frame,
    uint8,
    uint16_le,
    uint32_le,
    utc_time_le,
)
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Field, ZclCommand, register

PRICE = 0x0700
METERING = 0x0702
MESSAGING = 0x0703
PREPAYMENT = 0x0705
CALENDAR = 0x0707
DEVICE_MANAGEMENT = 0x0708
EVENTS = 0x0709

uint24_le = UInt("uint24", 3)
bitmap32_le = UInt("map32", 4)


class SInt(WireType[int]):
    """Signed little-endian integer (int32 credit and debt amounts)."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size

    def encode(self, value: int, field: str) -> bytes:
        try:
            return value.to_bytes(self.size, "little", signed=True)
        except (OverflowError, AttributeError):
            raise ZigbeeEncodeError(f"{value!r} does not fit a signed {8 * self.size}-bit field",
                                    field=field) from None

    def decode(self, reader: Reader, field: str) -> int:
        return int.from_bytes(reader.take(self.size, field), "little", signed=True)


int32_le = SInt("int32", 4)


class EventIds(WireType[tuple[int, ...]]):
    """A count (uint8) and that many 16-bit event ids (Set Event Configuration, apply by list)."""

    name = "event id list"

    def encode(self, value: tuple[int, ...], field: str) -> bytes:
        if len(value) > 0xFF:
            raise ZigbeeEncodeError("at most 255 event ids", field=field)
        return bytes((len(value),)) + b"".join(uint16_le.encode(v, field) for v in value)

    def decode(self, reader: Reader, field: str) -> tuple[int, ...]:
        n = reader.take(1, field)[0]
        return tuple(reader.uint(2, field) for _ in range(n))


class EventConfigurations(WireType[tuple[tuple[int, int], ...]]):
    """(event id, configuration) records to the end of the frame (Report Event Configuration)."""

    name = "event configuration records"

    def encode(self, value: tuple[tuple[int, int], ...], field: str) -> bytes:
        return b"".join(uint16_le.encode(e, field) + bitmap8.encode(c, field) for e, c in value)

    def decode(self, reader: Reader, field: str) -> tuple[tuple[int, int], ...]:
        out = []
        while reader.remaining:
            out.append((reader.uint(2, field), reader.uint(1, field)))
        return tuple(out)


uint48_le = UInt("uint48", 6)
date_le = UInt("date", 4)  # ZCL Date: year - 1900, month, day of month, day of week (0xFF: any)


class Records(WireType[tuple[tuple[int, ...], ...]]):
    """Fixed-layout records running to the end of the frame (schedule entries, seasons, prices)."""

    def __init__(self, name: str, fields: tuple[UInt, ...]) -> None:
        self.name, self.fields = name, fields

    def encode(self, value: tuple[tuple[int, ...], ...], field: str) -> bytes:
        out = bytearray()
        for record in value:
            if len(record) != len(self.fields):
                raise ZigbeeEncodeError(f"a {self.name} record has {len(self.fields)} fields", field=field)
            for wire, v in zip(self.fields, record, strict=True):
                out += wire.encode(v, field)
        return bytes(out)

    def decode(self, reader: Reader, field: str) -> tuple[tuple[int, ...], ...]:
        out = []
        while reader.remaining:
            out.append(tuple(wire.decode(reader, field) for wire in self.fields))
        return tuple(out)


class BlockThresholdGroups(WireType[tuple[tuple[int, tuple[int, ...]], ...]]):
    """Publish Block Thresholds: groups of (tier << 4 | count, count 48-bit thresholds) to the end."""

    name = "block threshold groups"

    def encode(self, value: tuple[tuple[int, tuple[int, ...]], ...], field: str) -> bytes:
        out = bytearray()
        for tier, thresholds in value:
            if not 0 <= tier <= 0x0F or len(thresholds) > 0x0F:
                raise ZigbeeEncodeError("tier and threshold count are 4 bits each", field=field)
            out += bytes((tier << 4 | len(thresholds),))
            out += b"".join(uint48_le.encode(t, field) for t in thresholds)
        return bytes(out)

    def decode(self, reader: Reader, field: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
        out = []
        while reader.remaining:
            head = reader.take(1, field)[0]
            out.append((head >> 4, tuple(uint48_le.decode(reader, field) for _ in range(head & 0x0F))))
        return tuple(out)


DAY_SCHEDULE = Records("day schedule entry", (uint16_le, uint8))  # start (minutes after midnight), tier
SEASON_ENTRIES = Records("season entry", (date_le, uint8))  # season start date, week id
SPECIAL_DAY_ENTRIES = Records("special day entry", (date_le, uint8))  # date, day id
PRICE_ENTRIES = Records("price matrix entry", (uint8, uint32_le))  # tier/block id, price


# --- Calendar (0x0707): published to the meter, and the meter's answers to the gets ------------

@dataclass(frozen=True, slots=True)
class PublishCalendar(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x00, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("issuer_calendar_id", uint32_le), Field("start_time", utc_time_le), Field("calendar_type", enum8),
              Field("calendar_time_reference", enum8), Field("calendar_name", octstr),
              Field("number_of_seasons", uint8), Field("number_of_week_profiles", uint8),
              Field("number_of_day_profiles", uint8))
    provider_id: int
    issuer_event_id: int
    issuer_calendar_id: int
    start_time: int
    calendar_type: int
    calendar_time_reference: int
    calendar_name: bytes
    number_of_seasons: int
    number_of_week_profiles: int
    number_of_day_profiles: int


@dataclass(frozen=True, slots=True)
class PublishDayProfile(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x01, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("issuer_calendar_id", uint32_le), Field("day_id", uint8), Field("total_entries", uint8),
              Field("command_index", uint8), Field("total_commands", uint8), Field("calendar_type", enum8),
              Field("entries", DAY_SCHEDULE))
    provider_id: int
    issuer_event_id: int
    issuer_calendar_id: int
    day_id: int
    total_entries: int
    command_index: int
    total_commands: int
    calendar_type: int
    entries: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class PublishWeekProfile(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x02, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("issuer_calendar_id", uint32_le), Field("week_id", uint8),
              *(Field(f"day_id_{d}", uint8) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")))
    provider_id: int
    issuer_event_id: int
    issuer_calendar_id: int
    week_id: int
    day_id_mon: int
    day_id_tue: int
    day_id_wed: int
    day_id_thu: int
    day_id_fri: int
    day_id_sat: int
    day_id_sun: int


@dataclass(frozen=True, slots=True)
class PublishSeasons(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x03, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("issuer_calendar_id", uint32_le), Field("command_index", uint8), Field("total_commands", uint8),
              Field("entries", SEASON_ENTRIES))
    provider_id: int
    issuer_event_id: int
    issuer_calendar_id: int
    command_index: int
    total_commands: int
    entries: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class PublishSpecialDays(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x04, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("issuer_calendar_id", uint32_le), Field("start_time", utc_time_le), Field("calendar_type", enum8),
              Field("total_special_days", uint8), Field("command_index", uint8), Field("total_commands", uint8),
              Field("entries", SPECIAL_DAY_ENTRIES))
    provider_id: int
    issuer_event_id: int
    issuer_calendar_id: int
    start_time: int
    calendar_type: int
    total_special_days: int
    command_index: int
    total_commands: int
    entries: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class GetDayProfiles(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x01, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_calendar_id", uint32_le),
              Field("start_day_id", uint8), Field("number_of_days", uint8))
    provider_id: int
    issuer_calendar_id: int
    start_day_id: int
    number_of_days: int


@dataclass(frozen=True, slots=True)
class GetWeekProfiles(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x02, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_calendar_id", uint32_le),
              Field("start_week_id", uint8), Field("number_of_weeks", uint8))
    provider_id: int
    issuer_calendar_id: int
    start_week_id: int
    number_of_weeks: int


@dataclass(frozen=True, slots=True)
class GetSeasons(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x03, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_calendar_id", uint32_le))
    provider_id: int
    issuer_calendar_id: int


@dataclass(frozen=True, slots=True)
class GetSpecialDays(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x04, CLIENT_TO_SERVER
    SCHEMA = (Field("start_time", utc_time_le), Field("number_of_events", uint8), Field("calendar_type", enum8),
              Field("provider_id", uint32_le), Field("issuer_calendar_id", uint32_le))
    start_time: int
    number_of_events: int
    calendar_type: int
    provider_id: int
    issuer_calendar_id: int


# --- Metering (0x0702), requests to the meter ------------------------------------------------

@dataclass(frozen=True, slots=True)
class GetSnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x06, CLIENT_TO_SERVER
    SCHEMA = (Field("earliest_start", utc_time_le), Field("latest_end", utc_time_le),
              Field("snapshot_offset", uint8), Field("snapshot_cause", bitmap32_le))
    earliest_start: int
    latest_end: int
    snapshot_offset: int
    snapshot_cause: int


@dataclass(frozen=True, slots=True)
class StartSampling(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x07, CLIENT_TO_SERVER
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le), Field("sample_type", enum8),
              Field("sample_request_interval", uint16_le), Field("max_samples", uint16_le))
    issuer_event_id: int
    start_time: int
    sample_type: int
    sample_request_interval: int
    max_samples: int


@dataclass(frozen=True, slots=True)
class GetSampledData(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x08, CLIENT_TO_SERVER
    SCHEMA = (Field("sample_id", uint16_le), Field("earliest_sample_time", utc_time_le),
              Field("sample_type", enum8), Field("number_of_samples", uint16_le))
    sample_id: int
    earliest_sample_time: int
    sample_type: int
    number_of_samples: int


@dataclass(frozen=True, slots=True)
class ChangeSupply(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0B, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("request_time", utc_time_le),
              Field("implementation_time", utc_time_le), Field("proposed_supply_status", enum8),
              Field("supply_control_bits", bitmap8))
    provider_id: int
    issuer_event_id: int
    request_time: int
    implementation_time: int
    proposed_supply_status: int
    supply_control_bits: int


@dataclass(frozen=True, slots=True)
class SetSupplyStatus(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0D, CLIENT_TO_SERVER
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("supply_tamper_state", enum8),
              Field("supply_depletion_state", enum8), Field("supply_uncontrolled_flow_state", enum8),
              Field("load_limit_supply_state", enum8))
    issuer_event_id: int
    supply_tamper_state: int
    supply_depletion_state: int
    supply_uncontrolled_flow_state: int
    load_limit_supply_state: int


@dataclass(frozen=True, slots=True)
class SetUncontrolledFlowThreshold(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0E, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("threshold", uint16_le),
              Field("unit_of_measure", enum8), Field("multiplier", uint16_le), Field("divisor", uint16_le),
              Field("stabilisation_period", uint8), Field("measurement_period", uint16_le))
    provider_id: int
    issuer_event_id: int
    threshold: int
    unit_of_measure: int
    multiplier: int
    divisor: int
    stabilisation_period: int
    measurement_period: int


# --- Metering, answers from the meter --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SupplyStatusResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0C, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("implementation_time", utc_time_le), Field("supply_status", enum8))
    provider_id: int
    issuer_event_id: int
    implementation_time: int
    supply_status: int


@dataclass(frozen=True, slots=True)
class StartSamplingResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0D, SERVER_TO_CLIENT
    SCHEMA = (Field("sample_id", uint16_le),)
    sample_id: int


@dataclass(frozen=True, slots=True)
class PublishSnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x06, SERVER_TO_CLIENT
    SCHEMA = (Field("snapshot_id", uint32_le), Field("snapshot_time", utc_time_le), Field("snapshots_found", uint8),
              Field("command_index", uint8), Field("total_commands", uint8), Field("snapshot_cause", bitmap32_le),
              Field("payload_type", enum8), Field("payload", rest_of_frame))
    snapshot_id: int
    snapshot_time: int
    snapshots_found: int
    command_index: int
    total_commands: int
    snapshot_cause: int
    payload_type: int
    payload: bytes


SAMPLES = Records("sample", (uint24_le,))


@dataclass(frozen=True, slots=True)
class GetSampledDataResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x07, SERVER_TO_CLIENT
    SCHEMA = (Field("sample_id", uint16_le), Field("sample_start_time", utc_time_le), Field("sample_type", enum8),
              Field("sample_request_interval", uint16_le), Field("number_of_samples", uint16_le),
              Field("samples", SAMPLES))
    sample_id: int
    sample_start_time: int
    sample_type: int
    sample_request_interval: int
    number_of_samples: int
    samples: tuple[tuple[int, ...], ...]


# --- Price (0x0700), published to the meter ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class PublishBlockPeriod(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x01, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("duration", uint24_le), Field("control", bitmap8), Field("duration_type", bitmap8),
              Field("tariff_type", bitmap8), Field("tariff_resolution_period", enum8))
    provider_id: int
    issuer_event_id: int
    start_time: int
    duration: int
    control: int
    duration_type: int
    tariff_type: int
    tariff_resolution_period: int


@dataclass(frozen=True, slots=True)
class PublishConversionFactor(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x02, SERVER_TO_CLIENT
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("conversion_factor", uint32_le), Field("trailing_digit", bitmap8))
    issuer_event_id: int
    start_time: int
    conversion_factor: int
    trailing_digit: int


@dataclass(frozen=True, slots=True)
class PublishCalorificValue(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x03, SERVER_TO_CLIENT
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("calorific_value", uint32_le), Field("unit", enum8), Field("trailing_digit", bitmap8))
    issuer_event_id: int
    start_time: int
    calorific_value: int
    unit: int
    trailing_digit: int


@dataclass(frozen=True, slots=True)
class PublishBillingPeriod(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x09, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("duration", uint24_le), Field("duration_type", bitmap8), Field("tariff_type", bitmap8))
    provider_id: int
    issuer_event_id: int
    start_time: int
    duration: int
    duration_type: int
    tariff_type: int


@dataclass(frozen=True, slots=True)
class GetBillingPeriod(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x0B, CLIENT_TO_SERVER
    SCHEMA = (Field("earliest_start", utc_time_le), Field("min_issuer_event_id", uint32_le),
              Field("number_of_commands", uint8), Field("tariff_type", bitmap8))
    earliest_start: int
    min_issuer_event_id: int
    number_of_commands: int
    tariff_type: int


@dataclass(frozen=True, slots=True)
class GetCurrentPrice(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x00, CLIENT_TO_SERVER
    SCHEMA = (Field("command_options", bitmap8),)
    command_options: int


@dataclass(frozen=True, slots=True)
class PublishPrice(ZclCommand):
    """The mandatory fields of Publish Price (GB gas meters send no optional ones)."""

    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x00, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("rate_label", octstr), Field("issuer_event_id", uint32_le),
              Field("current_time", utc_time_le), Field("unit_of_measure", enum8), Field("currency", uint16_le),
              Field("trailing_digit_and_tier", bitmap8), Field("tiers_and_register_tier", bitmap8),
              Field("start_time", utc_time_le), Field("duration_minutes", uint16_le), Field("price", uint32_le))
    provider_id: int
    rate_label: bytes
    issuer_event_id: int
    current_time: int
    unit_of_measure: int
    currency: int
    trailing_digit_and_tier: int
    tiers_and_register_tier: int
    start_time: int
    duration_minutes: int
    price: int


@dataclass(frozen=True, slots=True)
class PublishTariffInformation(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x04, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("issuer_tariff_id", uint32_le), Field("start_time", utc_time_le), Field("tariff_type", bitmap8),
              Field("tariff_label", octstr), Field("number_of_price_tiers", uint8),
              Field("number_of_block_thresholds", uint8), Field("unit_of_measure", enum8),
              Field("currency", uint16_le), Field("price_trailing_digit", bitmap8), Field("standing_charge", uint32_le),
              Field("tier_block_mode", enum8), Field("block_threshold_multiplier", uint24_le),
              Field("block_threshold_divisor", uint24_le))
    provider_id: int
    issuer_event_id: int
    issuer_tariff_id: int
    start_time: int
    tariff_type: int
    tariff_label: bytes
    number_of_price_tiers: int
    number_of_block_thresholds: int
    unit_of_measure: int
    currency: int
    price_trailing_digit: int
    standing_charge: int
    tier_block_mode: int
    block_threshold_multiplier: int
    block_threshold_divisor: int


@dataclass(frozen=True, slots=True)
class PublishPriceMatrix(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x05, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("issuer_tariff_id", uint32_le), Field("command_index", uint8), Field("total_commands", uint8),
              Field("sub_payload_control", bitmap8), Field("entries", PRICE_ENTRIES))
    provider_id: int
    issuer_event_id: int
    start_time: int
    issuer_tariff_id: int
    command_index: int
    total_commands: int
    sub_payload_control: int
    entries: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class PublishBlockThresholds(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x06, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("issuer_tariff_id", uint32_le), Field("command_index", uint8), Field("total_commands", uint8),
              Field("sub_payload_control", bitmap8), Field("groups", BlockThresholdGroups()))
    provider_id: int
    issuer_event_id: int
    start_time: int
    issuer_tariff_id: int
    command_index: int
    total_commands: int
    sub_payload_control: int
    groups: tuple[tuple[int, tuple[int, ...]], ...]


# --- Messaging (0x0703) ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DisplayMessage(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = MESSAGING, 0x00, SERVER_TO_CLIENT
    SCHEMA = (Field("message_id", uint32_le), Field("message_control", bitmap8), Field("start_time", utc_time_le),
              Field("duration_minutes", uint16_le), Field("message", octstr))
    message_id: int
    message_control: int
    start_time: int
    duration_minutes: int
    message: bytes


# --- Prepayment (0x0705), requests to the meter ----------------------------------------------

@dataclass(frozen=True, slots=True)
class SelectAvailableEmergencyCredit(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x00, CLIENT_TO_SERVER
    SCHEMA = (Field("command_issue_time", utc_time_le), Field("originating_device", enum8))
    command_issue_time: int
    originating_device: int


@dataclass(frozen=True, slots=True)
class ChangeDebt(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x02, CLIENT_TO_SERVER
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("debt_label", octstr), Field("debt_amount", int32_le),
              Field("recovery_method", enum8), Field("amount_type", enum8), Field("recovery_start_time", utc_time_le),
              Field("recovery_collection_time", uint16_le), Field("recovery_frequency", enum8),
              Field("recovery_amount", int32_le), Field("recovery_balance_percentage", uint16_le))
    issuer_event_id: int
    debt_label: bytes
    debt_amount: int
    recovery_method: int
    amount_type: int
    recovery_start_time: int
    recovery_collection_time: int
    recovery_frequency: int
    recovery_amount: int
    recovery_balance_percentage: int


@dataclass(frozen=True, slots=True)
class EmergencyCreditSetup(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x03, CLIENT_TO_SERVER
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("emergency_credit_limit", uint32_le), Field("emergency_credit_threshold", uint32_le))
    issuer_event_id: int
    start_time: int
    emergency_credit_limit: int
    emergency_credit_threshold: int


@dataclass(frozen=True, slots=True)
class CreditAdjustment(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x05, CLIENT_TO_SERVER
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("adjustment_type", enum8), Field("value", int32_le))
    issuer_event_id: int
    start_time: int
    adjustment_type: int
    value: int


@dataclass(frozen=True, slots=True)
class ChangePaymentMode(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x06, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("implementation_time", utc_time_le), Field("proposed_configuration", bitmap16_le),
              Field("cut_off_value", int32_le))
    provider_id: int
    issuer_event_id: int
    implementation_time: int
    proposed_configuration: int
    cut_off_value: int


@dataclass(frozen=True, slots=True)
class GetPrepaySnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x07, CLIENT_TO_SERVER
    SCHEMA = (Field("earliest_start", utc_time_le), Field("latest_end", utc_time_le),
              Field("snapshot_offset", uint8), Field("snapshot_cause", bitmap32_le))
    earliest_start: int
    latest_end: int
    snapshot_offset: int
    snapshot_cause: int


@dataclass(frozen=True, slots=True)
class GetTopUpLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x08, CLIENT_TO_SERVER
    SCHEMA = (Field("latest_end", utc_time_le), Field("number_of_records", uint8))
    latest_end: int
    number_of_records: int


@dataclass(frozen=True, slots=True)
class SetLowCreditWarningLevel(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x09, CLIENT_TO_SERVER
    SCHEMA = (Field("level", uint32_le),)
    level: int


@dataclass(frozen=True, slots=True)
class GetDebtRepaymentLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x0A, CLIENT_TO_SERVER
    SCHEMA = (Field("latest_end", utc_time_le), Field("number_of_debts", uint8), Field("debt_type", enum8))
    latest_end: int
    number_of_debts: int
    debt_type: int


@dataclass(frozen=True, slots=True)
class SetMaximumCreditLimit(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x0B, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("implementation_time", utc_time_le), Field("maximum_credit_level", uint32_le),
              Field("maximum_credit_per_top_up", uint32_le))
    provider_id: int
    issuer_event_id: int
    implementation_time: int
    maximum_credit_level: int
    maximum_credit_per_top_up: int


@dataclass(frozen=True, slots=True)
class SetOverallDebtCap(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x0C, CLIENT_TO_SERVER
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("implementation_time", utc_time_le), Field("overall_debt_cap", int32_le))
    provider_id: int
    issuer_event_id: int
    implementation_time: int
    overall_debt_cap: int


@dataclass(frozen=True, slots=True)
class PublishPrepaySnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x01, SERVER_TO_CLIENT
    SCHEMA = (Field("snapshot_id", uint32_le), Field("snapshot_time", utc_time_le), Field("snapshots_found", uint8),
              Field("command_index", uint8), Field("total_commands", uint8), Field("snapshot_cause", bitmap32_le),
              Field("payload_type", enum8), Field("payload", rest_of_frame))
    snapshot_id: int
    snapshot_time: int
    snapshots_found: int
    command_index: int
    total_commands: int
    snapshot_cause: int
    payload_type: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ChangePaymentModeResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x02, SERVER_TO_CLIENT
    SCHEMA = (Field("friendly_credit", bitmap8), Field("friendly_credit_calendar_id", uint32_le),
              Field("emergency_credit_limit", uint32_le), Field("emergency_credit_threshold", uint32_le))
    friendly_credit: int
    friendly_credit_calendar_id: int
    emergency_credit_limit: int
    emergency_credit_threshold: int


# --- Device Management (0x0708) ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PublishChangeOfTenancy(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x00, SERVER_TO_CLIENT
    SCHEMA = (Field("provider_id", uint32_le), Field("issuer_event_id", uint32_le), Field("tariff_type", bitmap8),
              Field("implementation_time", utc_time_le), Field("proposed_tenancy_change_control", bitmap32_le))
    provider_id: int
    issuer_event_id: int
    tariff_type: int
    implementation_time: int
    proposed_tenancy_change_control: int


@dataclass(frozen=True, slots=True)
class PublishChangeOfSupplier(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x01, SERVER_TO_CLIENT
    SCHEMA = (Field("current_provider_id", uint32_le), Field("issuer_event_id", uint32_le),
              Field("tariff_type", bitmap8), Field("proposed_provider_id", uint32_le),
              Field("implementation_time", utc_time_le), Field("change_control", bitmap32_le),
              Field("proposed_provider_name", octstr), Field("proposed_provider_contact", octstr))
    current_provider_id: int
    issuer_event_id: int
    tariff_type: int
    proposed_provider_id: int
    implementation_time: int
    change_control: int
    proposed_provider_name: bytes
    proposed_provider_contact: bytes


@dataclass(frozen=True, slots=True)
class RequestNewPasswordResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x02, SERVER_TO_CLIENT
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("implementation_time", utc_time_le),
              Field("duration_minutes", uint16_le), Field("password_type", enum8), Field("password", octstr))
    issuer_event_id: int
    implementation_time: int
    duration_minutes: int
    password_type: int
    password: bytes


@dataclass(frozen=True, slots=True)
class UpdateSiteId(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x03, SERVER_TO_CLIENT
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("site_id_time", utc_time_le),
              Field("provider_id", uint32_le), Field("site_id", octstr))
    issuer_event_id: int
    site_id_time: int
    provider_id: int
    site_id: bytes


@dataclass(frozen=True, slots=True)
class SetEventConfiguration(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x04, SERVER_TO_CLIENT
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("start_time", utc_time_le),
              Field("event_configuration", bitmap8), Field("configuration_control", enum8),
              Field("event_ids", EventIds()))
    issuer_event_id: int
    start_time: int
    event_configuration: int
    configuration_control: int
    event_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class GetEventConfiguration(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x05, SERVER_TO_CLIENT
    SCHEMA = (Field("event_id", uint16_le),)
    event_id: int


@dataclass(frozen=True, slots=True)
class UpdateCin(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x06, SERVER_TO_CLIENT
    SCHEMA = (Field("issuer_event_id", uint32_le), Field("implementation_time", utc_time_le),
              Field("provider_id", uint32_le), Field("customer_id_number", octstr))
    issuer_event_id: int
    implementation_time: int
    provider_id: int
    customer_id_number: bytes


@dataclass(frozen=True, slots=True)
class ReportEventConfiguration(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x04, CLIENT_TO_SERVER
    SCHEMA = (Field("command_index", uint8), Field("total_commands", uint8),
              Field("records", EventConfigurations()))
    command_index: int
    total_commands: int
    records: tuple[tuple[int, int], ...]


register(PublishSnapshot, GetSampledDataResponse, PublishPrepaySnapshot)
register(PublishCalendar, PublishDayProfile, PublishWeekProfile, PublishSeasons, PublishSpecialDays, GetDayProfiles,
         GetWeekProfiles, GetSeasons, GetSpecialDays, GetCurrentPrice, PublishPrice, PublishTariffInformation,
         PublishPriceMatrix, PublishBlockThresholds)
register(GetSnapshot, StartSampling, GetSampledData, ChangeSupply, SetSupplyStatus, SetUncontrolledFlowThreshold,
         SupplyStatusResponse, StartSamplingResponse, PublishBlockPeriod, PublishConversionFactor,
         PublishCalorificValue, PublishBillingPeriod, GetBillingPeriod, DisplayMessage,
         SelectAvailableEmergencyCredit, ChangeDebt, EmergencyCreditSetup, CreditAdjustment, ChangePaymentMode,
         GetPrepaySnapshot, GetTopUpLog, SetLowCreditWarningLevel, GetDebtRepaymentLog, SetMaximumCreditLimit,
         SetOverallDebtCap, ChangePaymentModeResponse, PublishChangeOfTenancy, PublishChangeOfSupplier,
         RequestNewPasswordResponse, UpdateSiteId, SetEventConfiguration, GetEventConfiguration, UpdateCin,
         ReportEventConfiguration)


# --- Events (0x0709): the GSME's event and security logs (GBCS CS10a/b read them, CS11 clears) ----------

@dataclass(frozen=True, slots=True)
class GetEventLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x00, CLIENT_TO_SERVER
    SCHEMA = (Field("control_and_log_id", uint8), Field("event_id", uint16_le), Field("start_time", utc_time_le),
              Field("end_time", utc_time_le), Field("number_of_events", uint8), Field("event_offset", uint16_le))
    control_and_log_id: int  # high nibble: event control; low nibble: the log
    event_id: int  # 0: every event
    start_time: int
    end_time: int
    number_of_events: int  # 0: as many as the device sends in one answer
    event_offset: int


@dataclass(frozen=True, slots=True)
class ClearEventLogRequest(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x01, CLIENT_TO_SERVER
    SCHEMA = (Field("log_id", uint8),)
    log_id: int


@dataclass(frozen=True, slots=True)
class PublishEventLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x01, SERVER_TO_CLIENT
    SCHEMA = (Field("total_matching_events", uint16_le), Field("command_index", uint8),
              Field("total_commands", uint8), Field("payload_control", bitmap8), Field("events", rest_of_frame))
    total_matching_events: int
    command_index: int
    total_commands: int
    payload_control: int
    events: bytes  # per event: log id (uint8), event id (uint16), time (UTC), data (octet string)


@dataclass(frozen=True, slots=True)
class ClearEventLogResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x02, SERVER_TO_CLIENT
    SCHEMA = (Field("cleared_logs", bitmap8),)
    cleared_logs: int  # bit n: log n was cleared


register(GetEventLog, ClearEventLogRequest, PublishEventLog, ClearEventLogResponse)


# --- Prepayment top-up (CS01b): a UTRN entered remotely -------------------------------------------------

@dataclass(frozen=True, slots=True)
class ConsumerTopUp(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x04, CLIENT_TO_SERVER
    SCHEMA = (Field("originating_device", enum8), Field("top_up_code", octstr))
    originating_device: int
    top_up_code: bytes  # the 20-digit UTRN, ASCII


@dataclass(frozen=True, slots=True)
class ConsumerTopUpResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x03, SERVER_TO_CLIENT
    SCHEMA = (Field("result", enum8), Field("top_up_value", int32_le), Field("source", enum8),
              Field("credit_remaining", int32_le))
    result: int  # 0 accepted, 1 rejected: invalid, 2 rejected: duplicate
    top_up_value: int
    source: int
    credit_remaining: int


@dataclass(frozen=True, slots=True)
class PublishTopUpLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x05, SERVER_TO_CLIENT
    SCHEMA = (Field("command_index", uint8), Field("total_commands", uint8), Field("records", rest_of_frame))
    command_index: int
    total_commands: int
    records: bytes  # per top-up, newest first: UTRN (octet string), amount (int32), time (UTC)


register(ConsumerTopUp, ConsumerTopUpResponse, PublishTopUpLog)
