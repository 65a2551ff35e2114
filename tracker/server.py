"""`tracker serve`: migrations once in the master, then gunicorn workers each building the app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import gunicorn.util
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

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


class Worker(ThreadWorker):
    """gunicorn's threaded worker, whose own refusals (a request line or header over its
    limits, a malformed request) are problem documents like every other error, not HTML."""

    def init_process(self) -> None:
        gunicorn.util.write_error = write_problem  # what handle_error calls to answer
        super().init_process()


def write_problem(sock: Any, status: int, reason: str, message: str) -> None:
    """gunicorn's `util.write_error`, answering with application/problem+json."""
    from tracker.api.problems import MEDIA_TYPE, problem_text

    body = problem_text(status, reason, message or reason).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {MEDIA_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


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
        "worker_class": "tracker.server.Worker",
        "threads": 4,
        "accesslog": "-",
        "errorlog": "-",
        "graceful_timeout": 10,
        # gunicorn's largest bounded request line (0 would buffer any length); the app refuses
        # the same length under other servers (tracker.api.problems.MAX_URI_BYTES).
        "limit_request_line": 8190,
        "timeout": 60,
        "proc_name": "tracker",
        # gunicorn's control socket is one path per user ($HOME/.gunicorn): two servers on a
        # host would take it from each other, and tracker does not use it.
        "control_socket_disable": True,
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
