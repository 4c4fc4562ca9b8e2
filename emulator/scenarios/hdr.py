"""A High Dynamic Range latency histogram (the HdrHistogram layout, G. Tene): fixed relative
precision over the whole range, constant memory, O(1) record, mergeable; percentiles are read from
buckets, never from a sorted list of every sample (a long run at thousands per second would keep
millions of floats).

Values are whole numbers (the fleet records microseconds). With ``digits`` significant decimal
digits, values below ``sub_bucket_count`` (2048 for 3 digits) are kept exactly; above, each bucket
of powers of two is split into ``sub_bucket_count / 2`` equal steps, so a recorded value is known
to within 1 part in 10**digits. A percentile is reported as the highest value equivalent to its
bucket (as HdrHistogram's ``getValueAtPercentile`` does): never below the true sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(slots=True)
class Histogram:
    digits: int = 3
    counts: dict[int, int] = field(default_factory=dict)  # bucket index -> count (sparse)
    total: int = 0
    min: int = 0
    max: int = 0
    sum: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.digits <= 5:
            raise ValueError(f"significant digits must be 1 to 5, not {self.digits}")

    @property
    def _half_magnitude(self) -> int:
        # sub_bucket_count = 2 ** ceil(log2(2 * 10**digits)); half of it is 2 ** _half_magnitude
        return math.ceil(math.log2(2 * 10 ** self.digits)) - 1

    def _index(self, value: int) -> int:
        half = self._half_magnitude
        bucket = max(0, value.bit_length() - (half + 1))
        sub = value >> bucket
        # bucket 0 holds sub 0 .. 2*half_count-1; each later bucket holds half_count .. 2*half_count-1
        return sub if bucket == 0 else (bucket << half) + sub

    def _range(self, index: int) -> tuple[int, int]:
        """(lowest, highest) value equivalent to bucket ``index``."""
        half = self._half_magnitude
        if index < (2 << half):
            return index, index
        bucket = (index >> half) - 1
        sub = index - (bucket << half)  # half_count <= sub < 2 * half_count
        low = sub << bucket
        return low, low + (1 << bucket) - 1

    def record(self, value: int, count: int = 1) -> None:
        if value < 0:
            raise ValueError(f"a histogram records values of 0 or more, not {value}")
        i = self._index(value)
        self.counts[i] = self.counts.get(i, 0) + count
        self.min = value if self.total == 0 else min(self.min, value)
        self.max = max(self.max, value)
        self.total += count
        self.sum += value * count

    def merge(self, other: Histogram) -> None:
        if other.digits != self.digits:
            raise ValueError(f"cannot merge histograms of {other.digits} and {self.digits} digits")
        for i, n in other.counts.items():
            self.counts[i] = self.counts.get(i, 0) + n
        if other.total:
            self.min = other.min if self.total == 0 else min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.total += other.total
        self.sum += other.sum

    def percentile(self, p: float) -> int:
        """The value at or below which ``p`` percent of the recorded values lie (0 if none)."""
        if not 0 <= p <= 100:
            raise ValueError(f"a percentile is 0 to 100, not {p}")
        if self.total == 0:
            return 0
        wanted = max(1, math.ceil(p / 100 * self.total))
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= wanted:
                return min(self._range(i)[1], self.max)  # the top bucket: the largest value seen
        return self.max

    def mean(self) -> float:
        return self.sum / self.total if self.total else 0.0
