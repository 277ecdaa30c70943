"""Chinese working days: 2026 statutory holidays and make-up working days (国务院办公厅 2026 年部分节假日安排)."""

from __future__ import annotations

import datetime as dt

import pytest

from service import workdays
from service.workdays import add_working_days, is_working_day, years_without_data

D = dt.date


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2026, 11, 20), 1, D(2026, 11, 23)),  # Friday → Monday: an ordinary weekend
        (D(2026, 11, 16), 5, D(2026, 11, 23)),  # Monday + 5 → the next Monday
        (D(2026, 9, 30), 1, D(2026, 10, 8)),  # 国庆节 10月1日–7日
        (D(2026, 9, 28), 5, D(2026, 10, 10)),  # …and Saturday 10月10日 is a make-up working day
        (D(2026, 10, 9), 1, D(2026, 10, 10)),
        (D(2026, 9, 19), 1, D(2026, 9, 20)),  # Sunday 9月20日 is a make-up working day for 国庆节
        (D(2026, 9, 24), 1, D(2026, 9, 28)),  # 中秋节 Friday 9月25日
        (D(2026, 2, 13), 1, D(2026, 2, 14)),  # Saturday 2月14日: make-up working day for 春节
        (D(2026, 2, 14), 1, D(2026, 2, 24)),  # 春节 2月15日–23日
        (D(2026, 4, 30), 1, D(2026, 5, 6)),  # 劳动节 5月1日–5日
        (D(2026, 5, 8), 1, D(2026, 5, 9)),  # Saturday 5月9日: make-up working day for 劳动节
        (D(2026, 1, 3), 1, D(2026, 1, 4)),  # Sunday 1月4日: make-up working day for 元旦
        (D(2026, 12, 29), 2, D(2026, 12, 31)),
    ],
)
def test_known_2026_dates(start, n, expected):
    assert add_working_days(start, n) == (expected, True)


def test_zero_days_is_the_start():
    assert add_working_days(D(2026, 10, 3), 0) == (D(2026, 10, 3), True)


def test_negative_days_rejected():
    with pytest.raises(ValueError):
        add_working_days(D(2026, 10, 3), -1)


def test_is_working_day():
    assert is_working_day(D(2026, 10, 10)) == (True, True)  # make-up Saturday
    assert is_working_day(D(2026, 10, 5)) == (False, True)  # Monday in the 国庆 holiday
    assert is_working_day(D(2099, 6, 6)) == (False, False)  # a Saturday of a year without data


def test_year_without_data_assumes_monday_to_friday():
    # 2099-06-05 is a Friday; nothing is known about 2099.
    assert add_working_days(D(2099, 6, 5), 1) == (D(2099, 6, 8), False)
    assert add_working_days(D(2099, 6, 5), 5) == (D(2099, 6, 12), False)
    assert years_without_data(D(2099, 6, 5), D(2099, 6, 12)) == [2099]


def test_crossing_into_a_year_without_data(monkeypatch):
    # Pretend the next year's arrangement is not yet published (as 2027's was not when this was written).
    monkeypatch.setattr(workdays, "year_has_data", lambda year: year <= 2026)
    # 12月30日 Wed → 31日 (1), 2027年1月1日 Friday assumed a working day (2), 1月4日 Monday (3).
    assert add_working_days(D(2026, 12, 30), 3) == (D(2027, 1, 4), False)
    # Still exact while every day counted is in a known year.
    assert add_working_days(D(2026, 12, 29), 2) == (D(2026, 12, 31), True)
    assert years_without_data(D(2026, 12, 30), D(2027, 1, 4)) == [2027]
    assert years_without_data(D(2026, 12, 29), D(2026, 12, 31)) == []


def test_an_operator_file_publishes_a_year_the_package_does_not_know(tmp_path):
    from service.errors import ConfigurationError

    path = tmp_path / "holidays.toml"
    path.write_text('[2027]\nsource = "国务院办公厅关于2027年部分节假日安排的通知"\n'
                    'holidays = ["2027-01-01", "2027-02-06..2027-02-12"]\nworkdays = ["2027-02-14"]\n', encoding="utf-8")
    assert not workdays.year_has_data(2027)
    try:
        workdays.configure(path)
        assert workdays.year_has_data(2027)
        assert add_working_days(D(2027, 2, 5), 1) == (D(2027, 2, 14), True)  # the week off, then a Sunday worked
        assert add_working_days(D(2026, 12, 31), 1) == (D(2027, 1, 4), True)  # 1月1日 off, then a weekend
        path.write_text('[2027]\nholidays = ["2027-02-30"]\n', encoding="utf-8")
        with pytest.raises(ConfigurationError, match="2027-02-30"):
            workdays.configure(path)
    finally:
        workdays.configure(None)
    assert not workdays.year_has_data(2027)
