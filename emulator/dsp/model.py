"""The DSP stub's data: devices, premises, users, requests and DUIS response codes.

Restricted is an attribute of a device, never a device status (RM-1).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar, Self

from emulator.zigbee.eui64 import Eui64
from emulator.zigbee.jsonvalue import JsonObject


class Status(StrEnum):
    """DUIS device statuses (Restricted is deliberately not one of them: RM-1)."""

    PENDING = "Pending"
    WHITELISTED = "Whitelisted"
    INSTALLED_NOT_COMMISSIONED = "InstalledNotCommissioned"
    COMMISSIONED = "Commissioned"
    DECOMMISSIONED = "Decommissioned"
    WITHDRAWN = "Withdrawn"
    SUSPENDED = "Suspended"
    RECOVERY = "Recovery"
    RECOVERED = "Recovered"


class Region(StrEnum):
    NORTH = "NORTH"
    CENTRAL_SOUTH = "CENTRAL_SOUTH"


# DUIS response codes used by the stub. E72 is this project's code for "Device is Restricted"
# (DUIS has none yet; the first unused generic code), configurable in RestrictedPolicy.
CODES: dict[str, str] = {
    "I0": "Success",
    "I99": "Acknowledged: passed access control, sent to the device",
    "E1": "Request malformed: a field is missing or not in its format",
    "E2": "Request counter is not above the last one from this user (replay)",
    "E3": "User role may not send this SRV",
    "E4": "User is not the responsible party for this device",
    "E5": "Device status is incompatible with the SRV",
    "E11": "SRV is not valid for this device type",
    "E12": "Command variant is not valid for this SRV",
    "E19": "Unknown device",
    "E20": "Cannot reach the device",
    "E21": "No response from the device",
    "E30": "Future-dated request timed out",
    "E51": "Signed Pre-Command is not one the DSP issued (unknown, altered, expired or already used)",
    "E72": "Device is Restricted",
}


@dataclass(slots=True)
class Premises:
    id: str
    region: Region
    hub: Eui64  # its CHF
    economy7_load_control: bool = False
    radio_teleswitch: bool = False
    network_managed: bool = False

    @property
    def communications_mandatory(self) -> bool:
        return self.economy7_load_control or self.radio_teleswitch or self.network_managed


@dataclass(slots=True)
class Device:
    eui: Eui64
    device_type: str  # ESME, GSME, GPF, CHF, PPMID, IHD
    premises: str
    status: Status = Status.PENDING
    payment_mode: str = "credit"
    firmware_version: str = ""
    restricted: bool = False
    import_supplier: str | None = None  # responsible supplier (ESME)
    gas_supplier: str | None = None  # responsible supplier (GSME, GPF)
    installing_supplier: str | None = None
    losing_supplier: str | None = None  # the supplier before the last change of supplier (IC-3)
    install_code: str | None = None  # held for the installing supplier only (IC-4)
    paired_gsme: Eui64 | None = None  # for a GPF: its GSME

    @property
    def responsible_supplier(self) -> str | None:
        return self.gas_supplier if self.device_type in ("GSME", "GPF") else self.import_supplier

    def public_view(self) -> JsonObject:
        """What inventory views show: never the install code (IC-4)."""
        return {"eui": str(self.eui), "device_type": self.device_type, "premises": self.premises,
                "status": self.status.value, "restricted": self.restricted, "payment_mode": self.payment_mode,
                "firmware_version": self.firmware_version, "responsible_supplier": self.responsible_supplier}


@dataclass(frozen=True, slots=True)
class User:
    """A Service User: its organisation EUI and its DUIS role(s)."""

    eui: str
    roles: frozenset[str]
    name: str = ""


def request_id_eui(request_id: str, index: int) -> str:
    """The originator (0) or target (1) EUI of a DUIS RequestID, as upper hex without separators."""
    return request_id.split(":")[index].replace("-", "").upper()


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    request_id: str  # originator:target:counter (EUIs as 8 hex pairs joined by '-')
    srv: str
    command_variant: int
    body: dict[str, Any] = field(default_factory=dict)
    role: str = ""
    execution_time: float | None = None  # future-dated requests
    signed_command: str | None = None  # CV 5: the Pre-Command signed by the user (hex)

    @property
    def originator(self) -> str:
        return request_id_eui(self.request_id, 0)

    @property
    def target(self) -> str:
        return request_id_eui(self.request_id, 1)

    @property
    def counter(self) -> int:
        return int(self.request_id.split(":")[2])


@dataclass(frozen=True, slots=True)
class Response:
    """What the DSP answers a Service User: a DUIS code, a message naming the field, and a body."""

    request_id: str
    code: str
    message: str = ""
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code in ("I0", "I99")


class Kept:
    """A record the repository keeps as one JSON document: its fields by name (a document's
    unknown keys are ignored, so a store written by an older version still loads)."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]  # set by @dataclass on each record

    def to_doc(self) -> JsonObject:
        layout = _layout(type(self))
        return {k: str(v) if isinstance(v, Eui64) else v for k, v in zip(layout.names, layout.get(self), strict=True)}

    def copy(self) -> Self:
        """Another record with the same field values (what a document round trip gives, without JSON)."""
        return type(self)(*_layout(type(self)).get(self))

    def compact(self) -> tuple[Any, ...]:
        """Its field values as one tuple of atomic values (an EUI-64 as its bytes, a dict as a tuple
        of its items): the cyclic garbage collector untracks such a tuple once it has seen it, so a
        store of finished records adds nothing to the walk of every full collection."""
        layout = _layout(type(self))
        return tuple(v if kind is _AS_IS or v is None else v.raw if kind is _EUI else tuple(v.items())
                     for kind, v in zip(layout.kinds, layout.get(self), strict=True))

    @classmethod
    def from_compact(cls, values: tuple[Any, ...]) -> Self:
        """The record :meth:`compact` gave."""
        kinds = _layout(cls).kinds
        return cls(*(v if kind is _AS_IS or v is None else Eui64(v) if kind is _EUI else dict(v)
                     for kind, v in zip(kinds, values, strict=True)))

    @classmethod
    def from_doc(cls, doc: JsonObject) -> Self:
        layout = _layout(cls)
        names, euis = layout.names, layout.euis  # EUIs are kept as their hex
        kwargs: dict[str, Any] = {k: v for k, v in doc.items() if k in names}
        for k in euis.intersection(kwargs):
            v = kwargs[k]
            if isinstance(v, str):
                kwargs[k] = Eui64.from_hex(v) if v else None
        return cls(**kwargs)


_AS_IS, _EUI, _DICT = "as is", "EUI-64", "dict"


@dataclass(frozen=True, slots=True)
class _Layout:
    """A record class's fields as the record methods use them. Made once per class: every request
    is written twice and read once per SRV, and working this out per call cost more than the copy."""

    names: dict[str, None]
    get: Callable[[Any], tuple[Any, ...]]  # all the field values at once
    euis: frozenset[str]  # fields that hold an EUI-64 (from the annotations, strings here)
    kinds: tuple[str, ...]  # per field, how :meth:`Kept.compact` keeps it


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields: dict[str, Any] = cls.__dataclass_fields__  # type: ignore[attr-defined]
        names = dict.fromkeys(fields)
        get = operator.attrgetter(*names) if len(names) > 1 else (lambda r: (getattr(r, next(iter(names))),))
        kinds = tuple(_EUI if "Eui64" in str(f.type) else _DICT if str(f.type).startswith("dict") else _AS_IS
                      for f in fields.values())
        euis = frozenset(k for k, kind in zip(fields, kinds, strict=True) if kind is _EUI)
        layout = _LAYOUTS[cls] = _Layout(names, get, euis, kinds)
    return layout


@dataclass(slots=True)
class RequestRecord(Kept):
    """One device request as the DSP keeps it, from acceptance to its final answer (one home)."""

    request_id: str
    user: str
    srv: str
    target: Eui64
    hub: Eui64 | None
    device_type: str
    counter: int  # the GBCS originator counter of the command
    srv_class: str  # the SRV's Restricted class (CONS, OPS...) for the reports (RM-8)
    message_code: int  # the use case of the GBCS that goes out: what the Restricted rules judge
    restricted: bool = False  # the device was Restricted when the request was accepted
    body: dict[str, Any] = field(default_factory=dict)  # the DUIS-level parameters
    signed_command: str | None = None  # CV 5: the user's signed Pre-Command (hex)
    state: str = "accepted"  # waiting | precommand | sent | done | timeout | refused
    sent: float = 0.0
    done: float | None = None
    ok: bool | None = None
    deadline: float | None = None
    future_dated: bool = False
    execute_at: float | None = None
    schedule: str | None = None  # the DCC schedule this run belongs to


@dataclass(frozen=True, slots=True)
class Schedule(Kept):
    """A DCC schedule (SRV 5.1): the DSP sends ``srv`` to ``target`` for ``user`` every ``period``."""

    schedule_id: str  # the RequestID of the 5.1 that created it
    user: str
    srv: str
    target: Eui64
    device_type: str
    hub: Eui64 | None
    next: float  # when the next run is due
    period: float
    message_code: int  # the use case each run sends (what the Restricted rules judge)
    srv_class: str  # the SRV's Restricted class, for the reports (RM-8)
    runs: int = 0
    active: bool = True
    deleted: float | None = None

    def view(self) -> JsonObject:
        """What SRV 5.2 (Read Schedule) shows of it."""
        doc: JsonObject = {
            "user": self.user, "srv": self.srv, "target": str(self.target), "device_type": self.device_type,
            "hub": str(self.hub or ""), "next": self.next, "period": self.period, "runs": self.runs,
            "active": self.active, "message_code": self.message_code, "class": self.srv_class}
        return doc if self.deleted is None else {**doc, "deleted": self.deleted}


@dataclass(frozen=True, slots=True)
class CodeExchange(Kept):
    """An install-code request from the gaining supplier to the losing one (MP121: IC-3, IC-4)."""

    exchange_id: str
    device: Eui64
    gaining: str
    losing: str
    requested: float
    deadline: float  # 10 working days after the request
    state: str = "open"  # open | answered | not-installer | closed-commissioned
    answered: float | None = None
    late: bool | None = None

    def view(self) -> JsonObject:
        """What the suppliers are told of it."""
        doc: JsonObject = {"device": str(self.device), "gaining": self.gaining, "losing": self.losing,
                           "requested": self.requested, "deadline": self.deadline, "state": self.state}
        return doc if self.answered is None else {**doc, "answered": self.answered, "late": self.late}

    def closed(self, state: str, now: float) -> CodeExchange:
        return replace(self, state=state, answered=now, late=now > self.deadline)


@dataclass(frozen=True, slots=True)
class Issued(Kept):
    """A Pre-Command the DSP handed to a user (CV 4), as kept until it comes back (or expires)."""

    request_id: str
    user: str
    srv: str
    target: Eui64
    counter: int
    message_code: int
    precommand: str  # hex, exactly as issued
    issued: float
    expires: float
    state: str = "issued"  # issued -> used

    @property
    def key(self) -> str:
        return frame_key(self.user, self.target, self.counter)


def frame_key(originator: str, target: Eui64, counter: int) -> str:
    """A GBCS frame's identity: who sent it to whom under which counter."""
    return f"{originator}:{target}:{counter}"


@dataclass(frozen=True, slots=True)
class FirmwareDistribution(Kept):
    """An OTA image sent to one hub for SRV 11.1."""

    request_id: str
    hub: Eui64
    user: str
    sent: float
    srv: str = "11.1"
    state: str = "sent"


class Due(StrEnum):
    SEND = "send"  # a future-dated request reaches its execution time
    DEADLINE = "deadline"  # no answer by now: E21 (E30 for a future-dated request)
    RESEND = "resend"  # no answer yet: send the command again (WN-1), checked again first
    SCHEDULE = "schedule"  # a DCC schedule's next run


@dataclass(frozen=True, slots=True, order=True)
class DueEntry:
    """One of the DSP's timers: ``kind`` is due for ``key`` (a request or a schedule id) at ``at``."""

    at: float
    kind: Due
    key: str
