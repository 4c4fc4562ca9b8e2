"""RM-12: the DSP repository keeps each record type, typed, and a reopened SQLite store gives
back exactly what was written (the JSON under the records is the repository's own business)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.dsp.model import (
    CodeExchange,
    Due,
    DueEntry,
    FirmwareDistribution,
    Issued,
    RequestRecord,
    Schedule,
    frame_key,
)
from emulator.dsp.repository import MemoryRepository, Repository
from emulator.dsp.store import SqliteRepository
from emulator.zigbee.eui64 import Eui64

ESME, HUB, USER = Eui64.from_hex("00DB1234567890A0"), Eui64.from_hex("00DB1234567890A2"), "90B3D51F30010000"
SCHEDULE = Schedule("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:7", USER, "4.1.1", ESME, "ESME", HUB,
                    1_700_000_000.0, 86400.0, 0x0015, "CONS")
EXCHANGE = CodeExchange("ic:00DB1234567890A0:5.0", ESME, "GAINING", "LOSING", 5.0, 1_209_605.0)
ISSUED = Issued("rid-1", USER, "6.15.1", ESME, 42, 0x00CB, "DD00", 10.0, 610.0)
REQUEST = RequestRecord("rid-2", USER, "4.1.1", ESME, HUB, "ESME", 43, "CONS", 0x0015, body={"a": [1, "b"]})


@pytest.fixture(params=["memory", "sqlite"])
def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Repository]]:
    """A factory: the same store again (for SQLite, a new connection to the same file)."""
    if request.param == "memory":
        repo = MemoryRepository()
        yield lambda: repo
        return
    opened: list[SqliteRepository] = []

    def open_again() -> Repository:
        for r in opened:
            r.close()
        opened.append(SqliteRepository(tmp_path / "dsp.db"))
        return opened[-1]

    yield open_again
    for r in opened:
        r.close()


def test_rm12_each_record_comes_back_typed(reopen: Callable[[], Repository]):
    repo = reopen()
    repo.put_request(REQUEST)
    repo.put_last_counter(USER, 43)
    repo.put_schedule(SCHEDULE)
    repo.put_code_exchange(EXCHANGE)
    repo.put_precommand(ISSUED)
    repo.put_firmware_distribution(FirmwareDistribution("rid-3", HUB, USER, 9.0))
    repo.put_timer(DueEntry(20.0, Due.DEADLINE, "rid-2"))
    repo.put_timer(DueEntry(30.0, Due.SCHEDULE, SCHEDULE.schedule_id))

    again = reopen()
    assert again.request("rid-2") == REQUEST
    assert again.last_counter(USER) == 43 and again.last_counter("90B3D51F30010001") is None
    assert again.schedule(SCHEDULE.schedule_id) == SCHEDULE and again.schedules() == [SCHEDULE]
    assert again.code_exchange(EXCHANGE.exchange_id) == EXCHANGE and again.code_exchanges() == [EXCHANGE]
    assert again.precommand(frame_key(USER, ESME, 42)) == ISSUED
    assert again.precommand(frame_key(USER, ESME, 41)) is None
    assert sorted(again.timers()) == [DueEntry(20.0, Due.DEADLINE, "rid-2"),
                                      DueEntry(30.0, Due.SCHEDULE, SCHEDULE.schedule_id)]
    again.delete_timer(Due.DEADLINE, "rid-2")
    assert reopen().timers() == [DueEntry(30.0, Due.SCHEDULE, SCHEDULE.schedule_id)]


def test_a_later_write_replaces_the_record(reopen: Callable[[], Repository]):
    repo = reopen()
    repo.put_schedule(SCHEDULE)
    repo.put_schedule(replace(SCHEDULE, active=False, deleted=99.0))
    assert reopen().schedules() == [replace(SCHEDULE, active=False, deleted=99.0)]


def test_views_keep_the_shape_users_were_shown():
    # SRV 5.2 (Read Schedule) and the install-code answer show these keys (literal, as before the types).
    assert SCHEDULE.view() == {"user": USER, "srv": "4.1.1", "target": "00DB1234567890A0", "device_type": "ESME",
                               "hub": "00DB1234567890A2",
                               "next": 1_700_000_000.0, "period": 86400.0, "runs": 0, "active": True,
                               "message_code": 0x0015, "class": "CONS"}
    assert EXCHANGE.view() == {"device": "00DB1234567890A0", "gaining": "GAINING", "losing": "LOSING", "requested": 5.0,
                               "deadline": 1_209_605.0, "state": "open"}
    late = EXCHANGE.closed("answered", 2_000_000.0)
    assert (late.state, late.answered, late.late) == ("answered", 2_000_000.0, True)


def test_an_older_document_with_keys_no_longer_used_still_loads():
    assert RequestRecord.from_doc({**REQUEST.to_doc(), "retired_field": 1}) == REQUEST


@given(st.builds(Issued, st.text(), st.text(), st.text(), st.binary(min_size=8, max_size=8).map(Eui64),
                 st.integers(0, 2**64 - 1),
                 st.integers(0, 0xFFFF), st.text(), st.floats(allow_nan=False), st.floats(allow_nan=False),
                 st.sampled_from(["issued", "used"])))
def test_precommand_round_trips_through_the_memory_store(record: Issued):
    repo = MemoryRepository()
    repo.put_precommand(record)
    assert repo.precommand(record.key) == record


def test_a_store_written_before_the_records_were_typed_still_loads(tmp_path: Path):
    # The documents as the untyped repository wrote them (literal): no id inside, "class", no hub.
    repo = SqliteRepository(tmp_path / "old.db")
    repo._put("schedule", "s1", {"user": USER, "srv": "4.1.1", "target": "00DB1234567890A0", "device_type": "ESME",
                                 "hub": "00DB1234567890A2", "next": 5.0, "period": 86400.0, "runs": 2,
                                 "active": True, "message_code": 21, "class": "CONS"})
    repo._put("install-code", "ic:1", {"device": "00DB1234567890A0", "gaining": "G", "losing": "L",
                                        "requested": 1.0, "deadline": 2.0, "state": "open"})
    repo._put("request", "r1", {**REQUEST.to_doc(), "request_id": "r1", "hub": ""})
    assert repo.schedule("s1") == Schedule("s1", USER, "4.1.1", ESME, "ESME", HUB, 5.0, 86400.0, 21, "CONS", runs=2)
    assert repo.code_exchanges() == [CodeExchange("ic:1", ESME, "G", "L", 1.0, 2.0)]
    record = repo.request("r1")
    assert record is not None and record.hub is None and record.target == ESME
    repo.close()
