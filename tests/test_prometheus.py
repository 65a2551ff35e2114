"""End to end with a real Prometheus (Debian's `prometheus` package): it scrapes a real
`tracker serve`, every DESIGN §6 metric arrives with its value, the shipped rules pass
promtool, and every query of every dashboard panel returns data."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import tomllib
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.servers import admin_token, environment, free_port, serving, wait_until

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "config" / "prometheus" / "rules.yml"
RULE_TESTS = ROOT / "tests" / "prometheus" / "rules_test.yml"
DASHBOARD = ROOT / "config" / "grafana" / "dashboards" / "tracker.json"
IN_CI = os.environ.get("CI", "").lower() == "true"
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    (PROMETHEUS is None or PROMTOOL is None) and not IN_CI,
    reason="prometheus and promtool (Debian package prometheus) are not installed",
)
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$service": ".*", "$channel": ".*"}
DESIGN_METRICS = (
    "tracker_availability_ratio",
    "tracker_availability_objective_ratio",
    "tracker_downtime_seconds",
    "tracker_error_budget_remaining_ratio",
    "tracker_error_budget_burn_rate",
    "tracker_payment_success_ratio",
    "tracker_incidents",
    "tracker_incidents_distinct",
    "tracker_incidents_open",
    "tracker_incident_time_to_mitigate_seconds",
    "tracker_snapshot_timestamp_seconds",
    "tracker_rollup_last_success_timestamp_seconds",
    "tracker_rollup_duration_seconds",
    "tracker_rollup_failures_total",
    "tracker_build_info",
    "tracker_http_requests_total",
    "tracker_http_request_duration_seconds_bucket",
    "tracker_payment_dips_unlogged",
    "tracker_follow_ups",
    "tracker_regulatory_reports_overdue",
    "tracker_incident_quota_remaining",
)
# The shipped rates, each watched for dips (DESIGN §12), so their series are there at zero.
WATCHED_RATES = [
    {**rate, "dip_below": 0.99}
    for rate in tomllib.loads((ROOT / "config" / "payments.toml").read_text())["rates"]
]


def _call(url, body=None, token=None, method=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def tracker(tmp_path_factory):
    """A real server on a temporary SQLite database holding known figures, with a
    notification channel (nobody sends to it: its series are there, at zero)."""
    channel = {
        "name": "payments-oncall",
        "kind": "wecom",
        "url": "http://127.0.0.1:9/cgi-bin/webhook/send?key=UNUSED",
        "events": ["incident.created"],
    }
    env = environment(
        tmp_path_factory.mktemp("tracker"),
        scheduler_enabled="false",
        notifications_channels=json.dumps([channel]),
        payments_rates=json.dumps(WATCHED_RATES),
        quotas=json.dumps({"AB": 0, "C": 2, "D": 6}),
    )
    token = admin_token(env, "e2e")
    with serving(env) as base:
        yield from _seeded(base, token)


def _seeded(base, token):
    api = f"{base}/api/v1"
    _call(f"{api}/services", {"key": "gateway", "name": "Gateway", "tier": 1}, token)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _call(
        f"{api}/incidents",
        {
            "title": "bank timeouts",
            "services": ["gateway"],
            "grade": "C",
            "detected_at": (now - timedelta(minutes=40)).isoformat(),
            "mitigated_at": (now - timedelta(minutes=30)).isoformat(),
            "impact_ratio": 0.5,
        },
        token,
    )
    _call(
        f"{api}/incidents",
        {
            "title": "still degraded",
            "services": ["gateway"],
            "detected_at": (now - timedelta(minutes=5)).isoformat(),
            "impact_ratio": 0.25,
        },
        token,
    )
    counts = [
        {
            "minute": (now - timedelta(minutes=2)).isoformat(),
            "direction": "pay_in",
            "channel": channel,
            "scope": "final",
            "outcome": outcome,
            "count": n,
        }
        for channel in ("unionpay", "nucc")
        for outcome, n in (("success", 1023), ("system", 1))
    ]
    _call(f"{api}/payments/counts", {"counts": counts}, token)
    snapshot = _call(f"{api}/rollups", {}, token, method="POST")
    yield base, snapshot


@pytest.fixture(scope="module")
def prometheus(tracker, tmp_path_factory):
    """A Prometheus of the test's own, on loopback, scraping the server every second."""
    base, _ = tracker
    work = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "tracker", "static_configs": [{"targets": [base.removeprefix("http://")]}]}
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            PROMETHEUS or "prometheus",
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _query(url, "up{job='tracker'}") == [1.0], 60, "the first scrape")
    yield url
    process.terminate()
    process.wait(timeout=20)


def _query(url, expr):
    """The values of an instant query (NaN dropped)."""
    answer = _call(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    return [float(r["value"][1]) for r in answer["data"]["result"] if r["value"][1] not in ("NaN",)]


def _panel_queries():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            yield panel["title"], expr


@needs_prometheus
def test_every_design_metric_arrives(prometheus):
    wait_until(lambda: all(_query(prometheus, m) for m in DESIGN_METRICS), 60, "every metric")


@needs_prometheus
def test_values_arrive_as_the_snapshot_has_them(prometheus, tracker):
    _, snapshot = tracker
    hour = next(
        r for r in snapshot["availability"] if r["service"] == "gateway" and r["window"] == "1d"
    )
    got = _query(prometheus, 'tracker_downtime_seconds{service="gateway", window="1d"}')
    assert got == [hour["downtime_seconds"]]
    assert _query(prometheus, 'tracker_incidents{grade="C", window="ytd"}') == [1.0]
    assert _query(
        prometheus,
        'tracker_payment_success_ratio{rate="pay_in_effective",channel="all", window="1d"}',
    ) == [1023 / 1024]


@needs_prometheus
def test_every_dashboard_query_returns_data(prometheus):
    queries = list(_panel_queries())
    with contextlib.suppress(AssertionError):  # the names of the empty ones say more
        wait_until(lambda: all(_query(prometheus, expr) for _, expr in queries), 60, "panel data")
    empty = [(title, expr) for title, expr in queries if not _query(prometheus, expr)]
    assert empty == []


@needs_prometheus
def test_the_burn_rate_recording_rules_evaluate(prometheus):
    wait_until(
        lambda: _query(prometheus, 'tracker:error_budget_burn_rate:5m{service="gateway"}'),
        30,
        "the recording rules",
    )
    burn = _query(prometheus, 'tracker:error_budget_burn_rate:5m{service="gateway"}')[0]
    assert burn == pytest.approx(0.25 / 0.0001, rel=1e-6)


@needs_prometheus
def test_the_shipped_rules_pass_promtool_check_and_their_unit_tests():
    checked = subprocess.run(
        [PROMTOOL or "promtool", "check", "rules", str(RULES)], capture_output=True, text=True
    )
    tested = subprocess.run(
        [PROMTOOL or "promtool", "test", "rules", str(RULE_TESTS)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_prometheus
def test_every_dashboard_query_is_valid_promql(tmp_path):
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:panel_{i}", "expr": expr}
                    for i, (_, expr) in enumerate(_panel_queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run(
        [PROMTOOL or "promtool", "check", "rules", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_asks_for_its_data_source():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"])
    assert not [e for _, e in _panel_queries() if re.search(r"\$\w", e)]
