"""DLMS compact-array contents (IEC 62056-6-2 4.1.5.2), as ESME logs and profiles answer.

A compact array carries its element type once (the *type description*) and then the
elements' values packed without tags. Rows are given as nested tuples matching the
description: ints for fixed-size types, bytes for octet strings, tuples for arrays and
structures. :func:`compact` returns the :class:`~emulator.gbcs.dlms.Data` to send.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from emulator.gbcs.dlms import Data

Row = Sequence[object]

_FIXED = {0x03: ">B", 0x05: ">i", 0x06: ">I", 0x0F: ">b", 0x10: ">h", 0x11: ">B", 0x12: ">H", 0x14: ">q",
          0x15: ">Q", 0x16: ">B"}


class CompactError(ValueError):
    """A row does not fit the type description; names where."""


def _pack(desc: bytes, pos: int, value: object, out: bytearray, where: str) -> int:
    """Pack ``value`` per the description at ``pos``; returns the position after that description."""
    tag = desc[pos]
    if tag in _FIXED:
        if not isinstance(value, int):
            raise CompactError(f"{where}: expected an integer for type 0x{tag:02X}, got {value!r}")
        out += struct.pack(_FIXED[tag], value)
        return pos + 1
    if tag == 0x09:
        if not isinstance(value, bytes | bytearray):
            raise CompactError(f"{where}: expected bytes for an octet-string, got {value!r}")
        if len(value) > 0x7F:
            raise CompactError(f"{where}: octet-string longer than 127 bytes")
        out += bytes((len(value),)) + bytes(value)
        return pos + 1
    if tag == 0x01:  # array: 2-byte count, element type
        count = int.from_bytes(desc[pos + 1:pos + 3], "big")
        items = value if isinstance(value, Sequence) and not isinstance(value, bytes | str) else None
        if items is None or len(items) != count:
            raise CompactError(f"{where}: expected {count} array elements")
        end = pos + 3
        for i, item in enumerate(items):
            end = _pack(desc, pos + 3, item, out, f"{where}[{i}]")
        return end
    if tag == 0x02:
        count = desc[pos + 1]
        fields = value if isinstance(value, Sequence) and not isinstance(value, bytes | str) else None
        if fields is None or len(fields) != count:
            raise CompactError(f"{where}: expected a structure of {count}")
        pos += 2
        for i, item in enumerate(fields):
            pos = _pack(desc, pos, item, out, f"{where}.{i}")
        return pos
    raise CompactError(f"{where}: type 0x{tag:02X} is not supported in compact arrays here")


def compact(description: bytes, rows: Iterable[Row]) -> Data:
    out = bytearray()
    for i, row in enumerate(rows):
        _pack(description, 0, row, out, f"row {i}")
    return Data("compact-array", (description, bytes(out)))


def _unpack(desc: bytes, pos: int, data: bytes, at: int, where: str) -> tuple[object, int, int]:
    """(value, position after its description, position after its contents)."""
    if pos >= len(desc):
        raise CompactError(f"{where}: type description ends early")
    tag = desc[pos]
    if tag in _FIXED:
        size = struct.calcsize(_FIXED[tag])
        if at + size > len(data):
            raise CompactError(f"{where}: contents end inside a value")
        return struct.unpack_from(_FIXED[tag], data, at)[0], pos + 1, at + size
    if tag == 0x09:
        if at >= len(data) or at + 1 + data[at] > len(data):
            raise CompactError(f"{where}: octet-string runs past the contents")
        return data[at + 1:at + 1 + data[at]], pos + 1, at + 1 + data[at]
    if tag == 0x01:
        if pos + 3 > len(desc):
            raise CompactError(f"{where}: array description ends early")
        count = int.from_bytes(desc[pos + 1:pos + 3], "big")
        items, end = [], pos + 3
        for i in range(count):
            item, end, at = _unpack(desc, pos + 3, data, at, f"{where}[{i}]")
            items.append(item)
        if count == 0:
            end = _skip(desc, pos + 3, where)
        return tuple(items), end, at
    if tag == 0x02:
        if pos + 2 > len(desc):
            raise CompactError(f"{where}: structure description ends early")
        fields, p = [], pos + 2
        for i in range(desc[pos + 1]):
            item, p, at = _unpack(desc, p, data, at, f"{where}.{i}")
            fields.append(item)
        return tuple(fields), p, at
    raise CompactError(f"{where}: type 0x{tag:02X} is not supported in compact arrays here")


def _skip(desc: bytes, pos: int, where: str) -> int:
    """Position after one type description (for an empty array's element type)."""
    if pos >= len(desc):
        raise CompactError(f"{where}: type description ends early")
    if desc[pos] == 0x01:
        return _skip(desc, pos + 3, where)
    if desc[pos] == 0x02:
        p = pos + 2
        for _ in range(desc[pos + 1] if pos + 1 < len(desc) else 0):
            p = _skip(desc, p, where)
        return p
    return pos + 1


def rows_of(value: Data) -> list[tuple[object, ...]]:
    """The rows of a compact array (the inverse of :func:`compact`); raises :class:`CompactError`."""
    if value.type != "compact-array":
        raise CompactError(f"expected a compact-array, got {value.type}")
    description, contents = value.value
    out: list[tuple[object, ...]] = []
    at = 0
    while at < len(contents):
        row, _, at = _unpack(bytes(description), 0, bytes(contents), at, f"row {len(out)}")
        out.append(row if isinstance(row, tuple) else (row,))
    return out
