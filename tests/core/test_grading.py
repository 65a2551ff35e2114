"""Grading suggestion (DESIGN §4.6) with the shipped thresholds."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.core.grading import IncidentFacts, Threshold, suggest_grade
from tracker.settings import load_settings

RULES = load_settings(environ={}).grading.rules()
START = datetime(2024, 7, 23, 2, 4, tzinfo=UTC)


def facts(minutes=0.0, ratio=1.0, tier=1, **fields):
    return IncidentFacts(
        impact_started_at=START,
        impact_ended_at=START + timedelta(minutes=minutes),
        impact_ratio=ratio,
        counts_toward_availability=fields.pop("counts", True),
        most_critical_tier=tier,
        **fields,
    )


def suggested(f, now=START + timedelta(days=1)):
    return suggest_grade(f, RULES, now=now)


@pytest.mark.parametrize(
    ("minutes", "ratio", "grade"),
    [(120, 0.5, "A"), (30, 0.5, "B"), (6, 0.5, "C"), (1, 0.5, "D"), (0.5, 0.5, "none")],
)
def test_weighted_minutes_reach_their_grade(minutes, ratio, grade):
    assert suggested(facts(minutes, ratio)).grade == grade


@pytest.mark.parametrize(("minutes", "grade"), [(30, "A"), (10, "B"), (2, "C"), (0.1, "D")])
def test_full_outage_minutes_reach_their_grade(minutes, grade):
    result = suggested(facts(minutes, 0.95, tier=3))
    assert (result.grade, result.dimension) == (grade, "full_outage_minutes")


def test_tier_weight_lowers_the_suggestion_of_an_internal_service():
    assert suggested(facts(40, 0.5, tier=1)).grade == "B"
    assert suggested(facts(40, 0.5, tier=3)).grade == "D"


@pytest.mark.parametrize(
    ("fields", "grade", "dimension"),
    [
        ({"affected_amount": Decimal("5000000")}, "B", "affected_amount"),
        ({"affected_transactions": 1000}, "C", "affected_transactions"),
        ({"fund_loss": Decimal("0.01")}, "D", "fund_loss"),
        ({"fund_loss": Decimal("1000000")}, "A", "fund_loss"),
        ({"regulatory_level": "larger"}, "B", "regulatory_level"),
        ({"regulatory_level": "extraordinary"}, "A", "regulatory_level"),
    ],
)
def test_money_counts_and_regulators_reach_their_grade(fields, grade, dimension):
    result = suggested(facts(**fields))
    assert (result.grade, result.dimension) == (grade, dimension)


def test_the_most_severe_dimension_decides():
    result = suggested(facts(6, 0.5, affected_transactions=100_000))
    assert (result.grade, result.dimension) == ("A", "affected_transactions")


def test_an_open_incident_is_graded_on_its_impact_so_far():
    running = IncidentFacts(START, None, 1.0, True, 1)
    assert suggested(running, now=START + timedelta(minutes=5)).grade == "C"
    assert suggested(running, now=START + timedelta(minutes=45)).grade == "A"


def test_events_without_business_impact_are_not_graded_on_time():
    assert suggested(facts(600, 1.0, counts=False)).grade == "none"


def test_a_cancelled_record_suggests_none():
    assert suggested(facts(600, 1.0, cancelled=True)).grade == "none"


def test_the_reason_says_which_threshold_was_reached():
    assert suggested(facts(21, 0.5)).reason == "weighted_minutes 10.5 ≥ 3"
    assert suggested(facts(fund_loss=Decimal("0.01"))).reason == "fund_loss 0.01 > 0"
    assert suggested(facts()).reason == "no dimension reaches grade D"


def test_a_threshold_reads_at_least_or_more_than():
    assert Threshold.parse(3) == Threshold(3.0) and Threshold.parse("> 0") == Threshold(0, True)
    with pytest.raises(ValueError, match="more than"):
        Threshold.parse("< 5")


SEVERITY = {"none": 0, "D": 1, "C": 2, "B": 3, "A": 4}


@given(
    minutes=st.floats(0, 1000),
    more=st.floats(0, 1000),
    ratio=st.floats(0, 1),
    transactions=st.integers(0, 10**6),
)
def test_more_impact_never_lowers_the_suggestion(minutes, more, ratio, transactions):
    less = suggested(facts(minutes, ratio, affected_transactions=transactions))
    worse = suggested(facts(minutes + more, ratio, affected_transactions=transactions * 2))
    assert SEVERITY[worse.grade] >= SEVERITY[less.grade]
