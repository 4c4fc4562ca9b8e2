"""Small construct building blocks the GBCS frame definitions share.

construct has no BER length and no "optional trailer at end of stream", so they
live here. Everything else in the frame definitions is stock construct.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from construct import Construct, Container, StreamError, stream_read, stream_tell, stream_write

from emulator.gbcs.errors import DecodeError, TruncatedError  # imported once (each read of a length imported it)

_MAX_BER_BYTES = 2  # GBCS never needs lengths above 65535 (GBCS 4.3: at most 82 xx xx)


class BerLength(Construct):  # type: ignore[misc]
    """ASN.1 BER definite length: one byte below 0x80, else ``81 xx`` / ``82 xx xx``."""

    def _parse(self, stream: BinaryIO, context: Container, path: str) -> int:
        first = stream_read(stream, 1, path)[0]
        if first < 0x80:
            return int(first)
        count = first & 0x7F
        if count == 0 or count > _MAX_BER_BYTES:
            raise StreamError(f"BER length form 0x{first:02X} is not supported", path=path)
        raw = stream_read(stream, count, path)
        value = int.from_bytes(raw, "big")
        if ber_length(value) != bytes((first,)) + raw:  # one value, one encoding: decode(encode(x)) == x
            raise StreamError(f"BER length {(bytes((first,)) + raw).hex()} is not in its shortest form", path=path)
        return value

    def _build(self, obj: int, stream: BinaryIO, context: Container, path: str) -> int:
        data = ber_length(obj)
        stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        raise StreamError("BER length has no fixed size", path=path)


def ber_length(value: int) -> bytes:
    """Encode ``value`` as a BER definite length."""
    if value < 0:
        raise ValueError("negative length")
    if value < 0x80:
        return bytes((value,))
    if value <= 0xFF:
        return bytes((0x81, value))
    if value <= 0xFFFF:
        return bytes((0x82, value >> 8, value & 0xFF))
    raise ValueError(f"length {value} is above 65535")


def read_ber_length(data: bytes, pos: int, name: str) -> tuple[int, int]:
    """BER length at ``pos`` (envelope and DLMS alike); returns (value, position after it).

    Raises the GBCS layer's DecodeError/TruncatedError naming ``name`` and the offset.
    """
    if pos >= len(data):
        raise TruncatedError("message ends before the length", field=name, offset=pos)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > _MAX_BER_BYTES:
        raise DecodeError(f"BER length form 0x{first:02X} is not supported", field=name, offset=pos)
    if pos + 1 + count > len(data):
        raise TruncatedError("message ends inside the length", field=name, offset=pos)
    value = int.from_bytes(data[pos + 1:pos + 1 + count], "big")
    if ber_length(value) != data[pos:pos + 1 + count]:
        raise DecodeError(f"BER length {data[pos:pos + 1 + count].hex()} is not in its shortest form",
                          field=name, offset=pos)
    return value, pos + 1 + count


class OptionalAtEnd(Construct):  # type: ignore[misc]
    """``subcon`` if any bytes remain, else ``None`` (the Pre-Command has no signature byte)."""

    def __init__(self, subcon: Construct) -> None:
        super().__init__()
        self.subcon = subcon
        self.flagbuildnone = True

    def _parse(self, stream: BinaryIO, context: Container, path: str) -> Any:
        here = stream_tell(stream, path)
        if stream.read(1) == b"":
            return None
        stream.seek(here)
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj: Any, stream: BinaryIO, context: Container, path: str) -> Any:
        if obj is None:
            return None
        return self.subcon._build(obj, stream, context, path)

    def _sizeof(self, context: Container, path: str) -> int:
        raise StreamError("optional trailer has no fixed size", path=path)
