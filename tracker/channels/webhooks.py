"""Chat robots and webhooks over HTTP: the payloads `formats` builds, POSTed through one shared
client, each answer read the service's way (WeCom and DingTalk say `errcode`, Feishu `code`,
Slack `ok`) so that a refusal inside a 200 is a failure too."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from tracker import __version__
from tracker.channels.answers import Answer, DeliveryError, excerpt, hidden_values
from tracker.core.notifications.formats import Request, render
from tracker.core.notifications.message import Message
from tracker.settings import ChannelSettings

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024  # what is read of an answer; a robot's is a few dozen bytes
DEFAULT_TIMEOUT_SECONDS = 10.0

_client: httpx.Client | None = None
_client_lock = threading.Lock()


def client() -> httpx.Client:
    """The one HTTP client every channel and thread shares (httpx's Client is thread-safe),
    made on first use: no redirects followed, cookies never kept, timeouts always set."""
    global _client
    with _client_lock:
        if _client is None:
            # httpx logs every request's URL at INFO, and the URL carries the robot's key.
            for name in ("httpx", "httpcore"):
                logging.getLogger(name).setLevel(logging.WARNING)
            _client = httpx.Client(
                timeout=DEFAULT_TIMEOUT_SECONDS,
                follow_redirects=False,
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
                headers={"User-Agent": f"tracker/{__version__}"},
            )
        return _client


def close() -> None:
    """Close the shared client (its pooled connections); the next send makes a new one."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
            _client = None


def send(channel: ChannelSettings, message: Message, *, timeout: float, now: datetime) -> Answer:
    """POST every request of the channel's format in order; the last one's answer."""
    url = channel.url.get_secret_value()
    secret = channel.secret.get_secret_value()
    requests = render(channel.kind, message, secret=secret, mention=channel.mention, now=now)
    signatures = [r.query.get("sign", "") for r in requests]
    signatures += [r.headers.get("X-Tracker-Signature", "") for r in requests]
    hidden = hidden_values(url, secret, signatures)
    answer = Answer(0, "")
    for request in requests:
        answer = _post(channel.kind, url, request, timeout=timeout, hidden=hidden)
    log.debug(
        "%s channel %s took %s in %d request(s)",
        channel.kind,
        channel.name,
        message.delivery,
        len(requests),
    )
    return answer


def _post(kind: str, url: str, request: Request, *, timeout: float, hidden: list[str]) -> Answer:
    # httpx's `params=` would replace the URL's own query (the key), so merge it here.
    target = httpx.URL(url).copy_merge_params(dict(request.query))
    headers = {"Content-Type": "application/json; charset=utf-8", **request.headers}
    try:
        with client().stream(
            "POST", target, content=request.body, headers=headers, timeout=timeout
        ) as response:
            status, raw = response.status_code, _read_some(response)
    except httpx.TimeoutException:
        raise DeliveryError(f"{kind}: timed out after {timeout:g} s") from None
    except httpx.ConnectError as exc:
        reason = excerpt(str(exc), hidden) or "connection failed"
        raise DeliveryError(f"{kind}: could not connect ({reason})") from None
    except httpx.HTTPError as exc:
        reason = excerpt(str(exc), hidden)
        raise DeliveryError(f"{kind}: {type(exc).__name__} ({reason})") from None
    text = raw.decode("utf-8", "replace")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} from {kind}: {excerpt(text, hidden)}")
    refusal = REFUSALS[kind](text)
    if refusal is not None:
        raise DeliveryError(f"{kind} refused the message: {excerpt(refusal, hidden)}")
    return Answer(status, excerpt(text, hidden))


def _read_some(response: httpx.Response) -> bytes:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= MAX_ANSWER_BYTES:
            break
    return data[:MAX_ANSWER_BYTES]


# ---- how each service says no inside a 2xx -----------------------------------------------


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _errcode(text: str) -> str | None:
    """WeCom and DingTalk: `{"errcode": 0, "errmsg": "ok"}`, anything else a refusal."""
    answer = _json_object(text)
    if answer is None:
        return f"not the JSON answer expected: {text}"
    if answer.get("errcode") == 0:
        return None
    return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"


def _feishu_code(text: str) -> str | None:
    """Feishu: `{"code": 0, ...}`; older answers say `StatusCode` instead."""
    answer = _json_object(text)
    if answer is None:
        return f"not the JSON answer expected: {text}"
    code = answer["code"] if "code" in answer else answer.get("StatusCode")
    if code == 0:
        return None
    return f"code {code}: {answer.get('msg', answer.get('StatusMessage', ''))}"


def _slack_ok(text: str) -> str | None:
    """Slack: the body `ok`, anything else names the error (`invalid_payload`, ...)."""
    return None if text.strip() == "ok" else (text or "an empty answer")


def _any_2xx(text: str) -> str | None:
    return None


REFUSALS: dict[str, Callable[[str], str | None]] = {
    "wecom": _errcode,
    "dingtalk": _errcode,
    "feishu": _feishu_code,
    "slack": _slack_ok,
    "webhook": _any_2xx,
}
