"""`tracker serve` runs gunicorn workers in front of the same app; started for real."""

import json
import urllib.error
import urllib.request

import pytest

from tests.factories import service_body
from tests.servers import admin_token, environment, serving


def _request(url, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


@pytest.fixture
def server(database_url, tmp_path):
    env = environment(tmp_path, database_url=database_url)
    token = admin_token(env, "ops")
    with serving(env) as base:
        yield base, token


def test_serve_answers_through_gunicorn(server):
    base, _token = server
    status, headers, _ = _request(f"{base}/healthz")
    assert (status, headers["Server"].split("/")[0]) == (200, "gunicorn")


def test_serve_takes_writes_and_refuses_bad_ones(server):
    base, token = server
    assert _request(f"{base}/api/v1/services", service_body("gateway"), token)[0] == 201
    status, headers, _body = _request(f"{base}/api/v1/services", {"key": "BAD"}, token)
    assert (status, headers["Content-Type"]) == (422, "application/problem+json")


def test_request_metrics_add_up_across_workers(server):
    base, _token = server
    for _ in range(20):
        assert _request(f"{base}/healthz")[0] == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    healthz = [
        line
        for line in text.splitlines()
        if line.startswith("tracker_http_requests_total{") and 'route="/healthz"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in healthz) == 20
