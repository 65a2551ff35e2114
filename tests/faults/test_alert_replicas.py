"""One Alertmanager notification racing into two real `tracker serve` replicas on one
PostgreSQL database, as an HA pair's copies and retries do (DESIGN §9): ten copies to each at
once still make one draft, one alert per (fingerprint, startsAt) and one timeline entry per
alert that fires or resolves."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.factories import service_body
from tests.servers import call, environment, replicas

COPIES = 10  # of each notification, to each replica
NOW = datetime.now(UTC).replace(microsecond=0)
STARTS = {
    "a1f0c3d2e4b5a697": NOW - timedelta(minutes=10),
    "b2e1d4c3f5a6b708": NOW - timedelta(minutes=9),
}
ENDS = {
    "a1f0c3d2e4b5a697": NOW - timedelta(minutes=3),
    "b2e1d4c3f5a6b708": NOW - timedelta(minutes=2),
}


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def notification(status: str) -> dict:
    """Alertmanager's webhook body (version 4): both alerts of one group, firing or resolved."""
    group = {"alertname": "PaymentErrors", "service": "gateway"}
    alerts = [
        {
            "status": status,
            "labels": {**group, "instance": f"gw-{n}"},
            "annotations": {"summary": "Payment errors on the gateway"},
            "startsAt": _rfc3339(starts),
            "endsAt": _rfc3339(ENDS[fp]) if status == "resolved" else "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph?g0.expr=errors",
            "fingerprint": fp,
        }
        for n, (fp, starts) in enumerate(STARTS.items())
    ]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="PaymentErrors", service="gateway"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "tracker",
        "groupLabels": group,
        "commonLabels": group,
        "commonAnnotations": {"summary": "Payment errors on the gateway"},
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    }


def send_at_once(bases: list[str], body: dict, token: str) -> Counter:
    """COPIES of `body` to every replica, all released together: (status, incidents) answered."""
    targets = [f"{base}/api/v1/alerts/alertmanager" for base in bases] * COPIES
    start = threading.Barrier(len(targets))

    def send(url: str) -> tuple[int, tuple]:
        start.wait(timeout=30)
        status, _, answer = call(url, body, token=token)
        return status, tuple(answer["incidents"]) if status == 200 else answer

    with ThreadPoolExecutor(len(targets)) as pool:
        return Counter(pool.map(send, targets))


@contextmanager
def two_replicas(database_url: str, tokens: dict, tmp_path: Path) -> Iterator[list[str]]:
    envs = [
        environment(tmp_path / name, database_url=database_url, scheduler_enabled="false")
        for name in ("a", "b")
    ]
    with replicas(envs) as servers:
        bases = [server.base for server in servers]
        assert call(f"{bases[0]}/api/v1/services", service_body(), token=tokens["admin"])[0] == 201
        yield bases


def _key(alert: dict) -> tuple[str, datetime]:
    return alert["fingerprint"], datetime.fromisoformat(alert["starts_at"])


def _items(url: str, token: str) -> list[dict]:
    status, _, body = call(url, token=token)
    assert status == 200, body
    return body["items"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_one_group_sent_to_two_replicas_at_once_makes_one_draft_with_each_alert_once(
    database_url, tokens, tmp_path
):
    with two_replicas(database_url, tokens, tmp_path) as bases:
        answers = send_at_once(bases, notification("firing"), tokens["ingest"])
        (draft,) = _items(f"{bases[1]}/api/v1/incidents?status=triage", tokens["viewer"])
        alerts = _items(f"{bases[0]}/api/v1/incidents/{draft['id']}/alerts", tokens["viewer"])
        timeline = _items(f"{bases[1]}/api/v1/incidents/{draft['id']}/timeline", tokens["viewer"])

    assert answers == {(200, (draft["id"],)): 2 * COPIES}
    assert sorted(_key(a) for a in alerts) == sorted(STARTS.items()) and len(timeline) == 2


@pytest.mark.parametrize("backend", ["postgresql"])
def test_its_resolution_sent_to_both_at_once_is_recorded_once_per_alert(
    database_url, tokens, tmp_path
):
    viewer = tokens["viewer"]
    with two_replicas(database_url, tokens, tmp_path) as bases:
        send_at_once(bases, notification("firing"), tokens["ingest"])
        answers = send_at_once(bases, notification("resolved"), tokens["ingest"])
        (draft,) = _items(f"{bases[0]}/api/v1/incidents?status=triage", tokens["viewer"])
        url = f"{bases[1]}/api/v1/incidents/{draft['id']}"
        alerts, timeline = _items(f"{url}/alerts", viewer), _items(f"{url}/timeline", viewer)
        resolved_at = call(url, token=viewer)[2]["alerts_resolved_at"]

    assert answers == {(200, (draft["id"],)): 2 * COPIES}
    assert [a["status"] for a in alerts] == ["resolved", "resolved"] and len(timeline) == 4
    assert datetime.fromisoformat(resolved_at) == max(ENDS.values())
