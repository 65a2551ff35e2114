from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.core.budget import error_budget, year_outlook

YEAR = 365 * 86400
HALF_YEAR = YEAR / 2


def test_budget_is_the_allowed_share_of_eligible_time():
    budget = error_budget(0, YEAR, 0.9999)
    assert budget.budget_seconds == 3153.6
    assert budget.remaining_ratio == 1
    assert budget.burn_rate == 0


def test_worked_example_spends_a_fifth_of_the_year_budget():
    budget = error_budget(588, YEAR, 0.9999)
    assert budget.remaining_ratio == pytest.approx(1 - 588 / 3153.6, rel=1e-15)
    assert budget.burn_rate == pytest.approx(588 / 3153.6, rel=1e-15)


def test_burn_rate_one_means_spending_exactly_at_the_objective():
    budget = error_budget(0.0001 * 86400, 86400, 0.9999)
    assert budget.burn_rate == 1
    assert budget.remaining_ratio == 0


def test_remaining_goes_negative_once_overspent():
    budget = error_budget(2 * 3153.6, YEAR, 0.9999)
    assert budget.remaining_ratio == -1
    assert budget.burn_rate == 2


def test_no_eligible_time_has_no_remaining_or_burn():
    budget = error_budget(0, 0, 0.9999)
    assert budget.budget_seconds == 0
    assert budget.remaining_ratio is None and budget.burn_rate is None


@pytest.mark.parametrize("objective", [0, 1, 1.5, -0.1])
def test_objective_must_be_strictly_between_zero_and_one(objective: float):
    with pytest.raises(ValueError, match="objective"):
        error_budget(0, YEAR, objective)


def test_outlook_at_mid_year_without_downtime():
    outlook = year_outlook(0, HALF_YEAR, HALF_YEAR, 0.9999)
    assert outlook.budget_minutes_left == 52.56
    assert outlook.required_availability_rest == 0.9998


def test_outlook_after_the_worked_example():
    outlook = year_outlook(588, HALF_YEAR, HALF_YEAR, 0.9999)
    assert outlook.budget_minutes_left == 42.76
    assert outlook.required_availability_rest == pytest.approx(1 - 2565.6 / HALF_YEAR, rel=1e-15)


def test_overspent_budget_needs_more_than_full_availability():
    outlook = year_outlook(4000, HALF_YEAR, HALF_YEAR, 0.9999)
    assert outlook.budget_minutes_left < 0
    assert outlook.required_availability_rest > 1


def test_a_budget_larger_than_the_time_left_requires_nothing():
    outlook = year_outlook(0, YEAR - 60, 60, 0.9999)
    assert outlook.required_availability_rest == 0


def test_no_time_left_in_the_year_has_no_required_availability():
    outlook = year_outlook(100, YEAR, 0, 0.9999)
    assert outlook.required_availability_rest is None
    assert outlook.budget_minutes_left == pytest.approx(3053.6 / 60, rel=1e-15)


@given(
    st.integers(0, YEAR),
    st.integers(1, YEAR),
    st.sampled_from([0.99, 0.999, 0.9995, 0.9999, 0.99999]),
    st.data(),
)
def test_running_the_rest_of_the_year_at_the_required_availability_meets_the_objective(
    elapsed, rest, objective, data
):
    downtime = data.draw(st.integers(0, elapsed))
    required = year_outlook(downtime, elapsed, rest, objective).required_availability_rest
    if 0 < required <= 1:
        total = downtime + (1 - required) * rest
        assert math.isclose(1 - total / (elapsed + rest), objective, rel_tol=1e-12)
