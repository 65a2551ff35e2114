"""Request bodies and helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tracker.db import database
from tracker.models import MODELS


class Api:
    """The test client with a role's token and JSON bodies."""

    def __init__(self, client: FlaskClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def _headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def get(self, path: str, role: str | None = "viewer", **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", query_string=params, headers=self._headers(role))

    def post(self, path: str, body: Any, role: str | None = "admin") -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self._headers(role))

    def patch(self, path: str, body: Any, role: str | None = "admin") -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self._headers(role))


def service_body(key: str = "gateway", **fields: Any) -> dict[str, Any]:
    return {"key": key, "name": key.replace("-", " ").title(), "tier": 1, **fields}


def incident_body(**fields: Any) -> dict[str, Any]:
    """A valid incident on service `gateway`, one minute at ratio 0.5 (suggested D)."""
    return {
        "title": "卡类型试算准确率未达到预先设定的标准",
        "services": ["gateway"],
        "detected_at": "2024-07-23T10:04:00+08:00",
        "mitigated_at": "2024-07-23T10:05:00+08:00",
        "impact_ratio": 0.5,
        **fields,
    }


def stored_counts(app: Flask) -> dict[str, int]:
    """Rows per table: what a refused request must leave unchanged."""
    with app.app_context(), database.connection_context():
        return {m._meta.table_name: m.select().count() for m in MODELS}


def counts_body(minute, direction, scope, outcomes, channel="unionpay"):
    """A payment-count batch: one row per (outcome, count) pair of one minute and series."""
    rows = [
        {
            "minute": minute,
            "direction": direction,
            "channel": channel,
            "scope": scope,
            "outcome": outcome,
            "count": n,
        }
        for outcome, n in dict(outcomes).items()
    ]
    return {"counts": rows}


def import_payments(app: Flask, stream: Any, name: str = "data.csv") -> Any:
    """A file through `payments.import_file` as `tracker payments import` runs it (call it
    inside an app context and a connection)."""
    from tracker.clock import utcnow
    from tracker.services.payments import Bounds, import_file

    config = app.extensions["tracker.settings"]
    return import_file(
        stream,
        name=name,
        zone=config.zone,
        outcomes=config.outcomes.outcome_map(),
        bounds=Bounds.at(utcnow(), max_channels=config.payments.max_channels),
        actor="test",
        now=utcnow(),
    )
