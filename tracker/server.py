"""`tracker serve`: migrations once in the master, then gunicorn workers each building the app."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import gunicorn.util
from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from tracker.db import open_database
from tracker.migrate import upgrade
from tracker.settings import MULTIPROCESS_ENV, Settings


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


class DeadlineSocket(socket.socket):
    """A client socket that, while a worker thread reads a request from it, gives up once the
    request has taken `read_seconds` (gunicorn's threads otherwise wait forever on a client
    that sent half a request head and stopped). The deployment puts nginx in front, which
    reads requests whole (config/nginx/tracker.conf); this bounds the rest."""

    deadline: float | None = None
    read_seconds: float = 30.0

    def setblocking(self, flag: bool) -> None:
        super().setblocking(flag)
        # Blocking: a request is being read (its clock started when the connection came in,
        # or when a kept-alive one became readable). Non-blocking: back in gunicorn's poller.
        if not flag:
            self.deadline = None
        elif self.deadline is None:
            self.deadline = time.monotonic() + self.read_seconds

    def _bounded(self) -> None:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ConnectionResetError(errno.ECONNRESET, "the request took too long")
            self.settimeout(left)

    def recv(self, size: int, flags: int = 0) -> bytes:
        self._bounded()
        try:
            return super().recv(size, flags)
        except TimeoutError:
            raise ConnectionResetError(errno.ECONNRESET, "the request took too long") from None

    def recv_into(self, buffer: Any, size: int = 0, flags: int = 0) -> int:
        self._bounded()
        try:
            return super().recv_into(buffer, size, flags)
        except TimeoutError:
            raise ConnectionResetError(errno.ECONNRESET, "the request took too long") from None

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.deadline = None  # answering: the request is in
        self.settimeout(None)
        super().sendall(data, flags)


class Worker(ThreadWorker):
    """gunicorn's threaded worker, whose own refusals (a request line or header over its
    limits, a malformed request) are problem documents like every other error, not HTML, and
    whose client sockets bound how long a request may take to arrive."""

    read_seconds = 30.0  # server.request_read_seconds, set before the workers fork

    def init_process(self) -> None:
        gunicorn.util.write_error = write_problem  # what handle_error calls to answer
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        if not isinstance(conn.sock, DeadlineSocket):
            sock = conn.sock
            conn.sock = DeadlineSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
            conn.sock.read_seconds = self.read_seconds
            conn.sock.setblocking(True)
        super().enqueue_req(conn)


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
        "keepalive": 5,  # an idle kept-alive connection costs no thread, but a file handle
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
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
    """Workers add up their request metrics through files in a folder of this server's own
    (named by its pid, under the data folder), set before any worker imports
    prometheus_client: two servers on one data folder never count, or delete, each other's
    files. Folders of servers no longer running are removed (their files would count)."""
    parent = Path(settings.data_dir / "prometheus")
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        if old.is_dir() and old.name.isdigit() and not _running(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    folder = parent / str(os.getpid())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ[MULTIPROCESS_ENV] = str(folder.resolve())
    return folder


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def run(settings: Settings) -> None:
    Worker.read_seconds = settings.server.request_read_seconds
    metrics_folder = prepare_multiprocess_metrics(settings)
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
        shutil.rmtree(metrics_folder, ignore_errors=True)
