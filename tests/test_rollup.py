"""The rollup: every figure as of now, stored once, read by GET /slo."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import counts_body, incident_body, service_body
from tracker.cli import main
from tracker.db import database
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


def test_window_rates_add_up_the_stretches_before_and_after_local_midnight(app, api, gateway):
    """The rollup reads the stretch since local midnight once for every window that spans it,
    and adds up the channels for `all`: the figures are those of each whole window."""
    now = datetime.fromisoformat("2024-07-23T00:30:00+08:00")
    for minute, channel, failed in (
        ("2024-07-22T23:50:00+08:00", "unionpay", 1),
        ("2024-07-23T00:10:00+08:00", "unionpay", 3),
        ("2024-07-23T00:20:00+08:00", "nucc", 5),
    ):
        body = counts_body(minute, "pay_in", "final", {"success": 100, "system": failed}, channel)
        assert api.post("/payments/counts", body, role="ingest").status_code == 200
    with app.app_context(), database.connection_context():
        rates = take_snapshot(now=now, settings=app.extensions["tracker.settings"]).to_json()[
            "rates"
        ]
    one_hour = _one(rates, rate="pay_in_effective", channel="unionpay", window="1h")
    assert (one_hour["numerator"], one_hour["denominator"]) == (200, 204)
    week = _one(rates, rate="pay_in_effective", channel="all", window="wtd")
    assert (week["numerator"], week["denominator"]) == (300, 309)
    assert _one(rates, rate="pay_in_effective", channel="nucc", window="mtd")["denominator"] == 105


def _queries_of_a_rollup(app, monkeypatch) -> int:
    db = app.extensions["tracker.db"]
    real, seen = db.execute_sql, []

    def counted(sql, *args, **kwargs):
        seen.append(sql)
        return real(sql, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", counted)
    with app.app_context(), database.connection_context():
        take_snapshot(now=datetime.now(UTC), settings=app.extensions["tracker.settings"])
    monkeypatch.setattr(db, "execute_sql", real)
    return len(seen)


def test_the_rollup_reads_its_facts_in_queries_that_do_not_grow_with_services(
    app, api, monkeypatch
):
    """Every scope × window computed from facts read once: 2 services and 12 cost the same
    number of queries (before: about 30 per scope)."""
    start = datetime.now(UTC) - timedelta(days=3)
    for k in range(12):
        api.post("/services", service_body(f"svc-{k}"))
        body = incident_body(
            services=[f"svc-{k}"],
            detected_at=(start + timedelta(hours=k)).isoformat(),
            mitigated_at=(start + timedelta(hours=k, minutes=5)).isoformat(),
        )
        assert api.post("/incidents", body).status_code == 201
        if k == 1:
            two = _queries_of_a_rollup(app, monkeypatch)
    twelve = _queries_of_a_rollup(app, monkeypatch)
    assert two == twelve


def test_rollups_of_one_process_compute_one_at_a_time(app, db, gateway, monkeypatch):
    """Threads asking for a rollup together each get a stored snapshot, computed one after
    the other: side by side they would finish no sooner (the GIL) and hold every fact of
    the year once each."""
    import threading

    from tracker.services import rollup

    settings = app.extensions["tracker.settings"]
    computing, most, lock = [0], [0], threading.Lock()
    real = rollup.compute

    def watched(**kwargs):
        with lock:
            computing[0] += 1
            most[0] = max(most[0], computing[0])
        try:
            return real(**kwargs)
        finally:
            with lock:
                computing[0] -= 1

    monkeypatch.setattr(rollup, "compute", watched)
    taken: list[int] = []

    def take() -> None:
        with app.app_context(), database.connection_context():
            taken.append(take_snapshot(now=datetime.now(UTC), settings=settings).id)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == [1]
    assert sorted(taken) == sorted(s.id for s in Snapshot.select())
    assert len(taken) == 4


def test_the_cyclic_collector_is_paused_while_a_rollup_computes_and_resumed_after(
    app, db, gateway, monkeypatch
):
    """The rollup's tens of thousands of acyclic records would set off full collections of
    the whole process; it pauses the collector, and gives it back as it found it, also when
    the computing fails."""
    import gc

    from tracker.services import rollup

    settings = app.extensions["tracker.settings"]
    real, seen = rollup.compute, []

    def watched(**kwargs):
        seen.append(gc.isenabled())
        return real(**kwargs)

    monkeypatch.setattr(rollup, "compute", watched)
    assert gc.isenabled()
    take_snapshot(now=datetime.now(UTC), settings=settings)
    assert seen == [False] and gc.isenabled()

    def failing(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rollup, "compute", failing)
    with pytest.raises(RuntimeError):
        take_snapshot(now=datetime.now(UTC), settings=settings)
    assert gc.isenabled()

    monkeypatch.setattr(rollup, "compute", watched)
    gc.disable()
    try:
        take_snapshot(now=datetime.now(UTC), settings=settings)
        assert seen[-1] is False and not gc.isenabled()  # paused by someone else: stays so
    finally:
        gc.enable()
