"""/metrics: DESIGN §6's names and labels from the latest snapshot; promtool-clean."""

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import counts_body, incident_body
from tracker.services import rollup

PROMTOOL = shutil.which("promtool")
IN_CI = os.environ.get("CI", "").lower() == "true"
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and not IN_CI, reason="promtool (Debian package prometheus) is not installed"
)
FIGURE_METRICS = {
    "tracker_availability_ratio": {"service", "window"},
    "tracker_availability_objective_ratio": {"service"},
    "tracker_downtime_seconds": {"service", "window"},
    "tracker_error_budget_remaining_ratio": {"service", "window"},
    "tracker_error_budget_burn_rate": {"service", "window"},
    "tracker_payment_success_ratio": {"rate", "channel", "window"},
    "tracker_incidents": {"grade", "window"},
    "tracker_incidents_distinct": {"grade", "window"},
    "tracker_incidents_open": {"grade"},
    "tracker_impairment_ratio": {"service"},
    "tracker_incident_time_to_mitigate_seconds": {"grade", "window", "stat"},
    "tracker_snapshot_timestamp_seconds": set(),
    "tracker_rollup_last_success_timestamp_seconds": set(),
    "tracker_rollup_duration_seconds": set(),
}
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def scrape(client):
    response = client.get("/metrics", headers={"Accept": "text/plain;version=0.0.4"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def samples(text):
    found = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            found.setdefault(match["name"], []).append((labels, float(match["value"])))
    return found


@pytest.fixture
def rolled_up(api, gateway):
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=20)
    api.post(
        "/incidents",
        incident_body(
            grade="C",
            detected_at=minute.isoformat(),
            mitigated_at=(minute + timedelta(minutes=5)).isoformat(),
        ),
    )
    body = counts_body(minute.isoformat(), "pay_in", "final", {"success": 7})
    api.post("/payments/counts", body, role="ingest")
    assert api.post("/rollups", None).status_code == 201


def test_every_figure_metric_arrives_with_its_labels(client, rolled_up):
    found = samples(scrape(client))
    for name, labels in FIGURE_METRICS.items():
        assert name in found, name
        assert all(set(sample) == labels for sample, _ in found[name]), name


def test_values_are_the_snapshot_s(client, api, rolled_up):
    snapshot = api.get("/slo").get_json()
    found = samples(scrape(client))
    ytd = next(
        v for labels, v in found["tracker_incidents"] if labels == {"grade": "C", "window": "ytd"}
    )
    assert ytd == float(
        next(
            r["attributed"]
            for r in snapshot["incidents"]
            if r["grade"] == "C" and r["window"] == "ytd"
        )
    )


def test_a_figure_with_no_data_is_left_out(client, rolled_up):
    found = samples(scrape(client))
    rates = {(s["rate"], s["window"]) for s, _ in found.get("tracker_payment_success_ratio", [])}
    assert ("pay_out_effective", "ytd") not in rates


def test_before_the_first_rollup_only_build_info_and_requests(client, gateway):
    found = samples(scrape(client))
    assert "tracker_build_info" in found and "tracker_availability_ratio" not in found


def test_a_scrape_never_computes(client, rolled_up, monkeypatch):
    def fail(**_):
        raise AssertionError("a scrape computed")

    monkeypatch.setattr(rollup, "compute", fail)
    assert "tracker_availability_ratio" in scrape(client)


def test_requests_are_counted_by_route_template(client, api, gateway):
    api.get("/services/gateway")
    found = samples(scrape(client))
    routes = {s["route"] for s, _ in found["tracker_http_requests_total"]}
    assert "/api/v1/services/<key>" in routes


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": "s3cret"}])
def test_metrics_can_require_a_token(client, settings_overrides):
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


@needs_promtool
def test_promtool_check_metrics_is_clean(client, rolled_up):
    result = subprocess.run(
        [PROMTOOL or "promtool", "check", "metrics"],
        input=scrape(client),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
