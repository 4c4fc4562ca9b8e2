"""The ALCS scheduler (6.14.2, ECS46c): switch identities, special days and the connection
schedule of the auxiliary load control switches.

DUIS elements (UpdateDeviceConfigurationALCScheduler): SwitchTypeAndId (index 1-5; ALCS, or HCALCS
with its EUI), ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay (index 1-20, a Date), and up to 48
ALCSHCALCSConnectionSchedule (ActivateDeactivateSwitch index + ActivateSwitch/DeactivateSwitch,
SpecialDaysApplicability indexes, DaysOfWeekApplicability/DayOfWeekApplicability/DayOfWeekID,
ALCSScheduleDatesAndTime: SwitchTime, StartDate, EndDate), ExecutionDateTime.
A DUIS Date is Year/Month/DayOfMonth/DayOfWeek, each Specified<field> or NonSpecified<field> (absent:
not specified); it becomes a 5-byte DLMS date with 0xFF(FF) for what is not specified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import CANCEL, ParameterError, Params, execution_time
from emulator.gbcs.esme_config import xs_time
from emulator.gbcs.esme_ops import Op, Predicate, obis, put

SWITCH_IDS = tuple(f"0-0:94.44.0.{21 + i}" for i in range(5))
SPECIAL_DAYS = "0-1:11.0.3.255"
SCHEDULE = "0-1:12.0.2.255"
ALCS_SCRIPTS = obis("0-0:10.0.103.255")
SWITCH_ON, SWITCH_OFF = 0x01, 0x02
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NEVER = b"\xff" * 5


def _items(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [] if node is None else [node]


def _index(node: Mapping[str, Any], name: str) -> int:
    try:
        return int(str(node.get("index", node.get("@index", ""))))
    except ValueError:
        raise ParameterError(f"{name} needs its index attribute", field=name) from None


def _field(node: Mapping[str, Any], name: str, unspecified: int) -> int:
    value = node.get(name)
    specified = value.get(f"Specified{name}") if isinstance(value, Mapping) else None
    return unspecified if specified is None else int(str(specified))


def dlms_date(node: Any) -> bytes:
    """A DUIS Date (Year, Month, DayOfMonth, DayOfWeek) as a DLMS date."""
    if not isinstance(node, Mapping):
        return NEVER
    return (_field(node, "Year", 0xFFFF).to_bytes(2, "big")
            + bytes((_field(node, "Month", 0xFF), _field(node, "DayOfMonth", 0xFF), _field(node, "DayOfWeek", 0xFF))))


def _special_days(p: Params) -> list[tuple[int, bytes]]:
    return sorted((_index(d, "ALCSHCALCSSpecialDay"), dlms_date(d)) for d in _items(p.find("ALCSHCALCSSpecialDay")))


def _switch_id(i: int) -> Op:
    def value(p: Params) -> Data:
        for s in _items(p.find("SwitchTypeAndId")):
            if isinstance(s, Mapping) and _index(s, "SwitchTypeAndId") == i + 1 and "HCALCS" in s:
                return Data("octet-string", bytes.fromhex(str(s["HCALCS"]).replace("-", "")))
        return Data("octet-string", bytes(8))

    def given(p: Params) -> bool:
        switches = _items(p.find("SwitchTypeAndId"))
        return not switches or any(isinstance(s, Mapping) and _index(s, "SwitchTypeAndId") == i + 1 for s in switches)

    when: Predicate = given
    return put(1, SWITCH_IDS[i], 2, value, when=when)


def _bits(count: int, chosen: set[int]) -> Data:
    """A DLMS bit-string of ``count`` bits, bit i (1-based, most significant first) set when chosen."""
    value = sum(1 << (7 - (i - 1) % 8) << 8 * ((count + 7) // 8 - 1 - (i - 1) // 8) for i in chosen if i <= count)
    return Data("bit-string", (count, value.to_bytes((count + 7) // 8, "big") if count else b""))


def _entry(n: int, item: Mapping[str, Any], special_count: int) -> Data:
    switch = item.get("ActivateDeactivateSwitch")
    if not isinstance(switch, Mapping):
        raise ParameterError("a connection schedule needs its ActivateDeactivateSwitch",
                             field="ActivateDeactivateSwitch")
    action = SWITCH_ON if "ActivateSwitch" in switch else SWITCH_OFF
    when = item.get("ALCSScheduleDatesAndTime")
    when = when if isinstance(when, Mapping) else {}
    days_node = item.get("DaysOfWeekApplicability")
    named = {str(d.get("DayOfWeekID")) for d in _items(days_node.get("DayOfWeekApplicability"))
             if isinstance(d, Mapping)} if isinstance(days_node, Mapping) else set(DAYS)
    weekdays = {DAYS.index(d) + 1 for d in named if d in DAYS}
    specials = {_index(s, "SpecialDaysApplicability") for s in _items(item.get("SpecialDaysApplicability"))
                if isinstance(s, Mapping)}
    return Data("structure", (
        Data("long-unsigned", n), Data("boolean", 0xFF), Data("octet-string", ALCS_SCRIPTS),
        Data("long-unsigned", (_index(switch, "ActivateDeactivateSwitch") << 8) | action),
        Data("octet-string", xs_time(str(when.get("SwitchTime", "00:00:00")), "SwitchTime")),
        Data("long-unsigned", 0xFFFF), _bits(7, weekdays), _bits(special_count, specials),
        Data("octet-string", dlms_date(when.get("StartDate"))), Data("octet-string", dlms_date(when.get("EndDate")))))


def _schedule(p: Params) -> Data:
    count = len(_special_days(p))
    entries = [e for e in _items(p.find("ALCSHCALCSConnectionSchedule")) if isinstance(e, Mapping)]
    return Data("array", tuple(_entry(n, e, count) for n, e in enumerate(entries, start=1)))


def _calendar(p: Params) -> Data:
    return Data("array", tuple(Data("structure", (Data("long-unsigned", i), Data("octet-string", date),
                                                  Data("unsigned", i))) for i, date in _special_days(p)))


def _activation(p: Params) -> Data:
    return Data("octet-string", CANCEL if p.bool("Cancel", False) else execution_time(p))


ALCS_SCHEDULER: tuple[Op, ...] = (
    *(_switch_id(i) for i in range(5)),
    put(11, SPECIAL_DAYS, 2, _calendar), put(10, SCHEDULE, 2, _schedule),
    put(9000, "0-0:94.44.128.26", 6, _activation), put(9000, "0-0:94.44.128.35", 6, _activation),
)
