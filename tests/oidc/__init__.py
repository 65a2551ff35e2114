"""OpenID providers for the sign-in tests.

`provider()` starts a real one: panva's certified `oidc-provider` under node (provider.mjs),
with its development login page, the clients and the people a test names and their `groups`.
`Forger` is a hostile one: a small provider of our own making that answers the code flow as
the standard says (PKCE checked) but signs whatever ID token a test asks for (another key,
another audience, an expired one, another nonce), to show that tracker refuses each.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"
SECRET = "tests-only-client-secret-of-tracker"
PEOPLE = {
    "alice": {"groups": ["sre-leads", "payments-oncall"], "name": "张丽"},
    "bob": {"groups": ["payments-oncall"]},
    "carol": {"groups": ["finance"]},
    "dave": {"groups": ["etl-bots"]},
    "mallory": {"groups": ["marketing"]},
}
ROLE_MAP = {
    "sre-leads": "admin",
    "payments-oncall": "responder",
    "etl-bots": "ingest",
    "finance": "viewer",
}
# Who signs in with which role through ROLE_MAP.
PERSON_OF_ROLE = {"admin": "alice", "responder": "bob", "ingest": "dave", "viewer": "carol"}


def need_node() -> None:
    """Skip (fail under CI=true) without node or the provider's npm packages."""
    reason = None
    if shutil.which("node") is None:
        reason = "node is not installed (apt-get install nodejs npm)"
    elif not (HERE / "node_modules" / "oidc-provider").is_dir():
        reason = "oidc-provider is not installed (scripts/install --test runs npm ci in tests/oidc)"
    if reason and IN_CI:
        pytest.fail(f"CI=true needs the OpenID provider: {reason}")
    if reason:
        pytest.skip(reason)


def client(redirect_uri: str, client_id: str = "tracker", logout_uri: str = "") -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_secret": SECRET,
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [logout_uri or redirect_uri.replace("/oidc/callback", "")],
    }


@contextmanager
def provider(
    clients: list[dict[str, Any]], people: dict[str, Any] | None = None, port: int = 0
) -> Iterator[str]:
    """oidc-provider on loopback; yields its issuer URL."""
    need_node()
    process = subprocess.Popen(
        ["node", str(HERE / "provider.mjs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        config = {"port": port, "clients": clients, "accounts": people or PEOPLE}
        process.stdin.write(json.dumps(config))
        process.stdin.close()
        line = process.stdout.readline()
        assert line.startswith("ready "), f"the OpenID provider did not start: {line!r}"
        yield line.split()[1]
    finally:
        process.kill()
        process.wait(timeout=10)


def sign_in_at_provider(authorize_url: str, login: str, callback_prefix: str) -> str:
    """Go through the real provider's own login page as a person would (any password) and
    return the URL it sends the browser back to."""
    browser = requests.Session()
    url = authorize_url
    for _ in range(10):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        if answer.status_code == 200 and 'name="login"' in answer.text:
            answer = browser.post(
                answer.url,
                data={"prompt": "login", "login": login, "password": "anything"},
                allow_redirects=False,
                timeout=10,
            )
        location = urllib.parse.urljoin(url, answer.headers["Location"])
        if location.startswith(callback_prefix):
            return location
        url = location
    raise AssertionError("the provider never sent the browser back")


def path_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


# ---- the forger -------------------------------------------------------------------------------


@functools.cache
def _key(which: str) -> Any:
    """An RSA key made once per test process (making one takes a tenth of a second)."""
    from joserfc.jwk import RSAKey

    return RSAKey.generate_key(2048, parameters={"kid": "real", "use": "sig"})


@dataclass
class Forger:
    """A hostile OpenID provider on loopback. Set `forge` to change the next ID token's
    claims (None removes one) or `sign_with` to sign it with another key."""

    client_id: str = "tracker"
    login: str = "alice"  # whom the next sign-in signs in
    forge: dict[str, Any] = field(default_factory=dict)
    sign_with: Any = None
    alg: str = "RS256"
    issued: list[dict[str, Any]] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)  # a person's groups, changed

    def __post_init__(self) -> None:
        self.key = _key("real")
        self._codes: dict[str, dict[str, str]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Forger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def other_key(self) -> Any:
        """Another key under the same key id: only its signature tells it apart."""
        return _key("other")

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def id_token(forger, request: dict[str, str], login: str) -> str:
        from joserfc import jwt

        now = int(time.time())
        claims = {
            "iss": forger.issuer,
            "sub": f"forged-{login}",
            "aud": forger.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": request.get("nonce"),
            "preferred_username": login,
            "email": f"{login}@example.com",
            "groups": forger.groups.get(login, PEOPLE.get(login, {}).get("groups", [])),
        }
        claims.update(forger.forge)
        claims = {k: v for k, v in claims.items() if v is not None}
        forger.issued.append(claims)
        if forger.alg == "none":
            header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
            return f"{header.decode()}.{body.decode()}."
        return jwt.encode(
            {"alg": forger.alg, "kid": "real"}, claims, forger.sign_with or forger.key
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        forger = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, forger.metadata())
                if url.path == "/jwks":
                    return self._json(200, {"keys": [forger.key.as_dict(private=False)]})
                if url.path == "/authorize":  # signs in `login` at once
                    code = secrets.token_urlsafe(16)
                    forger._codes[code] = query
                    back = urllib.parse.urlencode({"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{back}")
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                request = forger._codes.pop(form.get("code", ""), None)
                if request is None:
                    return self._json(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier", "").encode()
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
                if challenge.rstrip(b"=").decode() != request.get("code_challenge"):
                    return self._json(400, {"error": "invalid_grant"})
                token = forger.id_token(request, forger.login)
                body = {"access_token": "at", "token_type": "Bearer", "id_token": token}
                return self._json(200, body)

        return Handler
