"""A fleet's premises cost the same each however many there are (issue 13): nothing is built per
premises for the whole fleet (a copy of every key for every device made memory grow as N squared)."""

from __future__ import annotations

import gc
import tracemalloc

from emulator.clock import VirtualClock, run
from emulator.pki.derived import DerivedKeys
from emulator.scenarios.fleet import HUBS_LISTED, HubsReport, fleet_profile
from emulator.scenarios.world import build_world
from emulator.transport.wan import MemoryWan


async def _traced_bytes(count: int) -> tuple[int, int]:
    """(bytes a world of ``count`` fleet premises holds, keys derived while building it)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    wan = MemoryWan()
    world = await build_world(VirtualClock(), [fleet_profile()] * count, dsp_port=wan.dsp_port(),
                              hub_port=wan.hub_port, register=False)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert isinstance(world.keys, DerivedKeys)
    derived = world.keys.derivations
    await world.stop()
    return held, derived


def test_premises_memory_grows_linearly_and_no_key_is_derived_at_rest():
    async def main() -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        await _traced_bytes(2)  # one-off tables (catalogues, shared factory objects) built before measuring
        return await _traced_bytes(20), await _traced_bytes(40), await _traced_bytes(80)

    (m20, d20), (m40, d40), (m80, d80) = run(main())
    assert d20 == d40 == d80 == 0  # keys come when a message needs them, not when a premises is built
    first, second = (m40 - m20) / 20, (m80 - m40) / 40
    # Linear: the next 40 premises cost each what the previous 20 did (N squared would double it).
    assert second < 1.5 * first, (m20, m40, m80)
    assert second < 100 * 1024, f"{second / 1024:.0f} KB of Python objects per premises"


def test_ready_report_lists_a_few_hubs_and_counts_the_rest():
    small = HubsReport(first=3, count=2, connections=2).to_dict()
    assert small["hubs"] == ["00DB1234000390A2", "00DB1234000490A2"] and small["hubs_listed"] == "all"
    big = HubsReport(first=0, count=20_000, connections=4).to_dict()
    assert len(big["hubs"]) == HUBS_LISTED and big["hubs_listed"] == f"first {HUBS_LISTED} of 20000"
    assert big["hubs"][0] == "00DB1234567890A2"
    assert len(HubsReport(first=0, count=20_000).hubs) == 20_000


