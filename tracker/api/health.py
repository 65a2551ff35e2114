"""/healthz (the process is up) and /readyz (the database answers, migrations are current)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app

from tracker.api.problems import database_down, problem
from tracker.api.routing import respond
from tracker.migrate import readiness
from tracker.schemas import Health

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    return respond(Health(status="ok"))


@health.get("/readyz")
def readyz() -> Response:
    problems = readiness(current_app.extensions["tracker.db"])
    if "database" in problems:
        # The driver's message names hosts and ports: for the log, not for anonymous callers.
        log.warning("not ready: the database does not answer: %s", problems["database"])
        return database_down(extensions={"checks": {"database": "not answering"}})
    if problems:
        log.warning("not ready: %s", problems)
        return problem(
            503,
            "Not ready",
            "; ".join(f"{check}: {text}" for check, text in problems.items()),
            headers={"Retry-After": "5"},
            extensions={"checks": problems},
        )
    return respond(Health(status="ok", checks={"database": "ok", "migrations": "current"}))
