"""/healthz (the process is up) and /readyz (the database answers, migrations are current)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app

from tracker.api.routing import respond
from tracker.schema import readiness
from tracker.schemas import Health

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    return respond(Health(status="ok"))


@health.get("/readyz")
def readyz() -> Response:
    problems = readiness(current_app.extensions["tracker.db"])
    if problems:
        log.warning("not ready: %s", problems)
        return respond(Health(status="unavailable", checks=problems), 503)
    return respond(Health(status="ok", checks={"database": "ok", "migrations": "current"}))
