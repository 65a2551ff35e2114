"""The rollup: every figure as of now, stored once, read by GET /slo."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import counts_body, incident_body, service_body
from tracker.cli import main
from tracker.models import Snapshot
from tracker.services.rollup import prune_snapshots, take_snapshot


@pytest.fixture
def figures(api, gateway):
    """An incident in the last hour and counts in the last minutes, on two channels."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    api.post(
        "/incidents",
        incident_body(
            detected_at=start.isoformat(),
            grade="C",
            mitigated_at=(start + timedelta(minutes=6)).isoformat(),
            responsibility=[{"party": "us", "share": 0.5}],
        ),
    )
    api.post(
        "/incidents",
        incident_body(
            detected_at=start.isoformat(), mitigated_at=None, counts_toward_availability=False
        ),
    )
    for channel in ("unionpay", "nucc"):
        body = counts_body(
            start.isoformat(), "pay_in", "final", {"success": 999, "system": 1}, channel=channel
        )
        assert api.post("/payments/counts", body, role="ingest").status_code == 200


def _take(api):
    response = api.post("/rollups", None)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _one(rows, **match):
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))


def test_slo_is_404_until_the_first_rollup(api, gateway):
    assert api.get("/slo").status_code == 404


def test_the_snapshot_holds_availability_per_scope_and_window(api, figures):
    snapshot = _take(api)
    hour = _one(snapshot["availability"], service="gateway", window="1h")
    assert hour["downtime_seconds"] == 0.5 * 360
    assert hour["error_budget_burn_rate"] == pytest.approx((180 / 3600) / 0.0001)


def test_the_snapshot_holds_rates_per_channel_and_for_all(api, figures):
    rates = _take(api)["rates"]
    assert _one(rates, rate="pay_in_effective", channel="all", window="1h")["denominator"] == 2000
    assert _one(rates, rate="pay_in_effective", channel="nucc", window="1d")["value"] == 0.999


def test_the_snapshot_holds_counts_time_to_mitigate_and_open_incidents(api, figures):
    snapshot = _take(api)
    assert _one(snapshot["incidents"], grade="C", window="ytd")["attributed"] == "0.5"
    assert _one(snapshot["time_to_mitigate"], grade="C", window="7d")["p50_seconds"] == 360
    assert snapshot["open_incidents"]["ungraded"] == 1


def test_get_slo_reads_the_latest_snapshot(api, figures):
    _take(api)
    second = _take(api)
    assert api.get("/slo").get_json()["id"] == second["id"]


@pytest.mark.parametrize("role", ["viewer", "ingest", "responder"])
def test_only_an_admin_takes_a_rollup(api, gateway, role):
    assert api.post("/rollups", None, role=role).status_code == 403


def test_pruning_drops_old_snapshots_but_keeps_the_latest(app, db):
    settings = app.extensions["tracker.settings"]
    now = datetime.now(UTC)
    take_snapshot(now=now - timedelta(hours=72), settings=settings)
    take_snapshot(now=now - timedelta(hours=50), settings=settings)
    assert prune_snapshots(now=now, settings=settings) == 1
    assert Snapshot.select().count() == 1


def test_the_cli_takes_a_rollup(runner, api):
    api.post("/services", service_body("ledger"))
    result = runner.invoke(main, ["rollup"])
    assert result.exit_code == 0 and result.output.startswith("snapshot 1 in ")


def test_the_snapshot_holds_the_impairment_active_now(api, gateway):
    started = datetime.now(UTC) - timedelta(minutes=3)
    api.post(
        "/incidents",
        incident_body(detected_at=started.isoformat(), mitigated_at=None, impact_ratio=0.25),
    )
    impairment = {r["service"]: r["ratio"] for r in _take(api)["impairment"]}
    assert impairment == {"all": 0.25, "gateway": 0.25}
