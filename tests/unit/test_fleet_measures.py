"""What ``fleet run`` measures with: the HDR histogram (percentiles read from buckets), the GBCS
counter watch (losses, re-orderings, duplicates) and the bounded DSP store. Expected values are
worked out by hand from the HdrHistogram layout and the sequences, not by the code under test."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.dsp.ageing import AgeingRepository
from emulator.dsp.model import RequestRecord
from emulator.scenarios.counters import CounterWatch
from emulator.scenarios.hdr import Histogram
from emulator.zigbee.eui64 import Eui64


def test_histogram_small_values_are_exact():
    h = Histogram()
    for v in range(1, 101):
        h.record(v)
    assert (h.percentile(50), h.percentile(95), h.percentile(99), h.percentile(100)) == (50, 95, 99, 100)
    assert h.total == 100 and h.min == 1 and h.max == 100 and h.mean() == 50.5


def test_histogram_large_values_within_three_digits():
    # 3 digits: 2048 sub-buckets. 10,000 (14 bits) sits in bucket 3, steps of 8: 10,000..10,007.
    # 1,000,000 (20 bits) in bucket 9, steps of 512: 999,936..1,000,447.
    h = Histogram()
    h.record(10_000, 90)
    h.record(1_000_000, 9)
    h.record(2_000_000, 1)
    assert h.percentile(50) == 10_007
    assert h.percentile(90) == 10_007
    assert h.percentile(91) == 1_000_447
    assert h.percentile(99) == 1_000_447
    assert h.percentile(100) == 2_000_000  # the top bucket reports the largest value seen
    assert h.percentile(0) == 10_007


def test_histogram_merge_is_recording_both():
    a, b, both = Histogram(), Histogram(), Histogram()
    for v in (3, 70_000, 5_000_000):
        a.record(v)
        both.record(v)
    for v in (1, 12_345):
        b.record(v)
        both.record(v)
    a.merge(b)
    assert (a.counts, a.total, a.min, a.max, a.sum) == (both.counts, 5, 1, 5_000_000, 5_082_349)


def test_histogram_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError, match="0 or more"):
        Histogram().record(-1)
    with pytest.raises(ValueError, match="0 to 100"):
        Histogram().percentile(101)
    assert Histogram().percentile(99) == 0


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=200),
       st.floats(min_value=0, max_value=100))
def test_histogram_percentile_is_never_below_the_sample_and_within_precision(values: list[int], p: float):
    h = Histogram()
    for v in values:
        h.record(v)
    true = sorted(values)[max(1, math.ceil(p / 100 * len(values))) - 1]  # the nearest-rank percentile
    assert true <= h.percentile(p) <= true + true // 1000 + 1


A, B = (b"\x01" * 8, b"\x02" * 8), (b"\x01" * 8, b"\x03" * 8)


def test_counters_tell_losses_reorders_and_duplicates():
    w = CounterWatch()
    for c in (1, 2, 3, 4, 5):
        w.sent(A, c)
    w.sent(B, 7)
    assert [w.received(A, c) for c in (1, 3, 2, 5)] == ["in-order", "in-order", "reordered", "in-order"]
    assert w.received(A, 3) == "duplicate"
    assert w.received(B, 7) == "in-order"
    assert w.received(B, 8) == "unsolicited"
    assert (w.lost(), w.reordered, w.duplicates, w.unsolicited) == (1, 1, 1, 1)  # 4 never came back


def test_counters_a_resent_command_is_one_command():
    w = CounterWatch()
    w.sent(A, 10)
    w.sent(A, 10)
    assert w.lost() == 1
    assert w.received(A, 10) == "in-order" and w.lost() == 0


def test_counters_alerts_have_no_sent_side():
    w = CounterWatch()
    got = [w.received(A, c, solicited=False) for c in (100, 102, 101, 102, 103)]
    assert got == ["in-order", "in-order", "reordered", "duplicate", "in-order"]
    assert (w.reordered, w.duplicates, w.lost()) == (1, 1, 0)


def _request(rid: str, state: str) -> RequestRecord:
    return RequestRecord(rid, "supplier", "4.1.1", Eui64(bytes(8)), None, "ESME", 1, "CONS", 0x0015, state=state)


def test_ageing_store_keeps_open_requests_and_the_last_finished():
    repo = AgeingRepository(keep=3)
    repo.put_request(_request("open", "sent"))
    for i in range(5):
        repo.put_request(_request(f"r{i}", "done"))
    kept = {rid for rid in ("open", "r0", "r1", "r2", "r3", "r4") if repo.request(rid) is not None}
    assert kept == {"open", "r2", "r3", "r4"}
    assert repo.aged_out == 2
    repo.put_request(_request("open", "timeout"))  # now finished: the newest finished
    repo.put_request(_request("r5", "done"))
    kept = {rid for rid in ("open", "r2", "r3", "r4", "r5") if repo.request(rid) is not None}
    assert kept == {"r4", "open", "r5"}


def test_ageing_store_logs_keep_their_last_records():
    repo = AgeingRepository(keep=3)
    for i in range(10):
        repo.log("responses", {"n": i})
    kept = [r["n"] for r in repo.read_log("responses")]
    assert kept[-3:] == [7, 8, 9] and len(kept) < 6


def test_dsp_user_inbox_keeps_its_last_answers(monkeypatch: pytest.MonkeyPatch):
    from emulator.transport import dsp_service

    monkeypatch.setattr(dsp_service, "INBOX_KEEP", 4)
    items: list[int] = []
    for i in range(20):
        dsp_service._append(items, i)
    assert items[-4:] == [16, 17, 18, 19] and len(items) < 8


def test_the_tracker_counts_what_is_in_flight_to_gas_meters_for_the_draining_line():
    from emulator.scenarios.fleet_stats import KindStats, Tracker, in_flight_to

    tracker = Tracker({"esme-read": KindStats("4.1.1", "I0"), "gsme-read": KindStats("4.1.1", "I0")})
    tokens = [tracker.begin(1, 0.0, "gsme"), tracker.begin(2, 0.0, "esme"), tracker.begin(3, 0.0, "gsme")]
    assert (in_flight_to(tracker, "gsme"), in_flight_to(tracker, "esme"), in_flight_to(tracker, "chf")) == (2, 1, 0)
    tracker.end(tokens[0], "gsme-read", "I0", True, 1.0)
    assert in_flight_to(tracker, "gsme") == 1 and len(tracker.inflight) == 2
