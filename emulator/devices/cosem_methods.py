"""What the ESME's COSEM methods do (DLMS Action, class and method -> handler): the disconnector
scripts switch the supply, credit methods move the account, the clock presets, logs clear,
registers and demand reset, unit charges activate and debt registers are set. Each handler
returns the DLMS Action-Result; a wrong argument is a result code, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.devices.cosem import (
    ARMED,
    CONNECTED,
    DISCONNECTED,
    OBJECT_UNDEFINED,
    OTHER_REASON,
    SCRIPT_STATE,
    SUCCESS,
    TYPE_UNMATCHED,
    CosemModel,
)
from emulator.gbcs.dlms import Data
from emulator.gbcs.dlms_datetime import DlmsDateTime
from emulator.gbcs.errors import GbcsError
from emulator.gbcs.obis import ALCS_LOG, ALCS_SCRIPTS, DISCONNECTOR, EVENT_LOG, SUPPLY_SCRIPTS, TARIFF_SCRIPTS, obis

ZERO = Data("double-long-unsigned", 0)


def _scripts(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    script = arg.value if arg.type == "long-unsigned" else None
    if ln == SUPPLY_SCRIPTS and script in SCRIPT_STATE:
        state = SCRIPT_STATE[script]
        if state == CONNECTED and m.supply_state == DISCONNECTED:
            return OTHER_REASON  # enable from disabled needs arming first (the consumer restores)
        m.supply_state = state
        return SUCCESS
    if ln == TARIFF_SCRIPTS and script == 99:
        return SUCCESS  # block counters restart: the synthetic tariff has no block state
    if ln in (ALCS_SCRIPTS, obis("0-0:10.0.107.255")) and isinstance(script, int):
        m.alcs_events.append((m.device_time(now), script, (script >> 8) & 0x0F, script & 0xFF))
        return SUCCESS
    return OBJECT_UNDEFINED


def _disconnector(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    if ln != DISCONNECTOR:
        return OBJECT_UNDEFINED
    m.supply_state = DISCONNECTED
    return SUCCESS


def _reconnect(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    if ln != DISCONNECTOR:
        return OBJECT_UNDEFINED
    m.supply_state = ARMED if m.supply_state == DISCONNECTED else CONNECTED
    return SUCCESS


def _adjust_credit(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    if ln != obis("0-0:19.10.0.255") or arg.type != "double-long":
        return TYPE_UNMATCHED
    m.account.balance += int(arg.value)
    m.account.credits.append((m.device_time(now), int(arg.value)))
    return SUCCESS


def _reset_credit(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    which = ln[4] if ln[:4] == bytes((0, 0, 19, 10)) else -1
    if which == 0:
        m.account.balance = 0
    elif which == 1:
        m.account.emergency_credit, m.account.emergency_active = 0, False
    elif which == 2:
        m.account.debt = 0
    else:
        return OBJECT_UNDEFINED
    return SUCCESS


def _emergency_credit(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    m.account.emergency_active = True
    return SUCCESS


def _clear_log(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    if ln == EVENT_LOG:
        m.events.clear()
    elif ln == ALCS_LOG:
        m.alcs_events.clear()
    else:
        return OBJECT_UNDEFINED
    return SUCCESS


def _reset_register(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    m.stored[(3, ln, 2)] = ZERO
    return SUCCESS


def _reset_demand(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    if ln == obis("1-0:1.6.0.255"):
        m.max_demand_w = 0
    m.stored[(4, ln, 2)] = ZERO
    return SUCCESS


def _clock_preset(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    """Method 5 preset_adjusting_time: (preset time, validity start, validity end)."""
    try:
        start, end = (DlmsDateTime.decode(bytes(d.value)).to_epoch() for d in arg.value[1:3])
    except (AttributeError, TypeError, ValueError, IndexError, GbcsError):
        return TYPE_UNMATCHED
    if start is None or end is None:
        return TYPE_UNMATCHED
    m.preset = (start, start, end)
    return SUCCESS


def _clock_adjust(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    """Method 4 adjust_to_preset_time: a clock inside the validity window (CurrentDateTime plus the
    tolerance) is kept; one outside it is set to the window's start, the time the DSP gave."""
    if m.preset is None:
        return OTHER_REASON
    _, start, end = m.preset
    m.preset = None
    if not start <= m.device_time(now) <= end:
        m.clock_offset = start - now
    return SUCCESS


def _activate_charge(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    """Class 113 method 2: the passive unit charge (attribute 6) becomes the active one (5)."""
    if (113, ln, 6) not in m.stored:
        return OBJECT_UNDEFINED
    m._activate_charge(ln)
    return SUCCESS


def _debt_amount(m: CosemModel, ln: bytes, arg: Data, now: float) -> int:
    """Class 113 method 4 set_total_amount_remaining: a debt register (time debt 1, 2, payment debt)."""
    if arg.type != "double-long":
        return TYPE_UNMATCHED
    m.stored[(113, ln, 9)] = arg
    m.account.debt = sum(int(v.value) for (c, _, a), v in m.stored.items() if c == 113 and a == 9)
    return SUCCESS


Action = Callable[[CosemModel, bytes, Data, float], int]
ACTIONS: dict[tuple[int, int], Action] = {
    (9, 1): _scripts, (70, 1): _disconnector, (70, 2): _reconnect,
    (112, 1): _adjust_credit, (112, 2): _reset_credit, (112, 3): _emergency_credit,
    (7, 1): _clear_log, (3, 1): _reset_register, (4, 1): _reset_demand, (8, 5): _clock_preset,
    (8, 4): _clock_adjust, (113, 2): _activate_charge, (113, 4): _debt_amount,
}
