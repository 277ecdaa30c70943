"""Chinese working days (工作日): statutory holidays and their make-up working days (调休).

``N 个工作日`` on a form is a real date clerks need. The State Council publishes each year's holiday
arrangement late in the year before; the ``chinese_calendar`` package carries the published years.
For a year it has no data for, Monday–Friday is assumed and the result is flagged as not exact, so
the form can say so instead of printing a date that may still move.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar

_ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=64)
def year_has_data(year: int) -> bool:
    """Whether the holiday arrangement of ``year`` is known (published and in ``chinese_calendar``)."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """``(working, exact)``: whether ``day`` is a working day, and whether that is known for sure."""
    if year_has_data(day.year):
        return chinese_calendar.is_workday(day), True
    return day.weekday() < 5, False


def add_working_days(start: dt.date, n: int) -> tuple[dt.date, bool]:
    """The ``n``-th working day after ``start`` (``start`` itself does not count), and whether it is exact.

    ``exact`` is False when a day counted or skipped fell in a year whose holiday arrangement is not
    known, where Monday–Friday was assumed. ``n == 0`` gives ``start``.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    day, exact, counted = start, True, 0
    while counted < n:
        day += _ONE_DAY
        working, known = is_working_day(day)
        exact = exact and known
        if working:
            counted += 1
    return day, exact


def years_without_data(start: dt.date, end: dt.date) -> list[int]:
    """The years of the days after ``start`` up to ``end`` whose holiday arrangement is not known.

    These are the years that made ``add_working_days(start, n)`` inexact when it returned ``end``.
    """
    if end <= start:
        return []
    first = start + _ONE_DAY
    return [year for year in range(first.year, end.year + 1) if not year_has_data(year)]
