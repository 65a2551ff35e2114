"""The HTTP adapter: /api/v1 (JSON, bearer tokens), /healthz and /readyz."""

from flask import Flask

from tracker.api import (  # noqa: F401  (routes)
    alerts,
    audit,
    auth,
    changes,
    followups,
    incidents,
    maintenance,
    notifications,
    payments,
    problems,
    reports,
    rollups,
    services,
    slo,
    summaries,
)
from tracker.api.blueprint import api
from tracker.api.docs import swagger
from tracker.api.health import health
from tracker.api.routing import install


def init_app(app: Flask) -> None:
    problems.init_app(app)
    app.register_blueprint(health)
    app.register_blueprint(swagger)
    app.extensions["tracker.openapi"] = install(app, api)
