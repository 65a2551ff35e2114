"""The application factory: settings → database → API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from tracker import api, db, metrics
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
        SECRET_KEY=settings.secret_key or None,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.extensions["tracker.settings"] = settings
    app.extensions["tracker.grading"] = settings.grading.rules()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    db.init_app(app)
    metrics.init_app(app)
    api.init_app(app)
    return app
