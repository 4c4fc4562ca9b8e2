"""ZCL frames (Zigbee Cluster Library, general frame format 2.4) and a declarative command codec.

A ZCL frame is a header (frame control, optional manufacturer code, transaction
sequence number, command id) and a payload. The frame control is the typed bitfield
:class:`ZclFrameControl`, never a bare mask.

Each cluster command is a frozen dataclass declaring ``CLUSTER``, ``COMMAND_ID``,
``DIRECTION`` and its fields, each annotated once with its wire type (and, if optional,
its presence condition); :func:`register` derives the ``SCHEMA`` rows from them and one
generic codec encodes and decodes them all, so a command *is* its table row. A field
whose condition is false is absent on the wire and holds its default; encoding refuses a
non-default value there, so ``decode(encode(c)) == c`` for every command that encodes at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from enum import IntEnum
from typing import Any, ClassVar, Self, get_type_hints

from emulator.zigbee.errors import UnknownCommandError, ZclDecodeError, ZigbeeEncodeError, ZigbeeError
from emulator.zigbee.status import ZclStatus
from emulator.zigbee.types import Reader, WireType, encode_uint, eui64_le, octstr


class FrameType(IntEnum):
    """ZCL frame control bits 0-1 (values 0b10 and 0b11 are reserved)."""

    GLOBAL = 0b00  # "command acts across the entire profile": the foundation commands
    CLUSTER_SPECIFIC = 0b01


class Direction(IntEnum):
    """ZCL frame control bit 3: who sent the frame."""

    CLIENT_TO_SERVER = 0
    SERVER_TO_CLIENT = 1


CLIENT_TO_SERVER = Direction.CLIENT_TO_SERVER
SERVER_TO_CLIENT = Direction.SERVER_TO_CLIENT

#: Foundation command ids used by the emulator (ZCL 2.5).
READ_ATTRIBUTES = 0x00
READ_ATTRIBUTES_RESPONSE = 0x01
WRITE_ATTRIBUTES = 0x02
WRITE_ATTRIBUTES_RESPONSE = 0x04
REPORT_ATTRIBUTES = 0x0A
DEFAULT_RESPONSE = 0x0B


@dataclass(frozen=True, slots=True)
class ZclFrameControl:
    """The ZCL frame control byte (ZCL 2.4.1.1)."""

    frame_type: FrameType = FrameType.CLUSTER_SPECIFIC
    manufacturer_specific: bool = False
    direction: Direction = Direction.CLIENT_TO_SERVER
    disable_default_response: bool = False
    reserved: int = 0
    """Bits 5-7. Kept rather than refused so that a received byte re-encodes unchanged."""

    def __post_init__(self) -> None:
        if not 0 <= self.reserved <= 0b111:
            raise ZigbeeEncodeError("reserved frame-control bits are 3 bits", field="zcl.frame_control")

    def to_int(self) -> int:
        return (self.frame_type | self.manufacturer_specific << 2 | self.direction << 3
                | self.disable_default_response << 4 | self.reserved << 5)

    @classmethod
    def from_int(cls, value: int, *, error: type[ZigbeeError] = ZclDecodeError) -> ZclFrameControl:
        """Parse a frame-control byte; ``error`` is raised for a reserved frame type."""
        known = _FRAME_CONTROLS.get(value) if cls is ZclFrameControl and type(value) is int else None
        if known is not None:
            return known
        if not 0 <= value <= 0xFF:
            raise ZigbeeEncodeError(f"frame control {value!r} is not a byte", field="zcl.frame_control")
        if value & 0b11 > FrameType.CLUSTER_SPECIFIC:
            raise error(f"reserved ZCL frame type {value & 0b11}", field="zcl.frame_control", offset=0)
        fc = cls(FrameType(value & 0b11), bool(value & 0x04), Direction(value >> 3 & 1), bool(value & 0x10),
                 value >> 5)
        if cls is ZclFrameControl:
            _FRAME_CONTROLS[value] = fc
        return fc


#: Frame controls parsed before, by byte (immutable, so shared: every frame parses one).
_FRAME_CONTROLS: dict[int, ZclFrameControl] = {}


@dataclass(frozen=True, slots=True, init=False)
class ZclHeader:
    """ZCL frame header. ``manufacturer_code`` is present exactly when the frame control says so."""

    frame_control: ZclFrameControl
    sequence: int
    command_id: int
    manufacturer_code: int | None

    def __init__(self, frame_control: ZclFrameControl | int, sequence: int, command_id: int,
                 manufacturer_code: int | None = None) -> None:
        # An int is accepted for brevity (``ZclHeader(0x18, seq, 0x0B)``) and parsed at once.
        fc = frame_control if isinstance(frame_control, ZclFrameControl) else \
            ZclFrameControl.from_int(frame_control, error=ZigbeeEncodeError)
        if fc.manufacturer_specific != (manufacturer_code is not None):
            raise ZigbeeEncodeError("manufacturer_code must be given exactly when the frame control is "
                                    "manufacturer specific", field="zcl.manufacturer_code")
        # The range checks of encode_uint, called only to raise its error (every frame sent makes one).
        if type(sequence) is not int or not 0 <= sequence <= 0xFF:
            encode_uint(sequence, 1, "zcl.sequence")
        if type(command_id) is not int or not 0 <= command_id <= 0xFF:
            encode_uint(command_id, 1, "zcl.command_id")
        if manufacturer_code is not None:
            encode_uint(manufacturer_code, 2, "zcl.manufacturer_code")
        _SET_FRAME_CONTROL(self, fc)
        _SET_SEQUENCE(self, sequence)
        _SET_COMMAND_ID(self, command_id)
        _SET_MANUFACTURER_CODE(self, manufacturer_code)

    @property
    def cluster_specific(self) -> bool:
        return self.frame_control.frame_type is FrameType.CLUSTER_SPECIFIC

    @property
    def direction(self) -> Direction:
        return self.frame_control.direction

    @property
    def disable_default_response(self) -> bool:
        return self.frame_control.disable_default_response

    @property
    def manufacturer_specific(self) -> bool:
        return self.frame_control.manufacturer_specific

    def encode(self) -> bytes:
        mfr = b"" if self.manufacturer_code is None else self.manufacturer_code.to_bytes(2, "little")
        return bytes((self.frame_control.to_int(),)) + mfr + bytes((self.sequence, self.command_id))

    @classmethod
    def decode(cls, data: bytes) -> tuple[ZclHeader, bytes]:
        """The header at the start of ``data`` and the payload after it."""
        if cls is ZclHeader and type(data) is bytes and len(data) >= 3:
            # The common frame (a frame control seen before, no manufacturer code) read in place.
            fc = _FRAME_CONTROLS.get(data[0])
            if fc is not None and not fc.manufacturer_specific:
                return _decoded_header(fc, data[1], data[2], None), data[3:]
        r = Reader(data)
        fc = ZclFrameControl.from_int(r.take(1, "zcl.frame_control")[0])
        mfr = r.uint(2, "zcl.manufacturer_code") if fc.manufacturer_specific else None
        sequence = r.take(1, "zcl.sequence")[0]
        command_id = r.take(1, "zcl.command_id")[0]
        if cls is not ZclHeader:
            return cls(fc, sequence, command_id, mfr), r.rest()
        return _decoded_header(fc, sequence, command_id, mfr), r.rest()


def _decoded_header(fc: ZclFrameControl, sequence: int, command_id: int, mfr: int | None) -> ZclHeader:
    """A header read from bytes: every field is in range and the manufacturer code present exactly
    when the frame control says so (the checks of __init__ are for values built by hand)."""
    header = object.__new__(ZclHeader)
    _SET_FRAME_CONTROL(header, fc)
    _SET_SEQUENCE(header, sequence)
    _SET_COMMAND_ID(header, command_id)
    _SET_MANUFACTURER_CODE(header, mfr)
    return header


_SET_FRAME_CONTROL, _SET_SEQUENCE, _SET_COMMAND_ID, _SET_MANUFACTURER_CODE = (
    ZclHeader.__dict__[name].__set__ for name in ZclHeader.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class ZclFrame:
    """A whole ZCL frame: its header and the payload after it, undecoded."""

    header: ZclHeader
    payload: bytes = b""

    def encode(self) -> bytes:
        return self.header.encode() + self.payload

    @classmethod
    def decode(cls, data: bytes) -> ZclFrame:
        header, payload = ZclHeader.decode(data)
        return cls(header, payload)


def cluster_header(direction: Direction | int, sequence: int, command_id: int, *,
                   disable_default_response: bool = True, manufacturer_code: int | None = None) -> ZclHeader:
    """Header of a cluster-specific command."""
    fc = _cluster_control(int(direction), manufacturer_code is not None, bool(disable_default_response))
    return ZclHeader(fc, sequence, command_id, manufacturer_code)


@functools.cache
def _cluster_control(direction: int, manufacturer_specific: bool, disable_default_response: bool) -> ZclFrameControl:
    """A cluster-specific frame control, made once per kind (every cluster command sent needs one)."""
    return ZclFrameControl(FrameType.CLUSTER_SPECIFIC, manufacturer_specific, Direction(direction),
                           disable_default_response)


def global_header(direction: Direction | int, sequence: int, command_id: int, *,
                  disable_default_response: bool = True, manufacturer_code: int | None = None) -> ZclHeader:
    """Header of a foundation (profile-wide) command."""
    fc = ZclFrameControl(FrameType.GLOBAL, manufacturer_code is not None, Direction(direction),
                         disable_default_response)
    return ZclHeader(fc, sequence, command_id, manufacturer_code)


def reply_header(request: ZclHeader, command_id: int, *, disable_default_response: bool = True) -> ZclHeader:
    """Header of a foundation command answering ``request``: same sequence number and manufacturer
    code, opposite direction. GBZ answers leave default responses enabled, as the RTDS shows."""
    return global_header(1 - request.direction, request.sequence, command_id,
                         disable_default_response=disable_default_response,
                         manufacturer_code=request.manufacturer_code)


def default_response(request: ZclHeader, status: int = ZclStatus.SUCCESS, *,
                     disable_default_response: bool = True) -> bytes:
    """The Default Response frame (ZCL 2.5.12) answering ``request``: same sequence number,
    opposite direction, the request's command id and ``status``. Never itself answered on the
    HAN; GBZ answers keep the bit clear (``disable_default_response=False``), as the RTDS does."""
    header = reply_header(request, DEFAULT_RESPONSE, disable_default_response=disable_default_response)
    return header.encode() + bytes((request.command_id,)) + encode_uint(status, 1, "status")


def is_default_response(header: ZclHeader) -> bool:
    return not header.cluster_specific and header.command_id == DEFAULT_RESPONSE


def decode_default_response(payload: bytes) -> tuple[int, int]:
    """(command id answered, status) of a Default Response payload."""
    r = Reader(payload)
    command_id, status = r.take(1, "command_id")[0], r.take(1, "status")[0]
    r.expect_end("Default Response")
    return command_id, status


# --- Attribute values and the attribute commands (ZCL 2.5.1-2.5.2, 2.5.11, 2.6.2) ----------------

class DataType(IntEnum):
    """ZCL data type ids (ZCL 2.6.2) of the attribute values the emulator serves."""

    BOOLEAN = 0x10
    BITMAP8 = 0x18
    BITMAP16 = 0x19
    BITMAP32 = 0x1B
    UINT8 = 0x20
    UINT16 = 0x21
    UINT24 = 0x22
    UINT32 = 0x23
    UINT48 = 0x25
    INT8 = 0x28
    INT16 = 0x29
    INT32 = 0x2B
    ENUM8 = 0x30
    ENUM16 = 0x31
    OCTET_STRING = 0x41
    CHAR_STRING = 0x42
    UTC_TIME = 0xE2
    EUI64 = 0xF0


_SIGNED = frozenset({DataType.INT8, DataType.INT16, DataType.INT32})
#: Fixed-size integer types: data type -> size in bytes (little-endian; INTn two's complement).
_INT_SIZES: dict[int, int] = {
    DataType.BOOLEAN: 1, DataType.BITMAP8: 1, DataType.BITMAP16: 2, DataType.BITMAP32: 4, DataType.UINT8: 1,
    DataType.UINT16: 2, DataType.UINT24: 3, DataType.UINT32: 4, DataType.UINT48: 6, DataType.INT8: 1,
    DataType.INT16: 2, DataType.INT32: 4, DataType.ENUM8: 1, DataType.ENUM16: 2, DataType.UTC_TIME: 4,
}

AttributeValue = int | bytes | str


def encode_attribute_value(data_type: int, value: AttributeValue) -> bytes:
    """One attribute value in its data type's wire form. A character string is UTF-8 with a
    length byte in front (at most 254 bytes: 0xFF is the "invalid" length); an EUI-64 is held
    as printed and sent reversed, like every EUI in the project."""
    field = f"attribute value (type 0x{data_type:02X})"
    size = _INT_SIZES.get(data_type)
    if size is not None and isinstance(value, int) and not isinstance(value, bool):
        try:
            return value.to_bytes(size, "little", signed=data_type in _SIGNED)
        except OverflowError:
            raise ZigbeeEncodeError(f"{value} does not fit ZCL data type 0x{data_type:02X}", field=field) from None
    if data_type == DataType.CHAR_STRING and isinstance(value, str):
        return octstr.encode(value.encode(), field)
    if data_type == DataType.OCTET_STRING and isinstance(value, bytes):
        return octstr.encode(value, field)
    if data_type == DataType.EUI64 and isinstance(value, bytes):
        return eui64_le.encode(value, field)
    raise ZigbeeEncodeError(f"cannot encode {value!r} as ZCL data type 0x{data_type:02X}", field=field)


def _read_attribute_value(r: Reader, data_type: int) -> AttributeValue:
    field = f"attribute value (type 0x{data_type:02X})"
    size = _INT_SIZES.get(data_type)
    if size is not None:
        return int.from_bytes(r.take(size, field), "little", signed=data_type in _SIGNED)
    if data_type == DataType.CHAR_STRING:
        pos = r.offset
        raw = octstr.decode(r, field)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise r.error("character string is not UTF-8", field=field, offset=pos) from None
    if data_type == DataType.OCTET_STRING:
        return octstr.decode(r, field)
    if data_type == DataType.EUI64:
        return eui64_le.decode(r, field)
    raise r.error(f"ZCL data type 0x{data_type:02X} is not one this codec reads", field="data_type",
                  offset=r.offset - 1)


@dataclass(frozen=True, slots=True)
class ReadAttributeRecord:
    """One read attribute status record: the id, a status and, on SUCCESS, the typed value."""

    attribute_id: int
    status: int = ZclStatus.SUCCESS
    data_type: int | None = None
    value: AttributeValue | None = None

    def __post_init__(self) -> None:
        encode_uint(self.attribute_id, 2, "attribute_id")
        encode_uint(self.status, 1, "status")
        if (self.status == ZclStatus.SUCCESS) != (self.data_type is not None and self.value is not None):
            raise ZigbeeEncodeError("a record carries a data type and value exactly when its status is SUCCESS",
                                    field="value")

    @classmethod
    def unsupported(cls, attribute_id: int) -> ReadAttributeRecord:
        return cls(attribute_id, ZclStatus.UNSUPPORTED_ATTRIBUTE)

    def encode(self) -> bytes:
        out = encode_uint(self.attribute_id, 2, "attribute_id") + bytes((self.status,))
        if self.data_type is None or self.value is None:
            return out
        return out + encode_uint(self.data_type, 1, "data_type") + encode_attribute_value(self.data_type, self.value)


@dataclass(frozen=True, slots=True)
class AttributeReport:
    """One attribute report record (Report Attributes, ZCL 2.5.11.1): id, data type, value."""

    attribute_id: int
    data_type: int
    value: AttributeValue

    def encode(self) -> bytes:
        return (encode_uint(self.attribute_id, 2, "attribute_id") + encode_uint(self.data_type, 1, "data_type")
                + encode_attribute_value(self.data_type, self.value))


def encode_read_attributes(attribute_ids: Iterable[int]) -> bytes:
    """A Read Attributes request payload: the attribute ids, u16 little-endian each."""
    return b"".join(encode_uint(a, 2, "attribute_id") for a in attribute_ids)


def read_attributes(direction: Direction | int, sequence: int, attribute_ids: Iterable[int], *,
                    disable_default_response: bool = False) -> bytes:
    """A Read Attributes request frame. GBZ commands leave default responses enabled (RTDS)."""
    header = global_header(direction, sequence, READ_ATTRIBUTES, disable_default_response=disable_default_response)
    return header.encode() + encode_read_attributes(attribute_ids)


def decode_read_attributes(payload: bytes) -> tuple[int, ...]:
    """The attribute ids of a Read Attributes request payload (u16 each, little-endian)."""
    if len(payload) % 2:
        raise ZclDecodeError(f"Read Attributes: {len(payload)} bytes is not a whole list of 16-bit attribute ids",
                             field="attribute_id", offset=len(payload) - 1)
    return tuple(int.from_bytes(payload[i:i + 2], "little") for i in range(0, len(payload), 2))


def read_attributes_response(request: ZclHeader, records: Iterable[ReadAttributeRecord], *,
                             disable_default_response: bool = True) -> bytes:
    """The Read Attributes Response frame answering ``request``: same sequence number and
    manufacturer code, opposite direction, default response disabled unless asked (the
    response is the answer; the RTDS's plaintext GBZ answers leave it enabled)."""
    header = reply_header(request, READ_ATTRIBUTES_RESPONSE, disable_default_response=disable_default_response)
    return header.encode() + b"".join(record.encode() for record in records)


def decode_read_attributes_response(payload: bytes) -> tuple[ReadAttributeRecord, ...]:
    """The records of a Read Attributes Response payload (types limited to :class:`DataType`)."""
    r = Reader(payload)
    records = []
    while r.remaining:
        attribute_id = r.uint(2, "attribute_id")
        status = r.take(1, "status")[0]
        if status != ZclStatus.SUCCESS:
            records.append(ReadAttributeRecord(attribute_id, status))
            continue
        data_type = r.take(1, "data_type")[0]
        records.append(ReadAttributeRecord(attribute_id, status, data_type, _read_attribute_value(r, data_type)))
    return tuple(records)


def report_attributes(direction: Direction | int, sequence: int, reports: Iterable[AttributeReport], *,
                      disable_default_response: bool = True) -> bytes:
    """A Report Attributes frame (ZCL 2.5.11)."""
    header = global_header(direction, sequence, REPORT_ATTRIBUTES, disable_default_response=disable_default_response)
    return header.encode() + b"".join(report.encode() for report in reports)


def decode_report_attributes(payload: bytes) -> tuple[AttributeReport, ...]:
    """The records of a Report Attributes payload (types limited to :class:`DataType`)."""
    r = Reader(payload)
    reports = []
    while r.remaining:
        attribute_id = r.uint(2, "attribute_id")
        data_type = r.take(1, "data_type")[0]
        reports.append(AttributeReport(attribute_id, data_type, _read_attribute_value(r, data_type)))
    return tuple(reports)


Presence = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Field:
    """One row of a command schema (derived from the command's annotations by :func:`register`)."""

    name: str
    type: WireType[Any]
    present_if: Presence | None = None
    """Predicate over the fields before this one; the field is on the wire only when it holds."""


@dataclass(frozen=True, slots=True)
class When:
    """Annotation metadata of an optional field: on the wire only when ``condition`` holds over the
    fields before it (``hardware_version: Annotated[int, uint16_le, When(...)] = 0``)."""

    condition: Presence


class ZclCommand:
    """Base of every cluster command. A command is declared once, as zigpy declares it (id, name,
    schema): a frozen dataclass whose class variables give the cluster, command id and direction and
    whose fields, in wire order, each carry their wire type as ``Annotated`` metadata::

        @dataclass(frozen=True, slots=True)
        class CloseTunnel(ZclCommand):
            CLUSTER, COMMAND_ID, DIRECTION = TUNNELING, 0x01, CLIENT_TO_SERVER
            tunnel_id: Annotated[int, uint16_le]

    :func:`register` derives ``SCHEMA`` (the rows the codec walks) from those annotations.
    """

    __slots__ = ()

    CLUSTER: ClassVar[int]
    COMMAND_ID: ClassVar[int]
    DIRECTION: ClassVar[Direction]
    SCHEMA: ClassVar[tuple[Field, ...]]

    def _values(self) -> dict[str, Any]:
        return {row.name: getattr(self, row.name) for row in self.SCHEMA}

    def encode_payload(self) -> bytes:
        values = self._values()
        out = bytearray()
        for row in self.SCHEMA:
            if row.present_if is not None and not row.present_if(values):
                if values[row.name] != _defaults(type(self)).get(row.name, MISSING):
                    raise ZigbeeEncodeError(f"{row.name} is set but the fields before it leave it off the wire",
                                            field=row.name)
                continue
            out += row.type.encode(values[row.name], row.name)
        return bytes(out)

    def encode(self, sequence: int, *, disable_default_response: bool = True,
               manufacturer_code: int | None = None) -> bytes:
        """The whole ZCL frame. Default responses are disabled unless asked for: the GB
        exchanges carry their own answers (GBCS responses, OTA responses)."""
        header = cluster_header(self.DIRECTION, sequence, self.COMMAND_ID,
                                disable_default_response=disable_default_response,
                                manufacturer_code=manufacturer_code)
        return header.encode() + self.encode_payload()

    @classmethod
    def decode(cls, data: bytes) -> tuple[Self, bytes]:
        """Decode the fields from the start of ``data``; return the command and the unused rest."""
        r = Reader(data)
        return cls.read(r), r.rest()

    @classmethod
    def read(cls, r: Reader) -> Self:
        """Decode the fields at the reader's position (errors carry offsets within the frame)."""
        values: dict[str, Any] = {}
        for row in cls.SCHEMA:
            if row.present_if is not None and not row.present_if(values):
                continue
            values[row.name] = row.type.decode(r, row.name)
        return cls(**values)

    @classmethod
    def decode_payload(cls, data: bytes) -> Self:
        """Decode a whole payload; trailing bytes are refused as malformed."""
        r = Reader(data)
        command = cls.read(r)
        r.expect_end(cls.__name__)
        return command


_DEFAULTS: dict[type[ZclCommand], dict[str, Any]] = {}


def _defaults(cls: type[ZclCommand]) -> dict[str, Any]:
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {f.name: f.default for f in fields(cls)  # type: ignore[arg-type]
                                  if f.default is not MISSING}
    return found


REGISTRY: dict[tuple[int, Direction, int], type[ZclCommand]] = {}


def _schema_of(cls: type[ZclCommand]) -> tuple[Field, ...]:
    """The schema rows of a command, one per dataclass field, from its ``Annotated`` metadata."""
    hints = get_type_hints(cls, include_extras=True)
    rows = []
    for f in fields(cls):  # type: ignore[arg-type]
        metadata = getattr(hints[f.name], "__metadata__", ())
        wire = [m for m in metadata if isinstance(m, WireType)]
        if len(wire) != 1:
            raise TypeError(f"{cls.__name__}.{f.name}: annotate the field with its one wire type, "
                            f"e.g. Annotated[int, uint8]")
        when = [m.condition for m in metadata if isinstance(m, When)]
        rows.append(Field(f.name, wire[0], when[0] if when else None))
    return tuple(rows)


def register(*classes: type[ZclCommand]) -> None:
    """Add command classes to the registry, deriving each one's ``SCHEMA`` from its annotated
    fields. A duplicate id, a field without a wire type, or an optional field without a default
    is a programming error caught at import time. (A class that still spells out its own
    ``SCHEMA`` is checked against its fields; new commands declare their fields once instead.)"""
    for cls in classes:
        if "SCHEMA" not in cls.__dict__:
            cls.SCHEMA = _schema_of(cls)
        declared = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        if declared != [row.name for row in cls.SCHEMA]:
            raise TypeError(f"{cls.__name__}: SCHEMA {[r.name for r in cls.SCHEMA]} != fields {declared}")
        optional = [row.name for row in cls.SCHEMA if row.present_if is not None]
        if any(name not in _defaults(cls) for name in optional):
            raise TypeError(f"{cls.__name__}: a field that may be off the wire needs a default")
        key = (cls.CLUSTER, Direction(cls.DIRECTION), cls.COMMAND_ID)
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise TypeError(f"duplicate ZCL command {key}: {REGISTRY[key].__name__} and {cls.__name__}")
        REGISTRY[key] = cls


def lookup(cluster: int, direction: Direction | int, command_id: int) -> type[ZclCommand] | None:
    return REGISTRY.get((cluster, Direction(direction), command_id))


def decode_command(cluster: int, frame: bytes, *, strict: bool = False) -> tuple[ZclHeader, ZclCommand | bytes]:
    """Header and command of a ZCL frame.

    Foundation (global) commands, manufacturer-specific commands and cluster commands with
    no table entry come back as their raw payload bytes, so a device survives commands
    from future specification versions; ``strict=True`` refuses the unknown ones instead.
    """
    header, payload = ZclHeader.decode(frame)
    if not header.cluster_specific:
        return header, payload
    # The registry's keys hash as plain ints do: the header's Direction needs no Direction() call.
    cls = None if header.manufacturer_specific else REGISTRY.get((cluster, header.direction, header.command_id))
    if cls is None:
        if strict:
            raise UnknownCommandError(f"no command 0x{header.command_id:02X} ({header.direction.name}) in "
                                      f"cluster 0x{cluster:04X}", field="zcl.command_id",
                                      offset=len(frame) - len(payload) - 1)
        return header, payload
    r = Reader(frame, offset=len(frame) - len(payload))
    command = cls.read(r)
    r.expect_end(cls.__name__)
    return header, command
