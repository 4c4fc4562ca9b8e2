"""Command payload builders for the use cases common to device types (CS, CCS: ASN.1 and DLMS).

Registered in :mod:`emulator.gbcs.usecase_builders`."""

from __future__ import annotations

from emulator.gbcs.usecase_builders import Builder

BUILDERS: dict[str, Builder] = {}
