"""DUIS-level request parameters as builders read them, and their GBCS encodings.

A request body is the SRV's XML body turned into nested mappings (element name -> text,
mapping or list). Builders look elements up by their DUIS name wherever they sit in the
body (``ReadLogPeriod/StartDateTime`` or ``StartDateTime``), so a caller may give the
body with or without the SRV's wrapping element. Absent elements give the builder's
default, so the SIT matrix's empty bodies still produce a well-formed command.

Time encodings used by ESME commands (GBCS 7.2.x, as the RTDS reference encodes them):
a 12-byte DLMS date-time with day-of-week, hundredths, deviation and status "not
specified" (``..FF hh mm ss 00 8000 FF``); selective-access bounds as seconds since
2000-01-01T00:00:00Z (``double-long-unsigned``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from emulator.gbcs.errors import EncodeError

EPOCH_2000 = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)
# Execution date-time of a command that runs on receipt, and of a cancellation (GBCS 7.2.x); the
# all-FF date-time also means "not specified" where a time is not used (the clock's preset time).
IMMEDIATE = bytes.fromhex("0000000000000000008000FF")
NOT_SPECIFIED = bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")
CANCEL = NOT_SPECIFIED
# Defaults when a log period is absent: everything the device holds.
ALL_FROM = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)
ALL_TO = _dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=_dt.UTC)


class ParameterError(EncodeError):
    """A DUIS parameter that cannot be encoded; names the element."""


class Params:
    """Read access to a DUIS body by element name."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body

    def find(self, name: str, within: Mapping[str, Any] | None = None) -> Any:
        """The first element called ``name`` (depth first), or None."""
        return _find(self.body if within is None else within, name)

    def has(self, name: str) -> bool:
        return self.find(name) is not None

    def text(self, name: str, default: str) -> str:
        v = self.find(name)
        return default if v is None or isinstance(v, Mapping | list) else str(v).strip()

    def int(self, name: str, default: int) -> int:
        v = self.find(name)
        if v is None:
            return default
        try:
            return int(str(v).strip())
        except ValueError:
            raise ParameterError(f"{name} must be an integer, got {v!r}", field=name) from None

    def bool(self, name: str, default: bool) -> bool:
        v = self.find(name)
        if v is None:
            return default
        text = str(v).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ParameterError(f"{name} must be a boolean, got {v!r}", field=name)

    def datetime(self, name: str, default: _dt.datetime | None = None) -> _dt.datetime | None:
        v = self.find(name)
        if v is None:
            return default
        return parse_datetime(str(v), name)

    def period(self) -> tuple[_dt.datetime, _dt.datetime]:
        """``ReadLogPeriod`` (Start/EndDateTime), everything when absent."""
        start = self.datetime("StartDateTime", ALL_FROM)
        end = self.datetime("EndDateTime", ALL_TO)
        assert start is not None and end is not None
        return start, end


def _find(node: Any, name: str) -> Any:
    if type(node) is dict or isinstance(node, Mapping):  # a dict first: the ABC check is slow, bodies are dicts
        if name in node:
            return node[name]
        for v in node.values():
            hit = _find(v, name)
            if hit is not None:
                return hit
    elif isinstance(node, list):
        for v in node:
            hit = _find(v, name)
            if hit is not None:
                return hit
    return None


def parse_datetime(text: str, name: str = "dateTime") -> _dt.datetime:
    """An xs:dateTime; no zone means UTC (DUIS times are UTC)."""
    try:
        t = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(f"{name} is not an xs:dateTime: {text!r}", field=name) from None
    return t.replace(tzinfo=_dt.UTC) if t.tzinfo is None else t.astimezone(_dt.UTC)


def dlms_datetime(t: _dt.datetime) -> bytes:
    """12-byte DLMS date-time as GBCS commands carry it (weekday, deviation, status unspecified)."""
    t = t.astimezone(_dt.UTC)
    return (t.year.to_bytes(2, "big") + bytes((t.month, t.day, 0xFF, t.hour, t.minute, t.second, 0x00))
            + b"\x80\x00\xff")


def dlms_date(t: _dt.datetime) -> bytes:
    """5-byte DLMS date (year, month, day, weekday unspecified)."""
    return t.year.to_bytes(2, "big") + bytes((t.month, t.day, 0xFF))


def seconds_since_2000(t: _dt.datetime) -> int:
    return int((t - EPOCH_2000).total_seconds())


def execution_time(p: Params) -> bytes:
    """``ExecutionDateTime`` of a future-datable SRV; immediate when absent."""
    t = p.datetime("ExecutionDateTime")
    return IMMEDIATE if t is None else dlms_datetime(t)
