"""DLMS/COSEM payloads of ESME and CHF messages: Access-Request (D9), Access-Response (DA),
Data-Notification (0F) and the DLMS Data types (IEC 62056-5-3, as GBCS uses them).

Sans-IO. ``decode_*`` raise :class:`~emulator.gbcs.errors.DecodeError` naming the
field and offset; ``encode`` gives back the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from emulator.gbcs._construct import read_ber_length
from emulator.gbcs.errors import DecodeError, EncodeError, TruncatedError
from emulator.zigbee.jsonvalue import JsonObject

ACCESS_REQUEST = 0xD9
ACCESS_RESPONSE = 0xDA
DATA_NOTIFICATION = 0x0F

# Request specification choices.
GET, SET, ACTION, GET_WITH_SELECTION = 1, 2, 3, 4
SPEC_NAMES = {GET: "get", SET: "set", ACTION: "action", GET_WITH_SELECTION: "get-with-selection"}

# Data type tags -> (name, fixed size or None for variable, struct format or None).
_FIXED: dict[int, tuple[str, str]] = {
    0x03: ("boolean", ">B"),  # kept as the raw byte: GBCS sends FF for true, and it must round-trip
    0x05: ("double-long", ">i"),
    0x06: ("double-long-unsigned", ">I"),
    0x0F: ("integer", ">b"),
    0x10: ("long", ">h"),
    0x11: ("unsigned", ">B"),
    0x12: ("long-unsigned", ">H"),
    0x14: ("long64", ">q"),
    0x15: ("long64-unsigned", ">Q"),
    0x16: ("enum", ">B"),
}
_TAG_BY_NAME = {name: tag for tag, (name, _) in _FIXED.items()}
_TAG_BY_NAME.update({"null": 0x00, "array": 0x01, "structure": 0x02, "bit-string": 0x04,
                     "octet-string": 0x09, "visible-string": 0x0A, "utf8-string": 0x0C,
                     "compact-array": 0x13, "date-time": 0x19})
_STRUCTS = {tag: struct.Struct(fmt) for tag, (_, fmt) in _FIXED.items()}
_FIXED_NAMES = {tag: name for tag, (name, _) in _FIXED.items()}


@dataclass(frozen=True, slots=True, init=False)
class Data:
    """One DLMS Data value. ``value`` is int/bool/bytes/str, a tuple of Data, or None."""

    type: str
    value: Any = None

    def __init__(self, type: str, value: Any = None) -> None:
        # Hand-written: the generated frozen __init__ sets each field through object.__setattr__;
        # the slots' own descriptors are cheaper, and a request and its answer make dozens of these.
        _SET_TYPE(self, type)
        _SET_VALUE(self, value)

    def to_tree(self) -> JsonObject:
        if self.type in ("array", "structure"):
            return {self.type: [d.to_tree() for d in self.value]}
        if isinstance(self.value, bytes):
            return {self.type: self.value.hex().upper()}
        if isinstance(self.value, tuple):  # bit-string (bits, raw), compact-array (description, contents)
            return {self.type: [v.hex().upper() if isinstance(v, bytes) else v for v in self.value]}
        return {self.type: self.value}


_SET_TYPE = Data.__dict__["type"].__set__
_SET_VALUE = Data.__dict__["value"].__set__
NULL = Data("null")
#: Every value of the one-byte types (boolean, integer, unsigned, enum), made once: Data is immutable,
#: and a decoded request is a quarter these.
_ONE_BYTE: dict[int, tuple[Data, ...]] = {
    tag: tuple(Data(name, _STRUCTS[tag].unpack(bytes((b,)))[0]) for b in range(256))
    for tag, (name, fmt) in _FIXED.items() if struct.calcsize(fmt) == 1}


_length = read_ber_length


def _put_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n <= 0xFF:
        return bytes((0x81, n))
    return bytes((0x82, n >> 8, n & 0xFF))


class _Fault(Exception):
    """A decoding failure inside :func:`_decode`, with the array indices it passed on the way out
    (the field name is built only when something is wrong: naming every element cost the hot path)."""

    def __init__(self, kind: type[DecodeError], message: str, offset: int) -> None:
        super().__init__(message)
        self.kind, self.message, self.offset = kind, message, offset
        self.path: list[int] = []


def _fault_length(data: bytes, pos: int) -> _Fault:
    """The fault :func:`read_ber_length` reports for a bad length at ``pos``."""
    try:
        _length(data, pos, "")
    except DecodeError as e:
        return _Fault(type(e), e.reason, e.offset if e.offset is not None else pos)
    return _Fault(DecodeError, "bad length", pos)  # pragma: no cover - only called for a bad length


def _len_at(data: bytes, pos: int) -> tuple[int, int]:
    """A BER length at ``pos`` (one byte below 0x80: the common case, inline)."""
    if pos < len(data) and data[pos] < 0x80:
        return data[pos], pos + 1
    try:
        return _length(data, pos, "")
    except DecodeError:
        raise _fault_length(data, pos) from None


def _decode(data: bytes, pos: int, depth: int) -> tuple[Data, int]:
    # The common cases come first and read one-byte lengths inline: a request and its answer
    # decode dozens of elements, most of them one-byte values, octet-strings and structures.
    if depth > 16:
        raise _Fault(DecodeError, "data nested too deeply", pos)
    if pos >= len(data):
        raise _Fault(TruncatedError, "ends before a data tag", pos)
    tag = data[pos]
    pos += 1
    small = _ONE_BYTE.get(tag)
    if small is not None:
        if pos >= len(data):
            raise _Fault(TruncatedError, f"ends inside {_article(_FIXED[tag][0])}", pos - 1)
        return small[data[pos]], pos + 1
    if tag == 0x09 or tag == 0x02 or tag == 0x01:
        if pos < len(data) and data[pos] < 0x80:
            n = data[pos]
            pos += 1
        else:
            n, pos = _len_at(data, pos)
        if tag == 0x09:
            if pos + n > len(data):
                raise _Fault(TruncatedError, "string runs past the end", pos)
            return Data("octet-string", data[pos:pos + n]), pos + n
        items = []
        for i in range(n):
            try:
                item, pos = _decode(data, pos, depth + 1)
            except _Fault as f:
                f.path.append(i)
                raise
            items.append(item)
        return Data("structure" if tag == 0x02 else "array", tuple(items)), pos
    fixed = _STRUCTS.get(tag)
    if fixed is not None:
        end = pos + fixed.size
        if end > len(data):
            raise _Fault(TruncatedError, f"ends inside {_article(_FIXED[tag][0])}", pos - 1)
        return Data(_FIXED_NAMES[tag], fixed.unpack_from(data, pos)[0]), end
    if tag == 0x00:
        return NULL, pos
    if tag == 0x0A or tag == 0x04:
        n, pos = _len_at(data, pos)
        size = (n + 7) // 8 if tag == 0x04 else n
        if pos + size > len(data):
            raise _Fault(TruncatedError, "string runs past the end", pos)
        raw = data[pos:pos + size]
        if tag == 0x0A:
            return Data("visible-string", raw.decode("latin-1")), pos + size
        return Data("bit-string", (n, raw)), pos + size
    if tag == 0x0C:  # utf8-string
        n, pos = _len_at(data, pos)
        if pos + n > len(data):
            raise _Fault(TruncatedError, "string runs past the end", pos)
        return Data("utf8-string", data[pos:pos + n]), pos + n
    if tag == 0x13:  # compact-array: type description, then the packed contents (kept raw)
        try:
            desc_end = _type_description_end(data, pos, "")
        except DecodeError as e:
            raise _Fault(type(e), e.reason, e.offset if e.offset is not None else pos) from None
        n, body = _len_at(data, desc_end)
        if body + n > len(data):
            raise _Fault(TruncatedError, "compact-array runs past the end", desc_end)
        return Data("compact-array", (data[pos:desc_end], data[body:body + n])), body + n
    if tag == 0x19:
        if pos + 12 > len(data):
            raise _Fault(TruncatedError, "ends inside a date-time", pos - 1)
        return Data("date-time", data[pos:pos + 12]), pos + 12
    raise _Fault(DecodeError, f"unknown DLMS data tag 0x{tag:02X}", pos - 1)


def decode_data(data: bytes, pos: int, name: str = "data", depth: int = 0) -> tuple[Data, int]:
    """One Data value at ``pos``; returns (value, position after it). Raises :class:`DecodeError`
    (or :class:`TruncatedError`) naming the element, e.g. ``dlms.data[0][2]``, and the offset."""
    try:
        return _decode(data, pos, depth)
    except _Fault as f:
        raise f.kind(f.message, field=name + "".join(f"[{i}]" for i in reversed(f.path)),
                     offset=f.offset) from None


def _type_description_end(data: bytes, pos: int, name: str, depth: int = 0) -> int:
    """End of a compact-array type description (IEC 62056-6-2: tag, or array/structure of them)."""
    if pos >= len(data) or depth > 8:
        raise TruncatedError("ends inside a compact-array type description", field=name, offset=pos)
    tag = data[pos]
    if tag == 0x01:  # array: number of elements (2 bytes), element type
        return _type_description_end(data, pos + 3, name, depth + 1)
    if tag == 0x02:  # structure: count, then each element's type
        count, pos = _length(data, pos + 1, name)
        for _ in range(count):
            pos = _type_description_end(data, pos, name, depth + 1)
        return pos
    return pos + 1


def _encode_into(d: Data, out: bytearray) -> None:
    # Structures, arrays and octet-strings first, their one-byte lengths inline: most of a GBCS
    # payload's elements are these.
    kind = d.type
    if kind == "structure" or kind == "array":
        items = d.value
        n = len(items)
        out.append(0x02 if kind == "structure" else 0x01)
        if n < 0x80:
            out.append(n)
        else:
            out += _put_length(n)
        for x in items:
            _encode_into(x, out)
        return
    if kind == "octet-string":
        raw = d.value
        n = len(raw)
        out.append(0x09)
        if n < 0x80:
            out.append(n)
        else:
            out += _put_length(n)
        out += bytes(raw)
        return
    tag = _TAG_BY_NAME.get(kind)
    if tag is None:
        raise EncodeError(f"unknown DLMS data type {kind!r}", field="data")
    fixed = _STRUCTS.get(tag)
    if fixed is not None:
        try:
            packed = fixed.pack(d.value)
        except struct.error as e:
            raise EncodeError(f"{kind} cannot hold {d.value!r}", field="data") from e
        out.append(tag)
        out += packed
    elif tag == 0x0C:
        out.append(tag)
        out += _put_length(len(d.value))
        out += bytes(d.value)
    elif tag == 0x00:
        out.append(0)
    elif tag == 0x0A:
        raw = str(d.value).encode("latin-1")
        out.append(tag)
        out += _put_length(len(raw))
        out += raw
    elif tag == 0x04:
        bits, raw = d.value
        out.append(tag)
        out += _put_length(bits)
        out += bytes(raw)
    elif tag == 0x13:
        desc, contents = d.value
        out.append(tag)
        out += bytes(desc)
        out += _put_length(len(contents))
        out += bytes(contents)
    else:
        out.append(0x19)
        out += bytes(d.value)


def encode_data(d: Data) -> bytes:
    out = bytearray()
    _encode_into(d, out)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    kind: int  # GET, SET, ACTION, GET_WITH_SELECTION
    class_id: int
    obis: bytes
    attribute: int  # attribute or method id
    selector: tuple[int, Data] | None = None


@dataclass(frozen=True, slots=True)
class AccessRequest:
    invoke_id: int
    specs: tuple[RequestSpec, ...]
    data: tuple[Data, ...]
    date_time: bytes = b""

    def encode(self) -> bytes:
        out = bytearray((ACCESS_REQUEST,))
        out += self.invoke_id.to_bytes(4, "big") + _put_length(len(self.date_time)) + self.date_time
        out += _put_length(len(self.specs))
        for s in self.specs:
            out += bytes((s.kind,)) + s.class_id.to_bytes(2, "big") + s.obis + bytes((s.attribute,))
            if s.kind == GET_WITH_SELECTION:
                sel = s.selector or (0, NULL)
                out += bytes((sel[0],)) + encode_data(sel[1])
        out += _put_length(len(self.data))
        for d in self.data:
            _encode_into(d, out)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class AccessResponse:
    invoke_id: int
    data: tuple[Data, ...]
    results: tuple[tuple[int, int], ...]  # (kind, result code)
    date_time: bytes = b""

    def encode(self) -> bytes:
        out = bytearray((ACCESS_RESPONSE,))
        out += self.invoke_id.to_bytes(4, "big") + _put_length(len(self.date_time)) + self.date_time
        out += b"\x00" + _put_length(len(self.data))
        for d in self.data:
            _encode_into(d, out)
        out += _put_length(len(self.results)) + b"".join(bytes((k, r)) for k, r in self.results)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class DataNotification:
    """A DLMS alert: alert code, timestamp and optional content (GBCS 0F form)."""

    invoke_id: int
    alert_code: int
    timestamp: bytes  # 12-byte DLMS date-time
    content: tuple[Data, ...] = ()

    def encode(self) -> bytes:
        body = Data("structure", (Data("long-unsigned", self.alert_code), Data("octet-string", self.timestamp),
                                  *self.content))
        return bytes((DATA_NOTIFICATION,)) + self.invoke_id.to_bytes(4, "big") + b"\x00" + encode_data(body)


def invoke_id_for(counter: int) -> int:
    """GBCS: 0x20 in the top byte, then the low 24 bits of the originator counter."""
    return 0x20000000 | (counter & 0xFFFFFF)


def _header(data: bytes, tag: int) -> tuple[int, bytes, int]:
    if len(data) < 6 or data[0] != tag:
        raise DecodeError(f"expected DLMS tag 0x{tag:02X}", field="dlms.tag", offset=0)
    invoke = int.from_bytes(data[1:5], "big")
    n, pos = _length(data, 5, "dlms.date_time")
    if pos + n > len(data):
        raise TruncatedError("date-time runs past the end", field="dlms.date_time", offset=5)
    return invoke, data[pos:pos + n], pos + n


def _count(data: bytes, pos: int, name: str) -> tuple[int, int]:
    return _length(data, pos, name)


def decode_access_request(data: bytes) -> AccessRequest:
    invoke, dt, pos = _header(data, ACCESS_REQUEST)
    n, pos = _count(data, pos, "dlms.specs")
    specs = []
    for i in range(n):
        if pos + 10 > len(data):
            raise TruncatedError("ends inside a request specification", field=f"dlms.specs[{i}]", offset=pos)
        kind = data[pos]
        if kind not in SPEC_NAMES:
            raise DecodeError(f"unknown request specification 0x{kind:02X}", field=f"dlms.specs[{i}]", offset=pos)
        class_id = int.from_bytes(data[pos + 1:pos + 3], "big")
        ob, attr = data[pos + 3:pos + 9], data[pos + 9]
        pos += 10
        selector = None
        if kind == GET_WITH_SELECTION:
            if pos >= len(data):
                raise TruncatedError("ends before the selector", field=f"dlms.specs[{i}].selector", offset=pos)
            sel_id = data[pos]
            sel_data, pos = decode_data(data, pos + 1, f"dlms.specs[{i}].selector")
            selector = (sel_id, sel_data)
        specs.append(RequestSpec(kind, class_id, ob, attr, selector))
    n, pos = _count(data, pos, "dlms.data")
    items = []
    for i in range(n):
        item, pos = decode_data(data, pos, f"dlms.data[{i}]")
        items.append(item)
    if pos != len(data):
        raise DecodeError(f"{len(data) - pos} bytes after the access-request", field="dlms.end", offset=pos)
    return AccessRequest(invoke, tuple(specs), tuple(items), dt)


def decode_access_response(data: bytes) -> AccessResponse:
    invoke, dt, pos = _header(data, ACCESS_RESPONSE)
    if pos >= len(data) or data[pos] != 0:
        raise DecodeError("access-request-specification echo is not supported", field="dlms.echo", offset=pos)
    n, pos = _count(data, pos + 1, "dlms.data")
    items = []
    for i in range(n):
        item, pos = decode_data(data, pos, f"dlms.data[{i}]")
        items.append(item)
    n, pos = _count(data, pos, "dlms.results")
    if pos + 2 * n != len(data):
        raise DecodeError("result list does not end the response", field="dlms.results", offset=pos)
    results = tuple((data[pos + 2 * i], data[pos + 2 * i + 1]) for i in range(n))
    return AccessResponse(invoke, tuple(items), results, dt)


def decode_data_notification(data: bytes) -> DataNotification:
    invoke, _, pos = _header(data, DATA_NOTIFICATION)
    body, end = decode_data(data, pos, "dlms.notification")
    if end != len(data):
        raise DecodeError("bytes after the notification", field="dlms.end", offset=end)
    items: tuple[Data, ...] = body.value if body.type == "structure" else ()
    if len(items) < 2 or items[0].type != "long-unsigned" or items[1].type != "octet-string":
        raise DecodeError("notification must start with alert code and timestamp", field="dlms.notification",
                          offset=pos)
    return DataNotification(invoke, items[0].value, items[1].value, tuple(items[2:]))


def _article(name: str) -> str:
    """``a boolean``, ``an enum``, ``an integer``: the type named in an error, with its article."""
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
