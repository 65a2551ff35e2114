"""Monthly and yearly summaries: hand-computed figures per service, grade and channel, their
Markdown and JSON, and periods that do not exist."""

from datetime import datetime
from decimal import Decimal

import pytest

from tests.factories import counts_body, incident_body, service_body
from tracker.core.summary import minutes, parse_month, parse_year, summary_json, summary_markdown
from tracker.errors import NotFound
from tracker.services.summaries import monthly_summary, yearly_summary

JULY = 31 * 86400  # seconds in July 2024 (Asia/Shanghai, no DST)
NOW = datetime.fromisoformat("2024-08-15T12:00:00+08:00")
HALF_OURS = [
    {"party": "payments", "share": 0.5},
    {"party": "银商", "share": 0.5, "internal": False},
]


@pytest.fixture
def settings(app):
    return app.extensions["tracker.settings"]


def _counts(api, minute, channel, outcomes):
    body = counts_body(minute, "pay_in", "final", outcomes, channel=channel)
    assert api.post("/payments/counts", body, role="ingest").status_code == 200


def _incident(api, **fields):
    response = api.post("/incidents", incident_body(**fields))
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def july(api, gateway):
    """gateway (tier 1, objective 0.9999): a C shared half and half, 5 min at ratio 1, and a
    D, 1 min at ratio 1; ledger (tier 3, objective 0.999): a D, 20 min at ratio 0.5. Pay-in
    counts on unionpay and icbc in July, and on nucc just outside it."""
    api.post("/services", service_body("ledger", tier=3, objective=0.999))
    _incident(
        api,
        impact_started_at="2024-07-23T10:00:00+08:00",
        detected_at="2024-07-23T10:04:00+08:00",
        mitigated_at="2024-07-23T10:05:00+08:00",
        impact_ratio=1.0,
        grade="C",
        responsibility=HALF_OURS,
    )
    _incident(
        api,
        detected_at="2024-07-15T14:00:00+08:00",
        mitigated_at="2024-07-15T14:01:00+08:00",
        impact_ratio=1.0,
        grade="D",
    )
    _incident(
        api,
        services=["ledger"],
        detected_at="2024-07-10T09:00:00+08:00",
        mitigated_at="2024-07-10T09:20:00+08:00",
        impact_ratio=0.5,
        grade="D",
    )
    _counts(api, "2024-07-01T00:00:00+08:00", "unionpay", [("success", 999), ("system", 1)])
    _counts(api, "2024-07-31T23:59:00+08:00", "unionpay", [("user", 50)])
    _counts(api, "2024-07-20T08:00:00+08:00", "icbc", [("success", 1990), ("channel", 10)])
    _counts(api, "2024-06-30T23:59:00+08:00", "nucc", [("success", 7)])
    _counts(api, "2024-08-01T00:00:00+08:00", "nucc", [("system", 7)])


def _by_service(summary):
    return {a.service: a for a in summary.availability}


def test_downtime_is_counted_per_service_and_once_for_all(db, settings, july):
    summary = monthly_summary("2024-07", now=NOW, settings=settings)
    downtime = {key: a.downtime_seconds for key, a in _by_service(summary).items()}
    assert list(downtime) == ["all", "gateway", "ledger"]
    assert downtime == {"all": 960, "gateway": 360, "ledger": 600}
    assert _by_service(summary)["gateway"].availability == pytest.approx(1 - 360 / JULY)


def test_budget_used_is_downtime_over_the_service_s_own_budget(db, settings, july):
    services = _by_service(monthly_summary("2024-07", now=NOW, settings=settings))
    assert services["gateway"].budget_used == pytest.approx(360 / (0.0001 * JULY))
    assert services["ledger"].budget_used == pytest.approx(600 / (0.001 * JULY))
    assert services["all"].budget_used == pytest.approx(960 / (0.0001 * JULY))


def test_counts_per_grade_weigh_a_half_attributed_c(db, settings, july):
    counts = monthly_summary("2024-07", now=NOW, settings=settings).counts
    assert (counts["C"].attributed, counts["C"].distinct) == (Decimal("0.5"), 1)
    assert (counts["D"].attributed, counts["D"].distinct) == (2, 2)
    assert (counts["AB"].attributed, counts["AB"].distinct) == (0, 0)


def test_time_to_mitigate_p50_and_p90_per_grade(db, settings, july):
    ttm = monthly_summary("2024-07", now=NOW, settings=settings).time_to_mitigate
    assert (ttm["D"].count, ttm["D"].p50_seconds, ttm["D"].p90_seconds) == (2, 60, 1200)
    assert (ttm["C"].p50_seconds, ttm["C"].p90_seconds) == (300, 300)
    assert ttm["AB"].count == 0 and ttm["AB"].p50_seconds is None


def test_success_rates_per_channel_and_overall(db, settings, july):
    summary = monthly_summary("2024-07", now=NOW, settings=settings)
    pay_in = {c.channel: c.rates[0] for c in summary.channels}
    assert {k: (r.numerator, r.denominator) for k, r in pay_in.items()} == {
        "icbc": (1990, 2000),
        "unionpay": (999, 1000),
    }
    assert (summary.rates[0].numerator, summary.rates[0].denominator) == (2989, 3000)


def test_a_running_month_is_cut_at_now(db, settings, july):
    now = datetime.fromisoformat("2024-07-16T00:00:00+08:00")
    summary = monthly_summary("2024-07", now=now, settings=settings)
    assert summary.as_of == now and summary.overall.eligible_seconds == 15 * 86400
    assert summary.counts["C"].distinct == 0 and summary.overall.downtime_seconds == 660


def test_a_year_summary_covers_the_calendar_year(db, settings, july, api):
    _incident(
        api,
        detected_at="2025-01-01T00:00:00+08:00",
        mitigated_at="2025-01-01T00:01:00+08:00",
        impact_ratio=1.0,
        grade="D",
    )
    summary = yearly_summary("2024", now=NOW.replace(year=2025), settings=settings)
    assert (summary.period, summary.overall.eligible_seconds) == ("2024", 366 * 86400)
    assert summary.overall.downtime_seconds == 960 and summary.counts["D"].distinct == 2
    assert [c.channel for c in summary.channels] == ["icbc", "nucc", "unionpay"]


def test_markdown_has_a_row_per_service_and_per_channel(db, settings, july):
    text = summary_markdown(monthly_summary("2024-07", now=NOW, settings=settings))
    assert text.startswith(
        "## 【月度运行数据】\n\n统计周期：2024-07-01 至 2024-07-31（Asia/Shanghai）"
    )
    assert "| gateway | 99.986% | 99.990% | 6分钟 | 4.5分钟 | 134.408% |" in text
    assert (
        "| icbc | 99.500% | 无数据 | 无数据 |" in text and "事故数AB级0次，C级0.5次，D级2次" in text
    )


def test_markdown_in_english_for_a_year(db, settings, july):
    summary = yearly_summary("2024", now=NOW, settings=settings)
    text = summary_markdown(summary, "en")
    assert text.startswith("## Yearly figures\n\nPeriod: 2024-01-01 to 2024-12-31 (Asia/Shanghai)")
    assert "As of: 2024-08-15 12:00" in text and "| D | 2 | 2 | 1 min | 20 min |" in text


def test_json_carries_raw_values_beside_the_display(db, settings, july):
    body = summary_json(monthly_summary("2024-07", now=NOW, settings=settings))
    gateway = next(a for a in body["availability"] if a["service"] == "gateway")
    assert (gateway["downtime_seconds"], gateway["budget_used_display"]) == (360, "134.408%")
    assert body["incidents"]["C"]["attributed"] == "0.5"
    assert body["incidents"]["D"]["time_to_mitigate"] == {
        "count": 2,
        "p50_seconds": 60,
        "p50_display": "1分钟",
        "p90_seconds": 1200,
        "p90_display": "20分钟",
    }


def test_an_empty_month_says_no_data(db, settings, gateway):
    text = summary_markdown(monthly_summary("2024-07", now=NOW, settings=settings))
    assert "- 入金有效成功率：无数据" in text and "分通道成功率：\n\n- 无\n" in text
    assert "- 月度可用性：100%" in text


def test_durations_print_in_minutes_to_one_decimal():
    assert [minutes(750, "en"), minutes(60, "en"), minutes(0, "en"), minutes(100, "en")] == [
        "12.5 min",
        "1 min",
        "0 min",
        "1.7 min",
    ]
    assert (minutes(750), minutes(None, "en")) == ("12.5分钟", "no data")


def test_months_and_years_parse_as_the_team_writes_them():
    assert (parse_month("2024-07"), parse_month("2024-7"), parse_year("2024")) == (
        (2024, 7),
        (2024, 7),
        2024,
    )


@pytest.mark.parametrize("month", ["2024-13", "2024-00", "24-07", "2024-07-01", "july", "2999-01"])
def test_a_month_that_does_not_exist_or_has_not_started_is_not_found(db, settings, month):
    with pytest.raises(NotFound):
        monthly_summary(month, now=NOW, settings=settings)


@pytest.mark.parametrize("year", ["0000", "20x4", "24", "2024\n", "9999", "2025"])
def test_a_year_that_does_not_exist_or_has_not_started_is_not_found(db, settings, year):
    with pytest.raises(NotFound):
        yearly_summary(year, now=NOW, settings=settings)


def test_the_api_serves_a_month_as_markdown_and_json(api, july):
    text = api.get("/reports/monthly/2024-07").get_data(as_text=True)
    body = api.get("/reports/monthly/2024-07", format="json").get_json()
    assert text.startswith("## 【月度运行数据】")
    assert body["markdown"] == text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/reports/yearly/2999", 404),
        ("/reports/monthly/2024-13", 404),
        ("/reports/monthly/2024-07?format=csv", 422),
    ],
)
def test_the_api_refuses_bad_periods_and_formats(api, gateway, path, status):
    response = api.client.get(f"/api/v1{path}", headers=api._headers("viewer"))
    assert (response.status_code, response.mimetype) == (status, "application/problem+json")


def test_the_cli_prints_a_year(runner, july):
    from tracker.cli import main

    result = runner.invoke(main, ["report", "yearly", "--period", "2024", "--lang", "en"])
    assert result.exit_code == 0 and result.output.startswith("## Yearly figures")
