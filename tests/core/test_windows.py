from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.core.windows import (
    WINDOWS,
    iso_week_bounds,
    local_midnight,
    window_bounds,
    year_bounds,
)

SH = ZoneInfo("Asia/Shanghai")


def test_every_named_window_ends_at_as_of_in_utc():
    as_of = datetime(2024, 7, 24, 15, 30, tzinfo=SH)
    for name in WINDOWS:
        start, end = window_bounds(name, as_of=as_of, zone=SH)
        assert end == as_of and end.tzinfo is UTC
        assert start.tzinfo is UTC and start < end


def test_wtd_starts_monday_at_local_midnight():
    sunday_night = datetime(2024, 7, 28, 23, 59, tzinfo=SH)
    start, _ = window_bounds("wtd", as_of=sunday_night, zone=SH)
    assert start == datetime(2024, 7, 22, tzinfo=SH)
    assert start == datetime(2024, 7, 21, 16, tzinfo=UTC)


def test_wtd_uses_the_local_day_not_the_utc_day():
    # Monday 00:30 in Shanghai is still Sunday in UTC.
    monday_early = datetime(2024, 7, 21, 16, 30, tzinfo=UTC)
    start, _ = window_bounds("wtd", as_of=monday_early, zone=SH)
    assert start == datetime(2024, 7, 22, tzinfo=SH)


def test_ytd_starts_at_local_new_year_even_while_utc_is_still_in_the_old_year():
    as_of = datetime(2024, 1, 1, 3, tzinfo=SH)
    start, end = window_bounds("ytd", as_of=as_of, zone=SH)
    assert start == datetime(2023, 12, 31, 16, tzinfo=UTC)
    assert end - start == timedelta(hours=3)


def test_mtd_on_leap_day_starts_on_the_first_of_february():
    start, end = window_bounds("mtd", as_of=datetime(2024, 2, 29, 12, tzinfo=SH), zone=SH)
    assert start == datetime(2024, 2, 1, tzinfo=SH)
    assert end - start == timedelta(days=28, hours=12)


def test_mtd_just_after_leap_day_starts_on_march_first():
    start, _ = window_bounds("mtd", as_of=datetime(2024, 3, 1, 0, 30, tzinfo=SH), zone=SH)
    assert start == datetime(2024, 3, 1, tzinfo=SH)


def test_qtd_spans_a_leap_february():
    start, end = window_bounds("qtd", as_of=datetime(2024, 3, 1, tzinfo=SH), zone=SH)
    assert start == datetime(2024, 1, 1, tzinfo=SH)
    assert end - start == timedelta(days=31 + 29)


@pytest.mark.parametrize(
    ("month", "quarter_start"), [(1, 1), (3, 1), (4, 4), (6, 4), (7, 7), (9, 7), (10, 10), (12, 10)]
)
def test_qtd_starts_on_the_first_month_of_the_quarter(month: int, quarter_start: int):
    start, _ = window_bounds("qtd", as_of=datetime(2024, month, 15, tzinfo=SH), zone=SH)
    assert start == datetime(2024, quarter_start, 1, tzinfo=SH)


@pytest.mark.parametrize(
    ("name", "length"),
    [
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
        ("90d", timedelta(days=90)),
    ],
)
def test_rolling_windows_reach_back_a_fixed_length(name: str, length: timedelta):
    as_of = datetime(2024, 3, 1, 0, 30, tzinfo=SH)
    start, end = window_bounds(name, as_of=as_of, zone=SH)
    assert end - start == length


def test_unknown_window_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown window"):
        window_bounds("2w", as_of=datetime(2024, 1, 1, tzinfo=UTC), zone=SH)


def test_naive_as_of_is_a_value_error():
    with pytest.raises(ValueError, match="aware"):
        window_bounds("ytd", as_of=datetime(2024, 1, 1), zone=SH)


def test_iso_week_30_of_2024_runs_monday_to_monday_local():
    start, end = iso_week_bounds(2024, 30, SH)
    assert start == datetime.fromisoformat("2024-07-22T00:00:00+08:00")
    assert end == datetime.fromisoformat("2024-07-29T00:00:00+08:00")


def test_iso_week_53_exists_in_2020_but_not_in_2021():
    start, _ = iso_week_bounds(2020, 53, SH)
    assert start == datetime(2020, 12, 28, tzinfo=SH)
    with pytest.raises(ValueError):
        iso_week_bounds(2021, 53, SH)


def test_leap_year_has_366_local_days_and_others_365():
    start, end = year_bounds(2024, SH)
    assert start == datetime(2024, 1, 1, tzinfo=SH) and end == datetime(2025, 1, 1, tzinfo=SH)
    assert end - start == timedelta(days=366)
    assert year_bounds(2023, SH)[1] - year_bounds(2023, SH)[0] == timedelta(days=365)


def test_a_day_whose_midnight_was_skipped_starts_at_its_first_local_instant():
    # Brazil's DST began at midnight on 2018-11-04: the clocks went from 23:59:59 to 01:00.
    start = local_midnight(date(2018, 11, 4), ZoneInfo("America/Sao_Paulo"))
    assert start == datetime(2018, 11, 4, 3, tzinfo=UTC)
    assert start.astimezone(ZoneInfo("America/Sao_Paulo")).hour == 1
