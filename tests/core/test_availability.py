from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.core.availability import Impairment, Maintenance, availability
from tracker.core.display import percent
from tracker.core.windows import year_bounds

SH = ZoneInfo("Asia/Shanghai")
YEAR_2023 = year_bounds(2023, SH)  # 365 days
YEAR_2024 = year_bounds(2024, SH)  # 366 days


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2023) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def lasting(start: datetime, minutes: float, ratio: float) -> Impairment:
    return Impairment(start, start + timedelta(minutes=minutes), ratio)


def over(bounds, impairments, maintenance=(), now=None):
    since, until = bounds
    return availability(impairments, maintenance, since=since, until=until, now=now or until)


def worked_example(year: int = 2023) -> list[Impairment]:
    """12 min at 0.4 + 3 min full outage + 20 min at 0.1 = 9.8 weighted minutes."""
    return [
        lasting(at(3, 1, 10, year=year), 12, 0.4),
        lasting(at(5, 9, 14, year=year), 3, 1.0),
        lasting(at(8, 20, 2, year=year), 20, 0.1),
    ]


def test_worked_example_is_9_8_weighted_minutes_and_shows_99_998():
    result = over(YEAR_2023, worked_example())
    assert result.downtime_seconds == 9.8 * 60
    assert result.eligible_seconds == 365 * 86400
    assert percent(result.availability) == "99.998%"


def test_overlapping_incidents_are_not_counted_twice():
    smaller = lasting(at(3, 1, 10, 5), 5, 0.2)  # inside the 12 minutes at 0.4
    result = over(YEAR_2023, [*worked_example(), smaller])
    assert result.downtime_seconds == 9.8 * 60
    assert percent(result.availability) == "99.998%"


def test_partly_overlapping_incidents_take_the_larger_ratio_while_both_run():
    first = lasting(at(6, 1, 10), 10, 0.5)  # 10:00-10:10
    second = lasting(at(6, 1, 10, 5), 10, 1.0)  # 10:05-10:15
    result = over(YEAR_2023, [first, second])
    assert result.downtime_seconds == 5 * 60 * 0.5 + 10 * 60 * 1.0


def test_maintenance_is_removed_from_downtime_and_eligible_time():
    outage = lasting(at(6, 1, 10), 60, 1.0)
    window = Maintenance(at(6, 1, 10, 30), at(6, 1, 11, 30))
    result = over(YEAR_2023, [outage], [window])
    assert result.downtime_seconds == 30 * 60
    assert result.eligible_seconds == 365 * 86400 - 60 * 60


def test_overlapping_maintenance_windows_are_removed_once():
    windows = [Maintenance(at(6, 1, 1), at(6, 1, 3)), Maintenance(at(6, 1, 2), at(6, 1, 4))]
    result = over(YEAR_2023, [], windows)
    assert result.eligible_seconds == 365 * 86400 - 3 * 3600
    assert result.availability == 1


def test_open_incident_runs_until_now():
    now = at(6, 1, 10, 10)
    still_open = Impairment(at(6, 1, 10), None, 0.5)
    result = over(YEAR_2023, [still_open], now=now)
    assert result.downtime_seconds == 10 * 60 * 0.5


def test_open_incident_never_runs_past_the_window_end():
    still_open = Impairment(at(6, 1, 10), None, 1.0)
    week = (at(5, 29), at(6, 1, 10, 20))
    result = over(week, [still_open], now=at(6, 8))
    assert result.downtime_seconds == 20 * 60


def test_incident_crossing_new_year_counts_only_its_part_inside_the_year():
    crossing = Impairment(at(12, 31, 23, 50), at(1, 1, 0, 20, year=2024), 1.0)
    assert over(YEAR_2023, [crossing]).downtime_seconds == 10 * 60
    assert over(YEAR_2024, [crossing]).downtime_seconds == 20 * 60


def test_leap_year_has_366_days_of_eligible_time():
    result = over(YEAR_2024, worked_example(2024))
    assert result.eligible_seconds == 366 * 86400
    assert result.availability == 1 - 588 / (366 * 86400)
    assert percent(result.availability) == "99.998%"


def test_availability_carries_no_binary_artefact_into_the_display():
    # In plain floats 1 - 272 / 100000 is 0.9972799999999999, which would truncate to 99.727%.
    since = datetime(2024, 1, 1, tzinfo=UTC)
    slow = Impairment(since, since + timedelta(seconds=2720), 0.1)
    until = since + timedelta(seconds=100_000)
    result = availability([slow], [], since=since, until=until, now=until)
    assert result.downtime_seconds == 272
    assert percent(result.availability) == "99.728%"


def test_an_empty_window_has_no_availability():
    since = datetime(2024, 1, 1, tzinfo=UTC)
    result = availability(
        [],
        [Maintenance(since, since + timedelta(days=1))],
        since=since,
        until=since + timedelta(hours=1),
        now=since,
    )
    assert result.eligible_seconds == 0 and result.availability is None
    assert percent(result.availability) == "无数据"


def test_ratio_outside_zero_to_one_is_rejected():
    with pytest.raises(ValueError, match="ratio"):
        Impairment(at(1, 1), at(1, 2), 1.5)


def test_until_before_since_is_rejected():
    with pytest.raises(ValueError, match="until"):
        availability([], [], since=at(1, 2), until=at(1, 1), now=at(1, 2))
