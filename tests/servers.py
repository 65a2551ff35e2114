"""Real `tracker` processes for the tests that need one: the CLI and `tracker serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
def serving(env: dict[str, str], *, workers: int = 2) -> Iterator[str]:
    """`tracker serve` on a free port, ready; yields its base URL and stops it after."""
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(base), 30, "the server to be ready")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


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
