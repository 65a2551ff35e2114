"""Slow clients: sockets that send half a request head and stop (slowloris). Behind the
shipped nginx config (config/nginx/tracker.conf, Debian's nginx) they never reach gunicorn;
straight at gunicorn, each holds a worker thread at most `server.request_read_seconds`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import IN_CI
from tests.servers import environment, free_port, serving, wait_until

CONFIG = Path(__file__).resolve().parents[2] / "config" / "nginx" / "tracker.conf"
MAIN = """
daemon off;
master_process on;
worker_processes 1;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/tracker.conf;
}}
"""


def _nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        reason = "Debian's nginx is not installed (apt-get install nginx)"
        if IN_CI:
            pytest.fail(f"CI=true needs it: {reason}")
        pytest.skip(reason)
    return found


@contextmanager
def nginx_in_front(upstream: str, tmp: Path) -> Iterator[str]:
    """The shipped config, on free ports, in front of `upstream`; yields its base URL."""
    binary, port = _nginx_binary(), free_port()
    text = CONFIG.read_text()
    assert "server 127.0.0.1:8080;" in text and "listen 80;" in text
    text = text.replace("server 127.0.0.1:8080;", f"server {upstream.removeprefix('http://')};")
    (tmp / "tracker.conf").write_text(text.replace("listen 80;", f"listen 127.0.0.1:{port};"))
    (tmp / "nginx.conf").write_text(MAIN.format(tmp=tmp))
    process = subprocess.Popen(
        [binary, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(base), 10, "nginx to answer")
        yield base
    finally:
        # SIGTERM is nginx's fast shutdown: the master stops its workers before it exits (a
        # SIGKILL would leave them running). Whatever is left of the group is killed.
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def _healthy(base: str, timeout: float = 2) -> bool:
    with urllib.request.urlopen(f"{base}/healthz", timeout=timeout) as response:
        return response.status == 200


def _half_sent(base: str, count: int) -> list[socket.socket]:
    """`count` connections that each sent part of a request head and went quiet."""
    host, port = base.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: tracker\r\nX-Slow: ")
        sockets.append(sock)
    return sockets


def _answered(base: str, tries: int = 8) -> int:
    ok = 0
    for _ in range(tries):
        with suppress(OSError):
            ok += _healthy(base)
    return ok


def test_half_sent_requests_through_nginx_never_stall_the_server(tmp_path):
    env = environment(tmp_path / "data", scheduler_enabled="false", server_trusted_proxy_hops="1")
    (tmp_path / "nginx").mkdir()
    with serving(env) as upstream, nginx_in_front(upstream, tmp_path / "nginx") as base:
        slow = _half_sent(base, 64)  # 2 workers × 4 threads: 8 would stall gunicorn alone
        time.sleep(1)
        answered = _answered(base)
        for sock in slow:
            sock.close()
    assert answered == 8


def test_straight_at_gunicorn_a_half_sent_request_holds_a_thread_only_so_long(tmp_path):
    env = environment(tmp_path / "data", scheduler_enabled="false", server_request_read_seconds="2")
    with serving(env) as base:
        slow = _half_sent(base, 16)
        time.sleep(3)  # past request_read_seconds
        dropped = sum(_closed_by_the_server(sock) for sock in slow)
        answered = _answered(base)
    assert (dropped, answered) == (16, 8)


def _closed_by_the_server(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    finally:
        sock.close()


def test_through_nginx_a_forged_forwarded_for_is_not_the_address_signed_in_from(tmp_path):
    """nginx sets X-Forwarded-For to the address it saw, dropping the client's own: a forged
    one cannot move the sign-in throttle onto someone else's address."""
    env = environment(tmp_path / "data", scheduler_enabled="false", server_trusted_proxy_hops="1")
    (tmp_path / "nginx").mkdir()
    with serving(env) as upstream, nginx_in_front(upstream, tmp_path / "nginx") as base:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = opener.open(f"{base}/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        form = urlencode({"csrf_token": token, "name": "nobody", "password": "wrong guess"})
        request = urllib.request.Request(
            f"{base}/login", data=form.encode(), headers={"X-Forwarded-For": "198.51.100.9"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(request)
    with sqlite3.connect(tmp_path / "data" / "tracker.db") as db:
        addresses = [a for (a,) in db.execute("SELECT address FROM login_attempt")]
    assert (refused.value.code, addresses) == (401, ["127.0.0.1"])
