"""The DSP's timer index against a plain model (a dict scanned in full, as it was before the heap):
any run of sets, clears and pops gives the same earliest time and the same due entries, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.dsp.due import DueIndex
from emulator.dsp.model import Due, DueEntry
from emulator.dsp.repository import MemoryRepository

KEYS = st.sampled_from(["r1", "r2", "r3", "s1"])
KINDS = st.sampled_from(list(Due))
TIMES = st.integers(0, 20).map(float)
OPS = st.lists(st.one_of(st.tuples(st.just("set"), KINDS, KEYS, TIMES),
                         st.tuples(st.just("clear"), KINDS, KEYS, TIMES),
                         st.tuples(st.just("pop"), KINDS, KEYS, TIMES)), max_size=40)


@given(OPS)
@settings(max_examples=100, deadline=None)
def test_the_heap_index_agrees_with_a_full_scan(ops: list[tuple[str, Due, str, float]]) -> None:
    index = DueIndex(MemoryRepository())
    model: dict[tuple[Due, str], float] = {}
    for op, kind, key, at in ops:
        if op == "set":
            index.set(kind, key, at)
            model[(kind, key)] = at
        elif op == "clear":
            index.clear(key, kind)
            model.pop((kind, key), None)
        else:
            want = sorted(DueEntry(t, k, name) for (k, name), t in model.items() if t <= at)
            for e in want:
                del model[(e.kind, e.key)]
            assert index.pop_due(at) == want
        assert index.earliest() == min(model.values(), default=None)
        assert len(index) == len(model)


def test_a_restarted_index_finds_the_kept_timers_earliest_first() -> None:
    repo = MemoryRepository()
    first = DueIndex(repo)
    first.set(Due.DEADLINE, "r1", 25.0)
    first.set(Due.RESEND, "r1", 5.0)
    first.set(Due.SEND, "r2", 12.0)
    first.clear("r1", Due.RESEND)
    again = DueIndex(repo)
    assert again.earliest() == 12.0
    assert again.pop_due(30.0) == [DueEntry(12.0, Due.SEND, "r2"), DueEntry(25.0, Due.DEADLINE, "r1")]
    assert again.earliest() is None
