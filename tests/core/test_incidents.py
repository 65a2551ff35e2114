"""An incident's rules over plain values (DESIGN §3, §4.3)."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tracker.core.incidents import (
    attributed_weight,
    grade_reason_errors,
    status_errors,
    time_errors,
)

NOW = datetime(2024, 7, 23, 12, tzinfo=UTC)


def _at(minutes):
    return NOW - timedelta(minutes=minutes)


def test_times_in_order_have_no_errors():
    times = {"impact_started_at": _at(30), "detected_at": _at(25), "resolved_at": _at(5)}
    assert time_errors(times, now=NOW) == []


def test_detection_before_impact_names_the_later_field():
    errors = time_errors({"impact_started_at": _at(5), "detected_at": _at(30)}, now=NOW)
    assert [(e.field, e.code, dict(e.params)) for e in errors] == [
        ("detected_at", "error.before", {"other": "impact_started_at"})
    ]


def test_more_than_five_minutes_ahead_is_the_future():
    errors = time_errors({"detected_at": NOW + timedelta(minutes=6)}, now=NOW)
    assert [e.field for e in errors] == ["detected_at"]
    assert time_errors({"detected_at": NOW + timedelta(minutes=4)}, now=NOW) == []


def test_detection_may_follow_mitigation():
    times = {"impact_started_at": _at(60), "mitigated_at": _at(50), "detected_at": _at(10)}
    assert time_errors(times, now=NOW) == []


def test_a_status_needs_its_time():
    assert [e.field for e in status_errors("mitigated", {})] == ["mitigated_at"]
    assert status_errors("open", {}) == []


def test_a_grade_below_the_suggestion_needs_a_reason():
    assert [e.field for e in grade_reason_errors("D", "C", "")] == ["grade_reason"]
    assert grade_reason_errors("D", "C", "测试交易") == grade_reason_errors("B", "C", "") == []


def test_no_party_means_fully_ours():
    assert attributed_weight([]) == 1


@given(st.lists(st.tuples(st.sampled_from(["0", "0.3", "0.5", "0.7", "1"]), st.booleans())))
def test_the_attributed_weight_is_the_exact_sum_of_internal_shares(entries):
    listed = [{"party": "p", "share": float(s), "internal": i} for s, i in entries]
    expected = sum((Fraction(s) for s, i in entries if i), Fraction(0)) if entries else 1
    assert attributed_weight(listed) == expected
