"""The 12-byte DLMS/COSEM date-time (IEC 62056-6-2 4.1.6.1) used in GBCS headers and payloads."""

from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass

from emulator.gbcs.errors import DecodeError

_LAYOUT = struct.Struct(">HBBBBBBBhB")
SIZE = 12
DEVIATION_NOT_SPECIFIED = -0x8000  # wire 0x8000


@dataclass(frozen=True, slots=True, init=False)
class DlmsDateTime:
    """A DLMS date-time, kept field by field so it round-trips byte for byte.

    ``0xFF`` / ``0xFFFF`` fields mean "not specified"; all-0xFF means "never".
    """

    year: int
    month: int
    day: int
    weekday: int
    hour: int
    minute: int
    second: int
    hundredths: int
    deviation: int = DEVIATION_NOT_SPECIFIED
    clock_status: int = 0x00

    def __init__(self, year: int, month: int, day: int, weekday: int, hour: int, minute: int, second: int,
                 hundredths: int, deviation: int = DEVIATION_NOT_SPECIFIED, clock_status: int = 0x00) -> None:
        # Hand-written, as frames.Message's: every GBCS header with a date-time makes one, and the
        # generated frozen __init__ sets its ten fields one costly object.__setattr__ at a time (the
        # slots' own descriptors set them for less).
        _S_YEAR(self, year)
        _S_MONTH(self, month)
        _S_DAY(self, day)
        _S_WEEKDAY(self, weekday)
        _S_HOUR(self, hour)
        _S_MINUTE(self, minute)
        _S_SECOND(self, second)
        _S_HUNDREDTHS(self, hundredths)
        _S_DEVIATION(self, deviation)
        _S_CLOCK_STATUS(self, clock_status)

    @classmethod
    def decode(cls, data: bytes, *, offset: int = 0) -> DlmsDateTime:
        if len(data) != SIZE:
            raise DecodeError(f"date-time must be {SIZE} bytes, got {len(data)}", field="date_time",
                              offset=offset)
        return cls(*_LAYOUT.unpack(data))

    def encode(self) -> bytes:
        return _LAYOUT.pack(self.year, self.month, self.day, self.weekday, self.hour, self.minute,
                            self.second, self.hundredths, self.deviation, self.clock_status)

    @classmethod
    def from_epoch(cls, seconds: float) -> DlmsDateTime:
        """UTC date-time for ``seconds`` since 1970 (the injected clock's time, never the wall clock)."""
        t = _dt.datetime.fromtimestamp(seconds, _dt.UTC)
        return cls(t.year, t.month, t.day, t.isoweekday(), t.hour, t.minute, t.second,
                   t.microsecond // 10_000, 0, 0x00)

    def to_epoch(self) -> float | None:
        """Seconds since 1970 (UTC), or ``None`` where a field is a wildcard."""
        if 0xFF in (self.month, self.day, self.hour, self.minute, self.second) or self.year == 0xFFFF:
            return None
        try:
            t = _dt.datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                             tzinfo=_dt.UTC)
        except ValueError:
            return None
        offset = 0 if self.deviation == DEVIATION_NOT_SPECIFIED else self.deviation * 60
        hundredths = 0 if self.hundredths == 0xFF else self.hundredths
        return t.timestamp() + offset + hundredths / 100

    def iso(self) -> str:
        """A readable form for reports; wildcard fields show as ``*``."""

        def f(v: int, wild: int, width: int) -> str:
            return "*" * width if v == wild else f"{v:0{width}d}"

        return (f"{f(self.year, 0xFFFF, 4)}-{f(self.month, 0xFF, 2)}-{f(self.day, 0xFF, 2)}"
                f"T{f(self.hour, 0xFF, 2)}:{f(self.minute, 0xFF, 2)}:{f(self.second, 0xFF, 2)}")


(_S_YEAR, _S_MONTH, _S_DAY, _S_WEEKDAY, _S_HOUR, _S_MINUTE, _S_SECOND, _S_HUNDREDTHS, _S_DEVIATION,
 _S_CLOCK_STATUS) = (DlmsDateTime.__dict__[name].__set__ for name in DlmsDateTime.__dataclass_fields__)
