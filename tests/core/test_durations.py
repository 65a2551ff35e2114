from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from tracker.core.durations import TimedIncident, nearest_rank, time_to, time_to_by_grade

START = datetime(2024, 7, 23, 2, 0, tzinfo=UTC)


def after(minutes: float | None) -> datetime | None:
    return None if minutes is None else START + timedelta(minutes=minutes)


def timed(detect=0, mitigate=None, resolve=None, grade="C") -> TimedIncident:
    return TimedIncident(grade, after(detect), START, after(mitigate), after(resolve))


def test_percentiles_are_nearest_rank():
    stats = time_to([timed(mitigate=m) for m in range(1, 11)], kind="mitigate")
    assert stats.count == 10
    assert stats.p50_seconds == 5 * 60
    assert stats.p90_seconds == 9 * 60


def test_nearest_rank_rounds_the_rank_up():
    assert nearest_rank([10, 20, 30], Fraction(1, 2)) == 20  # ⌈1.5⌉ = 2nd
    assert nearest_rank([10, 20, 30], Fraction(9, 10)) == 30  # ⌈2.7⌉ = 3rd
    assert nearest_rank([10], Fraction(1, 2)) == 10


def test_nearest_rank_is_exact_where_binary_floats_are_not():
    # 0.55 × 100 is 55.00000000000001 in floats, which would pick the 56th value.
    assert nearest_rank(list(range(1, 101)), Fraction(55, 100)) == 55


def test_only_incidents_with_both_times_are_measured():
    incidents = [timed(detect=2, mitigate=10), timed(detect=4), timed(detect=6, resolve=30)]
    assert time_to(incidents, kind="detect").count == 3
    assert time_to(incidents, kind="mitigate").count == 1
    assert time_to(incidents, kind="resolve").p50_seconds == 30 * 60


def test_detection_after_mitigation_is_still_measured_from_impact_start():
    found_late = timed(detect=600, mitigate=5)  # found in reconciliation, long after
    assert time_to([found_late], kind="detect").p50_seconds == 600 * 60
    assert time_to([found_late], kind="mitigate").p50_seconds == 5 * 60


def test_missing_impact_start_means_impact_began_at_detection():
    incident = TimedIncident("C", START, None, after(7), None)
    assert time_to([incident], kind="mitigate").p50_seconds == 7 * 60
    assert time_to([incident], kind="detect").p50_seconds == 0


def test_nothing_measured_gives_no_percentiles():
    stats = time_to([timed(detect=1)], kind="resolve")
    assert (stats.count, stats.p50_seconds, stats.p90_seconds) == (0, None, None)


def test_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError, match="unknown kind"):
        time_to([], kind="acknowledge")


def test_grouping_by_grade_pools_a_and_b_and_skips_the_rest():
    incidents = [timed(mitigate=m, grade=g) for m, g in [(1, "A"), (3, "B"), (5, "C"), (9, "none")]]
    stats = time_to_by_grade(incidents, kind="mitigate")
    assert {g: s.count for g, s in stats.items()} == {"A": 1, "B": 1, "C": 1, "D": 0, "AB": 2}
    assert stats["AB"].p90_seconds == 3 * 60
