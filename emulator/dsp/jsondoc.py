"""What the DSP keeps as JSON: its repository's documents and log records, and the reports made from
them. :data:`Json` is what ``json.loads`` can give; the readers below narrow one value to the kind its
reader needs and name the document and key when a stored value is of another kind (:data:`Json` itself
is :mod:`emulator.zigbee.jsonvalue`'s)."""

from __future__ import annotations

import json

from emulator.zigbee.jsonvalue import Json, JsonObject


class DocumentError(ValueError):
    """A stored JSON document that is not of the shape its reader expects (names where and what)."""


def loads_object(text: str | bytes, what: str) -> JsonObject:
    """The JSON object ``text`` holds (``what`` names it in the error when it holds something else)."""
    value: Json = json.loads(text)
    if not isinstance(value, dict):
        raise DocumentError(f"{what}: a stored document is {type(value).__name__}, not a JSON object")
    return value


def number(doc: JsonObject, key: str) -> float:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DocumentError(f"{key!r} is {value!r}, not a number")
    return float(value)


def integer(doc: JsonObject, key: str) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DocumentError(f"{key!r} is {value!r}, not an integer")
    return value


def text(doc: JsonObject, key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise DocumentError(f"{key!r} is {value!r}, not a string")
    return value
