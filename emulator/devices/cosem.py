"""The ESME's COSEM object model: what a DLMS Get/Set/Action on (class, OBIS, attribute) does.

Three kinds of object. Measured values (energy registers, demand, clock, supply state,
profiles and logs) are computed from the synthetic load and the meter's state at ``now``
(DV-4). Configuration objects live in a store seeded with the factory values
(:mod:`emulator.devices.cosem_objects`): a Set replaces the value, the next Get returns
it. Methods act on the state (:mod:`emulator.devices.cosem_methods`): the disconnector
scripts switch the supply, credit methods move the account, the clock presets, logs clear. Anything not
modelled answers DLMS "object-undefined", as a real meter does for an object it lacks.

Protected reads (class 30 method 1, GBCS 7.2.x) return the plaintext the ESME then
encrypts for the requester (:meth:`CosemModel.protected_read`).
"""

from __future__ import annotations

import functools
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import ClassVar, cast

from emulator.devices.cosem_logs import read_log
from emulator.devices.cosem_objects import IDENTITY, ObjectKey, shared_factory_objects
from emulator.devices.load import LoadModel
from emulator.gbcs import esme_alerts
from emulator.gbcs.dlms import Data
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.obis import ACCOUNT, IMPORT_ACTIVE_ENERGY, PASSIVE_ACCOUNT, obis
from emulator.gbcs.obis import FIRMWARE_VERSION as FIRMWARE_VERSION_LN

# DLMS Data-Access-Result / Action-Result codes (IEC 62056-5-3).
SUCCESS = 0
HARDWARE_FAULT = 1
TEMPORARY_FAILURE = 2
READ_WRITE_DENIED = 3
OBJECT_UNDEFINED = 4
OBJECT_UNAVAILABLE = 11
TYPE_UNMATCHED = 12
OTHER_REASON = 250

FIRMWARE_VERSION = (1, FIRMWARE_VERSION_LN, 2)  # ECS52, SRV 11.2 (gbcs.md)
IMPORT_ENERGY = (3, IMPORT_ACTIVE_ENERGY, 2)
MAX_EVENTS = 100
DISCONNECTED, CONNECTED, ARMED = 0, 1, 2  # class 70 control states
SCRIPT_STATE = {51: DISCONNECTED, 52: ARMED, 54: CONNECTED}  # ECS42 disable, ECS43 arm, ECS44 enable
IMMEDIATE_YEAR = 0
WH, VARH, W = 30, 32, 27  # DLMS units


@functools.cache
def _scaler_unit(unit: int) -> Data:
    """Made once per unit (Data is immutable): every register group read carries two."""
    return Data("structure", (Data("integer", 0), Data("enum", unit)))


def _u32(v: int) -> Data:
    return Data("double-long-unsigned", max(0, min(int(v), 2**32 - 1)))


def _dt(t: float) -> Data:
    return Data("octet-string", DlmsDateTime.from_epoch(t).encode())


@dataclass(slots=True)
class Account:
    """Prepayment account: meter balance, emergency credit, debt (currency units x 10^-5)."""

    balance: int = 0
    emergency_credit: int = 0
    emergency_active: bool = False
    debt: int = 0
    credits: list[tuple[float, int]] = field(default_factory=list)  # (time, amount) credit adjustments

    def snapshot(self) -> tuple[int, int, int, int, int, int]:
        """ECS19 prepayment values: balance, emergency credit, debt, time debt 1, 2, accumulated debt."""
        return (self.balance, self.emergency_credit if self.emergency_active else 0, self.debt, 0, 0, self.debt)


# Attribute types of objects a Get may name before anything set them (class, attribute) -> value.
_TEMPLATES: dict[tuple[int, int], Data] = {
    (3, 2): _u32(0), (3, 3): _scaler_unit(WH), (4, 2): _u32(0), (4, 3): _scaler_unit(W),
    (4, 5): Data("octet-string", bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")), (7, 4): _u32(1800),
    (10, 2): Data("array", ()), (11, 2): Data("array", ()), (20, 3): Data("array", ()), (20, 4): Data("array", ()),
    (20, 5): Data("array", ()), (21, 2): Data("array", ()), (22, 4): Data("array", ()), (111, 11): Data("array", ()),
    (111, 16): Data("double-long", 0), (111, 18): Data("long-unsigned", 0), (111, 19): Data("double-long", 0),
    (112, 9): Data("double-long", 0), (112, 10): Data("double-long", 0), (113, 8): _u32(0),
    (113, 13): Data("long-unsigned", 0), (71, 4): _u32(0), (71, 6): _u32(0), (71, 7): _u32(0),
    (113, 5): Data("structure", (Data("structure", (Data("integer", 0), Data("integer", 0))),
                                 Data("structure", (Data("long-unsigned", 0), Data("octet-string", bytes(6)),
                                                    Data("integer", 0))), Data("array", ()))),
}


@dataclass(slots=True)
class CosemModel:
    """The live object model of one ESME."""

    SECURITY_EVENTS: ClassVar[frozenset[int]] = frozenset({0x8F3D, 0x8F30, 0x8F3F, 0x81BE, 0x8F1C, 0x8F1D})
    POWER_EVENTS: ClassVar[frozenset[int]] = frozenset({0x8F3B, 0x8F3C, 0x8F35, 0x8F36})

    eui: bytes
    load: LoadModel
    firmware_version: bytes
    payment_mode: str = "credit"
    supply_state: int = CONNECTED
    max_demand_w: int = 0
    clock_offset: float = 0.0
    stored: MutableMapping[ObjectKey, Data] = field(default_factory=dict)
    events: list[tuple[float, int]] = field(default_factory=list)
    alcs_events: list[tuple[float, int, int, int]] = field(default_factory=list)
    account: Account = field(default_factory=Account)
    mode_changes: list[float] = field(default_factory=list)  # payment mode / tariff activations (ECS20b)
    tou_shares: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    pending: list[tuple[float, ObjectKey, Data]] = field(default_factory=list)  # future-dated sets
    preset: tuple[float, float, float] | None = None  # clock preset: time, validity start, end
    poly_phase: bool = False  # which alerts the meter has (ECS25 behaviour changes name only those)
    utrn_counter: int = 0  # the counter of the last UTRN taken (CS01a): only a later one is taken
    secondary: LoadModel | None = None  # a twin element ESME's secondary element (None: single element)

    def __post_init__(self) -> None:
        # The factory objects are the same in every ESME but its identity: shared, read-only, under
        # this meter's own changes (a fleet of meters holds one table, not one each).
        own = {IDENTITY: Data("octet-string", self.eui), **self.stored}
        # ChainMap writes and deletes only in its first map: the shared one is never written.
        self.stored = ChainMap(own, cast(MutableMapping[ObjectKey, Data], shared_factory_objects()))
        self.stored[(111, ACCOUNT, 2)] = self._mode_value(self.payment_mode)
        self.stored[(111, PASSIVE_ACCOUNT, 2)] = self._mode_value(self.payment_mode)

    @staticmethod
    def _mode_value(mode: str) -> Data:
        return Data("structure", (Data("enum", 2 if mode == "prepayment" else 1), Data("enum", 1)))

    def device_time(self, now: float) -> float:
        return now + self.clock_offset

    def record_event(self, now: float, code: int) -> None:
        """An entry for the event log (bounded, oldest dropped first, as a meter's log wraps)."""
        self.events.append((self.device_time(now), code))
        del self.events[:-MAX_EVENTS]

    # --- reads ----------------------------------------------------------------------------
    def get(self, key: ObjectKey, now: float, period: tuple[float | None, float | None] | None = None
            ) -> tuple[int, Data | None]:
        """(Data-Access-Result, value) for a Get; ``period`` selects a log's entries by time."""
        self._apply_pending(now)
        class_id, ln, attr = key
        if class_id == 7 and attr == 2:
            start, end = period or (None, None)
            log = read_log(self, ln, self.device_time(now), start, end)
            return (SUCCESS, log) if log is not None else (OBJECT_UNDEFINED, None)
        computed = _registers().get(key)
        if computed is not None:
            return SUCCESS, computed(self, self.device_time(now))
        if key in self.stored:
            return SUCCESS, self.stored[key]
        template = _TEMPLATES.get((class_id, attr))
        if template is not None and class_id != 1:
            return SUCCESS, template
        return OBJECT_UNDEFINED, None

    # --- writes ---------------------------------------------------------------------------
    def set(self, key: ObjectKey, value: Data, now: float) -> int:
        """Data-Access-Result for a Set. Measured values are read-only."""
        if key in _registers() and key[0] != 8:
            return READ_WRITE_DENIED
        class_id, ln, attr = key
        if (class_id, ln, attr) == (111, PASSIVE_ACCOUNT, 13):  # activation time of the passive account
            return self._schedule_mode(value, now)
        if class_id == 113 and attr == 7:  # activation time of a passive unit charge (price update)
            return self._schedule_charge(ln, value, now)
        if class_id == 20 and attr == 10:  # activation time of the passive activity calendar (tariff)
            return self._schedule_charge(ln, value, now, key=(20, ln, 10))
        if class_id == 1 and attr == 2 and ln[2:4] == bytes((97, 98)) and ln[5] == 255:
            target = esme_alerts.change_target(ln[:2], ln[4])
            if target is not None:
                return self._change_behaviours(ln, target, value)
        self.stored[key] = value
        return SUCCESS

    def _change_behaviours(self, ln: bytes, target: tuple[int, int], change: Data) -> int:
        """ECS25a-b3: apply a 512-bit behaviour change to the party's state bitmap (ECS25r1/r2 read it).
        A change naming an alert this meter does not have is refused whole, with the result the RTDS
        reference ESME gives a poly-phase alert on a single-phase meter (hardware-fault)."""
        index, base = target
        if change.type != "bit-string" or change.value[0] != 2 * esme_alerts.HALF:
            return TYPE_UNMATCHED
        bits = bytes(change.value[1])
        if not set(esme_alerts.codes_in(bits, base)) <= esme_alerts.configurable(self.poly_phase):
            return HARDWARE_FAULT
        state_key = (1, ln[:4] + bytes((index, 255)), 2)
        current = self.stored.get(state_key)
        old = bytes(current.value[1]) if current is not None else bytes(esme_alerts.HALF // 8)
        self.stored[state_key] = Data("bit-string", (esme_alerts.HALF, esme_alerts.apply_change(old, bits)))
        return SUCCESS

    def _schedule_mode(self, when: Data, now: float) -> int:
        """Activation of the passive account (payment mode, credit/charge configuration): now when the
        time is "immediate" (year 0) or past, later when future-dated, never when all-FF (cancel)."""
        raw = bytes(when.value) if when.type == "octet-string" else b""
        if len(raw) != 12 or (111, PASSIVE_ACCOUNT, 2) not in self.stored:
            return TYPE_UNMATCHED
        self.pending = [p for p in self.pending if p[1] != (111, PASSIVE_ACCOUNT, 13)]
        if raw[0] == 0xFF:
            return SUCCESS
        at = DlmsDateTime.decode(raw).to_epoch() if int.from_bytes(raw[:2], "big") != IMMEDIATE_YEAR else None
        if at is None or at <= self.device_time(now):
            self._activate_passive()
            self._note_change(self.device_time(now))
        else:
            self.pending.append((at, (111, PASSIVE_ACCOUNT, 13), when))
        return SUCCESS

    def _schedule_charge(self, ln: bytes, when: Data, now: float, key: ObjectKey | None = None) -> int:
        """Activation of a passive unit charge (class 113) or activity calendar (class 20) at its time."""
        raw = bytes(when.value) if when.type == "octet-string" else b""
        if len(raw) != 12:
            return TYPE_UNMATCHED
        key = key or (113, ln, 7)
        self.stored[key] = when
        self.pending = [p for p in self.pending if p[1] != key]
        if raw[0] == 0xFF:
            return SUCCESS
        at = DlmsDateTime.decode(raw).to_epoch() if int.from_bytes(raw[:2], "big") != IMMEDIATE_YEAR else None
        if at is None or at <= self.device_time(now):
            self._activate(key)
            self._note_change(self.device_time(now))
        else:
            self.pending.append((at, key, when))
        return SUCCESS

    def _note_change(self, t: float) -> None:
        """A change of mode or tariff, logged once however many objects it activated together."""
        if not self.mode_changes or self.mode_changes[-1] != t:
            self.mode_changes.append(t)

    def _activate(self, key: ObjectKey) -> None:
        if key[0] == 20:
            self._activate_calendar(key[1])
        else:
            self._activate_charge(key[1])

    def _activate_calendar(self, ln: bytes) -> None:
        """The passive season, week and day profiles become active, with the element's special days
        (0-1:11.0.n -> 0-0:11.0.n) and, for the primary element, its block thresholds (16.1.x -> 16.0.x)."""
        for passive, active in ((7, 3), (8, 4), (9, 5)):
            if (20, ln, passive) in self.stored:
                self.stored[(20, ln, active)] = self.stored[(20, ln, passive)]
        element = ln[4]  # 0-0:13.0.<element>.255
        special = self.stored.get((11, bytes((0, 1, 11, 0, element, 255)), 2))
        if special is not None:
            self.stored[(11, bytes((0, 0, 11, 0, element, 255)), 2)] = special
        if element == 0:
            for band in range(11, 19):
                thresholds = self.stored.get((21, bytes((0, 0, 16, 1, band, 255)), 2))
                if thresholds is not None:
                    self.stored[(21, bytes((0, 0, 16, 0, band, 255)), 2)] = thresholds

    def _activate_charge(self, ln: bytes) -> None:
        passive = self.stored.get((113, ln, 6))
        if passive is not None:
            self.stored[(113, ln, 5)] = passive

    def _activate_passive(self) -> None:
        for attr in (2, 11):
            value = self.stored.get((111, PASSIVE_ACCOUNT, attr))
            if value is not None:
                self.stored[(111, ACCOUNT, attr)] = value
        mode = self.stored[(111, ACCOUNT, 2)]
        self.payment_mode = "prepayment" if mode.value[0].value == 2 else "credit"

    def _apply_pending(self, now: float) -> None:
        if not self.pending:  # (every read asks; nearly always nothing is scheduled)
            return
        due = [p for p in self.pending if p[0] <= self.device_time(now)]
        self.pending = [p for p in self.pending if p not in due]
        for at, key, value in due:
            if key == (111, PASSIVE_ACCOUNT, 13):
                self._activate_passive()
                self._note_change(at)
            elif (key[0], key[2]) in ((113, 7), (20, 10)):
                self._activate(key)
                self._note_change(at)
            else:
                self.stored[key] = value

    # --- methods --------------------------------------------------------------------------
    def action(self, class_id: int, ln: bytes, method: int, arg: Data, now: float) -> int:
        """Action-Result of a method invocation."""
        self._apply_pending(now)
        from emulator.devices.cosem_methods import ACTIONS  # the handlers import this module's model

        handler = ACTIONS.get((class_id, method))
        if handler is None:
            return OBJECT_UNDEFINED
        return handler(self, ln, arg, now)

    def protected_read(self, arg: Data, now: float) -> tuple[int, Data | None]:
        """Class 30 method 1: the attributes named in ``arg`` as one structure (to be encrypted)."""
        try:
            descriptors = arg.value[0].value
            values = []
            for d in descriptors:
                class_id, ln, attr = d.value[0].value, bytes(d.value[1].value), d.value[2].value
                access = d.value[4].value
                period = None
                if access[0].value == 1:
                    bounds = access[1].value
                    period = (DlmsDateTime.decode(bytes(bounds[0].value)).to_epoch(),
                              DlmsDateTime.decode(bytes(bounds[1].value)).to_epoch())
                code, value = self.get((class_id, ln, attr), now, period)
                if code != SUCCESS or value is None:
                    return code, None
                values.append(value)
        except (AttributeError, IndexError, TypeError, ValueError, GbcsError):
            return TYPE_UNMATCHED, None
        return SUCCESS, Data("structure", tuple(values))


# --- measured values: computed from the load and the meter's state at the device time ------------
Register = Callable[[CosemModel, float], Data]


def _tou(m: CosemModel, t: float) -> list[Data]:
    energy = m.load.energy_wh(t)
    return [_u32(int(energy * s)) for s in m.tou_shares] + [_u32(0)] * (48 - len(m.tou_shares))


def _second(m: CosemModel, t: float) -> tuple[Data, ...]:
    """A twin element ESME's secondary import register (nothing for a single element)."""
    return (_u32(m.secondary.energy_wh(t)),) if m.secondary is not None else ()


def _second_tou(m: CosemModel, t: float) -> tuple[Data, ...]:
    if m.secondary is None:
        return ()
    wh = m.secondary.energy_wh(t)
    return (Data("array", (_u32(wh), _u32(0), _u32(0), _u32(0))),)


def _energy_group(m: CosemModel, t: float) -> Data:
    energy = m.load.energy_wh(t)
    return Data("structure", (_u32(energy), _scaler_unit(WH), _u32(energy // 10), _scaler_unit(VARH), *_second(m, t)))


def _power_group(m: CosemModel, t: float) -> Data:
    power = m.load.power_w(t)
    return Data("structure", (_u32(power), _scaler_unit(W), _u32(power)))


_P = "1 0-0:94.44.34."  # GBCS protected register groups (ECS17b/d/e, ECS19) and active power (ECS17c)
_REGISTERS: dict[str, Register] = {
    "1 0-0:0.2.1.255 2": lambda m, t: Data("octet-string", m.firmware_version),
    "8 0-0:1.0.0.255 2": lambda m, t: _dt(t),
    "8 0-0:1.0.0.255 4": lambda m, t: Data("unsigned", 0),
    "3 1-0:1.8.0.255 2": lambda m, t: _u32(m.load.energy_wh(t)),
    "3 1-0:3.8.0.255 2": lambda m, t: _u32(m.load.energy_wh(t) // 10),
    "3 1-0:3.8.0.255 3": lambda m, t: _scaler_unit(VARH),
    "3 1-0:2.8.0.255 2": lambda m, t: _u32(0),
    "3 1-0:4.8.0.255 2": lambda m, t: _u32(0),
    "3 1-0:4.8.0.255 3": lambda m, t: _scaler_unit(VARH),
    "3 1-0:1.7.0.255 2": lambda m, t: Data("double-long", m.load.power_w(t)),
    "4 1-0:1.6.0.255 2": lambda m, t: _u32(max(m.max_demand_w, m.load.power_w(t))),
    "70 0-0:96.3.10.255 3": lambda m, t: Data("enum", m.supply_state),
    "70 0-0:96.3.10.255 2": lambda m, t: Data("boolean", 0xFF if m.supply_state == CONNECTED else 0),
    "112 0-0:19.10.0.255 2": lambda m, t: Data("double-long", m.account.balance),
    "1 0-0:94.44.5.0 2": lambda m, t: _dt(m.load.start),
    "1 0-0:94.44.5.1 2": lambda m, t: _dt(m.load.start),
    "1 0-0:94.44.5.2 2": lambda m, t: _dt(m.load.start),
    _P + "10 2": _energy_group,
    _P + "1 2": lambda m, t: Data("structure", (Data("array", tuple(_tou(m, t))), *_second_tou(m, t))),
    _P + "2 2": lambda m, t: Data("structure", (Data("array", tuple(_tou(m, t) + [_u32(0)] * 16)),)),
    _P + "30 2": lambda m, t: Data("structure", tuple(Data("double-long", v) for v in m.account.snapshot())),
    _P + "20 2": _power_group,
}


@functools.cache
def _registers() -> dict[ObjectKey, Register]:
    """The measured objects by key, each computing only its own value when read (the whole table
    used to be rebuilt, and every value computed, for each read)."""
    return {_object_key(key): fn for key, fn in _REGISTERS.items()}


@functools.cache
def _object_key(text: str) -> ObjectKey:
    """``"3 1-0:1.8.0.255 2"`` -> (class, OBIS bytes, attribute), parsed once (a hot path: every read)."""
    cls, ln, attr = text.split()
    return int(cls), obis(ln), int(attr)
