"""Local stand-ins for the chat services and a mail server, for delivery tests.

A `Receiver` is a real HTTP server on 127.0.0.1 that checks every request the way its service
documents it (required fields, types, size limits in bytes of UTF-8) and verifies signatures
with algorithms written here from the services' docs, never imported from tracker. Whatever
it finds wrong goes to `problems` (tests assert it stays empty) and is answered with the
service's own refusal: WeCom, DingTalk and Feishu refuse inside an HTTP 200, Slack and the
webhook with a 4xx.

    with Receiver("dingtalk", secret="SEC…", fail_first=1) as receiver:
        ...  # send to receiver.url
        receiver.wait_for(1)

The first `fail_first` requests are answered HTTP 500 (the body echoes the request's path and
query, as a misconfigured proxy would, so tests see that senders scrub it); the next
`hang_first` sleep `hang_seconds` first (less when the receiver closes). `attempts` counts
every request; `received` holds the requests answered with success, in order.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port

KINDS = ("wecom", "dingtalk", "feishu", "slack", "webhook")
SIGNATURE_WINDOW_SECONDS = 3600  # DingTalk and Feishu: a timestamp within an hour of now

# The documented limits, in bytes of UTF-8 unless said otherwise.
WECOM_MARKDOWN_BYTES = 4096  # 企业微信 群机器人: markdown.content 最长不超过4096个字节
WECOM_TEXT_BYTES = 2048  # text.content 最长不超过2048个字节
DINGTALK_BODY_BYTES = 20_000  # 钉钉 errcode 460101: 请保持大小在 20000bytes 以内
FEISHU_BODY_BYTES = 20_000  # 飞书 自定义机器人: 请求体的数据大小不能超过 20 KB
SLACK_SECTION_CHARS = 3000  # Slack Block Kit: section text, characters
SLACK_HEADER_CHARS = 150
SLACK_BLOCKS = 50


@dataclass
class Received:
    """One request as it arrived: parsed JSON, the raw body, headers, and query parameters."""

    json: Any
    body: bytes
    headers: dict[str, str]
    query: dict[str, str]


@dataclass
class Refusal:
    """What a service answers when it will not take a request."""

    status: int
    body: bytes
    problem: str


# ---- the services' signature algorithms, from their docs ---------------------------------


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """钉钉 加签: HmacSHA256 over "timestamp\\nsecret" keyed by the secret, then Base64 (the
    URL encoding on top is undone by reading the query)."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_expected_sign(secret: str, timestamp: str) -> str:
    """飞书 签名校验: "timestamp\\nsecret" is the HmacSHA256 *key*, the message is empty."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(string_to_sign, b"", digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---- what each service checks --------------------------------------------------------------


def _utf8_bytes(text: str) -> int:
    return len(text.encode())


def _fresh(timestamp: str, *, unit: int) -> bool:
    return abs(time.time() * unit - int(timestamp)) <= SIGNATURE_WINDOW_SECONDS * unit


def _errcode(code: int, message: str) -> Refusal:
    body = json.dumps({"errcode": code, "errmsg": message}).encode()
    return Refusal(200, body, message)


def _feishu_code(code: int, message: str) -> Refusal:
    return Refusal(200, json.dumps({"code": code, "msg": message, "data": {}}).encode(), message)


def check_wecom(receiver: Receiver, request: Received, path: str) -> Refusal | None:
    if path != "/cgi-bin/webhook/send" or request.query.get("key") != receiver.key:
        return _errcode(93000, "invalid webhook url")
    payload = request.json
    kind = payload.get("msgtype")
    if kind not in ("markdown", "text") or set(payload) != {"msgtype", kind}:
        return _errcode(40008, f"invalid message type or fields: {sorted(payload)}")
    part = payload[kind]
    content = part.get("content") if isinstance(part, dict) else None
    limit = WECOM_MARKDOWN_BYTES if kind == "markdown" else WECOM_TEXT_BYTES
    if not isinstance(content, str) or not content:
        return _errcode(40058, f"{kind}.content missing")
    if _utf8_bytes(content) > limit:
        return _errcode(40058, f"{kind}.content exceed max length {limit}")
    allowed = (
        {"content"}
        if kind == "markdown"
        else {"content", "mentioned_list", "mentioned_mobile_list"}
    )
    if not set(part) <= allowed:
        return _errcode(40058, f"{kind} has unknown fields {sorted(set(part) - allowed)}")
    for name in ("mentioned_list", "mentioned_mobile_list"):
        value = part.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return _errcode(40058, f"text.{name} is not a list of strings")
    return None


def check_dingtalk(receiver: Receiver, request: Received, path: str) -> Refusal | None:
    if path != "/robot/send" or request.query.get("access_token") != receiver.key:
        return _errcode(300001, "token is not exist")
    if len(request.body) > DINGTALK_BODY_BYTES:
        return _errcode(460101, "body 大小不合法;请保持大小在 20000bytes 以内")
    if receiver.secret:
        timestamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
        if not timestamp.isdigit() or not _fresh(timestamp, unit=1000):
            return _errcode(310000, "invalid timestamp")
        if not hmac.compare_digest(sign, dingtalk_expected_sign(receiver.secret, timestamp)):
            return _errcode(310000, "sign not match")
    payload = request.json
    if payload.get("msgtype") != "markdown":
        return _errcode(40035, "msgtype is not markdown")
    markdown = payload.get("markdown")
    if not isinstance(markdown, dict) or set(markdown) != {"title", "text"}:
        return _errcode(40035, "markdown needs exactly title and text")
    if not all(isinstance(markdown[k], str) and markdown[k] for k in ("title", "text")):
        return _errcode(40035, "markdown.title and markdown.text must be non-empty strings")
    return None


def check_feishu(receiver: Receiver, request: Received, path: str) -> Refusal | None:
    if path != f"/open-apis/bot/v2/hook/{receiver.key}":
        return _feishu_code(19001, "param invalid: incoming webhook access token invalid")
    if len(request.body) > FEISHU_BODY_BYTES:
        return _feishu_code(9499, "Bad Request: the body is larger than 20 KB")
    payload = request.json
    if receiver.secret:
        timestamp, sign = payload.get("timestamp"), payload.get("sign")
        if not isinstance(timestamp, str) or not timestamp.isdigit():
            return _feishu_code(19021, "timestamp is not a string of seconds")
        fresh = _fresh(timestamp, unit=1)
        if not fresh or sign != feishu_expected_sign(receiver.secret, timestamp):
            return _feishu_code(
                19021, "sign match fail or timestamp is not within one hour from current time"
            )
    if payload.get("msg_type") != "interactive" or not isinstance(payload.get("card"), dict):
        return _feishu_code(9499, "Bad Request: msg_type interactive needs a card")
    card = payload["card"]
    title = card.get("header", {}).get("title", {})
    if title.get("tag") != "plain_text" or not isinstance(title.get("content"), str):
        return _feishu_code(9499, "Bad Request: header.title must be plain_text")
    # Card JSON 2.0 declares its schema and holds its elements in `body`; 1.0 at the top.
    elements = card["body"].get("elements") if card.get("schema") == "2.0" else card.get("elements")
    if not isinstance(elements, list) or not elements:
        return _feishu_code(9499, "Bad Request: card.elements is empty")
    for element in elements:
        if element.get("tag") != "markdown" or not isinstance(element.get("content"), str):
            return _feishu_code(9499, "Bad Request: an element is not markdown with content")
    return None


def check_slack(receiver: Receiver, request: Received, path: str) -> Refusal | None:
    if path != f"/services/T000/B000/{receiver.key}":
        return Refusal(404, b"no_service", "no_service")
    payload = request.json
    if not isinstance(payload.get("text"), str) or not payload["text"]:
        return Refusal(400, b"no_text", "no_text")
    blocks = payload.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > SLACK_BLOCKS:
        return Refusal(400, b"invalid_blocks", f"{len(blocks)} blocks")
    for block in blocks:
        text = block.get("text", {})
        limit = {"section": SLACK_SECTION_CHARS, "header": SLACK_HEADER_CHARS}.get(
            block.get("type")
        )
        if limit is None or not isinstance(text.get("text"), str) or not text["text"]:
            return Refusal(400, b"invalid_blocks", f"a block is not a section: {block}")
        if text.get("type") not in ("mrkdwn", "plain_text") or len(text["text"]) > limit:
            return Refusal(400, b"invalid_blocks", f"a block's text is over {limit} characters")
    return None


def check_webhook(receiver: Receiver, request: Received, path: str) -> Refusal | None:
    if path != "/hooks/tracker":
        return Refusal(404, b"not found", f"path {path}")
    signature = request.headers.get("X-Tracker-Signature")
    if receiver.secret:
        expected = webhook_expected_signature(receiver.secret, request.body)
        if signature is None or not hmac.compare_digest(signature, expected):
            return Refusal(401, b"bad signature", "X-Tracker-Signature does not verify")
    elif signature is not None:
        return Refusal(400, b"unexpected signature", "signed without a secret")
    payload = request.json
    if (
        not {"event", "delivery", "at", "text"}
        <= set(payload)
        <= {"event", "delivery", "at", "incident", "text"}
    ):
        return Refusal(400, b"bad fields", f"fields {sorted(payload)}")
    if not all(isinstance(payload[k], str) for k in ("event", "delivery", "at", "text")):
        return Refusal(400, b"bad types", "event, delivery, at and text must be strings")
    if "incident" in payload and not isinstance(payload["incident"], dict):
        return Refusal(400, b"bad incident", "incident must be an object")
    try:
        at = datetime.fromisoformat(payload["at"])
    except ValueError:
        return Refusal(400, b"bad at", f"at is not ISO 8601: {payload['at']}")
    if at.tzinfo is None:
        return Refusal(400, b"bad at", "at has no UTC offset")
    if request.headers.get("X-Tracker-Event") != payload["event"]:
        return Refusal(400, b"bad header", "X-Tracker-Event differs from the body's event")
    if request.headers.get("X-Tracker-Delivery") != payload["delivery"]:
        return Refusal(400, b"bad header", "X-Tracker-Delivery differs from the body's delivery")
    return None


CHECKS: dict[str, Callable[[Receiver, Received, str], Refusal | None]] = {
    "wecom": check_wecom,
    "dingtalk": check_dingtalk,
    "feishu": check_feishu,
    "slack": check_slack,
    "webhook": check_webhook,
}
SUCCESS: dict[str, tuple[str, bytes]] = {
    "wecom": ("application/json", b'{"errcode":0,"errmsg":"ok"}'),
    "dingtalk": ("application/json", b'{"errcode":0,"errmsg":"ok"}'),
    "feishu": ("application/json", b'{"code":0,"msg":"success","data":{}}'),
    "slack": ("text/html", b"ok"),
    "webhook": ("text/plain", b""),
}
PATHS: dict[str, Callable[[str], str]] = {
    "wecom": lambda key: f"/cgi-bin/webhook/send?key={key}",
    "dingtalk": lambda key: f"/robot/send?access_token={key}",
    "feishu": lambda key: f"/open-apis/bot/v2/hook/{key}",
    "slack": lambda key: f"/services/T000/B000/{key}",
    "webhook": lambda key: "/hooks/tracker",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        attempt = receiver._attempt()
        if attempt <= receiver.fail_first:
            self._answer(500, "text/plain", f"internal error handling POST {self.path}".encode())
            return
        hangs = attempt <= receiver.fail_first + receiver.hang_first
        if hangs and receiver._stopped.wait(receiver.hang_seconds):
            return  # closing: the sender gave up long ago
        parts = urlsplit(self.path)
        request = Received(
            json=None,
            body=body,
            headers=dict(self.headers.items()),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        )
        refusal = self._parse(request) or self._check(receiver, request, parts.path)
        if refusal is not None:
            receiver._problem(f"{receiver.kind} request {attempt}: {refusal.problem}")
            self._answer(refusal.status, "application/json", refusal.body)
            return
        receiver._receive(request)
        self._answer(200, *SUCCESS[receiver.kind])

    def _parse(self, request: Received) -> Refusal | None:
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            return Refusal(400, b"bad content type", "Content-Type is not application/json")
        try:
            request.json = json.loads(request.body.decode("utf-8"))
        except ValueError:
            return Refusal(400, b"bad body", "the body is not UTF-8 JSON")
        if not isinstance(request.json, dict):
            return Refusal(400, b"bad body", "the body is not a JSON object")
        return None

    def _check(self, receiver: Receiver, request: Received, path: str) -> Refusal | None:
        try:
            return CHECKS[receiver.kind](receiver, request, path)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            return Refusal(400, b"malformed", f"malformed payload ({exc!r})")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the sender gave up (a hang it timed out on)

    def do_GET(self) -> None:
        self.server.receiver._problem(f"{self.server.receiver.kind}: GET {self.path}")
        self._answer(405, "text/plain", b"method not allowed")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: Receiver


class Receiver:
    """A chat service's webhook endpoint of `kind`, on 127.0.0.1 while the `with` lasts."""

    def __init__(
        self,
        kind: str,
        *,
        secret: str = "",
        fail_first: int = 0,
        hang_first: int = 0,
        hang_seconds: float = 30.0,
    ) -> None:
        if kind not in CHECKS:
            raise ValueError(f"no receiver for {kind}")
        self.kind = kind
        self.secret = secret
        self.fail_first = fail_first
        self.hang_first = hang_first
        self.hang_seconds = hang_seconds
        self.key = f"TESTKEY{secrets.token_hex(12)}"  # the robot's key, token or hook id
        self.url = ""
        self.received: list[Received] = []
        self.problems: list[str] = []
        self.attempts = 0
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Receiver:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}{PATHS[self.kind](self.key)}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests were received (answered with success)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(
                    f"{self.kind} receiver got {len(self.received)} of {count} requests in "
                    f"{timeout:g} s ({self.attempts} attempts; problems: {self.problems})"
                )
            return list(self.received)

    def _attempt(self) -> int:
        with self._changed:
            self.attempts += 1
            self._changed.notify_all()
            return self.attempts

    def _problem(self, problem: str) -> None:
        with self._changed:
            self.problems.append(problem)
            self._changed.notify_all()

    def _receive(self, request: Received) -> None:
        with self._changed:
            self.received.append(request)
            self._changed.notify_all()


# ---- e-mail ----------------------------------------------------------------------------------


@dataclass
class Envelope:
    """How a mail arrived: MAIL FROM, RCPT TO, whether the session was upgraded to TLS, and
    who logged in (None: nobody)."""

    mail_from: str
    rcpt_tos: list[str]
    tls: bool
    login: str | None


@dataclass
class _MailHandler:
    receiver: SmtpReceiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if session.authenticated else None
        self.receiver.envelopes.append(
            Envelope(envelope.mail_from, list(envelope.rcpt_tos), session.ssl is not None, login)
        )
        self.receiver.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@dataclass
class _Logins:
    accounts: dict[str, str]

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            if self.accounts.get(login) == password:
                return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)


@dataclass
class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 while the `with` lasts. With `tls_context`
    it offers STARTTLS; with `logins` (user → password) it offers AUTH after STARTTLS only,
    and requires it."""

    tls_context: ssl.SSLContext | None = None
    logins: dict[str, str] | None = None
    url: str = ""
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    _controller: Controller | None = None

    def __enter__(self) -> SmtpReceiver:
        port = free_port()
        options: dict[str, Any] = {"tls_context": self.tls_context}
        if self.logins is not None:
            options |= {"authenticator": _Logins(self.logins), "auth_required": True}
        self._controller = Controller(
            _MailHandler(self), hostname="127.0.0.1", port=port, **options
        )
        self._controller.start()
        self.url = f"smtp://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._controller is not None:
            self._controller.stop()


def channel_to(receiver: Receiver, *events: str, name: str = "oncall") -> dict[str, object]:
    """A `[[notifications.channels]]` table sending `events` to a local receiver."""
    return {"name": name, "kind": receiver.kind, "url": receiver.url, "events": list(events)}
