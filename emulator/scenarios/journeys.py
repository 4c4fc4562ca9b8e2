"""The journeys by name: (premises profiles, coroutine)."""

from __future__ import annotations

from emulator.devices.profile import PremisesProfile
from emulator.scenarios.runner import Journey


def get(name: str) -> tuple[list[PremisesProfile], Journey]:
    if name == "uit":
        from emulator.scenarios import uit

        return uit.profiles(), uit.run
    if name == "sit":
        from emulator.scenarios import sit

        return sit.profiles(), sit.run
    if name == "mp121":
        from emulator.scenarios import mp121

        return mp121.profiles(), mp121.run
    raise ValueError(f"unknown journey {name!r}: uit, sit or mp121")
