"""GET /slo/availability equals the hand-computed figures (DESIGN §4.1, §4.2)."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import incident_body, service_body

YEAR_2023 = {"since": "2023-01-01T00:00:00+08:00", "until": "2024-01-01T00:00:00+08:00"}
YEAR_2024 = {"since": "2024-01-01T00:00:00+08:00", "until": "2025-01-01T00:00:00+08:00"}
SECONDS_2023 = 365 * 86400


def _incident(api, start, minutes, ratio, **fields):
    """An incident impaired for `minutes` from `start` (local 2023-03-01 by default)."""
    begin = datetime.fromisoformat(start)
    body = incident_body(
        detected_at=begin.isoformat(),
        mitigated_at=(begin + timedelta(minutes=minutes)).isoformat(),
        impact_ratio=ratio,
        **fields,
    )
    response = api.post("/incidents", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def worked_example(api, gateway):
    """12 min at 0.4 + 3 min full outage + 20 min at 0.1 = 9.8 weighted minutes = 588 s."""
    _incident(api, "2023-03-01T10:00:00+08:00", 12, 0.4)
    _incident(api, "2023-06-01T10:00:00+08:00", 3, 1.0)
    _incident(api, "2023-09-01T10:00:00+08:00", 20, 0.1)


def _availability(api, **params):
    response = api.get("/slo/availability", **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_worked_example_is_99_998_percent(api, worked_example):
    body = _availability(api, **YEAR_2023)
    assert (body["downtime_seconds"], body["eligible_seconds"]) == (588, SECONDS_2023)
    assert body["availability_display"] == "99.998%"


def test_an_overlapping_smaller_incident_changes_nothing(api, worked_example):
    _incident(api, "2023-03-01T10:02:00+08:00", 5, 0.2)
    assert _availability(api, **YEAR_2023)["downtime_seconds"] == 588


def test_a_larger_overlapping_incident_counts_only_its_excess(api, worked_example):
    _incident(api, "2023-03-01T10:06:00+08:00", 12, 0.5)
    # 10:00–10:06 at 0.4, 10:06–10:18 at 0.5: 144 + 360 = 504 s instead of 288 s
    assert _availability(api, **YEAR_2023)["downtime_seconds"] == 588 - 288 + 504


def _maintenance(api, starts_at, ends_at, announced_at, services=("all",)):
    body = {
        "services": list(services),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": "planned",
        "announced_at": announced_at,
    }
    assert api.post("/maintenance-windows", body).status_code == 201


def test_announced_maintenance_leaves_downtime_and_eligible_time(api, worked_example):
    _maintenance(
        api, "2023-06-01T10:00:00+08:00", "2023-06-01T11:00:00+08:00", "2023-05-20T10:00:00+08:00"
    )
    body = _availability(api, **YEAR_2023)
    assert (body["downtime_seconds"], body["eligible_seconds"]) == (408, SECONDS_2023 - 3600)


def test_maintenance_announced_too_late_is_downtime(api, worked_example):
    _maintenance(
        api, "2023-06-01T10:00:00+08:00", "2023-06-01T11:00:00+08:00", "2023-06-01T09:00:00+08:00"
    )
    body = _availability(api, **YEAR_2023)
    assert (body["downtime_seconds"], body["eligible_seconds"]) == (588, SECONDS_2023)


def test_maintenance_of_another_service_does_not_count_for_this_one(api, worked_example):
    api.post("/services", service_body("ledger"))
    _maintenance(
        api,
        "2023-06-01T10:00:00+08:00",
        "2023-06-01T11:00:00+08:00",
        "2023-05-20T10:00:00+08:00",
        services=["ledger"],
    )
    assert _availability(api, service="gateway", **YEAR_2023)["downtime_seconds"] == 588
    assert _availability(api, **YEAR_2023)["downtime_seconds"] == 588


def test_an_open_incident_runs_to_now(api, gateway):
    started = datetime.now(UTC) - timedelta(minutes=30)
    api.post("/incidents", incident_body(detected_at=started.isoformat(), mitigated_at=None))
    body = _availability(api, window="1h")
    assert body["downtime_seconds"] == pytest.approx(0.5 * 1800, abs=5)
    assert body["eligible_seconds"] == pytest.approx(3600, abs=1)


def test_an_incident_across_new_year_counts_in_each_year_only_its_part(api, gateway):
    _incident(api, "2023-12-31T23:50:00+08:00", 30, 1.0)
    assert _availability(api, **YEAR_2023)["downtime_seconds"] == 600
    assert _availability(api, **YEAR_2024)["downtime_seconds"] == 1200


def test_a_leap_year_has_366_days(api, gateway):
    assert _availability(api, **YEAR_2024)["eligible_seconds"] == 366 * 86400


def test_no_incidents_is_100_percent(api, gateway):
    body = _availability(api, **YEAR_2023)
    assert (body["availability"], body["availability_display"]) == (1, "100%")


@pytest.mark.parametrize(
    "fields",
    [{"status": "cancelled"}, {"counts_toward_availability": False}, {"impact_ratio": 0}],
    ids=["cancelled", "not counted", "no impact"],
)
def test_records_that_do_not_count_are_left_out(api, gateway, fields):
    fields = {"impact_ratio": 1.0, **fields}
    _incident(api, "2023-03-01T10:00:00+08:00", 12, fields.pop("impact_ratio"), **fields)
    assert _availability(api, **YEAR_2023)["downtime_seconds"] == 0


def test_a_service_counts_only_its_own_incidents_and_all_counts_every_one(api, worked_example):
    api.post("/services", service_body("ledger", objective=0.999))
    _incident(api, "2023-04-01T10:00:00+08:00", 10, 1.0, services=["ledger"])
    assert _availability(api, service="ledger", **YEAR_2023)["downtime_seconds"] == 600
    assert _availability(api, service="gateway", **YEAR_2023)["downtime_seconds"] == 588
    assert _availability(api, **YEAR_2023)["downtime_seconds"] == 1188


def test_the_error_budget_of_the_worked_example(api, worked_example):
    budget = _availability(api, **YEAR_2023)["error_budget"]
    assert budget["budget_seconds"] == pytest.approx(3153.6)
    assert budget["remaining_ratio"] == pytest.approx(1 - 588 / 3153.6)
    assert budget["burn_rate"] == pytest.approx((588 / SECONDS_2023) / 0.0001)


def test_a_service_uses_its_own_objective(api, gateway):
    api.post("/services", service_body("ledger", objective=0.999))
    assert _availability(api, service="ledger", **YEAR_2023)["objective"] == 0.999
    assert _availability(api, **YEAR_2023)["objective"] == 0.9999


def test_ytd_carries_the_outlook_for_the_rest_of_the_year(api, gateway):
    year = _availability(api, window="ytd")["year"]
    days = 366 if datetime.now(UTC).year % 4 == 0 else 365
    # nothing spent yet: the whole year's budget is left, so the rest may run below 99.99%
    assert year["budget_minutes_left"] == pytest.approx(0.0001 * days * 1440, rel=1e-3)
    assert 0.99 < year["required_availability"] < 0.9999


def test_the_default_window_is_ytd(api, gateway):
    assert _availability(api)["window"] == "ytd"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"service": "nope"}, 404),
        ({"window": "2w"}, 422),
        ({"window": "ytd", **YEAR_2023}, 422),
        ({"until": "2024-01-01T00:00:00+08:00"}, 422),
        ({"since": "2024-01-01T00:00:00+08:00", "until": "2023-01-01T00:00:00+08:00"}, 422),
        ({"since": "2024-01-01T00:00:00"}, 422),
    ],
    ids=[
        "unknown service",
        "unknown window",
        "window and range",
        "until alone",
        "reversed range",
        "naive time",
    ],
)
def test_bad_availability_queries_are_refused(api, gateway, params, status):
    assert api.get("/slo/availability", **params).status_code == status
