"""Payment success rates (DESIGN §4.5) over parts that add up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tracker.core.rates import RateFigure as RateValue
from tracker.core.rates import add_counts, add_values, success_rate
from tracker.core.vocabulary import OUTCOMES

counts = st.dictionaries(st.sampled_from(OUTCOMES), st.integers(0, 10**9))
excludes = st.frozensets(st.sampled_from(OUTCOMES))


@given(st.lists(counts, max_size=5), excludes)
def test_the_rate_over_all_parts_is_the_sum_of_the_parts_rates(parts, excluded):
    whole = success_rate(add_counts(*parts), excluded)
    assert add_values(*(success_rate(part, excluded) for part in parts)) == whole


def test_no_parts_add_up_to_no_data():
    assert add_values() == RateValue(0, 0)
    assert add_values().value is None
