"""A deterministic synthetic load: what an emulated meter "measures" (DV-4).

Readings are a pure function of (profile seed, time), so two runs with the same seed
read the same registers, and a device keeps no per-reading state: the import register
at any instant is the closed-form sum of its half-hourly consumptions. Shape: a daily
curve per load shape (domestic, economy7, flat, gas-heating), scaled per day by a
seeded factor so days differ but replay identically.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field

HALF_HOUR = 1800
DAY = 86400

# Relative demand per half-hour of the day (48 values), normalised below.
_SHAPES: dict[str, tuple[float, ...]] = {
    "flat": tuple(1.0 for _ in range(48)),
    # Domestic electricity: low overnight, morning and evening peaks.
    "domestic": tuple(
        0.35 + 0.6 * math.exp(-((h - 15.5) / 3) ** 2) + 1.1 * math.exp(-((h - 37) / 4) ** 2)
        for h in range(48)),
    # Economy 7: storage heating in the cheap night window (00:30-07:30).
    "economy7": tuple(
        (2.6 if 1 <= h < 15 else 0.4) + 0.5 * math.exp(-((h - 37) / 4) ** 2) for h in range(48)),
    # Gas: heating mornings and evenings, hot water through the day.
    "gas-heating": tuple(
        0.1 + 1.4 * math.exp(-((h - 14) / 2.5) ** 2) + 1.6 * math.exp(-((h - 36) / 3.5) ** 2)
        for h in range(48)),
}


@functools.lru_cache(maxsize=1 << 13)
def _unit(seed: int, *parts: int) -> float:
    """A uniform number in [0, 1) from the seed and parts (hash-based: stable across Pythons).
    Remembered for the latest few thousand: every register read asks for today's day factors."""
    h = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


@functools.cache
def _half_hours(shape: str, daily_kwh: float) -> tuple[float, ...]:
    """Wh per half-hour on an average day: one tuple shared by every meter of that shape and size."""
    raw = _SHAPES[shape]
    total = sum(raw)
    return tuple(daily_kwh * 1000 * v / total for v in raw)


@functools.cache
def _before(shape: str, daily_kwh: float) -> tuple[float, ...]:
    """Wh of an average day before each half-hour (index k: the first k half-hours), each summed
    once per shape and size exactly as a read summed them (every register read needs one)."""
    hh = _half_hours(shape, daily_kwh)
    return tuple(sum(hh[s] for s in range(k)) for k in range(49))


@dataclass(frozen=True, slots=True)
class LoadModel:
    """Energy in Wh as a function of time, for one meter.

    ``daily_kwh`` is the mean consumption per day; ``variation`` the +/- spread of the
    daily factor; ``start`` the instant the register reads ``initial_wh``.
    """

    seed: int
    shape: str = "domestic"
    daily_kwh: float = 8.0
    variation: float = 0.25
    start: float = 1767225600.0
    initial_wh: int = 0
    _hh: tuple[float, ...] = field(default=(), compare=False, repr=False)
    _before: tuple[float, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.shape not in _SHAPES:
            raise ValueError(f"load shape {self.shape!r} is not one of {sorted(_SHAPES)}")
        if self.daily_kwh < 0:
            raise ValueError("daily_kwh must not be negative")
        object.__setattr__(self, "_hh", _half_hours(self.shape, self.daily_kwh))
        object.__setattr__(self, "_before", _before(self.shape, self.daily_kwh))

    def day_factor(self, day: int) -> float:
        return 1.0 + self.variation * (2 * _unit(self.seed, day) - 1)

    def half_hour_wh(self, index: int) -> float:
        """Energy in the half-hour ``index`` (counted from ``start``)."""
        day, slot = divmod(index, 48)
        return self._hh[slot] * self.day_factor(day)

    def energy_wh(self, now: float) -> int:
        """The cumulative import register at ``now`` (Wh, integer as meters report)."""
        if now <= self.start:
            return self.initial_wh
        elapsed = now - self.start
        whole_days, rest = divmod(elapsed, DAY)
        base = sum(self.day_factor(d) for d in range(int(whole_days))) * self.daily_kwh * 1000
        day = int(whole_days)
        slots, part = divmod(rest, HALF_HOUR)
        today = self._before[int(slots)] * self.day_factor(day)
        if int(slots) < 48:
            today += self._hh[int(slots)] * self.day_factor(day) * (part / HALF_HOUR)
        return self.initial_wh + int(base + today)

    def power_w(self, now: float) -> int:
        """Instantaneous demand: the current half-hour's energy as a rate."""
        index = max(0, int((now - self.start) // HALF_HOUR))
        return int(self.half_hour_wh(index) * 2)

    def profile(self, end: float, count: int) -> list[tuple[float, int]]:
        """The last ``count`` half-hourly (end time, Wh) pairs before ``end`` (profile data log)."""
        last = int((end - self.start) // HALF_HOUR)
        first = max(0, last - count)
        return [(self.start + (i + 1) * HALF_HOUR, int(self.half_hour_wh(i))) for i in range(first, last)]
