"""Command payload builders for the ESME (ECS, DLMS) use cases.

Registered in :mod:`emulator.gbcs.usecase_builders`."""

from __future__ import annotations

from emulator.gbcs.usecase_builders import Builder

BUILDERS: dict[str, Builder] = {}
