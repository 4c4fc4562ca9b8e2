"""The foundation (profile-wide) commands of the one ZCL codec: Default Response, Read
Attributes and its response, Report Attributes and the attribute data types (ZCL r8 2.5, 2.6.2).

Expected frames are literal: the GBZ components of RTDS 4.5.0 reference messages (file named
beside each) and frames written from the ZCL frame format.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.gbcs import gbz
from emulator.gbcs.errors import DecodeError
from emulator.zigbee import zcl
from emulator.zigbee.errors import ZclDecodeError, ZigbeeEncodeError, ZigbeeError
from emulator.zigbee.zcl import AttributeReport, DataType, Direction, ReadAttributeRecord, ZclFrame, ZclHeader

# --- Default Response ---------------------------------------------------------------------------


@pytest.mark.parametrize(("request_hex", "status", "answer_hex", "source"), [
    # Change Supply (Metering 0x0B, client to server) refused 0xC0: the answer goes server to client.
    ("01000B00000000804A371C00000000000000000001", 0xC0, "08000B0BC0", "GCS32_7.2_ERROR_RESPONSE_GBCS.HEX"),
    # Update CIN (Device Management 0x06, server to client) accepted: the answer goes client to server.
    ("090006804A371C00000000000000000431323334", 0x00, "00000B0600", "GCS36_9.1_SUCCESS_RESPONSE_GBCS.HEX"),
    ("090006804A371C00000000000000000431323334", 0xC0, "00000B06C0", "GCS36_9.1_ERROR_RESPONSE_GBCS.HEX"),
])
def test_gbz_default_responses_are_the_reference_frames(request_hex: str, status: int, answer_hex: str,
                                                        source: str) -> None:
    request, _ = ZclHeader.decode(bytes.fromhex(request_hex))
    answer = zcl.default_response(request, status, disable_default_response=False)
    assert answer == bytes.fromhex(answer_hex), source
    header, payload = ZclHeader.decode(answer)
    assert zcl.is_default_response(header)
    assert zcl.decode_default_response(payload) == (request.command_id, status)


def test_han_default_response_disables_its_own_answer_and_keeps_the_manufacturer_code() -> None:
    # Cluster-specific, client to server, sequence 0x2A, command 0x00 -> global, server to client,
    # default response disabled (0x18), same sequence, command 0x0B, then (command 0x00, SUCCESS).
    assert zcl.default_response(ZclHeader(0x01, 0x2A, 0x00)) == bytes.fromhex("182A0B0000")
    # Server to client -> client to server (0x10).
    assert zcl.default_response(ZclHeader(0x09, 0x07, 0x01), 0x81) == bytes.fromhex("10070B0181")
    # Manufacturer specific (code 0x1234): the answer carries the same code (0x1C = 0x18 | 0x04).
    assert zcl.default_response(ZclHeader(0x05, 0x07, 0x10, 0x1234)) == bytes.fromhex("1C3412070B1000")


@pytest.mark.parametrize("payload", ["", "0B", "0B0000"])
def test_a_default_response_payload_is_exactly_two_bytes(payload: str) -> None:
    with pytest.raises(ZclDecodeError):
        zcl.decode_default_response(bytes.fromhex(payload))


# --- Read Attributes ----------------------------------------------------------------------------

def test_read_attributes_request_is_the_reference_frame() -> None:
    # GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX: divisor, multiplier, unit, summation.
    frame = zcl.read_attributes(Direction.CLIENT_TO_SERVER, 0, (0x0302, 0x0301, 0x0300, 0x0000))
    assert frame == bytes.fromhex("0000000203010300030000")


@pytest.mark.parametrize(("request_hex", "records", "answer_hex", "source"), [
    ("0000000602", (ReadAttributeRecord(0x0206, 0, DataType.OCTET_STRING, bytes.fromhex("0123ABCD")),),
     "08000106020041040123ABCD", "GCS38_11.2_SUCCESS_RESPONSE_GBCS.HEX"),
    ("00000005021400", (ReadAttributeRecord(0x0205, 0, DataType.UINT16, 100),
                        ReadAttributeRecord(0x0014, 0, DataType.ENUM8, 2)),
     "0800010502002164001400003002", "GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX"),
])
def test_read_attributes_responses_are_the_reference_frames(request_hex: str, records: tuple[ReadAttributeRecord, ...],
                                                            answer_hex: str, source: str) -> None:
    request = ZclFrame.decode(bytes.fromhex(request_hex))
    assert zcl.decode_read_attributes(request.payload) == tuple(r.attribute_id for r in records)
    answer = zcl.read_attributes_response(request.header, records, disable_default_response=False)
    assert answer == bytes.fromhex(answer_hex), source
    assert zcl.decode_read_attributes_response(ZclFrame.decode(answer).payload) == records


@pytest.mark.parametrize(("data_type", "value", "wire"), [
    (DataType.INT32, -1, "FFFFFFFF"),
    (DataType.INT32, -100, "9CFFFFFF"),
    (DataType.INT8, -128, "80"),
    (DataType.UINT24, 1000, "E80300"),
    (DataType.UINT48, 0x0102030405, "050403020100"),
    (DataType.BITMAP16, 0x0102, "0201"),
    (DataType.ENUM16, 3, "0300"),
    (DataType.UTC_TIME, 0x1C374A80, "804A371C"),
    (DataType.BOOLEAN, 1, "01"),
    (DataType.CHAR_STRING, "GSME", "0447534D45"),
    (DataType.OCTET_STRING, b"", "00"),
    (DataType.EUI64, bytes.fromhex("0011223344556677"), "7766554433221100"),
])
def test_attribute_values_in_their_wire_form(data_type: DataType, value: zcl.AttributeValue, wire: str) -> None:
    record = ReadAttributeRecord(0x0001, 0, data_type, value)
    frame_payload = bytes.fromhex("010000") + bytes((data_type,)) + bytes.fromhex(wire)
    assert record.encode() == frame_payload
    assert zcl.decode_read_attributes_response(frame_payload) == (record,)


@pytest.mark.parametrize(("data_type", "value"), [
    (DataType.UINT8, 256), (DataType.INT8, 128), (DataType.UINT16, -1), (DataType.CHAR_STRING, b"bytes"),
    (DataType.OCTET_STRING, "text"), (DataType.UINT8, True),
])
def test_values_a_type_cannot_hold_are_refused_naming_the_type(data_type: DataType, value: zcl.AttributeValue) -> None:
    with pytest.raises(ZigbeeEncodeError, match=f"0x{data_type:02X}"):
        zcl.encode_attribute_value(data_type, value)


_INT_RANGES = {
    DataType.BOOLEAN: (0, 1), DataType.BITMAP8: (0, 0xFF), DataType.BITMAP16: (0, 0xFFFF),
    DataType.BITMAP32: (0, 0xFFFFFFFF), DataType.UINT8: (0, 0xFF), DataType.UINT16: (0, 0xFFFF),
    DataType.UINT24: (0, 0xFFFFFF), DataType.UINT32: (0, 0xFFFFFFFF), DataType.UINT48: (0, (1 << 48) - 1),
    DataType.INT8: (-0x80, 0x7F), DataType.INT16: (-0x8000, 0x7FFF), DataType.INT32: (-(1 << 31), (1 << 31) - 1),
    DataType.ENUM8: (0, 0xFF), DataType.ENUM16: (0, 0xFFFF), DataType.UTC_TIME: (0, 0xFFFFFFFF),
}


def _typed_values() -> st.SearchStrategy[tuple[DataType, zcl.AttributeValue]]:
    ints = st.sampled_from(sorted(_INT_RANGES)).flatmap(
        lambda t: st.tuples(st.just(t), st.integers(*_INT_RANGES[t])))
    return st.one_of(
        ints,
        st.tuples(st.just(DataType.OCTET_STRING), st.binary(max_size=254)),
        st.tuples(st.just(DataType.CHAR_STRING), st.text(max_size=60)),
        st.tuples(st.just(DataType.EUI64), st.binary(min_size=8, max_size=8)),
    )


def test_every_data_type_is_covered_by_the_round_trip_strategy() -> None:
    assert set(DataType) == set(_INT_RANGES) | {DataType.OCTET_STRING, DataType.CHAR_STRING, DataType.EUI64}


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.one_of(st.integers(0x80, 0xFF), _typed_values())), max_size=8))
def test_read_attributes_response_round_trip(rows: list[tuple[int, int | tuple[DataType, zcl.AttributeValue]]]) -> None:
    records = tuple(ReadAttributeRecord(a, v) if isinstance(v, int) else ReadAttributeRecord(a, 0, *v)
                    for a, v in rows)
    if any(isinstance(r.value, str) and len(r.value.encode()) > 254 for r in records):
        return  # a character string longer than its length byte allows is refused on encode
    frame = zcl.read_attributes_response(ZclHeader(0x00, 9, zcl.READ_ATTRIBUTES), records)
    decoded = ZclFrame.decode(frame)
    assert decoded.header == ZclHeader(0x18, 9, zcl.READ_ATTRIBUTES_RESPONSE)
    assert zcl.decode_read_attributes_response(decoded.payload) == records


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), _typed_values()), max_size=8), st.integers(0, 255))
def test_report_attributes_round_trip(rows: list[tuple[int, tuple[DataType, zcl.AttributeValue]]], seq: int) -> None:
    reports = tuple(AttributeReport(a, t, v) for a, (t, v) in rows)
    if any(isinstance(r.value, str) and len(r.value.encode()) > 254 for r in reports):
        return
    frame = zcl.report_attributes(Direction.SERVER_TO_CLIENT, seq, reports)
    decoded = ZclFrame.decode(frame)
    assert decoded.header == ZclHeader(0x18, seq, zcl.REPORT_ATTRIBUTES)
    assert zcl.decode_report_attributes(decoded.payload) == reports


def test_report_attributes_literal() -> None:
    # Current summation delivered (0x0000), uint48 (0x25), 1234567 Wh: the GSME's wake report.
    report = AttributeReport(0x0000, DataType.UINT48, 1234567)
    assert zcl.report_attributes(Direction.SERVER_TO_CLIENT, 5, (report,)) == bytes.fromhex("18050A00002587D612000000")


@given(st.binary(max_size=40))
def test_fuzz_attribute_decoders_raise_only_zcl_errors(data: bytes) -> None:
    for decode in (zcl.decode_read_attributes_response, zcl.decode_report_attributes, zcl.decode_read_attributes,
                   zcl.decode_default_response, ZclFrame.decode):
        with contextlib.suppress(ZigbeeError):  # anything else (IndexError, ValueError ...) fails the test
            decode(data)


@given(st.binary(max_size=20))
def test_a_gbz_component_reads_its_frame_with_the_zcl_codec_and_fails_as_gbcs(body: bytes) -> None:
    component = gbz.Component(0x0702, body)
    try:
        frame = component.zcl()
    except DecodeError as e:
        assert e.field == "gbz.zcl"
        with pytest.raises(ZigbeeError):
            ZclFrame.decode(body)
        return
    assert frame == ZclFrame.decode(body) and frame.encode() == body
