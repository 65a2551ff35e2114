"""/healthz (the process is up) and /readyz (the database answers, migrations are current)."""

from __future__ import annotations

import logging

import peewee
from flask import Blueprint, Response, current_app

from tracker.api.routing import respond
from tracker.schema import pending
from tracker.schemas import Health

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    return respond(Health(status="ok"))


@health.get("/readyz")
def readyz() -> Response:
    db = current_app.extensions["tracker.db"]
    try:
        with db.connection_context():
            db.execute_sql("SELECT 1")
            waiting = pending(db)
    except (peewee.OperationalError, peewee.InterfaceError) as exc:
        log.warning("not ready: %s", exc)
        return respond(Health(status="unavailable", checks={"database": str(exc)}), 503)
    if waiting:
        checks = {"database": "ok", "migrations": "pending: " + ", ".join(waiting)}
        return respond(Health(status="unavailable", checks=checks), 503)
    return respond(Health(status="ok", checks={"database": "ok", "migrations": "current"}))
