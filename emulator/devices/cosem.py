"""The ESME's COSEM object model: what a DLMS Get/Set/Action on (class, OBIS, attribute) does.

Registers are computed from the synthetic load at ``now`` (DV-4); settable objects
keep their last value; anything not modelled answers DLMS "object-undefined", as a
real meter does for an object it lacks, rather than failing the whole request.
Values are (DLMS type name, Python value) pairs; the engine encodes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.devices.load import LoadModel

Value = tuple[str, Any]  # ("double-long-unsigned", 1234), ("octet-string", b".."), ...
ObjectKey = tuple[int, bytes, int]  # class id, OBIS (6 bytes), attribute or method

# DLMS Data-Access-Result codes (IEC 62056-5-3).
SUCCESS = 0
HARDWARE_FAULT = 1
TEMPORARY_FAILURE = 2
READ_WRITE_DENIED = 3
OBJECT_UNDEFINED = 4
OBJECT_UNAVAILABLE = 11
TYPE_UNMATCHED = 12
OTHER_REASON = 250


def obis(text: str) -> bytes:
    """``"1-0:1.8.0.255"`` -> 6 bytes."""
    a, rest = text.split("-")
    b, rest = rest.split(":")
    c, d, e, f = rest.split(".")
    return bytes(int(x) for x in (a, b, c, d, e, f))


FIRMWARE_VERSION = (1, obis("0-0:0.2.1.255"), 2)  # ECS52, SRV 11.2 (gbcs.md)
CLOCK_TIME = (8, obis("0-0:1.0.0.255"), 2)
IMPORT_ENERGY = (3, obis("1-0:1.8.0.255"), 2)
EXPORT_ENERGY = (3, obis("1-0:2.8.0.255"), 2)
REACTIVE_IMPORT = (3, obis("1-0:3.8.0.255"), 2)
ACTIVE_POWER = (3, obis("1-0:1.7.0.255"), 2)
MAX_DEMAND = (4, obis("1-0:1.6.0.255"), 2)
DISCONNECT_STATE = (70, obis("0-0:96.3.10.255"), 3)  # control state: 0 disconnected, 1 connected, 2 armed
PAYMENT_MODE = (1, obis("0-0:94.44.1.255"), 2)
DEVICE_ID = (1, obis("0-0:96.1.0.255"), 2)
HALF_HOUR_PROFILE = (7, obis("1-0:99.1.0.255"), 2)  # profile generic buffer: last 48 half-hours (ECS22b)
DAILY_READ_LOG = (7, obis("1-0:98.1.0.255"), 2)  # midnight register reads, last 31 days (ECS21a, ECS66)
EVENT_LOG = (7, obis("0-0:99.98.0.255"), 2)  # what the meter recorded: refusals, alerts (ECS35a)
MAX_EVENTS = 100
TOU_REGISTERS = tuple((3, obis(f"1-0:1.8.{i}.255"), 2) for i in range(1, 5))


@dataclass(slots=True)
class CosemModel:
    """The live object model of one ESME."""

    eui: bytes
    load: LoadModel
    firmware_version: bytes
    payment_mode: str = "credit"
    supply_state: int = 1  # 1 connected (enabled), 2 armed, 0 disconnected
    max_demand_w: int = 0
    stored: dict[ObjectKey, Value] = field(default_factory=dict)
    events: list[tuple[float, int]] = field(default_factory=list)

    def record_event(self, now: float, code: int) -> None:
        """An entry for the event log (bounded, oldest dropped first, as a meter's log wraps)."""
        self.events.append((now, code))
        del self.events[:-MAX_EVENTS]

    def daily_reads(self, now: float, days: int = 31) -> list[tuple[float, int]]:
        midnight = now - (now % 86400)
        return [(t, self.load.energy_wh(t)) for t in (midnight - d * 86400 for d in range(days - 1, -1, -1))
                if t >= self.load.start]

    def getters(self) -> dict[ObjectKey, Callable[[float], Value]]:
        load = self.load
        getters: dict[ObjectKey, Callable[[float], Value]] = {
            FIRMWARE_VERSION: lambda now: ("octet-string", self.firmware_version),
            IMPORT_ENERGY: lambda now: ("double-long-unsigned", load.energy_wh(now)),
            EXPORT_ENERGY: lambda now: ("double-long-unsigned", 0),
            REACTIVE_IMPORT: lambda now: ("double-long-unsigned", load.energy_wh(now) // 10),
            ACTIVE_POWER: lambda now: ("double-long", load.power_w(now)),
            MAX_DEMAND: lambda now: ("double-long-unsigned", max(self.max_demand_w, load.power_w(now))),
            DISCONNECT_STATE: lambda now: ("enum", self.supply_state),
            PAYMENT_MODE: lambda now: ("enum", 0 if self.payment_mode == "credit" else 1),
            DEVICE_ID: lambda now: ("octet-string", self.eui),
            CLOCK_TIME: lambda now: ("date-time", now),
            HALF_HOUR_PROFILE: lambda now: ("profile", load.profile(now - now % 1800, 48)),
            DAILY_READ_LOG: lambda now: ("profile", self.daily_reads(now)),
            EVENT_LOG: lambda now: ("events", list(self.events)),
        }
        for i, key in enumerate(TOU_REGISTERS):
            getters[key] = self._tou_getter((0.4, 0.3, 0.2, 0.1)[i])
        return getters

    def _tou_getter(self, share: float) -> Callable[[float], Value]:
        # TOU split of the import register: fixed shares, so the rates sum to the total.
        def get(now: float) -> Value:
            return ("double-long-unsigned", int(self.load.energy_wh(now) * share))

        return get

    def get(self, key: ObjectKey, now: float) -> tuple[int, Value | None]:
        """(Data-Access-Result, value) for a Get."""
        getter = self.getters().get(key)
        if getter is not None:
            return SUCCESS, getter(now)
        if key in self.stored:
            return SUCCESS, self.stored[key]
        return OBJECT_UNDEFINED, None

    def set(self, key: ObjectKey, value: Value) -> int:
        """Data-Access-Result for a Set. Computed registers are read-only."""
        if key in self.getters() and key not in (CLOCK_TIME, PAYMENT_MODE):
            return READ_WRITE_DENIED
        if key == PAYMENT_MODE:
            self.payment_mode = "credit" if value[1] == 0 else "prepayment"
        self.stored[key] = value
        return SUCCESS

    def action(self, class_id: int, obis_code: bytes, method: int) -> int:
        """Action-Result. Disconnect control (class 70): 1 remote disconnect, 2 remote reconnect."""
        if class_id == 70:
            if method == 1:
                self.supply_state = 0
                return SUCCESS
            if method == 2:
                self.supply_state = 2 if self.supply_state == 0 else 1  # reconnect arms first
                return SUCCESS
        return SUCCESS if (class_id, obis_code, method) in self.stored else OBJECT_UNDEFINED
