"""A minimal IEEE 802.15.4 MAC data-frame header (802.15.4-2006 7.2.1) and its FCS.

Enough to put Zigbee frames in a capture: data frames without MAC security, with short
or extended addresses. The frame-control word is derived from the header's fields
(which addresses are present, whether the source PAN is elided), so a header can never
say one thing in its flags and another in its fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from emulator.zigbee.crc import crc16_kermit
from emulator.zigbee.errors import FrameDecodeError, ZigbeeEncodeError
from emulator.zigbee.types import Reader, encode_uint

BROADCAST_PAN = 0xFFFF
BROADCAST_ADDRESS = 0xFFFF
FCS_LENGTH = 2

Address = int | bytes
"""A short address (int) or an extended address (8 bytes, most significant first)."""


class MacFrameType(IntEnum):
    BEACON = 0
    DATA = 1
    ACK = 2
    MAC_COMMAND = 3


class MacAddressMode(IntEnum):
    NONE = 0  # mode 1 is reserved
    SHORT = 2
    EXTENDED = 3


@dataclass(frozen=True, slots=True)
class MacFrameControl:
    """The 16-bit frame control field (802.15.4-2006 7.2.1.1); bits 7-9 are reserved."""

    frame_type: MacFrameType = MacFrameType.DATA
    security_enabled: bool = False
    frame_pending: bool = False
    ack_request: bool = False
    pan_id_compression: bool = False
    dst_addr_mode: MacAddressMode = MacAddressMode.SHORT
    frame_version: int = 0
    src_addr_mode: MacAddressMode = MacAddressMode.SHORT

    def to_int(self) -> int:
        return (self.frame_type | self.security_enabled << 3 | self.frame_pending << 4 | self.ack_request << 5
                | self.pan_id_compression << 6 | self.dst_addr_mode << 10 | self.frame_version << 12
                | self.src_addr_mode << 14)

    @classmethod
    def from_int(cls, value: int) -> MacFrameControl:
        if value & 0b111 > MacFrameType.MAC_COMMAND:
            raise FrameDecodeError(f"MAC frame type {value & 0b111} is reserved", field="mac.frame_type", offset=0)
        if value & 0x0380:
            raise FrameDecodeError("reserved frame-control bits 7-9 are set", field="mac.frame_control", offset=0)
        return cls(MacFrameType(value & 0b111), bool(value & 0x08), bool(value & 0x10), bool(value & 0x20),
                   bool(value & 0x40), _addr_mode(value >> 10 & 0b11, "mac.dst_addr_mode"), value >> 12 & 0b11,
                   _addr_mode(value >> 14 & 0b11, "mac.src_addr_mode"))


def _addr_mode(bits: int, field: str) -> MacAddressMode:
    if bits == 1:
        raise FrameDecodeError("reserved addressing mode 1", field=field, offset=0)
    return MacAddressMode(bits)


def _mode(address: Address | None) -> MacAddressMode:
    if address is None:
        return MacAddressMode.NONE
    return MacAddressMode.EXTENDED if isinstance(address, bytes) else MacAddressMode.SHORT


@dataclass(frozen=True, slots=True)
class MacHeader:
    """MAC header of a data frame. ``src_pan`` is None when PAN ID compression elides it
    (the source PAN is then the destination PAN)."""

    sequence: int
    dst_pan: int | None
    dst: Address | None
    src_pan: int | None
    src: Address | None
    ack_request: bool = False
    frame_pending: bool = False
    frame_version: int = 0
    """0 for 802.15.4-2003 frames, 1 for 2006; Zigbee PRO data frames use 0."""

    def __post_init__(self) -> None:
        encode_uint(self.sequence, 1, "mac.sequence")
        if (self.dst is None) != (self.dst_pan is None):
            raise ZigbeeEncodeError("a destination PAN goes with a destination address", field="mac.dst_pan")
        if self.src is None and self.src_pan is not None:
            raise ZigbeeEncodeError("a source PAN needs a source address", field="mac.src_pan")
        if self.src is not None and self.dst is None and self.src_pan is None:
            raise ZigbeeEncodeError("PAN ID compression needs both addresses", field="mac.src_pan")
        if self.frame_version not in (0, 1):
            raise ZigbeeEncodeError("only 2003/2006 frame versions are supported", field="mac.frame_version")

    @property
    def frame_control(self) -> MacFrameControl:
        compressed = self.src is not None and self.src_pan is None
        return MacFrameControl(MacFrameType.DATA, False, self.frame_pending, self.ack_request, compressed,
                               _mode(self.dst), self.frame_version, _mode(self.src))

    def encode(self) -> bytes:
        out = bytearray(self.frame_control.to_int().to_bytes(2, "little"))
        out.append(self.sequence)
        for pan, address, name in ((self.dst_pan, self.dst, "dst"), (self.src_pan, self.src, "src")):
            if pan is not None:
                out += encode_uint(pan, 2, f"mac.{name}_pan")
            if isinstance(address, bytes):
                if len(address) != 8:
                    raise ZigbeeEncodeError("an extended address is 8 bytes", field=f"mac.{name}")
                out += address[::-1]
            elif address is not None:
                out += encode_uint(address, 2, f"mac.{name}")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> tuple[MacHeader, bytes]:
        r = Reader(data, error=FrameDecodeError)
        fc = MacFrameControl.from_int(r.uint(2, "mac.frame_control"))
        if fc.frame_type is not MacFrameType.DATA:
            raise FrameDecodeError(f"only data frames are supported, not {fc.frame_type.name}",
                                   field="mac.frame_type", offset=0)
        if fc.security_enabled:
            raise FrameDecodeError("MAC security is not supported", field="mac.security_enabled", offset=0)
        if fc.frame_version > 1:
            raise FrameDecodeError(f"frame version {fc.frame_version} is not supported", field="mac.frame_version",
                                   offset=0)
        if fc.pan_id_compression and (fc.dst_addr_mode is MacAddressMode.NONE
                                      or fc.src_addr_mode is MacAddressMode.NONE):
            raise FrameDecodeError("PAN ID compression without both addresses", field="mac.frame_control",
                                   offset=0)
        sequence = r.take(1, "mac.sequence")[0]
        dst_pan, dst = _read_address(r, fc.dst_addr_mode, "dst", with_pan=True)
        src_pan, src = _read_address(r, fc.src_addr_mode, "src", with_pan=not fc.pan_id_compression)
        header = cls(sequence, dst_pan, dst, src_pan, src, fc.ack_request, fc.frame_pending, fc.frame_version)
        return header, r.rest()


def _read_address(r: Reader, mode: MacAddressMode, name: str, *,
                  with_pan: bool) -> tuple[int | None, Address | None]:
    if mode is MacAddressMode.NONE:
        return None, None
    pan = r.uint(2, f"mac.{name}_pan") if with_pan else None
    if mode is MacAddressMode.EXTENDED:
        return pan, r.take(8, f"mac.{name}")[::-1]
    return pan, r.uint(2, f"mac.{name}")


def with_fcs(frame: bytes) -> bytes:
    """``frame`` with its FCS (CRC-16/KERMIT, little-endian) appended."""
    return frame + crc16_kermit(frame).to_bytes(FCS_LENGTH, "little")


def strip_fcs(frame: bytes) -> bytes:
    """``frame`` without its FCS, after checking it."""
    if len(frame) < FCS_LENGTH:
        raise FrameDecodeError("frame shorter than its FCS", field="mac.fcs", offset=0)
    body, fcs = frame[:-FCS_LENGTH], int.from_bytes(frame[-FCS_LENGTH:], "little")
    expected = crc16_kermit(body)
    if fcs != expected:
        raise FrameDecodeError(f"FCS is {fcs:04X}, expected {expected:04X}", field="mac.fcs", offset=len(body))
    return body
