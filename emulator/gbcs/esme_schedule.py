"""The auxiliary load schedulers: ALCS scheduler (6.14.2, ECS46c: switch identities, special days
and the switches' connection schedule) and auxiliary controller scheduler (6.14.3, ECS46d: special
days and the controllers' level schedule).

DUIS elements (UpdateDeviceConfigurationALCScheduler): SwitchTypeAndId (index 1-5; ALCS, or HCALCS
with its EUI), ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay (index 1-20, a Date), and up to 48
ALCSHCALCSConnectionSchedule (ActivateDeactivateSwitch index + ActivateSwitch/DeactivateSwitch,
SpecialDaysApplicability indexes, DaysOfWeekApplicability/DayOfWeekApplicability/DayOfWeekID,
ALCSScheduleDatesAndTime: SwitchTime, StartDate, EndDate), ExecutionDateTime.
ECS46d reads AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition (identifier
1-20, a Date) and up to 120 AuxiliaryControllerSchedule (AuxiliaryControllerAction with auxiliaryControllerN,
CommandedStateLevel, InputFromControlledLoad; SpecialDaysApplicability identifiers, DaysOfWeekApplicability,
AuxiliaryControllerSchedulePeriodAndTime). Script identifiers: switch index and action (0x01 on, 0x02 off)
for a switch; for a controller, 0x10 (output) or 0x20 (input) plus its number in the high byte, and the
level with 0x80 (scheduled) in the low byte, as the RTDS examples encode them.
A DUIS Date is Year/Month/DayOfMonth/DayOfWeek, each Specified<field> or NonSpecified<field> (absent:
not specified); it becomes a 5-byte DLMS date with 0xFF(FF) for what is not specified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.gbcs.dlms import Data
from emulator.gbcs.duis_params import CANCEL, ParameterError, Params, execution_time
from emulator.gbcs.esme_config import xs_time
from emulator.gbcs.esme_ops import Op, Predicate, ValueFn, put
from emulator.gbcs.obis import ALCS_SCRIPTS
from emulator.gbcs.obis import SUPPLY_SCRIPTS as DISCONNECTOR_SCRIPTS

SWITCH_IDS = tuple(f"0-0:94.44.0.{21 + i}" for i in range(5))
SPECIAL_DAYS = "0-1:11.0.3.255"
SCHEDULE = "0-1:12.0.2.255"
SWITCH_ON, SWITCH_OFF = 0x01, 0x02
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NEVER = b"\xff" * 5


def _items(node: Any) -> list[Any]:
    return node if isinstance(node, list) else [] if node is None else [node]


def _index(node: Mapping[str, Any], name: str, attribute: str = "index") -> int:
    try:
        return int(str(node.get(attribute, node.get(f"@{attribute}", ""))))
    except ValueError:
        raise ParameterError(f"{name} needs its {attribute} attribute", field=name) from None


def _field(node: Mapping[str, Any], name: str, unspecified: int) -> int:
    value = node.get(name)
    specified = value.get(f"Specified{name}") if isinstance(value, Mapping) else None
    return unspecified if specified is None else int(str(specified))


def dlms_date(node: Any) -> bytes:
    """A DUIS Date (Year, Month, DayOfMonth, DayOfWeek) or an xs:date as a DLMS date."""
    if isinstance(node, str) and node.strip():
        try:
            y, m, d = (int(x) for x in node.strip()[:10].split("-"))
        except ValueError:
            raise ParameterError(f"not an xs:date: {node!r}", field="Date") from None
        return y.to_bytes(2, "big") + bytes((m, d, 0xFF))
    if not isinstance(node, Mapping):
        return NEVER
    return (_field(node, "Year", 0xFFFF).to_bytes(2, "big")
            + bytes((_field(node, "Month", 0xFF), _field(node, "DayOfMonth", 0xFF), _field(node, "DayOfWeek", 0xFF))))


def _special_days(p: Params, element: str = "ALCSHCALCSSpecialDay", attribute: str = "index"
                  ) -> list[tuple[int, bytes]]:
    return sorted((_index(d, element, attribute), dlms_date(d)) for d in _items(p.find(element)))


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


def _entry(n: int, script: int, item: Mapping[str, Any], when_element: str, special_count: int,
           special_attribute: str = "index", table: bytes = ALCS_SCRIPTS) -> Data:
    when = item.get(when_element)
    when = when if isinstance(when, Mapping) else {}
    days_node = item.get("DaysOfWeekApplicability")
    named = {str(d.get("DayOfWeekID")) for d in _items(days_node.get("DayOfWeekApplicability"))
             if isinstance(d, Mapping)} if isinstance(days_node, Mapping) else set(DAYS)
    weekdays = {DAYS.index(d) + 1 for d in named if d in DAYS}
    specials = {_index(s, "SpecialDaysApplicability", special_attribute)
                for s in _items(item.get("SpecialDaysApplicability")) if isinstance(s, Mapping)}
    return Data("structure", (
        Data("long-unsigned", n), Data("boolean", 0xFF), Data("octet-string", table), Data("long-unsigned", script),
        Data("octet-string", xs_time(str(when.get("SwitchTime", "00:00:00")), "SwitchTime")),
        Data("long-unsigned", 0xFFFF), _bits(7, weekdays), _bits(special_count, specials),
        Data("octet-string", dlms_date(when.get("StartDate"))), Data("octet-string", dlms_date(when.get("EndDate")))))


def _switch_script(item: Mapping[str, Any]) -> int:
    switch = item.get("ActivateDeactivateSwitch")
    if not isinstance(switch, Mapping):
        raise ParameterError("a connection schedule needs its ActivateDeactivateSwitch",
                             field="ActivateDeactivateSwitch")
    action = SWITCH_ON if "ActivateSwitch" in switch else SWITCH_OFF
    return (_index(switch, "ActivateDeactivateSwitch") << 8) | action


def controller_script(number: int, level: int, input_side: bool, scheduled: bool) -> int:
    if not 1 <= number <= 5:
        raise ParameterError(f"auxiliaryControllerN must be 1-5, got {number}", field="auxiliaryControllerN")
    if not 0 <= level <= 100:
        raise ParameterError(f"CommandedStateLevel must be 0-100, got {level}", field="CommandedStateLevel")
    return (((0x20 if input_side else 0x10) | number) << 8) | (0x80 if scheduled else 0) | level


def _action_script(item: Mapping[str, Any]) -> int:
    action = item.get("AuxiliaryControllerAction")
    if not isinstance(action, Mapping):
        raise ParameterError("a controller schedule needs its AuxiliaryControllerAction",
                             field="AuxiliaryControllerAction")
    a = Params(action)
    return controller_script(_index(action, "AuxiliaryControllerAction", "auxiliaryControllerN"),
                             a.int("CommandedStateLevel", 0), "InputFromControlledLoad" in action, scheduled=True)


def _schedule(p: Params) -> Data:
    count = len(_special_days(p))
    entries = [e for e in _items(p.find("ALCSHCALCSConnectionSchedule")) if isinstance(e, Mapping)]
    return Data("array", tuple(_entry(n, _switch_script(e), e, "ALCSScheduleDatesAndTime", count)
                               for n, e in enumerate(entries, start=1)))


def _controller_schedule(p: Params) -> Data:
    count = len(_special_days(p, "AuxiliaryControllerSpecialDayDefinition", "identifier"))
    entries = [e for e in _items(p.find("AuxiliaryControllerSchedule")) if isinstance(e, Mapping)]
    return Data("array", tuple(_entry(n, _action_script(e), e, "AuxiliaryControllerSchedulePeriodAndTime", count,
                                      "identifier") for n, e in enumerate(entries, start=1)))


def _calendar(p: Params) -> Data:
    return _days(_special_days(p))


def _controller_calendar(p: Params) -> Data:
    return _days(_special_days(p, "AuxiliaryControllerSpecialDayDefinition", "identifier"))


def _days(days: list[tuple[int, bytes]]) -> Data:
    return Data("array", tuple(Data("structure", (Data("long-unsigned", i), Data("octet-string", date),
                                                  Data("unsigned", i))) for i, date in days))


def _activation(p: Params) -> Data:
    return Data("octet-string", CANCEL if p.bool("Cancel", False) else execution_time(p))


_ACTIVATIONS = (put(9000, "0-0:94.44.128.26", 6, _activation), put(9000, "0-0:94.44.128.35", 6, _activation))
ALCS_SCHEDULER: tuple[Op, ...] = (
    *(_switch_id(i) for i in range(5)),
    put(11, SPECIAL_DAYS, 2, _calendar), put(10, SCHEDULE, 2, _schedule), *_ACTIVATIONS,
)
CONTROLLER_SCHEDULER: tuple[Op, ...] = (
    put(11, SPECIAL_DAYS, 2, _controller_calendar), put(10, SCHEDULE, 2, _controller_schedule), *_ACTIVATIONS,
)


# --- 2.1 prepayment configuration (ECS08, ECS08a) ------------------------------------------------
# UpdatePrepayConfigElectricity: DebtRecoveryRateCap, EmergencyCreditLimit, EmergencyCreditThreshold,
# LowCreditThreshold, MaxMeterBalance, MaxCreditThreshold; ElectricityNonDisablementCalendar:
# ElectricitySpecialDays/SpecialDay (index, Date) and ElectricityNonDisablementSchedule (NonDisablementScript
# START/STOP, SpecialDaysApplicability, DaysOfWeekApplicability, ScheduleDatesAndTime with xs:date or, as the
# RTDS examples need, a DUIS Date with wildcards). The cap applies per week (a constant, not a DUIS element).
NON_DISABLEMENT = {"START": 32, "STOP": 33}
DEBT_CAP_PERIOD = 604800  # one week, in seconds
_PREPAY = "0-0:94.44.128."


def _prepay_special_days(p: Params) -> Data:
    return _days(_special_days(p, "SpecialDay"))


def _non_disablement(p: Params) -> Data:
    count = len(_special_days(p, "SpecialDay"))
    entries = [e for e in _items(p.find("ElectricityNonDisablementSchedule")) if isinstance(e, Mapping)]
    out = []
    for n, e in enumerate(entries, start=1):
        script = NON_DISABLEMENT.get(str(e.get("NonDisablementScript", "START")).upper())
        if script is None:
            raise ParameterError("NonDisablementScript must be START or STOP", field="NonDisablementScript")
        out.append(_entry(n, script, e, "ScheduleDatesAndTime", count, table=DISCONNECTOR_SCRIPTS))
    return Data("array", tuple(out))


def _money(name: str) -> ValueFn:
    return lambda p: Data("double-long", p.int(name, 0))


def prepayment_configuration(max_balance_attribute: int) -> tuple[Op, ...]:
    settings = ((f"{_PREPAY}12", lambda p: Data("long-unsigned", p.int("DebtRecoveryRateCap", 0))),
                (f"{_PREPAY}13", lambda p: Data("double-long", DEBT_CAP_PERIOD)),
                (f"{_PREPAY}9", _money("EmergencyCreditLimit")), (f"{_PREPAY}2", _money("EmergencyCreditThreshold")))
    return (
        put(11, "0-1:11.0.2.255", 2, _prepay_special_days),
        put(9000, "0-0:94.44.2.20", max_balance_attribute, _money("MaxMeterBalance")),
        put(9000, "0-0:94.44.2.10", 4, _money("MaxCreditThreshold")),
        put(10, "0-1:12.0.1.255", 2, _non_disablement),
        *(put(9000, ln, 4, value) for ln, value in settings),
        put(9000, f"{_PREPAY}31", 6, _activation),
        put(9000, f"{_PREPAY}3", 4, _money("LowCreditThreshold")),
        *(put(9000, ln, 6, _activation) for ln in ("0-0:94.44.2.20", "0-0:94.44.2.10", f"{_PREPAY}12",
                                                  f"{_PREPAY}13", f"{_PREPAY}9", f"{_PREPAY}2", f"{_PREPAY}3",
                                                  f"{_PREPAY}28")),
    )
