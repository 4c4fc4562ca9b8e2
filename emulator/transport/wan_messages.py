"""The messages hubs and the DSP exchange on the WAN (WN-1), and their one JSON codec.

One frozen dataclass per message; :func:`encode` and :func:`decode` are the only places that
see JSON. The wire format is what compose, fleet processes and outside tools already speak:
a JSON object with a ``kind`` (and, for events, an ``event``), an ``id`` receivers drop
repeats by, GBCS and images as upper-case hex and EUIs as 16 upper-case hex digits.

    down (DSP -> hub)   command, firmware, ack
    up   (hub -> DSP)   response, alert, event: joined | join-refused | unreachable

A message that does not decode raises :class:`WanMessageError` naming the field and what was
wrong; receivers log it and go on. Unknown extra keys are ignored (a newer peer may add some).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar, TypeAlias, get_type_hints

from emulator.zigbee.eui64 import Eui64, Eui64Error

_U64 = 1 << 64


class WanMessageError(ValueError):
    """A WAN message that does not decode; ``field`` names the key at fault ("" for the whole)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(f"{message} (field {field!r})" if field else message)


# --- the messages -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Command:
    """Down: a sealed GBCS command for a device behind the hub (``id`` is the DUIS request id)."""

    KIND: ClassVar[str] = "command"
    EVENT: ClassVar[str | None] = None
    id: str
    request_id: str
    gbcs: bytes


@dataclass(frozen=True, slots=True)
class Firmware:
    """Down: an OTA image for the hub to hold for its target devices (SRV 11.1)."""

    KIND: ClassVar[str] = "firmware"
    EVENT: ClassVar[str | None] = None
    id: str
    request_id: str
    image: bytes
    targets: tuple[Eui64, ...]


@dataclass(frozen=True, slots=True)
class Ack:
    """Down: the DSP has stored these alerts (by message id); the hub stops re-sending them."""

    KIND: ClassVar[str] = "ack"
    EVENT: ClassVar[str | None] = None
    id: str
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceResponse:
    """Up: a device's GBCS response; ``device`` and ``counter`` are its originator and counter."""

    KIND: ClassVar[str] = "response"
    EVENT: ClassVar[str | None] = None
    id: str
    device: Eui64
    counter: int
    gbcs: bytes


@dataclass(frozen=True, slots=True)
class DeviceAlert:
    """Up: a device's GBCS alert; re-sent until the DSP's :class:`Ack` names its ``id``."""

    KIND: ClassVar[str] = "alert"
    EVENT: ClassVar[str | None] = None
    id: str
    device: Eui64
    counter: int
    gbcs: bytes


@dataclass(frozen=True, slots=True)
class JoinedEvent:
    """Up: a device joined the hub's HAN."""

    KIND: ClassVar[str] = "event"
    EVENT: ClassVar[str | None] = "joined"
    id: str
    device: Eui64


@dataclass(frozen=True, slots=True)
class JoinRefusedEvent:
    """Up: the hub's trust centre refused a device's join, and why."""

    KIND: ClassVar[str] = "event"
    EVENT: ClassVar[str | None] = "join-refused"
    id: str
    device: Eui64
    reason: str


@dataclass(frozen=True, slots=True)
class UnreachableEvent:
    """Up: the hub cannot carry the command of ``request_id`` to ``device``, and why."""

    KIND: ClassVar[str] = "event"
    EVENT: ClassVar[str | None] = "unreachable"
    id: str
    request_id: str
    reason: str
    device: Eui64


DownMessage: TypeAlias = Command | Firmware | Ack
UpMessage: TypeAlias = DeviceResponse | DeviceAlert | JoinedEvent | JoinRefusedEvent | UnreachableEvent
WanMessage: TypeAlias = DownMessage | UpMessage

_DOWN: tuple[type[DownMessage], ...] = (Command, Firmware, Ack)
_UP: tuple[type[UpMessage], ...] = (DeviceResponse, DeviceAlert, JoinedEvent, JoinRefusedEvent, UnreachableEvent)
_BY_KIND: dict[tuple[str, str | None], type[WanMessage]] = {(c.KIND, c.EVENT): c for c in _DOWN + _UP}
_EVENTS = sorted(str(c.EVENT) for c in _UP if c.EVENT)


# --- how each field type goes in JSON ---------------------------------------------------------

def _str(raw: object, field: str) -> str:
    if not isinstance(raw, str):
        raise WanMessageError(f"expected a string, got {raw!r}", field=field)
    return raw


def _counter(raw: object, field: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < _U64:
        raise WanMessageError(f"expected an unsigned 64-bit integer, got {raw!r}", field=field)
    return raw


def _hex(raw: object, field: str) -> bytes:
    text = _str(raw, field)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise WanMessageError(f"expected hex digits, got {text[:40]!r}", field=field) from None


def _eui(raw: object, field: str) -> Eui64:
    try:
        return Eui64.from_hex(_str(raw, field))
    except Eui64Error as e:
        raise WanMessageError(e.message, field=field) from None


def _list_of(item: Callable[[object, str], object]) -> Callable[[object, str], tuple[object, ...]]:
    def decode(raw: object, field: str) -> tuple[object, ...]:
        if not isinstance(raw, list):
            raise WanMessageError(f"expected a list, got {raw!r}", field=field)
        return tuple(item(x, f"{field}[{i}]") for i, x in enumerate(raw))
    return decode


def _same(value: object) -> object:
    return value


def _upper_hex(value: object) -> object:
    return value.hex().upper() if isinstance(value, bytes) else value


def _text(value: object) -> object:
    return str(value)


def _texts(value: object) -> object:
    return [str(x) for x in value] if isinstance(value, tuple) else value


_FieldCodec = tuple[Callable[[object], object], Callable[[object, str], object]]  # (to JSON, from JSON)
_TYPES: dict[object, _FieldCodec] = {
    str: (_same, _str),
    int: (_same, _counter),
    bytes: (_upper_hex, _hex),
    Eui64: (_text, _eui),
    tuple[str, ...]: (_texts, _list_of(_str)),
    tuple[Eui64, ...]: (_texts, _list_of(_eui)),
}
_FIELDS: dict[type[WanMessage], tuple[tuple[str, _FieldCodec], ...]] = {
    cls: tuple((f.name, _TYPES[get_type_hints(cls)[f.name]]) for f in fields(cls)) for cls in _BY_KIND.values()
}


# --- the codec --------------------------------------------------------------------------------

def to_json(message: WanMessage) -> dict[str, object]:
    """The JSON object of ``message`` (``kind`` first, then ``event``, then its fields in order)."""
    doc: dict[str, object] = {"kind": message.KIND}
    if message.EVENT is not None:
        doc["event"] = message.EVENT
    for name, (to, _) in _FIELDS[type(message)]:
        doc[name] = to(getattr(message, name))
    return doc


def encode(message: WanMessage) -> bytes:
    """``message`` as the UTF-8 JSON that goes on the wire."""
    return json.dumps(to_json(message)).encode()


def decode(data: bytes) -> WanMessage:
    """The message in ``data``; :class:`WanMessageError` naming what was wrong if it is not one."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise WanMessageError(f"not a JSON message: {e}") from None
    if not isinstance(doc, dict):
        raise WanMessageError(f"expected a JSON object, got {type(doc).__name__}")
    kind = doc.get("kind")
    event = doc.get("event") if kind == "event" else None
    cls = _BY_KIND.get((kind, event)) if isinstance(kind, str) and (event is None or isinstance(event, str)) else None
    if cls is None:
        if kind == "event":
            raise WanMessageError(f"unknown event {event!r} (known: {', '.join(_EVENTS)})", field="event")
        known = ", ".join(sorted({k for k, _ in _BY_KIND}))
        raise WanMessageError(f"unknown message kind {kind!r} (known: {known})", field="kind")
    values: dict[str, object] = {}
    for name, (_, parse) in _FIELDS[cls]:
        if name not in doc:
            raise WanMessageError(f"a {cls.KIND} message needs {name!r}", field=name)
        values[name] = parse(doc[name], name)
    return cls(**values)  # type: ignore[arg-type]


def decode_down(data: bytes) -> DownMessage:
    """A message for a hub: one going up is refused, naming its kind."""
    message = decode(data)
    if not isinstance(message, _DOWN):
        raise WanMessageError(f"a {message.KIND} message goes from a hub to the DSP, not down", field="kind")
    return message


def decode_up(data: bytes) -> UpMessage:
    """A message for the DSP: one going down is refused, naming its kind."""
    message = decode(data)
    if not isinstance(message, _UP):
        raise WanMessageError(f"a {message.KIND} message goes from the DSP to a hub, not up", field="kind")
    return message
