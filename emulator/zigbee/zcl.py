"""ZCL frames (Zigbee Cluster Library 2.4) and a declarative command codec.

Each command is a frozen dataclass with ``CLUSTER``, ``COMMAND_ID``, ``DIRECTION`` and a
``SCHEMA`` of (field, type) pairs; one generic codec encodes and decodes them all, so a
command is its table row. Fields are little-endian, as ZCL is. Optional trailing fields
are present when a flag field says so (``PRESENT_IF``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

from emulator.zigbee.errors import ZclDecodeError

CLIENT_TO_SERVER = 0
SERVER_TO_CLIENT = 1

# Field types: (size or None for "the rest", decode, encode).
_INT_SIZES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}


def _enc(kind: str, value: Any) -> bytes:
    if kind in _INT_SIZES:
        return int(value).to_bytes(_INT_SIZES[kind], "little")
    if kind == "bool":
        return b"\x01" if value else b"\x00"
    if kind == "eui64":
        return bytes(value)[::-1]  # EUI-64s go little-endian on the air
    if kind == "bytes":
        return bytes(value)
    if kind == "lbytes":  # octets with a one-byte length in front (e.g. OTA data_size + data)
        if len(value) > 255:
            raise ValueError("lbytes field longer than 255 bytes")
        return bytes((len(value),)) + bytes(value)
    raise ValueError(f"unknown ZCL field type {kind!r}")


def _dec(kind: str, data: bytes, pos: int, name: str) -> tuple[Any, int]:
    if kind in _INT_SIZES:
        n = _INT_SIZES[kind]
        if pos + n > len(data):
            raise ZclDecodeError(f"ends inside {kind} field", field=name, offset=pos)
        return int.from_bytes(data[pos:pos + n], "little"), pos + n
    if kind == "bool":
        if pos >= len(data):
            raise ZclDecodeError("ends inside bool field", field=name, offset=pos)
        return data[pos] != 0, pos + 1
    if kind == "eui64":
        if pos + 8 > len(data):
            raise ZclDecodeError("ends inside EUI-64 field", field=name, offset=pos)
        return data[pos:pos + 8][::-1], pos + 8
    if kind == "lbytes":
        if pos >= len(data) or pos + 1 + data[pos] > len(data):
            raise ZclDecodeError("length-prefixed octets run past the end", field=name, offset=pos)
        return data[pos + 1:pos + 1 + data[pos]], pos + 1 + data[pos]
    return data[pos:], len(data)


@dataclass(frozen=True, slots=True)
class ZclHeader:
    frame_control: int
    sequence: int
    command_id: int
    manufacturer_code: int | None = None

    @property
    def cluster_specific(self) -> bool:
        return self.frame_control & 0x03 == 0x01

    @property
    def direction(self) -> int:
        return SERVER_TO_CLIENT if self.frame_control & 0x08 else CLIENT_TO_SERVER

    @property
    def disable_default_response(self) -> bool:
        return bool(self.frame_control & 0x10)

    def encode(self) -> bytes:
        out = bytes((self.frame_control,))
        if self.frame_control & 0x04:
            out += (self.manufacturer_code or 0).to_bytes(2, "little")
        return out + bytes((self.sequence, self.command_id))

    @classmethod
    def decode(cls, data: bytes) -> tuple[ZclHeader, int]:
        if len(data) < 3:
            raise ZclDecodeError("ZCL frame shorter than its 3-byte header", field="zcl.header", offset=0)
        fc = data[0]
        if fc & 0x04:
            if len(data) < 5:
                raise ZclDecodeError("ends inside the manufacturer code", field="zcl.manufacturer_code", offset=1)
            return cls(fc, data[3], data[4], int.from_bytes(data[1:3], "little")), 5
        return cls(fc, data[1], data[2]), 3


def cluster_header(direction: int, sequence: int, command_id: int, *,
                   disable_default_response: bool = True) -> ZclHeader:
    fc = 0x01 | (0x08 if direction == SERVER_TO_CLIENT else 0) | (0x10 if disable_default_response else 0)
    return ZclHeader(fc, sequence & 0xFF, command_id)


C = TypeVar("C", bound="ZclCommand")


@dataclass(frozen=True, slots=True)
class ZclCommand:
    """Base of every cluster command: subclasses declare the class variables and fields."""

    CLUSTER: ClassVar[int]
    COMMAND_ID: ClassVar[int]
    DIRECTION: ClassVar[int]
    SCHEMA: ClassVar[tuple[tuple[str, str], ...]]
    #: field -> predicate over the fields decoded so far: the field is present only if it holds.
    PRESENT_IF: ClassVar[dict[str, Callable[[dict[str, Any]], bool]]] = {}

    def encode_payload(self) -> bytes:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        out = bytearray()
        for name, kind in self.SCHEMA:
            cond = self.PRESENT_IF.get(name)
            if cond is not None and not cond(values):
                continue
            out += _enc(kind, values[name])
        return bytes(out)

    def encode(self, sequence: int) -> bytes:
        """The whole ZCL frame (cluster-specific, default response disabled)."""
        return cluster_header(self.DIRECTION, sequence, self.COMMAND_ID).encode() + self.encode_payload()

    @classmethod
    def decode_payload(cls: type[C], data: bytes) -> C:
        values: dict[str, Any] = {}
        pos = 0
        for name, kind in cls.SCHEMA:
            cond = cls.PRESENT_IF.get(name)
            if cond is not None and not cond(values):
                continue
            values[name], pos = _dec(kind, data, pos, name)
        if pos != len(data):
            raise ZclDecodeError(f"{len(data) - pos} unexpected bytes after {cls.__name__}", field="end", offset=pos)
        return cls(**values)


REGISTRY: dict[tuple[int, int, int], type[ZclCommand]] = {}


def register(*classes: type[ZclCommand]) -> None:
    """Add command classes to the registry; a duplicate id is a programming error caught at import."""
    for cls in classes:
        key = (cls.CLUSTER, cls.DIRECTION, cls.COMMAND_ID)
        if key in REGISTRY and REGISTRY[key] is not cls:
            raise RuntimeError(f"duplicate ZCL command {key}: {REGISTRY[key].__name__} and {cls.__name__}")
        REGISTRY[key] = cls


def decode_command(cluster: int, frame: bytes) -> tuple[ZclHeader, ZclCommand | bytes]:
    """Header and command of a ZCL frame; unknown or general commands come back as raw bytes."""
    header, pos = ZclHeader.decode(frame)
    if not header.cluster_specific:
        return header, frame[pos:]
    cls = REGISTRY.get((cluster, header.direction, header.command_id))
    if cls is None:
        return header, frame[pos:]
    return header, cls.decode_payload(frame[pos:])
