"""The EUI-64: the 8-byte IEEE address every GB smart metering device is known by.

One type for it above the wire, instead of bytes in some layers and hex strings in others.
It lives in the Zigbee layer (the lowest that names a device by it: IEEE 802.15.4 and ZDO), so
the devices, the DSP and the transport can all use it. Byte order is GBCS's (big-endian, the
order DUIS and every log writes it); the Zigbee wire carries it reversed, and that stays at the
wire. ``str()`` gives the canonical form: 16 upper-case hex digits, no separators.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.zigbee.errors import ZigbeeDecodeError

SIZE = 8
_HEX = frozenset("0123456789abcdefABCDEF")


class Eui64Error(ZigbeeDecodeError):
    """Bytes or text that are not an EUI-64; the message says what they were."""


@dataclass(frozen=True, slots=True, order=True)
class Eui64:
    """An EUI-64; hashable, so it is a dict key and a set member."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != SIZE:
            raise Eui64Error(f"an EUI-64 is {SIZE} bytes, not {self.raw!r}", field="eui")

    @classmethod
    def from_hex(cls, text: str) -> Eui64:
        """From 16 hex digits, in either case; DUIS's ``00-DB-12-...`` pairs are accepted too."""
        digits = text.replace("-", "") if isinstance(text, str) else text
        if not isinstance(digits, str) or len(digits) != 2 * SIZE or not _HEX.issuperset(digits):
            raise Eui64Error(f"an EUI-64 is {2 * SIZE} hex digits, not {text!r}", field="eui")
        return cls(bytes.fromhex(digits))

    @classmethod
    def from_hex_or_none(cls, text: str) -> Eui64 | None:
        """As :meth:`from_hex`, or None when ``text`` is not an EUI-64 (a lookup that finds nothing)."""
        try:
            return cls.from_hex(text)
        except Eui64Error:
            return None

    def __bytes__(self) -> bytes:
        return self.raw

    def __str__(self) -> str:
        return self.raw.hex().upper()

    def __repr__(self) -> str:
        return f"Eui64({str(self)!r})"
