"""Real `tracker` processes for the tests that need one: the CLI and `tracker serve`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-m", "tracker"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without TRACKER_* variables, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_DATA_DIR"] = str(data_dir)
    env.update({f"TRACKER_{name.upper()}": value for name, value in settings.items()})
    return env


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run `tracker ARGS` and return what it printed."""
    done = subprocess.run(
        [*CLI, *args], env=env, input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def admin_token(env: dict[str, str], name: str = "test") -> str:
    return cli(env, "tokens", "create", "--name", name, "--role", "admin")


@contextmanager
def serving(env: dict[str, str], *, workers: int = 2, port: int | None = None) -> Iterator[str]:
    """`tracker serve` on a free port (or `port`), ready; yields its base URL and kills it
    after."""
    with server_group(env, workers=workers, port=port) as server:
        yield server.base


@dataclass
class Server:
    """A running `tracker serve`: gunicorn's master, its workers and the scheduler process,
    all in one process group of their own."""

    base: str
    process: subprocess.Popen

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crash or the OOM killer would."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def server_group(
    env: dict[str, str], *, workers: int = 2, log: Path | None = None, port: int | None = None
) -> Iterator[Server]:
    """`tracker serve` on a free port in a session of its own, ready; its whole process
    group killed after (a test has no use for a graceful stop, which costs gunicorn's
    arbiter a second)."""
    with replicas([env], workers=workers, log=log, ports=[port] if port else None) as (server,):
        yield server


@contextmanager
def replicas(
    envs: list[dict[str, str]],
    *,
    workers: int = 2,
    log: Path | None = None,
    ports: list[int] | None = None,
) -> Iterator[list[Server]]:
    """One `tracker serve` per environment, started together (they start in parallel), each
    as `server_group` runs it, on free ports or `ports`; `log` collects everything they
    print."""
    output = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    servers = []
    try:
        for index, env in enumerate(envs):
            port = ports[index] if ports else free_port()
            process = subprocess.Popen(
                [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            servers.append(Server(f"http://127.0.0.1:{port}", process))
        for server in servers:
            wait_until(lambda server=server: _ready(server.base), 30, "the server to be ready")
        yield servers
    finally:
        for server in servers:
            server.kill()
        if log is not None:
            output.close()


def _ready(base: str) -> bool:
    with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
        return response.status == 200


def wait_until(check, seconds: float, what: str) -> None:
    """Poll `check` until it is true; connection errors count as not yet."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def call(
    url: str, body: Any = None, *, token: str | None = None, method: str | None = None
) -> tuple[int, str, Any]:
    """One JSON request: (status, media type, decoded body), errors included."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_content_type(), _decoded(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), _decoded(exc.read())


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
