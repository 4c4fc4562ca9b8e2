"""The table from GBCS use case to the function that builds its command payload.

One builder per use case, grouped by family in their own modules (``usecases_esme``:
ECS DLMS use cases; ``usecases_gas``: GCS GBZ use cases; ``usecases_common``: CS/CCS
ASN.1 and DLMS use cases shared by device types). Each module exports ``BUILDERS``; a
use case appears in exactly one of them (checked at load). :mod:`emulator.gbcs.commands`
consults this table first and falls back to its older generic frames for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any


@dataclass(frozen=True, slots=True)
class UseCaseRequest:
    """What a builder needs: the use case, the envelope's parties and counter, and the
    DUIS-level parameters of the request (the SRV body, as the Service User sent it)."""

    use_case: str
    message_code: int
    originator: bytes
    target: bytes
    counter: int
    body: Mapping[str, Any] = field(default_factory=dict)


Builder = Callable[[UseCaseRequest], bytes]


@cache
def builders() -> dict[str, Builder]:
    from emulator.gbcs import usecases_common, usecases_esme, usecases_gas

    table: dict[str, Builder] = {}
    for module in (usecases_esme, usecases_gas, usecases_common):
        for name, fn in module.BUILDERS.items():
            if name in table:
                raise RuntimeError(f"use case {name} has two builders ({module.__name__} and another)")
            table[name] = fn
    return table
