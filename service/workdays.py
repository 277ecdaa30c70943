"""Chinese working days (工作日): statutory holidays and their make-up working days (调休).

``N 个工作日`` on a form is a real date clerks need. The State Council publishes each year's holiday
arrangement late in the year before; the ``chinese_calendar`` package carries the published years.
An operator's holiday file (``config/holidays.toml``, or ``CHENGNUO_HOLIDAYS_FILE``) adds the years the
package does not know yet, or corrects one; a year it lists counts as published. For a year nobody has
published, Monday–Friday is assumed and the result is flagged as not exact, so the form or the case can say
so instead of printing a date that may still move.

The file, one table per year (dates, or ranges ``A..B``)::

    [2027]
    source = "国务院办公厅关于2027年部分节假日安排的通知"
    holidays = ["2027-01-01", "2027-02-06..2027-02-12"]
    workdays = ["2027-02-14"]   # make-up working days (调休上班)
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import chinese_calendar

from .errors import ConfigurationError

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class YearArrangement:
    """One year's arrangement from the operator's file: its days off and its make-up working days."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    source: str = ""


_operator: dict[int, YearArrangement] = {}


def _days(year: int, key: str, values: object, path: Path) -> frozenset[dt.date]:
    if not isinstance(values, list):
        raise ConfigurationError(f"节假日文件 {path}：[{year}] {key} 应为日期列表", f"holiday file {path}: [{year}] {key} must be a list of dates")
    days: set[dt.date] = set()
    for value in values:
        try:
            first, _, last = str(value).partition("..")
            start, end = dt.date.fromisoformat(first.strip()), dt.date.fromisoformat((last or first).strip())
        except ValueError:
            raise ConfigurationError(f"节假日文件 {path}：[{year}] {key} 中的“{value}”不是日期（YYYY-MM-DD 或 A..B）",
                                     f"holiday file {path}: [{year}] {key}: {value!r} is not a date (YYYY-MM-DD or A..B)") from None
        if start.year != year or end.year != year or end < start:
            raise ConfigurationError(f"节假日文件 {path}：[{year}] {key} 中的“{value}”不在 {year} 年内",
                                     f"holiday file {path}: [{year}] {key}: {value!r} is not within {year}")
        while start <= end:
            days.add(start)
            start += _ONE_DAY
    return frozenset(days)


def load_arrangements(path: Path) -> dict[int, YearArrangement]:
    """The operator's holiday file; raises ConfigurationError naming what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"无法读取节假日文件 {path}：{exc}", f"cannot read the holiday file {path}: {exc}") from None
    years: dict[int, YearArrangement] = {}
    for key, table in raw.items():
        if not (key.isdigit() and len(key) == 4 and isinstance(table, dict)):
            raise ConfigurationError(f"节假日文件 {path}：“{key}”应为年份表，如 [2027]", f"holiday file {path}: {key!r} must be a year table like [2027]")
        year = int(key)
        holidays = _days(year, "holidays", table.get("holidays", []), path)
        workdays = _days(year, "workdays", table.get("workdays", []), path)
        if holidays & workdays:
            day = min(holidays & workdays)
            raise ConfigurationError(f"节假日文件 {path}：{day} 既是假日又是工作日", f"holiday file {path}: {day} is both a holiday and a working day")
        years[year] = YearArrangement(holidays, workdays, str(table.get("source", "")))
    return years


def configure(path: Path | None) -> None:
    """Uses the operator's holiday file (None, or a path that does not exist: none)."""
    _operator.clear()
    if path is not None and path.is_file():
        _operator.update(load_arrangements(path))
    year_has_data.cache_clear()


@lru_cache(maxsize=64)
def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=64)
def year_has_data(year: int) -> bool:
    """Whether the holiday arrangement of ``year`` is known: in the operator's file, or in ``chinese_calendar``."""
    return year in _operator or _package_knows(year)


def is_working_day(day: dt.date) -> tuple[bool, bool]:
    """``(working, exact)``: whether ``day`` is a working day, and whether that is known for sure."""
    arrangement = _operator.get(day.year)
    if arrangement is not None:
        if day in arrangement.holidays:
            return False, True
        if day in arrangement.workdays:
            return True, True
        return (chinese_calendar.is_workday(day) if _package_knows(day.year) else day.weekday() < 5), True
    if _package_knows(day.year):
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
