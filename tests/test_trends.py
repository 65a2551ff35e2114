"""The weekly review's trend: twelve ISO weeks of figures, and the chart drawn from them."""

from __future__ import annotations

import io
import struct
from datetime import date, datetime, timedelta

import pytest

import tracker.api.reports  # noqa: F401  (registers the route before any app is created)
from tests.factories import counts_body, incident_body
from tracker.charts import chart_language, limits, trend_png
from tracker.core.trend import Trend, TrendPoint
from tracker.errors import NotFound
from tracker.services.trends import weekly_trend

NOW = datetime.fromisoformat("2024-08-01T12:00:00+08:00")  # Thursday of 2024-W31
WEEK_SECONDS = 7 * 24 * 3600
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# (pay_in success, pay_in system failures, pay_out success, pay_out channel failures,
#  first-attempt success, first-attempt channel failures) per week, 2024-W19 … W30;
# None = no payment data that week.
WEEKLY_COUNTS = [
    (99_996, 4, 99_991, 9, 99_102, 898),
    (99_998, 2, 99_993, 7, 99_055, 945),
    (99_995, 5, 99_990, 10, 98_987, 1_013),
    (99_999, 1, 99_996, 4, 99_120, 880),
    (99_981, 19, 99_962, 38, 98_640, 1_360),
    (99_997, 3, 99_992, 8, 99_044, 956),
    None,
    (99_998, 2, 99_994, 6, 99_071, 929),
    (99_996, 4, 99_989, 11, 99_010, 990),
    (99_999, 1, 99_995, 5, 99_089, 911),
    (99_997, 3, 99_993, 7, 99_066, 934),
    (99_999, 1, 99_994, 6, 99_036, 964),
]


def _settings(app):
    return app.extensions["tracker.settings"]


def _monday(week: int) -> date:
    return date.fromisocalendar(2024, week, 1)


def _counts(api, day: date, direction: str, scope: str, outcomes: dict[str, int]) -> None:
    body = counts_body(f"{day.isoformat()}T11:00:00+08:00", direction, scope, outcomes)
    assert api.post("/payments/counts", body, role="ingest").status_code == 200


def _outage(api, day: date, start: str, end: str, ratio: float) -> None:
    body = incident_body(
        impact_started_at=f"{day.isoformat()}T{start}:00+08:00",
        detected_at=f"{day.isoformat()}T{start}:00+08:00",
        mitigated_at=f"{day.isoformat()}T{end}:00+08:00",
        impact_ratio=ratio,
    )
    response = api.post("/incidents", body)
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def twelve_weeks(api, gateway):
    """2024-W19 … W30: a week's worth of counts each Tuesday, none in W25, a few outages."""
    for week, figures in zip(range(19, 31), WEEKLY_COUNTS, strict=True):
        if figures is None:
            continue
        tuesday = _monday(week) + timedelta(days=1)
        pay_in, pay_in_failed, pay_out, pay_out_failed, first, first_failed = figures
        _counts(api, tuesday, "pay_in", "final", {"success": pay_in, "system": pay_in_failed})
        _counts(api, tuesday, "pay_out", "final", {"success": pay_out, "channel": pay_out_failed})
        _counts(
            api, tuesday, "pay_in", "first_attempt", {"success": first, "channel": first_failed}
        )
    _outage(api, _monday(23) + timedelta(days=2), "14:00", "14:40", 1.0)
    _outage(api, _monday(27) + timedelta(days=3), "09:00", "09:30", 0.5)
    _outage(api, _monday(29) + timedelta(days=1), "10:00", "10:05", 1.0)
    _outage(api, _monday(30) + timedelta(days=1), "10:00", "10:05", 1.0)


def test_the_trend_has_twelve_weeks_in_order_ending_with_the_given_week(app, db):
    trend = weekly_trend("2024-W30", now=NOW, settings=_settings(app))
    assert [p.week for p in trend.points] == [f"2024-W{n}" for n in range(19, 31)]
    assert trend.points[0].since == datetime.fromisoformat("2024-05-06T00:00:00+08:00")


def test_the_trend_reaches_back_across_the_new_year(app, db):
    trend = weekly_trend("2024-W2", weeks=4, now=NOW, settings=_settings(app))
    assert [p.week for p in trend.points] == ["2023-W51", "2023-W52", "2024-W01", "2024-W02"]


def test_a_week_s_figures_are_that_week_s_alone(app, db, twelve_weeks):
    points = {p.week: p for p in weekly_trend("2024-W30", now=NOW, settings=_settings(app)).points}
    assert points["2024-W30"].availability == pytest.approx(1 - 300 / WEEK_SECONDS, abs=1e-12)
    assert points["2024-W27"].availability == pytest.approx(1 - 900 / WEEK_SECONDS, abs=1e-12)
    assert points["2024-W30"].rates == pytest.approx(
        {"pay_in_effective": 0.99999, "pay_out_effective": 0.99994, "first_attempt": 0.99036}
    )


def test_weeks_without_payment_data_are_none_and_without_incidents_are_whole(app, db, twelve_weeks):
    points = {p.week: p for p in weekly_trend("2024-W30", now=NOW, settings=_settings(app)).points}
    assert set(points["2024-W25"].rates.values()) == {None}
    assert points["2024-W25"].availability == 1.0


def test_a_week_under_announced_maintenance_has_no_availability(api, gateway, app, db):
    body = {
        "services": ["all"],
        "starts_at": "2024-07-08T00:00:00+08:00",
        "ends_at": "2024-07-15T00:00:00+08:00",
        "reason": "机房搬迁",
        "announced_at": "2024-07-01T00:00:00+08:00",
    }
    assert api.post("/maintenance-windows", body).status_code == 201
    trend = weekly_trend("2024-W28", weeks=2, now=NOW, settings=_settings(app))
    assert [p.availability for p in trend.points] == [1.0, None]


def test_the_current_week_counts_only_up_to_now(api, gateway, app, db):
    _outage(api, date(2024, 7, 29), "10:00", "10:10", 1.0)  # Monday of 2024-W31
    elapsed = (NOW - datetime.fromisoformat("2024-07-29T00:00:00+08:00")).total_seconds()
    point = weekly_trend("2024-W31", weeks=1, now=NOW, settings=_settings(app)).points[0]
    assert point.availability == pytest.approx(1 - 600 / elapsed, abs=1e-12)


@pytest.mark.parametrize("week", ["2024-W54", "someday", "2024-W32"])
def test_an_unknown_or_unstarted_week_is_not_found(app, db, week):
    with pytest.raises(NotFound):
        weekly_trend(week, now=NOW, settings=_settings(app))


# ---- the chart -------------------------------------------------------------------------------


def _trend(values: list[float | None]) -> Trend:
    points = tuple(
        TrendPoint(
            week=f"2024-W{n:02d}",
            since=datetime.fromisoformat(f"{_monday(n).isoformat()}T00:00:00+08:00"),
            availability=value,
            rates={"pay_in_effective": value},
        )
        for n, value in zip(range(31 - len(values), 31), values, strict=True)
    )
    return Trend(points, {"pay_in_effective": ("入金有效成功率", "Pay-in effective")}, 0.9999)


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always follows the signature."""
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_chart_is_a_1200_by_700_png(lang):
    png = trend_png(_trend([0.9999, None, 0.99995, 1.0]), lang=lang)
    assert png.startswith(PNG_MAGIC)
    assert _size(png) == (1200, 700)


def test_matplotlib_reads_the_chart_back():
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(trend_png(_trend([0.99, 0.995]))))
    assert pixels.shape[:2] == (700, 1200)


def test_the_same_trend_draws_the_same_bytes():
    trend = _trend([0.9998, 0.99991, None, 1.0])
    assert trend_png(trend, lang="en") == trend_png(trend, lang="en")


def test_a_trend_without_any_data_still_draws():
    assert trend_png(_trend([None] * 12), lang="en").startswith(PNG_MAGIC)


def test_the_y_range_shows_99_point_x_figures_without_starting_at_zero():
    bottom, top = limits([0.99981, None, 0.99999, 1.0])
    assert 0.999 < bottom < 0.99981 and top == 1.0


def test_chinese_labels_need_a_chinese_font(monkeypatch):
    monkeypatch.setattr("tracker.charts.cjk_family", lambda: None)
    assert (chart_language("zh"), chart_language("en")) == ("en", "en")


def test_twelve_realistic_weeks_draw(app, db, twelve_weeks, tmp_path):
    png = trend_png(weekly_trend("2024-W30", now=NOW, settings=_settings(app)))
    (tmp_path / "trend.png").write_bytes(png)  # kept under pytest's basetemp, to look at
    assert _size(png) == (1200, 700)


# ---- the route -------------------------------------------------------------------------------


def test_the_route_serves_the_chart_as_png(api, twelve_weeks):
    response = api.get("/reports/weekly/2024-W30/chart.png", lang="en")
    assert (response.status_code, response.mimetype) == (200, "image/png")
    assert response.get_data().startswith(PNG_MAGIC)
    assert response.headers["Content-Language"] == "en"


def test_the_route_says_404_for_a_week_that_does_not_exist(api, gateway):
    response = api.get("/reports/weekly/2024-W54/chart.png")
    assert (response.status_code, response.mimetype) == (404, "application/problem+json")


def test_the_route_refuses_an_unknown_language(api, gateway):
    assert api.get("/reports/weekly/2024-W30/chart.png", lang="fr").status_code == 422


@pytest.mark.filterwarnings("ignore:Glyph")  # the stand-in font lacks the Chinese glyphs
def test_chinese_labels_are_drawn_when_a_chinese_font_exists(monkeypatch):
    monkeypatch.setattr("tracker.charts.cjk_family", lambda: "DejaVu Sans")
    assert chart_language("zh") == "zh"
    assert trend_png(_trend([0.9999, 1.0]), lang="zh").startswith(PNG_MAGIC)
