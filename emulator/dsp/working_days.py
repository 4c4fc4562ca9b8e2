"""Working days in England and Wales: the IC-3 deadline (10 working days) skips weekends and
bank holidays. Sans-IO: dates in, dates out.

The regular bank holidays follow the Banking and Financial Dealings Act 1971 as the UK
government applies it: New Year's Day, Good Friday, Easter Monday, the early May, spring and
summer bank holidays (first Monday of May, last Mondays of May and August), Christmas Day and
Boxing Day, with a weekday substitute when one falls on a weekend. Years that moved or added
days by royal proclamation are listed in ``_PROCLAIMED``.
"""

from __future__ import annotations

import datetime
from functools import cache

_DAY = datetime.timedelta(days=1)

# Proclaimed changes: (moved from, moved to) pairs and extra days, by year.
_MOVED: dict[int, tuple[tuple[datetime.date, datetime.date], ...]] = {
    2012: ((datetime.date(2012, 5, 28), datetime.date(2012, 6, 4)),),  # Diamond Jubilee
    2020: ((datetime.date(2020, 5, 4), datetime.date(2020, 5, 8)),),  # VE Day 75
    2022: ((datetime.date(2022, 5, 30), datetime.date(2022, 6, 2)),),  # Platinum Jubilee
}
_PROCLAIMED: dict[int, tuple[datetime.date, ...]] = {
    2011: (datetime.date(2011, 4, 29),),  # royal wedding
    2012: (datetime.date(2012, 6, 5),),
    2022: (datetime.date(2022, 6, 3), datetime.date(2022, 9, 19)),  # jubilee; the Queen's state funeral
    2023: (datetime.date(2023, 5, 8),),  # the coronation
}


def easter_sunday(year: int) -> datetime.date:
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


def _first_monday(year: int, month: int) -> datetime.date:
    d = datetime.date(year, month, 1)
    return d + datetime.timedelta(days=(7 - d.weekday()) % 7)


def _last_monday(year: int, month: int) -> datetime.date:
    d = datetime.date(year + (month == 12), month % 12 + 1, 1) - _DAY
    return d - datetime.timedelta(days=d.weekday())


@cache
def bank_holidays(year: int) -> frozenset[datetime.date]:
    """England and Wales bank holidays of ``year``."""
    easter = easter_sunday(year)
    days = {easter - 2 * _DAY, easter + _DAY, _first_monday(year, 5), _last_monday(year, 5), _last_monday(year, 8)}
    new_year = datetime.date(year, 1, 1)
    days.add(new_year + datetime.timedelta(days={5: 2, 6: 1}.get(new_year.weekday(), 0)))
    christmas, boxing = datetime.date(year, 12, 25), datetime.date(year, 12, 26)
    if christmas.weekday() == 5:  # Saturday: Monday and Tuesday
        days |= {christmas + 2 * _DAY, boxing + 2 * _DAY}
    elif christmas.weekday() == 6:  # Sunday: Boxing Day Monday, Christmas substitute Tuesday
        days |= {boxing, christmas + 2 * _DAY}
    elif christmas.weekday() == 4:  # Friday: Boxing Day on Monday
        days |= {christmas, boxing + 2 * _DAY}
    else:
        days |= {christmas, boxing}
    for old, new in _MOVED.get(year, ()):
        days.discard(old)
        days.add(new)
    days.update(_PROCLAIMED.get(year, ()))
    return frozenset(days)


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(start: float, days: int) -> float:
    """``start`` (a UTC timestamp) plus ``days`` working days, at the end (23:59:59 UTC) of that day."""
    day = datetime.datetime.fromtimestamp(start, datetime.UTC).date()
    added = 0
    while added < days:
        day += _DAY
        if is_working_day(day):
            added += 1
    return datetime.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=datetime.UTC).timestamp()
