"""The parameters of one radio command as the fake Z-Stack and the fake EmberZNet NCP see them.

Both fakes declare their commands as construct structs (``znp/commands.py``, ``ezsp/commands.py``);
construct parses them into untyped containers. :func:`from_construct` turns such a container into
:class:`Fields`, a read-only mapping whose values are one of the few shapes a construct struct of
integers, flags, byte strings, arrays and sub-structs can give (:data:`FieldValue`), and whose typed
readers (:meth:`Fields.integer`, :meth:`Fields.octets`, ...) check the shape a handler expects, so a
handler that reads a field as the wrong kind fails naming the command and the field instead of
going on with a value of the wrong type. The same value type is what the fakes hand construct to
build a response.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias

FieldValue: TypeAlias = bool | int | float | str | bytes | Sequence["FieldValue"] | Mapping[str, "FieldValue"] | None
"""A parsed (or to-be-built) construct value: a number, a flag, bytes, an array or a sub-struct."""


class Fields(Mapping[str, FieldValue]):
    """The parameters of one command, read by name with the kind the handler expects."""

    __slots__ = ("_command", "_values")

    def __init__(self, command: str, values: Mapping[str, FieldValue]) -> None:
        self._command = command
        self._values = dict(values)

    @property
    def command(self) -> str:
        return self._command

    def __getitem__(self, name: str) -> FieldValue:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"{self._command} has no field {name!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Fields({self._command!r}, {self._values!r})"

    def _wrong(self, name: str, kind: str) -> TypeError:
        return TypeError(f"{self._command} field {name!r} is {type(self[name]).__name__}, not {kind}")

    def integer(self, name: str, default: int | None = None) -> int:
        """An integer field (a flag reads as 0 or 1); ``default`` when the struct has no such field."""
        if default is not None and name not in self._values:
            return default
        value = self[name]
        if not isinstance(value, int):
            raise self._wrong(name, "an integer")
        return int(value)

    def flag(self, name: str) -> bool:
        value = self[name]
        if not isinstance(value, bool):
            raise self._wrong(name, "a flag")
        return value

    def octets(self, name: str) -> bytes:
        value = self[name]
        if not isinstance(value, bytes):
            raise self._wrong(name, "bytes")
        return value

    def integers(self, name: str) -> list[int]:
        value = self[name]
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            items = list(value)
            if all(isinstance(v, int) for v in items):
                return [int(v) for v in items if isinstance(v, int)]
        raise self._wrong(name, "an array of integers")

    def struct(self, name: str) -> Fields:
        value = self[name]
        if isinstance(value, Fields):
            return value
        if isinstance(value, Mapping):
            return Fields(f"{self._command}.{name}", value)
        raise self._wrong(name, "a struct")


def from_construct(command: str, parsed: object) -> Fields:
    """The fields of a struct construct parsed for ``command`` (its ``_`` bookkeeping keys left out)."""
    value = _plain(command, parsed)
    if not isinstance(value, Fields):
        raise TypeError(f"{command} parsed to {type(parsed).__name__}, not a struct")
    return value


def _plain(where: str, value: object) -> FieldValue:
    if isinstance(value, Mapping):
        return Fields(where, {str(k): _plain(f"{where}.{k}", v) for k, v in value.items()
                              if not str(k).startswith("_")})
    if isinstance(value, list):
        return [_plain(where, v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    raise TypeError(f"{where}: construct gave a {type(value).__name__}, which no radio command holds")


def to_construct(fields: Mapping[str, FieldValue]) -> dict[str, object]:
    """``fields`` as construct builds them: sub-structs as plain dicts (construct takes no other mapping)."""
    return {name: _built(value) for name, value in fields.items()}


def _built(value: FieldValue) -> object:
    if isinstance(value, Mapping):
        return to_construct(value)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_built(v) for v in value]
    return value
