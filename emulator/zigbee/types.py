"""Wire types for the Zigbee layer, named as the ZCL spec names them (ZCL 2.6.2).

Everything on a Zigbee wire is little-endian, so multi-byte types carry ``_le`` in their
name (GBCS, above us, is big-endian: the suffix keeps the two from being confused).
Each type encodes one value and decodes one value from a :class:`Reader`, the cursor
that turns every short read into a decode error naming the field and the offset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from emulator.zigbee.errors import ZclDecodeError, ZigbeeDecodeError, ZigbeeEncodeError

T = TypeVar("T")


class Reader:
    """A cursor over received bytes; errors are raised as ``error`` (the layer's decode error)."""

    __slots__ = ("_data", "error", "offset")

    def __init__(self, data: bytes, *, error: type[ZigbeeDecodeError] = ZclDecodeError, offset: int = 0) -> None:
        self._data = bytes(data)
        self.error = error
        self.offset = offset

    @property
    def remaining(self) -> int:
        return len(self._data) - self.offset

    def take(self, n: int, field: str) -> bytes:
        """The next ``n`` bytes; the frame ending first is the peer's fault, named by field."""
        if n < 0 or n > self.remaining:
            raise self.error(f"frame ends inside {field} ({n} bytes needed, {self.remaining} left)",
                             field=field, offset=self.offset)
        out = self._data[self.offset:self.offset + n]
        self.offset += n
        return out

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.take(size, field), "little")

    def rest(self) -> bytes:
        out = self._data[self.offset:]
        self.offset = len(self._data)
        return out

    def expect_end(self, what: str) -> None:
        if self.remaining:
            raise self.error(f"{self.remaining} unexpected bytes after {what}", field="end", offset=self.offset)


def encode_uint(value: int, size: int, field: str) -> bytes:
    """``value`` as ``size`` little-endian bytes; out of range is our caller's mistake."""
    if not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
        raise ZigbeeEncodeError(f"{value!r} does not fit an unsigned {8 * size}-bit field", field=field)
    return value.to_bytes(size, "little")


class WireType(ABC, Generic[T]):
    """One ZCL data type: how a value of it goes on the wire and comes back."""

    name: str

    @abstractmethod
    def encode(self, value: T, field: str) -> bytes: ...

    @abstractmethod
    def decode(self, reader: Reader, field: str) -> T: ...

    def __repr__(self) -> str:
        return self.name


class UInt(WireType[int]):
    """Unsigned integer, enumeration, bitmap or UTC time: all are plain little-endian integers."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size

    def encode(self, value: int, field: str) -> bytes:
        return encode_uint(value, self.size, field)

    def decode(self, reader: Reader, field: str) -> int:
        return reader.uint(self.size, field)


class Boolean(WireType[bool]):
    """ZCL boolean: 0x00 false, 0x01 true; anything else (0xFF is "invalid") is refused."""

    name = "boolean"

    def encode(self, value: bool, field: str) -> bytes:
        return b"\x01" if value else b"\x00"

    def decode(self, reader: Reader, field: str) -> bool:
        pos = reader.offset
        byte = reader.take(1, field)[0]
        if byte > 1:
            raise reader.error(f"boolean 0x{byte:02X} is neither 0x00 nor 0x01", field=field, offset=pos)
        return byte == 1


class Eui64(WireType[bytes]):
    """IEEE address. Held as printed on labels (most significant byte first), sent reversed."""

    name = "EUI64"

    def encode(self, value: bytes, field: str) -> bytes:
        if not isinstance(value, bytes | bytearray) or len(value) != 8:
            raise ZigbeeEncodeError(f"an EUI-64 is 8 bytes, got {value!r}", field=field)
        return bytes(value)[::-1]

    def decode(self, reader: Reader, field: str) -> bytes:
        return reader.take(8, field)[::-1]


class OctetString(WireType[bytes]):
    """Octets with a one-byte length in front (ZCL octstr; OTA data_size + image data)."""

    def __init__(self, name: str, max_length: int) -> None:
        self.name, self.max_length = name, max_length

    def encode(self, value: bytes, field: str) -> bytes:
        if not isinstance(value, bytes | bytearray) or len(value) > self.max_length:
            raise ZigbeeEncodeError(f"expected at most {self.max_length} bytes", field=field)
        return bytes((len(value),)) + bytes(value)

    def decode(self, reader: Reader, field: str) -> bytes:
        n = reader.take(1, field)[0]
        return reader.take(n, field)


class RestOfFrame(WireType[bytes]):
    """Opaque octets running to the end of the frame (Tunneling Transfer Data's ``data``)."""

    name = "octets"

    def encode(self, value: bytes, field: str) -> bytes:
        if not isinstance(value, bytes | bytearray):
            raise ZigbeeEncodeError(f"expected bytes, got {type(value).__name__}", field=field)
        return bytes(value)

    def decode(self, reader: Reader, field: str) -> bytes:
        return reader.rest()


uint8 = UInt("uint8", 1)
uint16_le = UInt("uint16", 2)
uint32_le = UInt("uint32", 4)
enum8 = UInt("enum8", 1)
bitmap8 = UInt("map8", 1)
bitmap16_le = UInt("map16", 2)
utc_time_le = UInt("UTC", 4)  # ZCL UTCTime: seconds since 2000-01-01 00:00 UTC
boolean = Boolean()
eui64_le = Eui64()
# A ZCL octstr length of 0xFF means "invalid", so it holds at most 254 bytes; the OTA
# data_size is a plain uint8 count and may reach 255.
octstr = OctetString("octstr", 0xFE)
sized_octets = OctetString("uint8 + octets", 0xFF)
rest_of_frame = RestOfFrame()
