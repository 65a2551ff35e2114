"""Alert intake end to end with real components (DESIGN §9): a gauge the test controls, a
Prometheus of the test's own that alerts on it, an Alertmanager of its own whose webhook goes
to a real `tracker serve`. A firing alert opens a triage draft from the moment it started, its
resolution is proposed (never taken) as the end of impact, and the draft counts nowhere until
a person accepts it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import IN_CI
from tests.servers import admin_token, call, cli, environment, free_port, serving, wait_until

BINARIES = ("prometheus", "prometheus-alertmanager")
SUMMARY = "Payment errors on the gateway"
RULES = {
    "groups": [
        {
            "name": "payments",
            "rules": [
                {
                    "alert": "PaymentErrors",
                    "expr": "test_payment_errors > 0",
                    "for": "0s",
                    "labels": {"service": "gateway", "severity": "page"},
                    "annotations": {"summary": SUMMARY},
                }
            ],
        }
    ]
}
WAIT = 60  # seconds any one step may take: scrape, evaluation, group_wait, webhook, each 1 s


class Gauge(ThreadingHTTPServer):
    """`test_payment_errors` in Prometheus's text format, at whatever value the test sets."""

    value = 0.0

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GaugeHandler)
        self.target = f"127.0.0.1:{self.server_address[1]}"


class _GaugeHandler(BaseHTTPRequestHandler):
    server: Gauge

    def do_GET(self) -> None:
        body = f"# TYPE test_payment_errors gauge\ntest_payment_errors {self.server.value}\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """A process in a session of its own, its whole group killed after."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _up(url: str) -> bool:
    return call(url)[0] == 200


@contextmanager
def alerting(work: Path, webhook: str, token: str) -> Iterator[tuple[Gauge, str]]:
    """The gauge, a Prometheus scraping it every second and an Alertmanager sending its
    groups (and their resolution) to `webhook` with `token`; yields the gauge and
    Alertmanager's URL."""
    am_port, prom_port = free_port(), free_port()
    am_config = {
        "global": {"resolve_timeout": "5s"},
        "route": {
            "receiver": "tracker",
            "group_by": ["alertname", "service"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "24h",
        },
        "receivers": [
            {
                "name": "tracker",
                "webhook_configs": [
                    {
                        "url": webhook,
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": token}},
                    }
                ],
            }
        ],
    }
    (work / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
    (work / "rules.yml").write_text(yaml.safe_dump(RULES))
    with ExitStack() as stack:
        gauge = stack.enter_context(Gauge())
        threading.Thread(target=gauge.serve_forever, daemon=True).start()
        stack.callback(gauge.shutdown)
        prom_config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(work / "rules.yml")],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": [
                {"job_name": "gauge", "static_configs": [{"targets": [gauge.target]}]}
            ],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
        am = f"http://127.0.0.1:{am_port}"
        stack.enter_context(
            _process(
                [
                    "prometheus-alertmanager",
                    f"--config.file={work / 'alertmanager.yml'}",
                    f"--storage.path={work / 'alertmanager'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                work / "alertmanager.log",
            )
        )
        stack.enter_context(
            _process(
                [
                    "prometheus",
                    f"--config.file={work / 'prometheus.yml'}",
                    f"--storage.tsdb.path={work / 'prometheus'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                work / "prometheus.log",
            )
        )
        wait_until(lambda: _up(f"{am}/-/ready"), WAIT, "Alertmanager to be ready")
        wait_until(lambda: _up(f"http://127.0.0.1:{prom_port}/-/ready"), WAIT, "Prometheus")
        yield gauge, am


def _am_alerts(am: str) -> list[dict]:
    status, _, alerts = call(f"{am}/api/v2/alerts?filter=alertname%3D%22PaymentErrors%22")
    return alerts if status == 200 else []


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _gateway_downtime(base: str, token: str) -> dict[str, float]:
    """After a rollup: the snapshot's downtime of `gateway` per window."""
    assert call(f"{base}/api/v1/rollups", {}, token=token, method="POST")[0] in (200, 201)
    _, _, snapshot = call(f"{base}/api/v1/slo", token=token)
    return {
        row["window"]: row["downtime_seconds"]
        for row in snapshot["availability"]
        if row["service"] == "gateway"
    }


def _metric(text: str, name: str) -> float | None:
    line = next((x for x in text.splitlines() if x.split(" ")[0] == name), None)
    return None if line is None else float(line.rsplit(" ", 1)[1])


@dataclass
class Observed:
    """What the scenario saw while the alert fired and after it resolved."""

    base: str
    admin: str
    am_alert: dict  # the alert as Alertmanager's API showed it while firing
    draft: dict  # the incident while the alert fired
    firing: list[dict]  # its alerts then
    resolved: dict  # the incident after the alert resolved
    alerts: list[dict]  # its alerts then
    timeline: list[dict]
    metrics: str  # /metrics after a rollup, before anyone accepted the draft


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    """The whole chain running (tracker on a temporary SQLite database, service `gateway`),
    the scenario played once; the chain is kept up for the tests that act on it."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (Debian: prometheus, prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(f"CI=true needs them: {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("alerting")
    env = environment(work / "tracker", scheduler_enabled="false")
    admin = admin_token(env)
    ingest = cli(env, "tokens", "create", "--name", "alertmanager", "--role", "ingest")
    with serving(env) as base:
        service = {"key": "gateway", "name": "Gateway", "tier": 1}
        assert call(f"{base}/api/v1/services", service, token=admin)[0] == 201
        with alerting(work, f"{base}/api/v1/alerts/alertmanager", ingest) as (gauge, am):
            yield _scenario(base, admin, gauge, am)


def _scenario(base: str, admin: str, gauge: Gauge, am: str) -> Observed:
    """Metric 1 until the draft appears, then 0 until its alert has resolved."""

    def get(path: str) -> Any:
        return call(f"{base}{path}", token=admin)[2]

    gauge.value = 1
    wait_until(lambda: get("/api/v1/incidents?status=triage")["items"], WAIT, "a draft")
    (draft,) = get("/api/v1/incidents?status=triage")["items"]
    (am_alert,) = _am_alerts(am)
    record = f"/api/v1/incidents/{draft['id']}"
    firing = get(f"{record}/alerts")["items"]
    gauge.value = 0
    wait_until(lambda: get(record)["alerts_resolved_at"], WAIT, "the alert's resolution")
    _gateway_downtime(base, admin)
    return Observed(
        base=base,
        admin=admin,
        am_alert=am_alert,
        draft=draft,
        firing=firing,
        resolved=get(record),
        alerts=get(f"{record}/alerts")["items"],
        timeline=get(f"{record}/timeline")["items"],
        metrics=get("/metrics"),
    )


def test_a_firing_alert_opens_a_draft_from_when_it_started(observed):
    draft, (alert,), sent = observed.draft, observed.firing, observed.am_alert
    started = _instant(sent["startsAt"])  # as Alertmanager's API shows it

    assert (draft["status"], draft["grade"], draft["title"]) == ("triage", None, SUMMARY)
    assert _instant(draft["impact_started_at"]) == _instant(draft["detected_at"]) == started
    assert (alert["fingerprint"], _instant(alert["starts_at"])) == (sent["fingerprint"], started)


def test_the_draft_names_the_service_of_the_alert_label(observed):
    assert observed.draft["services"] == ["gateway"]


def test_a_resolved_alert_proposes_the_end_of_impact_without_taking_it(observed):
    (alert,) = observed.alerts

    assert alert["status"] == "resolved"
    assert observed.resolved["alerts_resolved_at"] == alert["ends_at"]
    assert observed.resolved["mitigated_at"] is None and len(observed.timeline) == 2


def test_the_metrics_count_the_waiting_draft_and_the_alerts(observed):
    metrics = observed.metrics
    assert _metric(metrics, "tracker_incidents_triage") == 1
    assert _metric(metrics, 'tracker_alerts_received_total{result="new"}') == 1
    assert _metric(metrics, 'tracker_alerts_received_total{result="resolved"}') == 1


def test_a_draft_counts_nowhere_until_a_person_accepts_it(observed):
    base, admin, ended = observed.base, observed.admin, observed.resolved["alerts_resolved_at"]
    before = _gateway_downtime(base, admin)
    accepted = {"status": "resolved", "mitigated_at": ended, "resolved_at": ended}
    url = f"{base}/api/v1/incidents/{observed.draft['id']}"
    status, _, body = call(url, {**accepted, "services": ["gateway"]}, token=admin, method="PATCH")

    assert set(before.values()) == {0}
    assert status == 200, body
    assert _gateway_downtime(base, admin)["1h"] > 0
