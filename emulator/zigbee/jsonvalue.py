"""A JSON value as a type: what ``json.loads`` gives and ``json.dumps`` takes. Trees that are shown or
stored as JSON (GBCS message descriptions, the DSP's documents, logs and reports) are typed with it.
It lives in the bottom layer so that every layer above may use it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

Json: TypeAlias = str | int | float | bool | list["Json"] | dict[str, "Json"] | None
JsonObject: TypeAlias = dict[str, Json]


def array(items: Iterable[Json]) -> list[Json]:
    """``items`` as a JSON array (a ``list[str]`` is not a ``list[Json]`` to a type checker: lists are invariant)."""
    return list(items)
