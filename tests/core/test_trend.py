"""The trend's plain data: weeks in order, labels by language."""

from datetime import UTC, datetime

from tracker.core.trend import Trend, TrendPoint

W29 = TrendPoint("2024-W29", datetime(2024, 7, 14, 16, tzinfo=UTC), 1.0, {"pay_in": 0.999})
W30 = TrendPoint("2024-W30", datetime(2024, 7, 21, 16, tzinfo=UTC), None, {"pay_in": None})


def test_a_point_knows_its_week_and_iso_year():
    assert (W30.number, W30.year) == (30, 2024)


def test_a_trend_runs_oldest_first_and_names_its_rates_in_either_language():
    trend = Trend((W29, W30), {"pay_in": ("入金有效成功率", "Pay-in effective")}, 0.9999)
    assert (trend.first_week, trend.last_week) == ("2024-W29", "2024-W30")
    assert (trend.label("pay_in", "zh"), trend.label("pay_in", "en")) == (
        "入金有效成功率",
        "Pay-in effective",
    )
