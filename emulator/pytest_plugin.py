"""A pytest plugin (entry point ``pytest11``) so users' own suites can drive an emulated premises.

    def test_my_head_end_reads_a_meter(smets2):
        async def scenario(world):
            premises = world.premises[0]
            await smets2.commissioned(world, premises)
            ack, final = await world.users[smets2.SUPPLIER].send("11.2", premises.esme.hex().upper())
            assert final.code == "I0"
        smets2.run(scenario)

``smets2.run`` builds a world (test PKI, DSP stub, one premises per profile, in-memory WAN
unless ``broker=`` names one) on virtual time, runs the scenario, and tears it down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from emulator.clock import VirtualClock
from emulator.clock import run as run_loop
from emulator.devices.profile import PremisesProfile
from emulator.scenarios import steps
from emulator.scenarios.world import SECOND_SUPPLIER, SUPPLIER, PremisesRuntime, World, build_world

T = TypeVar("T")


class Smets2:
    """The ``smets2`` fixture."""

    SUPPLIER = SUPPLIER
    SECOND_SUPPLIER = SECOND_SUPPLIER

    def run(self, scenario: Callable[[World], Awaitable[T]], profiles: list[PremisesProfile] | None = None,
            *, seed: int = 1, **world_options: Any) -> T:
        async def main() -> T:
            world = await build_world(VirtualClock(), profiles or [PremisesProfile()], seed=seed, **world_options)
            try:
                return await scenario(world)
            finally:
                await world.stop()

        return run_loop(main())

    async def commissioned(self, world: World, premises: PremisesRuntime) -> None:
        """Install (8.11, install-code joins) and commission (8.1.1) the premises' meters."""
        user = world.users[SUPPLIER]
        await steps.install(world, premises, user)
        await steps.commission(world, premises, user)


@pytest.fixture
def smets2() -> Smets2:
    """Drive an emulated SMETS2 premises and the DSP stub from a test (virtual time)."""
    return Smets2()
