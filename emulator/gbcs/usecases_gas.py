"""Command payload builders for the GSME and GPF (GCS, GBZ) use cases.

Registered in :mod:`emulator.gbcs.usecase_builders`."""

from __future__ import annotations

from emulator.gbcs.usecase_builders import Builder

BUILDERS: dict[str, Builder] = {}
