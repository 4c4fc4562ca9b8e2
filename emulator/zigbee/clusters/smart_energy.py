"""The Smart Energy cluster commands GB gas use cases carry in GBZ (SE 1.4 as GBCS profiles it).

One frozen dataclass per command, each field declared once with its wire type
(:class:`emulator.zigbee.zcl.ZclCommand`), so the DSP's builders (``emulator.gbcs.usecases_gas``)
and the GSME/GPF (``emulator.devices``) encode and decode the same definition. Directions are
as the DCC sees them: commands the Price, Messaging and Device Management servers publish go
server-to-client (the meter is the client); Metering and Prepayment requests go client-to-server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

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
from emulator.zigbee.zcl import CLIENT_TO_SERVER, SERVER_TO_CLIENT, ZclCommand, register

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
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    calendar_type: Annotated[int, enum8]
    calendar_time_reference: Annotated[int, enum8]
    calendar_name: Annotated[bytes, octstr]
    number_of_seasons: Annotated[int, uint8]
    number_of_week_profiles: Annotated[int, uint8]
    number_of_day_profiles: Annotated[int, uint8]


@dataclass(frozen=True, slots=True)
class PublishDayProfile(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x01, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    day_id: Annotated[int, uint8]
    total_entries: Annotated[int, uint8]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    calendar_type: Annotated[int, enum8]
    entries: Annotated[tuple[tuple[int, ...], ...], DAY_SCHEDULE]


@dataclass(frozen=True, slots=True)
class PublishWeekProfile(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x02, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    week_id: Annotated[int, uint8]
    day_id_mon: Annotated[int, uint8]
    day_id_tue: Annotated[int, uint8]
    day_id_wed: Annotated[int, uint8]
    day_id_thu: Annotated[int, uint8]
    day_id_fri: Annotated[int, uint8]
    day_id_sat: Annotated[int, uint8]
    day_id_sun: Annotated[int, uint8]


@dataclass(frozen=True, slots=True)
class PublishSeasons(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x03, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    entries: Annotated[tuple[tuple[int, ...], ...], SEASON_ENTRIES]


@dataclass(frozen=True, slots=True)
class PublishSpecialDays(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x04, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    calendar_type: Annotated[int, enum8]
    total_special_days: Annotated[int, uint8]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    entries: Annotated[tuple[tuple[int, ...], ...], SPECIAL_DAY_ENTRIES]


@dataclass(frozen=True, slots=True)
class GetDayProfiles(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x01, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    start_day_id: Annotated[int, uint8]
    number_of_days: Annotated[int, uint8]


@dataclass(frozen=True, slots=True)
class GetWeekProfiles(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x02, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]
    start_week_id: Annotated[int, uint8]
    number_of_weeks: Annotated[int, uint8]


@dataclass(frozen=True, slots=True)
class GetSeasons(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x03, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]


@dataclass(frozen=True, slots=True)
class GetSpecialDays(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = CALENDAR, 0x04, CLIENT_TO_SERVER
    start_time: Annotated[int, utc_time_le]
    number_of_events: Annotated[int, uint8]
    calendar_type: Annotated[int, enum8]
    provider_id: Annotated[int, uint32_le]
    issuer_calendar_id: Annotated[int, uint32_le]


# --- Metering (0x0702), requests to the meter ------------------------------------------------

@dataclass(frozen=True, slots=True)
class GetSnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x06, CLIENT_TO_SERVER
    earliest_start: Annotated[int, utc_time_le]
    latest_end: Annotated[int, utc_time_le]
    snapshot_offset: Annotated[int, uint8]
    snapshot_cause: Annotated[int, bitmap32_le]


@dataclass(frozen=True, slots=True)
class StartSampling(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x07, CLIENT_TO_SERVER
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    sample_type: Annotated[int, enum8]
    sample_request_interval: Annotated[int, uint16_le]
    max_samples: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class GetSampledData(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x08, CLIENT_TO_SERVER
    sample_id: Annotated[int, uint16_le]
    earliest_sample_time: Annotated[int, utc_time_le]
    sample_type: Annotated[int, enum8]
    number_of_samples: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class ChangeSupply(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0B, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    request_time: Annotated[int, utc_time_le]
    implementation_time: Annotated[int, utc_time_le]
    proposed_supply_status: Annotated[int, enum8]
    supply_control_bits: Annotated[int, bitmap8]


@dataclass(frozen=True, slots=True)
class SetSupplyStatus(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0D, CLIENT_TO_SERVER
    issuer_event_id: Annotated[int, uint32_le]
    supply_tamper_state: Annotated[int, enum8]
    supply_depletion_state: Annotated[int, enum8]
    supply_uncontrolled_flow_state: Annotated[int, enum8]
    load_limit_supply_state: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class SetUncontrolledFlowThreshold(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0E, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    threshold: Annotated[int, uint16_le]
    unit_of_measure: Annotated[int, enum8]
    multiplier: Annotated[int, uint16_le]
    divisor: Annotated[int, uint16_le]
    stabilisation_period: Annotated[int, uint8]
    measurement_period: Annotated[int, uint16_le]


# --- Metering, answers from the meter --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SupplyStatusResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0C, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    supply_status: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class StartSamplingResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x0D, SERVER_TO_CLIENT
    sample_id: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class PublishSnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x06, SERVER_TO_CLIENT
    snapshot_id: Annotated[int, uint32_le]
    snapshot_time: Annotated[int, utc_time_le]
    snapshots_found: Annotated[int, uint8]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    snapshot_cause: Annotated[int, bitmap32_le]
    payload_type: Annotated[int, enum8]
    payload: Annotated[bytes, rest_of_frame]


SNAPSHOT_TOU_DELIVERED = 0x00  # Publish Snapshot payload type: TOU information set, delivered registers


def tou_delivered_registers(current_summation: int, tier_summations: tuple[int, ...], *, bill_to_date: int = 0,
                            bill_to_date_time: int = 0, projected_bill: int = 0, projected_bill_time: int = 0,
                            trailing_digit: int = 0) -> bytes:
    """The Publish Snapshot payload of type :data:`SNAPSHOT_TOU_DELIVERED` (SE 1.4 D.3.2.3.1.6):
    current summation, bill to date and its time, projected bill and its time, the bill's
    trailing digit, the number of tiers in use and each tier's summation."""
    if len(tier_summations) > 0xFF:
        raise ZigbeeEncodeError("at most 255 tiers", field="tier_summations")
    return (uint48_le.encode(current_summation, "current_summation") + uint32_le.encode(bill_to_date, "bill_to_date")
            + utc_time_le.encode(bill_to_date_time, "bill_to_date_time")
            + uint32_le.encode(projected_bill, "projected_bill")
            + utc_time_le.encode(projected_bill_time, "projected_bill_time")
            + bitmap8.encode(trailing_digit, "trailing_digit") + bytes((len(tier_summations),))
            + b"".join(uint48_le.encode(t, "tier_summations") for t in tier_summations))


SAMPLES = Records("sample", (uint24_le,))


@dataclass(frozen=True, slots=True)
class GetSampledDataResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = METERING, 0x07, SERVER_TO_CLIENT
    sample_id: Annotated[int, uint16_le]
    sample_start_time: Annotated[int, utc_time_le]
    sample_type: Annotated[int, enum8]
    sample_request_interval: Annotated[int, uint16_le]
    number_of_samples: Annotated[int, uint16_le]
    samples: Annotated[tuple[tuple[int, ...], ...], SAMPLES]


# --- Price (0x0700), published to the meter ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class PublishBlockPeriod(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x01, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    duration: Annotated[int, uint24_le]
    control: Annotated[int, bitmap8]
    duration_type: Annotated[int, bitmap8]
    tariff_type: Annotated[int, bitmap8]
    tariff_resolution_period: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class PublishConversionFactor(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x02, SERVER_TO_CLIENT
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    conversion_factor: Annotated[int, uint32_le]
    trailing_digit: Annotated[int, bitmap8]


@dataclass(frozen=True, slots=True)
class PublishCalorificValue(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x03, SERVER_TO_CLIENT
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    calorific_value: Annotated[int, uint32_le]
    unit: Annotated[int, enum8]
    trailing_digit: Annotated[int, bitmap8]


@dataclass(frozen=True, slots=True)
class PublishBillingPeriod(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x09, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    duration: Annotated[int, uint24_le]
    duration_type: Annotated[int, bitmap8]
    tariff_type: Annotated[int, bitmap8]


@dataclass(frozen=True, slots=True)
class GetBillingPeriod(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x0B, CLIENT_TO_SERVER
    earliest_start: Annotated[int, utc_time_le]
    min_issuer_event_id: Annotated[int, uint32_le]
    number_of_commands: Annotated[int, uint8]
    tariff_type: Annotated[int, bitmap8]


@dataclass(frozen=True, slots=True)
class GetCurrentPrice(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x00, CLIENT_TO_SERVER
    command_options: Annotated[int, bitmap8]


@dataclass(frozen=True, slots=True)
class PublishPrice(ZclCommand):
    """The mandatory fields of Publish Price (GB gas meters send no optional ones)."""

    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x00, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    rate_label: Annotated[bytes, octstr]
    issuer_event_id: Annotated[int, uint32_le]
    current_time: Annotated[int, utc_time_le]
    unit_of_measure: Annotated[int, enum8]
    currency: Annotated[int, uint16_le]
    trailing_digit_and_tier: Annotated[int, bitmap8]
    tiers_and_register_tier: Annotated[int, bitmap8]
    start_time: Annotated[int, utc_time_le]
    duration_minutes: Annotated[int, uint16_le]
    price: Annotated[int, uint32_le]


@dataclass(frozen=True, slots=True)
class PublishTariffInformation(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x04, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    issuer_tariff_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    tariff_type: Annotated[int, bitmap8]
    tariff_label: Annotated[bytes, octstr]
    number_of_price_tiers: Annotated[int, uint8]
    number_of_block_thresholds: Annotated[int, uint8]
    unit_of_measure: Annotated[int, enum8]
    currency: Annotated[int, uint16_le]
    price_trailing_digit: Annotated[int, bitmap8]
    standing_charge: Annotated[int, uint32_le]
    tier_block_mode: Annotated[int, enum8]
    block_threshold_multiplier: Annotated[int, uint24_le]
    block_threshold_divisor: Annotated[int, uint24_le]


@dataclass(frozen=True, slots=True)
class PublishPriceMatrix(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x05, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    issuer_tariff_id: Annotated[int, uint32_le]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    sub_payload_control: Annotated[int, bitmap8]
    entries: Annotated[tuple[tuple[int, ...], ...], PRICE_ENTRIES]


@dataclass(frozen=True, slots=True)
class PublishBlockThresholds(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PRICE, 0x06, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    issuer_tariff_id: Annotated[int, uint32_le]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    sub_payload_control: Annotated[int, bitmap8]
    groups: Annotated[tuple[tuple[int, tuple[int, ...]], ...], BlockThresholdGroups()]


# --- Messaging (0x0703) ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DisplayMessage(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = MESSAGING, 0x00, SERVER_TO_CLIENT
    message_id: Annotated[int, uint32_le]
    message_control: Annotated[int, bitmap8]
    start_time: Annotated[int, utc_time_le]
    duration_minutes: Annotated[int, uint16_le]
    message: Annotated[bytes, octstr]


# --- Prepayment (0x0705), requests to the meter ----------------------------------------------

@dataclass(frozen=True, slots=True)
class SelectAvailableEmergencyCredit(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x00, CLIENT_TO_SERVER
    command_issue_time: Annotated[int, utc_time_le]
    originating_device: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class ConsumerTopUp(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x04, CLIENT_TO_SERVER
    originating_device: Annotated[int, enum8]
    top_up_code: Annotated[bytes, octstr]


@dataclass(frozen=True, slots=True)
class ChangeDebt(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x02, CLIENT_TO_SERVER
    issuer_event_id: Annotated[int, uint32_le]
    debt_label: Annotated[bytes, octstr]
    debt_amount: Annotated[int, int32_le]
    recovery_method: Annotated[int, enum8]
    amount_type: Annotated[int, enum8]
    recovery_start_time: Annotated[int, utc_time_le]
    recovery_collection_time: Annotated[int, uint16_le]
    recovery_frequency: Annotated[int, enum8]
    recovery_amount: Annotated[int, int32_le]
    recovery_balance_percentage: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class EmergencyCreditSetup(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x03, CLIENT_TO_SERVER
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    emergency_credit_limit: Annotated[int, uint32_le]
    emergency_credit_threshold: Annotated[int, uint32_le]


@dataclass(frozen=True, slots=True)
class CreditAdjustment(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x05, CLIENT_TO_SERVER
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    adjustment_type: Annotated[int, enum8]
    value: Annotated[int, int32_le]


@dataclass(frozen=True, slots=True)
class ChangePaymentMode(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x06, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    proposed_configuration: Annotated[int, bitmap16_le]
    cut_off_value: Annotated[int, int32_le]


@dataclass(frozen=True, slots=True)
class GetPrepaySnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x07, CLIENT_TO_SERVER
    earliest_start: Annotated[int, utc_time_le]
    latest_end: Annotated[int, utc_time_le]
    snapshot_offset: Annotated[int, uint8]
    snapshot_cause: Annotated[int, bitmap32_le]


@dataclass(frozen=True, slots=True)
class GetTopUpLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x08, CLIENT_TO_SERVER
    latest_end: Annotated[int, utc_time_le]
    number_of_records: Annotated[int, uint8]


@dataclass(frozen=True, slots=True)
class SetLowCreditWarningLevel(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x09, CLIENT_TO_SERVER
    level: Annotated[int, uint32_le]


@dataclass(frozen=True, slots=True)
class GetDebtRepaymentLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x0A, CLIENT_TO_SERVER
    latest_end: Annotated[int, utc_time_le]
    number_of_debts: Annotated[int, uint8]
    debt_type: Annotated[int, enum8]


@dataclass(frozen=True, slots=True)
class SetMaximumCreditLimit(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x0B, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    maximum_credit_level: Annotated[int, uint32_le]
    maximum_credit_per_top_up: Annotated[int, uint32_le]


@dataclass(frozen=True, slots=True)
class SetOverallDebtCap(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x0C, CLIENT_TO_SERVER
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    overall_debt_cap: Annotated[int, int32_le]


@dataclass(frozen=True, slots=True)
class PublishPrepaySnapshot(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x01, SERVER_TO_CLIENT
    snapshot_id: Annotated[int, uint32_le]
    snapshot_time: Annotated[int, utc_time_le]
    snapshots_found: Annotated[int, uint8]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    snapshot_cause: Annotated[int, bitmap32_le]
    payload_type: Annotated[int, enum8]
    payload: Annotated[bytes, rest_of_frame]


@dataclass(frozen=True, slots=True)
class ChangePaymentModeResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x02, SERVER_TO_CLIENT
    friendly_credit: Annotated[int, bitmap8]
    friendly_credit_calendar_id: Annotated[int, uint32_le]
    emergency_credit_limit: Annotated[int, uint32_le]
    emergency_credit_threshold: Annotated[int, uint32_le]


# --- Device Management (0x0708) ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PublishChangeOfTenancy(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x00, SERVER_TO_CLIENT
    provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    tariff_type: Annotated[int, bitmap8]
    implementation_time: Annotated[int, utc_time_le]
    proposed_tenancy_change_control: Annotated[int, bitmap32_le]


@dataclass(frozen=True, slots=True)
class PublishChangeOfSupplier(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x01, SERVER_TO_CLIENT
    current_provider_id: Annotated[int, uint32_le]
    issuer_event_id: Annotated[int, uint32_le]
    tariff_type: Annotated[int, bitmap8]
    proposed_provider_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    change_control: Annotated[int, bitmap32_le]
    proposed_provider_name: Annotated[bytes, octstr]
    proposed_provider_contact: Annotated[bytes, octstr]


@dataclass(frozen=True, slots=True)
class RequestNewPasswordResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x02, SERVER_TO_CLIENT
    issuer_event_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    duration_minutes: Annotated[int, uint16_le]
    password_type: Annotated[int, enum8]
    password: Annotated[bytes, octstr]


@dataclass(frozen=True, slots=True)
class UpdateSiteId(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x03, SERVER_TO_CLIENT
    issuer_event_id: Annotated[int, uint32_le]
    site_id_time: Annotated[int, utc_time_le]
    provider_id: Annotated[int, uint32_le]
    site_id: Annotated[bytes, octstr]


@dataclass(frozen=True, slots=True)
class SetEventConfiguration(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x04, SERVER_TO_CLIENT
    issuer_event_id: Annotated[int, uint32_le]
    start_time: Annotated[int, utc_time_le]
    event_configuration: Annotated[int, bitmap8]
    configuration_control: Annotated[int, enum8]
    event_ids: Annotated[tuple[int, ...], EventIds()]


@dataclass(frozen=True, slots=True)
class GetEventConfiguration(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x05, SERVER_TO_CLIENT
    event_id: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class UpdateCin(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x06, SERVER_TO_CLIENT
    issuer_event_id: Annotated[int, uint32_le]
    implementation_time: Annotated[int, utc_time_le]
    provider_id: Annotated[int, uint32_le]
    customer_id_number: Annotated[bytes, octstr]


@dataclass(frozen=True, slots=True)
class ReportEventConfiguration(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = DEVICE_MANAGEMENT, 0x04, CLIENT_TO_SERVER
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    records: Annotated[tuple[tuple[int, int], ...], EventConfigurations()]


# --- Events (0x0709), requests to the meter ----------------------------------------------------

@dataclass(frozen=True, slots=True)
class GetEventLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x00, CLIENT_TO_SERVER
    event_control_log_id: Annotated[int, bitmap8]
    event_id: Annotated[int, uint16_le]
    start_time: Annotated[int, utc_time_le]
    end_time: Annotated[int, utc_time_le]
    number_of_events: Annotated[int, uint8]
    event_offset: Annotated[int, uint16_le]


@dataclass(frozen=True, slots=True)
class ClearEventLogRequest(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x01, CLIENT_TO_SERVER
    log_id: Annotated[int, bitmap8]


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
         ReportEventConfiguration, ConsumerTopUp, GetEventLog, ClearEventLogRequest)


# --- the GSME's answers to the Events (CS10a/b, CS11) and top-up (CS01b, GCS15e) commands --------------

@dataclass(frozen=True, slots=True)
class PublishEventLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x01, SERVER_TO_CLIENT
    total_matching_events: Annotated[int, uint16_le]
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    payload_control: Annotated[int, bitmap8]
    events: Annotated[bytes, rest_of_frame]  # per event: log id, event id (uint16), time (UTC), data (octets)


@dataclass(frozen=True, slots=True)
class ClearEventLogResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = EVENTS, 0x02, SERVER_TO_CLIENT
    cleared_logs: Annotated[int, bitmap8]  # bit n: log n was cleared


@dataclass(frozen=True, slots=True)
class ConsumerTopUpResponse(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x03, SERVER_TO_CLIENT
    result: Annotated[int, enum8]  # 0 accepted, 1 rejected: invalid, 2 rejected: duplicate
    top_up_value: Annotated[int, int32_le]
    source: Annotated[int, enum8]
    credit_remaining: Annotated[int, int32_le]


@dataclass(frozen=True, slots=True)
class PublishTopUpLog(ZclCommand):
    CLUSTER, COMMAND_ID, DIRECTION = PREPAYMENT, 0x05, SERVER_TO_CLIENT
    command_index: Annotated[int, uint8]
    total_commands: Annotated[int, uint8]
    records: Annotated[bytes, rest_of_frame]  # per top-up, newest first: UTRN (octet string), amount, time (UTC)


register(PublishEventLog, ClearEventLogResponse, ConsumerTopUpResponse, PublishTopUpLog)
