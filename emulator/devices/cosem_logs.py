"""The ESME's profiles and logs (class 7 buffers) as GBCS reads them: compact arrays whose
first column is the capture time in seconds since 2000-01-01 (UTC), selected by time range.

Each log is one entry of :data:`LOGS`: its element type description (the columns GBCS
gives that log) and a function producing its rows from the meter's state at ``now``.
Rows are computed, not stored: the load model gives the consumption (DV-4), the event
list gives the events, so a read is a pure function of the meter's state.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.devices.compact import Row, compact
from emulator.devices.load import DAY, HALF_HOUR
from emulator.gbcs.dlms import Data
from emulator.gbcs.obis import obis

if TYPE_CHECKING:
    from emulator.devices.cosem import CosemModel

EPOCH_2000 = 946684800  # 2000-01-01T00:00:00Z in Unix seconds
TOU_RATES = 48
BLOCKS = 8
HALF_HOURS_KEPT = 48 * 13 * 7  # 13 weeks of half-hours (GBCS profile data log depth)
DAYS_KEPT = 31  # daily read log depth
BILLING_KEPT = 12  # billing data log depth: a year of monthly bills

# Column layouts (IEC 62056-6-2 type descriptions): 06 = double-long-unsigned, 05 = double-long,
# 12 = long-unsigned, 16 = enum, 09 = octet-string, 01 nnnn t = array of nnnn t, 02 n = structure of n.
TIME_VALUE = bytes.fromhex("02020606")
TIME_TWO_VALUES = bytes.fromhex("0203060606")
EVENT = bytes.fromhex("0203061209")  # time, event code, event data
SECURITY_EVENT = bytes.fromhex("02020612")  # time, event code
POWER_EVENT = bytes.fromhex("0203061206")  # time, event code, value
ALCS_EVENT = bytes.fromhex("020406121606")  # time, event code, switch, value
DAILY_READ = bytes.fromhex("020706060100300601000806010008060100080601000806")  # time, total, 48 TOU, 4x8 blocks
PREPAY_DAILY = bytes.fromhex("020706050505050505")  # time, six prepayment values
BILLING = bytes.fromhex("020d06060100300601000806010008060100080601000806050505050505")
# A twin element ESME (variant B) adds its secondary element: a second total after the first and four
# secondary TOU registers after the 48 (daily read, billing), a second value per half-hour (import
# profile), as the RTDS TWIN answers lay them out.
DAILY_READ_TWIN = bytes.fromhex("02090606060100300601000406010008060100080601000806010008 06".replace(" ", ""))
BILLING_TWIN = bytes.fromhex("020f0606060100300601000406010008060100080601000806010008 06050505050505".replace(" ", ""))
SECONDARY_TOU_RATES = 4

Rows = Callable[["CosemModel", float], list[Row]]


def since_2000(t: float) -> int:
    return max(0, int(t) - EPOCH_2000)


def _half_hours(m: CosemModel, now: float) -> list[Row]:
    if m.secondary is not None:
        second = m.secondary.profile(now - now % HALF_HOUR, HALF_HOURS_KEPT)
        return [(since_2000(t), wh, wh2) for (t, wh), (_, wh2) in
                zip(m.load.profile(now - now % HALF_HOUR, HALF_HOURS_KEPT), second, strict=True)]
    return [(since_2000(t), wh) for t, wh in m.load.profile(now - now % HALF_HOUR, HALF_HOURS_KEPT)]


def _reactive_half_hours(m: CosemModel, now: float) -> list[Row]:
    # reactive import: the synthetic load runs at a fixed 0.1 varh per Wh (as the reactive register)
    return [(since_2000(t), wh // 10) for t, wh in m.load.profile(now - now % HALF_HOUR, HALF_HOURS_KEPT)]


def _export_half_hours(m: CosemModel, now: float) -> list[Row]:
    # export: active and reactive export per half-hour; the emulated premises generate nothing
    return [(since_2000(t), 0, 0) for t, _ in m.load.profile(now - now % HALF_HOUR, HALF_HOURS_KEPT)]


def _midnights(m: CosemModel, now: float) -> list[float]:
    midnight = now - now % DAY
    return [t for t in (midnight - d * DAY for d in range(DAYS_KEPT - 1, -1, -1)) if t >= m.load.start]


def _daily_consumption(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), m.load.energy_wh(t) - m.load.energy_wh(t - DAY)) for t in _midnights(m, now)]


def _register_snapshot(m: CosemModel, t: float) -> Row:
    total = m.load.energy_wh(t)
    tou = [0] * TOU_RATES
    for i, share in enumerate(m.tou_shares):
        tou[i] = int(total * share)
    blocks = (0,) * BLOCKS
    if m.secondary is not None:  # the secondary element's total, all on its first rate
        second = m.secondary.energy_wh(t)
        secondary_tou = (second,) + (0,) * (SECONDARY_TOU_RATES - 1)
        return (since_2000(t), total, second, tuple(tou), secondary_tou, blocks, blocks, blocks, blocks)
    return (since_2000(t), total, tuple(tou), blocks, blocks, blocks, blocks)


def _daily_reads(m: CosemModel, now: float) -> list[Row]:
    return [_register_snapshot(m, t) for t in _midnights(m, now)]


def _prepay_daily(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), *m.account.snapshot()) for t in _midnights(m, now)]


def _billing(m: CosemModel, now: float) -> list[Row]:
    """A snapshot at each change of payment mode or tariff (the passive account or charges activated)."""
    return [(*_register_snapshot(m, t), *m.account.snapshot()) for t in m.mode_changes[-BILLING_KEPT:] if t <= now]


def calendar_points(m: CosemModel, now: float, max_days: int = 400) -> list[float]:
    """The instants the billing calendar (0-0:15.0.0.255 attribute 4: time, date with wildcards) fired."""
    entries = m.stored.get((22, obis("0-0:15.0.0.255"), 4))
    if entries is None or entries.type != "array":
        return []
    first = max(m.load.start, now - max_days * DAY)
    points = []
    day = first - first % DAY
    while day <= now:
        date = _dt.datetime.fromtimestamp(day, _dt.UTC)
        for entry in entries.value:
            time, when = bytes(entry.value[0].value), bytes(entry.value[1].value)
            year, month, dom, dow = int.from_bytes(when[:2], "big"), when[2], when[3], when[4]
            if (year in (0xFFFF, date.year) and month in (0xFF, date.month) and dom in (0xFF, date.day)
                    and dow in (0xFF, date.isoweekday())):
                t = day + time[0] * 3600 + time[1] * 60 + time[2]
                if first <= t <= now:
                    points.append(t)
        day += DAY
    return sorted(points)[-BILLING_KEPT:]


def _billing_registers(m: CosemModel, now: float) -> list[Row]:
    return [_register_snapshot(m, t) for t in calendar_points(m, now)]


def _billing_account(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), *m.account.snapshot()) for t in calendar_points(m, now)]


def _events(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), code & 0xFFFF, b"") for t, code in m.events]


def _security_events(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), code & 0xFFFF) for t, code in m.events if code in m.SECURITY_EVENTS]


def _power_events(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), code & 0xFFFF, 0) for t, code in m.events if code in m.POWER_EVENTS]


def _alcs_events(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), code & 0xFFFF, switch, state) for t, code, switch, state in m.alcs_events]


def _credits(m: CosemModel, now: float) -> list[Row]:
    return [(since_2000(t), amount & 0xFFFFFFFF) for t, amount in m.account.credits]


def _nothing(m: CosemModel, now: float) -> list[Row]:
    return []


@dataclass(frozen=True, slots=True)
class Log:
    description: bytes
    rows: Rows
    twin: bytes | None = None  # the description on a twin element ESME, where it differs


LOGS: dict[bytes, Log] = {obis(ln): log for ln, log in {
    "0-0:99.1.0.255": Log(TIME_VALUE, _half_hours, TIME_TWO_VALUES),  # active import profile (ECS22b)
    "0-0:99.1.1.255": Log(TIME_TWO_VALUES, _export_half_hours),  # export profile (ECS22a)
    "0-0:99.1.2.255": Log(TIME_VALUE, _reactive_half_hours),  # reactive import profile (ECS22c)
    "0-0:99.1.3.255": Log(TIME_VALUE, _daily_consumption),  # daily consumption log (ECS66)
    "0-0:98.1.9.255": Log(DAILY_READ, _daily_reads, DAILY_READ_TWIN),  # import daily read log (ECS21a)
    "0-0:98.1.8.255": Log(PREPAY_DAILY, _prepay_daily),  # prepayment daily read log (ECS21b)
    "0-0:98.1.10.255": Log(TIME_VALUE, _nothing),  # export daily read log (ECS21c): no export
    "0-0:98.1.2.255": Log(BILLING, _billing, BILLING_TWIN),  # change of mode / tariff triggered billing (ECS20b)
    "0-0:98.1.0.255": Log(DAILY_READ, _billing_registers, DAILY_READ_TWIN),  # billing calendar: registers (ECS20c)
    "0-0:98.1.1.255": Log(PREPAY_DAILY, _billing_account),  # billing calendar triggered: account (ECS20c)
    "0-0:98.1.4.255": Log(TIME_VALUE, _credits),  # debt payments (ECS20a)
    "0-0:98.1.5.255": Log(TIME_VALUE, _credits),  # prepayment credits (ECS20d)
    "0-0:99.98.0.255": Log(EVENT, _events),  # event log (ECS35a/c)
    "0-0:99.98.1.255": Log(SECURITY_EVENT, _security_events),  # security log (ECS35b/d)
    "0-0:99.98.4.255": Log(POWER_EVENT, _power_events),  # power event log (ECS35e)
    "0-17:99.98.2.255": Log(ALCS_EVENT, _alcs_events),  # ALCS event log (ECS35f/g)
    "0-0:99.98.20.255": Log(TIME_VALUE, _nothing),  # boost button log (ECS61c)
    "1-0:32.24.0.255": Log(TIME_VALUE, _nothing),  # average RMS voltage profiles (ECS23): no excursions
    "1-0:52.24.0.255": Log(TIME_VALUE, _nothing),
    "1-0:72.24.0.255": Log(TIME_VALUE, _nothing),
}.items()}


def read_log(m: CosemModel, logical_name: bytes, now: float, start: float | None, end: float | None) -> Data | None:
    """The log's rows whose capture time lies in [start, end] (Unix seconds; None: unbounded)."""
    log = LOGS.get(logical_name)
    if log is None:
        return None
    lo = since_2000(start) if start is not None else 0
    hi = since_2000(end) if end is not None else 2**32 - 1
    description = log.twin if log.twin is not None and m.secondary is not None else log.description
    return compact(description, [r for r in log.rows(m, now) if lo <= _time(r) <= hi])


def _time(row: Row) -> int:
    t = row[0]
    return t if isinstance(t, int) else 0
