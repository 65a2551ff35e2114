"""Monthly and yearly summaries' pure parts."""

import pytest

from tracker.core.summary import minutes, parse_month, parse_year


@pytest.mark.parametrize(("seconds", "shown"), [(750, "12.5分钟"), (60, "1分钟"), (0, "0分钟")])
def test_a_duration_prints_in_minutes_to_one_decimal(seconds, shown):
    assert minutes(seconds) == shown


def test_a_duration_rounds_half_up_and_no_data_says_so():
    assert (minutes(33, "en"), minutes(None)) == ("0.6 min", "无数据")


@pytest.mark.parametrize("text", ["2024", "2024-13", "0001-01", "9999-01", "July"])
def test_a_month_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_month(text)


@pytest.mark.parametrize("text", ["24", "2024-07", "0001", "9999"])
def test_a_year_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_year(text)
