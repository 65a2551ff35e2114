"""`tracker serve`: migrations once in the master, then gunicorn workers each building the app."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from tracker.db import open_database
from tracker.schema import upgrade
from tracker.settings import Settings


class Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from tracker.app import create_app

        return create_app(self.settings)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    server = settings.server
    return {
        "bind": f"{server.host}:{server.port}",
        "workers": server.workers,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": "-",
        "errorlog": "-",
        "graceful_timeout": 10,
        "timeout": 60,
        "proc_name": "tracker",
    }


def run(settings: Settings) -> None:
    db = open_database(
        settings.effective_database_url, busy_timeout_ms=settings.database.busy_timeout_ms
    )
    upgrade(db)
    db.close()
    Server(settings, gunicorn_options(settings)).run()
