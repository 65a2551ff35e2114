"""The application factory: settings → database → API."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import api, db, headers, metrics, ui
from tracker.api.routing import RowId
from tracker.services.trends import ChartCache
from tracker.settings import Settings, load_settings


def create_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the app. Settings are loaded (and validated) here, never at import time."""
    settings = settings or load_settings(overrides=overrides)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.auth.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.auth.session_hours),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    if settings.server.trusted_proxy_hops:
        # the client's address from X-Forwarded-For, through exactly this many proxies
        hops = settings.server.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    app.extensions["tracker.settings"] = settings
    app.extensions["tracker.grading"] = settings.rules()
    app.extensions["tracker.charts"] = ChartCache()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app.url_map.converters["int"] = RowId  # before any route: ids beyond the column are 404s
    db.init_app(app)
    metrics.init_app(app)
    api.init_app(app)
    ui.init_app(app)
    headers.init_app(app)
    return app


def secret_key(settings: Settings) -> str:
    """The configured key, or one made once and kept in the data folder, so that every
    worker (and every restart) signs sessions alike."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the owner's only
        with (
            contextlib.suppress(FileExistsError),
            open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh,
        ):
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
