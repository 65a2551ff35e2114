from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tracker.core.counts import CountedIncident, count_incidents
from tracker.core.display import count
from tracker.core.windows import iso_week_bounds

SH = ZoneInfo("Asia/Shanghai")
WEEK_30 = iso_week_bounds(2024, 30, SH)
TUESDAY = datetime(2024, 7, 23, 10, 4, tzinfo=SH)


def incident(grade="C", weight=1, status="resolved", detected_at=TUESDAY) -> CountedIncident:
    return CountedIncident(detected_at, grade, status, weight)


def counts(*incidents: CountedIncident):
    return count_incidents(incidents, since=WEEK_30[0], until=WEEK_30[1])


def test_every_grade_and_ab_is_present_with_zeros():
    result = counts()
    assert set(result) == {"A", "B", "C", "D", "AB"}
    assert all(c.attributed == 0 and c.distinct == 0 for c in result.values())


def test_half_responsibility_counts_as_half_an_incident():
    result = counts(incident("C", 0.5))
    assert count(result["C"].attributed) == "0.5"
    assert result["C"].distinct == 1


def test_shares_add_up_without_float_artefacts():
    result = counts(incident("D", 0.5), incident("D", 0.25), incident("B", 0.7), incident("B", 0.1))
    assert result["D"].attributed == Decimal("0.75")
    assert result["B"].attributed == Decimal("0.8")
    assert count(result["B"].attributed) == "0.8"


def test_ab_is_a_plus_b():
    result = counts(incident("A", 1), incident("B", 0.5), incident("C", 1))
    assert result["AB"].attributed == Decimal("1.5")
    assert result["AB"].distinct == 2


def test_cancelled_ungraded_and_non_incidents_are_not_counted():
    result = counts(incident("C", status="cancelled"), incident(None), incident("none"))
    assert all(c.distinct == 0 for c in result.values())


def test_an_incident_counts_in_the_window_containing_its_detection():
    since, until = WEEK_30
    edges = [incident(detected_at=since), incident(detected_at=until - timedelta(microseconds=1))]
    outside = [incident(detected_at=until), incident(detected_at=since - timedelta(seconds=1))]
    assert counts(*edges, *outside)["C"].distinct == 2


def test_a_fully_external_incident_counts_zero_attributed_but_one_distinct():
    result = counts(incident("C", Decimal("0")))
    assert count(result["C"].attributed) == "0"
    assert result["C"].distinct == 1


shares = st.sampled_from([0, 0.1, 0.25, 0.3, 0.5, 0.7, 1, Decimal("0.3"), Fraction(1, 4)])


@given(st.lists(st.tuples(st.sampled_from("ABCD"), shares)))
def test_ab_always_equals_a_plus_b_and_attributed_never_exceeds_distinct(drawn):
    result = counts(*(incident(grade, weight) for grade, weight in drawn))
    assert result["AB"].attributed == result["A"].attributed + result["B"].attributed
    assert all(c.attributed <= c.distinct for c in result.values())
