"""The in-memory repository holds request records and due timers as records, not JSON documents: what
it gives back is what a document round trip gave (the same values, a snapshot taken at the write, a
new object per read), a document written under "request" or "due" still reads back, and the ageing
store still ages requests and counts what it holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from emulator.dsp.ageing import AgeingRepository
from emulator.dsp.model import Due, DueEntry, RequestRecord
from emulator.dsp.repository import MemoryRepository
from emulator.zigbee.eui64 import Eui64

ESME, HUB = Eui64.from_hex("00DB1234567890A0"), Eui64.from_hex("00DB1234567890A2")


def _record(rid: str = "rid-1", state: str = "sent") -> RequestRecord:
    return RequestRecord(rid, "90B3D51F30010000", "4.1.1", ESME, HUB, "ESME", 43, "CONS", 0x0015,
                         body={"a": [1, "b"]}, state=state, sent=5.0)


EUIS = st.binary(min_size=8, max_size=8).map(Eui64)
RECORDS = st.builds(RequestRecord, st.text(), st.text(), st.text(), EUIS, st.none() | EUIS, st.text(),
                    st.integers(0, 2**64 - 1), st.text(), st.integers(0, 0xFFFF), st.booleans(),
                    st.dictionaries(st.text(), st.integers()), st.none() | st.text(),
                    st.sampled_from(["accepted", "waiting", "sent", "done", "timeout", "refused"]),
                    st.floats(allow_nan=False), st.none() | st.floats(allow_nan=False))


@given(RECORDS)
def test_a_record_reads_back_as_a_document_round_trip_gives_it(record: RequestRecord) -> None:
    repo = MemoryRepository()
    repo.put_request(record)
    assert repo.request(record.request_id) == RequestRecord.from_doc(record.to_doc()) == record
    assert repo._get("request", record.request_id) == record.to_doc()


def test_what_is_held_is_the_record_as_written() -> None:
    repo = MemoryRepository()
    record = _record()
    repo.put_request(record)
    record.state = "done"  # changed after the write, not written again
    read = repo.request("rid-1")
    assert read is not None and read.state == "sent"
    read.state = "timeout"  # a reader's copy is its own
    again = repo.request("rid-1")
    assert again is not None and again.state == "sent" and again is not read
    assert repo.request("unknown") is None


def test_a_request_document_still_reads_back_and_a_later_record_replaces_it() -> None:
    repo = MemoryRepository()
    repo._put("request", "rid-1", {**_record().to_doc(), "state": "waiting", "retired_field": 1})
    read = repo.request("rid-1")
    assert read is not None and read.state == "waiting" and read.target == ESME
    repo.put_request(_record(state="done"))
    read = repo.request("rid-1")
    assert read is not None and read.state == "done"
    assert [k for k, _ in repo._items("request")] == ["rid-1"]
    repo._delete("request", "rid-1")
    assert repo.request("rid-1") is None


def test_the_ageing_store_ages_finished_records_and_counts_them_held() -> None:
    repo = AgeingRepository(keep=2)
    repo.put_request(_record("open", "sent"))
    for i in range(4):
        repo.put_request(_record(f"r{i}", "done"))
    assert [rid for rid in ("open", "r0", "r1", "r2", "r3") if repo.request(rid) is not None] == ["open", "r2", "r3"]
    assert repo.aged_out == 2 and repo.held() == 3


def test_timers_are_kept_and_cleared_and_a_timer_document_still_reads_back() -> None:
    repo = AgeingRepository()
    repo.put_timer(DueEntry(25.0, Due.DEADLINE, "r1"))
    repo.put_timer(DueEntry(5.0, Due.RESEND, "r1"))
    repo.put_timer(DueEntry(6.0, Due.RESEND, "r1"))  # moved
    assert sorted(repo.timers()) == [DueEntry(6.0, Due.RESEND, "r1"), DueEntry(25.0, Due.DEADLINE, "r1")]
    assert repo.held() == 2
    repo.delete_timer(Due.RESEND, "r1")
    assert repo.timers() == [DueEntry(25.0, Due.DEADLINE, "r1")]
    repo._put("due", "send|r2", {"kind": "send", "key": "r2", "at": 12.0})
    assert sorted(repo.timers()) == [DueEntry(12.0, Due.SEND, "r2"), DueEntry(25.0, Due.DEADLINE, "r1")]
    repo.put_timer(DueEntry(13.0, Due.SEND, "r2"))
    assert sorted(repo.timers()) == [DueEntry(13.0, Due.SEND, "r2"), DueEntry(25.0, Due.DEADLINE, "r1")]
    repo.delete_timer(Due.SEND, "r2")
    repo.delete_timer(Due.DEADLINE, "r1")
    assert repo.timers() == [] and repo.held() == 0


# --- finished records held compact (issue 13: full collections must not walk the history) -----


@given(RECORDS)
def test_a_record_compacts_and_comes_back_equal(record: RequestRecord) -> None:
    assert RequestRecord.from_compact(record.compact()) == record


@given(RECORDS.map(lambda r: RequestRecord.from_compact(r.compact())))
def test_the_ageing_store_gives_back_a_finished_record_as_written(record: RequestRecord) -> None:
    repo = AgeingRepository()
    repo.put_request(record)
    assert repo.request(record.request_id) == record
    assert repo._get("request", record.request_id) == record.to_doc()
    assert [doc for key, doc in repo._items("request") if key == record.request_id] == [record.to_doc()]


def test_a_finished_record_is_held_as_a_tuple_the_collector_stops_tracking() -> None:
    import gc

    repo = AgeingRepository()
    for state, body in (("done", {}), ("timeout", {"n": 1, "s": "x"}), ("refused", {"e": None})):
        record = RequestRecord(f"rid-{state}", "90B3D51F30010000", "4.1.1", ESME, HUB, "ESME", 43, "CONS", 0x0015,
                               body=dict(body), state=state, sent=5.0, done=6.0, ok=state == "done")
        repo.put_request(record)
    repo.put_request(_record("rid-open", "sent"))
    for _ in range(3):
        gc.collect()
    held = repo._done
    assert sorted(held) == ["rid-done", "rid-refused", "rid-timeout"]  # the open one is a record
    assert [gc.is_tracked(v) for v in held.values()] == [False, False, False]
    read = repo.request("rid-timeout")
    assert read is not None and read.body == {"n": 1, "s": "x"} and read.target == ESME and read.hub == HUB
    read.body["n"] = 2  # a reader's copy is its own
    again = repo.request("rid-timeout")
    assert again is not None and again.body == {"n": 1, "s": "x"}


def test_a_finished_record_written_again_as_open_is_open_and_ageing_drops_the_compact_one() -> None:
    repo = AgeingRepository(keep=2)
    repo.put_request(_record("rid-1", "done"))
    repo.put_request(_record("rid-1", "sent"))  # a resend: open again, never aged out
    read = repo.request("rid-1")
    assert read is not None and read.state == "sent" and "rid-1" not in repo._done
    for i in range(2, 6):
        repo.put_request(_record(f"rid-{i}", "done"))
    assert sorted(repo._done) == ["rid-4", "rid-5"] and repo.aged_out == 2
    assert repo.request("rid-2") is None and repo.request("rid-1") is not None
    assert repo.held() == 3
    repo._delete("request", "rid-5")
    assert repo.request("rid-5") is None and sorted(repo._done) == ["rid-4"]
