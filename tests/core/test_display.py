from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.core.display import count, percent, utc_text


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.9999981, "99.999%"), (0.99998, "99.998%"), (0.99999, "99.999%"), (0.99036, "99.036%")],
)
def test_percent_truncates_to_three_decimals(value: float, shown: str):
    assert percent(value) == shown


def test_percent_never_rounds_up_to_a_hundred():
    assert percent(0.99999999) == "99.999%"
    assert percent(Fraction(999_999, 1_000_000)) == "99.999%"


def test_exactly_one_is_a_plain_hundred_percent():
    assert percent(1) == "100%"
    assert percent(1.0) == percent(Decimal("1.000")) == percent(Fraction(1)) == "100%"


def test_percent_reads_floats_as_the_decimal_they_print_as():
    # 0.29 is 0.28999999999999998 in binary: multiplying in floats would show 28.999%.
    assert percent(0.29) == "29.000%"
    assert percent(0.1) == "10.000%"
    assert percent(0) == "0.000%"


def test_no_data_is_never_a_percentage():
    assert percent(None) == "无数据"
    assert percent(None, lang="en") == "no data"


def test_places_sets_the_number_of_decimals():
    assert percent(0.123456, places=1) == "12.3%"
    assert percent(0.123456, places=0) == "12%"


@given(
    st.one_of(
        st.floats(0, 1),
        st.fractions(0, 1, max_denominator=10**12),
        st.decimals(0, 1, places=12),
    )
)
def test_truncation_never_exceeds_the_value_and_stays_within_a_thousandth(value):
    exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    shown = Fraction(Decimal(percent(value).removesuffix("%"))) / 100
    assert shown <= exact
    assert exact - shown < Fraction(1, 100_000)  # 0.001 percentage points


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (0.5, "0.5"), (1.25, "1.25"), (1.0, "1"), (2, "2"), (10, "10")],
)
def test_count_prints_the_shortest_decimal(value: float, shown: str):
    assert count(value) == shown


def test_count_drops_trailing_zeros_of_exact_types():
    assert count(Decimal("0.50")) == "0.5"
    assert count(Decimal("1E+1")) == "10"
    assert count(Fraction(3, 4)) == "0.75"


@given(st.datetimes(timezones=st.timezones()))
def test_utc_text_is_iso_8601_in_utc_with_z_and_microseconds_only_when_present(moment):
    text = utc_text(moment)
    assert text.endswith("Z")
    assert datetime.fromisoformat(text) == moment.astimezone(UTC)
    assert ("." in text) == (moment.microsecond != 0)
