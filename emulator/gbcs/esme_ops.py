"""The building blocks of ESME command payloads: one DLMS Access-Request made of ordered
request specifications (Get, Set, Action, Get with selective access), each with its
data item computed from the DUIS parameters.

A use case is declared as a tuple of :class:`Op`; :func:`access_request` turns it into
bytes. The GBCS forms shared by many use cases live here too: the range selector of a
profile read (GBCS: restricting object is the UTC clock 0-0:94.44.100.255, bounds as
seconds since 2000) and the protected read by Action on a Data Protection object
(class 30, method 1 ``get_protected_attributes``), whose answer the ESME encrypts.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass

from emulator.gbcs import dlms
from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import ALL_FROM, ALL_TO, Params, dlms_datetime, seconds_since_2000
from emulator.gbcs.obis import obis
from emulator.gbcs.usecase_builders import UseCaseRequest

ValueFn = Callable[[Params], Data]
Predicate = Callable[[Params], bool]
SelectorFn = Callable[[Params], tuple[int, Data]]

# The restricting object of GBCS range selections: UTC date-time register, attribute 2.
UTC_CLOCK = bytes.fromhex("00005E2C64FF")
RANGE_SELECTOR = 1
# Protection parameters of a protected read (GBCS 7.2.x): protection type 2 (encryption),
# key information "agreed key" with key parameter 02 (ECDH, static-unified).
PROTECTION_ENCRYPTION = 2
TRANSACTION_PREFIX = b"\x04"


@dataclass(frozen=True, slots=True)
class Op:
    kind: int
    class_id: int
    obis: bytes
    attribute: int
    value: ValueFn | None = None
    selector: SelectorFn | None = None
    when: Predicate | None = None  # an optional request: included only when the DUIS element is there


def _const(d: Data) -> ValueFn:
    return lambda _p: d


def get(class_id: int, logical_name: str, attribute: int = 2, *, when: Predicate | None = None) -> Op:
    return Op(dlms.GET, class_id, obis(logical_name), attribute, when=when)


def put(class_id: int, logical_name: str, attribute: int, value: ValueFn | Data, *,
        when: Predicate | None = None) -> Op:
    fn = _const(value) if isinstance(value, Data) else value
    return Op(dlms.SET, class_id, obis(logical_name), attribute, fn, when=when)


ZERO = Data("integer", 0)  # the argument of a parameterless method


def act(class_id: int, logical_name: str, method: int, value: ValueFn | Data = ZERO, *,
        when: Predicate | None = None) -> Op:
    fn = _const(value) if isinstance(value, Data) else value
    return Op(dlms.ACTION, class_id, obis(logical_name), method, fn, when=when)


def range_selector(p: Params) -> tuple[int, Data]:
    start, end = p.period()
    return RANGE_SELECTOR, Data("structure", (
        Data("structure", (Data("long-unsigned", 1), Data("octet-string", UTC_CLOCK), Data("integer", 2),
                           Data("long-unsigned", 0))),
        Data("double-long-unsigned", seconds_since_2000(start)),
        Data("double-long-unsigned", seconds_since_2000(end)),
        Data("array", ())))


def read_range(class_id: int, logical_name: str, attribute: int = 2) -> Op:
    """Get with a range selection over ``ReadLogPeriod``."""
    return Op(dlms.GET_WITH_SELECTION, class_id, obis(logical_name), attribute, selector=range_selector)


def access_request(ops: tuple[Op, ...], req: UseCaseRequest) -> bytes:
    p = Params(req.body)
    chosen = [op for op in ops if op.when is None or op.when(p)]
    specs = tuple(dlms.RequestSpec(op.kind, op.class_id, op.obis, op.attribute,
                                   op.selector(p) if op.selector else None) for op in chosen)
    data = tuple(op.value(p) if op.value else dlms.NULL for op in chosen)
    return dlms.AccessRequest(dlms.invoke_id_for(req.counter), specs, data).encode()


# --- protected reads (class 30 get_protected_attributes) -------------------------------------

@dataclass(frozen=True, slots=True)
class Protected:
    """One attribute read under protection; ``period`` adds a date-time range selection."""

    class_id: int
    logical_name: str
    attribute: int = 2
    period: bool = False


def _range(start: _dt.datetime, end: _dt.datetime) -> Data:
    return Data("structure", (Data("enum", 1), Data("structure", (
        Data("octet-string", dlms_datetime(start)), Data("octet-string", dlms_datetime(end))))))


_KEY_INFO = Data("structure", (Data("enum", 2), Data("structure", (Data("octet-string", b"\x02"),
                                                                  Data("octet-string", b"")))))
_NO_OCTETS = Data("octet-string", b"")
_ENCRYPTION = Data("enum", PROTECTION_ENCRYPTION)


def protection_parameters(counter: int, originator: bytes, recipient: bytes) -> Data:
    """The protection-parameters array of a protected read or of its answer (the parts that never
    change are made once: Data is immutable)."""
    options = Data("structure", (Data("octet-string", TRANSACTION_PREFIX + counter.to_bytes(8, "big")),
                                 Data("octet-string", originator), Data("octet-string", recipient),
                                 _NO_OCTETS, _KEY_INFO))
    return Data("array", (Data("structure", (_ENCRYPTION, options)),))


def _descriptor(t: Protected, period: Data | None) -> Data:
    """One attribute named in a protected read: class, logical name, attribute, data index, and
    its access selection (the date-time range, or none)."""
    return Data("structure", (
        Data("long-unsigned", t.class_id), Data("octet-string", obis(t.logical_name)), Data("integer", t.attribute),
        Data("long-unsigned", 0), period if period is not None else _NO_SELECTION))


_NO_SELECTION = Data("structure", (Data("enum", 0), dlms.NULL))


def protected_read(protection_object: str, targets: tuple[Protected, ...]) -> Callable[[UseCaseRequest], bytes]:
    """A builder: Action 1 on the Data Protection object naming the attributes to return encrypted.

    What does not depend on the request (the object's name, the descriptors of attributes read
    without a period) is made once, with the builder: Data is immutable."""
    spec = dlms.RequestSpec(dlms.ACTION, 30, obis(protection_object), 1)
    fixed = tuple(None if t.period else _descriptor(t, None) for t in targets)
    constant = Data("array", fixed) if None not in fixed else None

    def build(req: UseCaseRequest) -> bytes:
        # ReadLogPeriod is checked even when no attribute takes it (a malformed one is refused, as it
        # was); an empty body (a plain read, most of them) has none: everything.
        start, end = Params(req.body).period() if req.body else (ALL_FROM, ALL_TO)
        if constant is not None:
            descriptors = constant
        else:
            ranged = _range(start, end)
            descriptors = Data("array", tuple(d if d is not None else _descriptor(t, ranged)
                                              for t, d in zip(targets, fixed, strict=True)))
        arg = Data("structure", (descriptors, protection_parameters(req.counter, req.originator, req.target)))
        return dlms.AccessRequest(dlms.invoke_id_for(req.counter), (spec,), (arg,)).encode()

    return build
