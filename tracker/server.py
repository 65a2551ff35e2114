"""`tracker serve`: migrations once in the master, then gunicorn workers each building the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from tracker.db import open_database
from tracker.metrics_env import MULTIPROCESS_ENV
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


def _worker_gone(_server: Any, worker: Any) -> None:
    """gunicorn's child_exit: a dead worker's live gauges must not linger in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    server = settings.server
    return {
        "child_exit": _worker_gone,
        "bind": f"{server.host}:{server.port}",
        "workers": server.workers,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": "-",
        "errorlog": "-",
        "graceful_timeout": 10,
        # Unlimited, so that the app answers an overlong URI with a 414 problem (gunicorn's
        # own 414 is plain text); the app's limit is tracker.api.problems.MAX_URI_BYTES.
        "limit_request_line": 0,
        "timeout": 60,
        "proc_name": "tracker",
    }


def prepare_multiprocess_metrics(settings: Settings) -> Path:
    """Workers add up their request metrics through files in one folder, named before any
    worker imports prometheus_client, and emptied at every start (stale files would count)."""
    folder = Path(os.environ.get(MULTIPROCESS_ENV) or settings.data_dir / "prometheus")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder.resolve())
    return folder


def run(settings: Settings) -> None:
    prepare_multiprocess_metrics(settings)
    db = open_database(
        settings.effective_database_url, busy_timeout_ms=settings.database.busy_timeout_ms
    )
    upgrade(db)
    db.close()
    # One scheduler process beside the workers (never one per worker); other replicas may run
    # theirs too, the jobs' database claims keep each tick to one run.
    jobs = (
        subprocess.Popen([sys.executable, "-m", "tracker", "scheduler"])
        if settings.scheduler.enabled
        else None
    )
    try:
        Server(settings, gunicorn_options(settings)).run()
    finally:
        if jobs is not None:
            jobs.terminate()
            jobs.wait(timeout=10)
