"""A message as each chat service's documented payload, within its limits and signed its way.

Renderers by name: `FORMATS[kind]` turns a `Message` into the requests a channel of that kind
posts (a list: a long weekly review goes to WeCom as several messages). Limits are the
services' own, in bytes of UTF-8 where they count bytes:

- WeCom group robot (企业微信 群机器人配置说明): `markdown.content` ≤ 4096 bytes, `text.content`
  ≤ 2048 bytes; only a text message can @-mention (`mentioned_mobile_list`).
- DingTalk custom robot (钉钉 自定义机器人): the body ≤ 20000 bytes (its error 460101 says
  "请保持大小在 20000bytes 以内"); signed by `timestamp` (ms) and `sign` in the query.
- Feishu/Lark custom bot (飞书 自定义机器人使用指南): the body ≤ 20 KB (20000 bytes taken, the
  smaller reading); signed by `timestamp` (s) and `sign` in the body.
- Slack incoming webhook (Block Kit reference): a section's text ≤ 3000 characters, ≤ 50 blocks.
- webhook: tracker's own (DESIGN §10), signed `sha256=<hex HMAC of the raw body>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from tracker.core.notifications.message import Message

ELLIPSIS = "…"
WECOM_MARKDOWN_BYTES = 4096
WECOM_TEXT_BYTES = 2048
DINGTALK_BODY_BYTES = 20_000
FEISHU_BODY_BYTES = 20_000
SLACK_SECTION_CHARS = 3000
SLACK_BLOCKS = 50
# No service documents a title limit; a bound keeps room in the body for the text.
TITLE_BYTES = 512
# Events whose long text is split into several messages rather than cut.
SPLIT_EVENTS = frozenset({"review.weekly"})
FEISHU_TEMPLATES = {  # the card header's colour by event
    "incident.created": "red",
    "incident.regulatory_due": "orange",
    "followup.overdue": "orange",
    "review.weekly": "blue",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Request:
    """One POST to a channel's URL: the body as sent (compact UTF-8 JSON), query parameters
    added to the URL's own (values unencoded: the transport encodes them once), and headers."""

    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class Format(Protocol):
    def __call__(
        self, message: Message, *, secret: str = "", mention: Sequence[str] = (), now: datetime
    ) -> list[Request]: ...


# ---- cutting and splitting ---------------------------------------------------------------


def cut_utf8(text: str, limit_bytes: int, tail: str = ELLIPSIS) -> str:
    """`text` when it fits in `limit_bytes` of UTF-8, else its longest prefix of whole
    characters that fits with `tail` after it (a tail longer than the limit is cut itself)."""
    data = text.encode()
    if len(data) <= limit_bytes:
        return text
    room = limit_bytes - len(tail.encode())
    if room < 0:
        return cut_utf8(tail, limit_bytes, "")
    # A slice of valid UTF-8 can end only in a partial character, which "ignore" drops.
    return data[:room].decode("utf-8", "ignore") + tail


Size = Callable[[str], int]  # additive: size(a + b) == size(a) + size(b)


def utf8_size(text: str) -> int:
    return len(text.encode())


def utf16_size(text: str) -> int:
    """Slack counts characters; UTF-16 code units (as JavaScript counts) never count fewer."""
    return len(text.encode("utf-16-le")) // 2


def json_size(text: str) -> int:
    """Bytes `text` takes inside a JSON string of compact UTF-8 JSON, escapes included."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def fit(text: str, tail: str, limit: int, size: Size = utf8_size) -> str:
    """`text` when its size is within `limit`, else its longest prefix that, with `tail` after
    it, is within (a tail over the limit is cut itself). `size` must be additive."""
    if size(text) <= limit:
        return text
    if size(tail) > limit:
        return fit(tail, "", limit, size) if tail else ""
    low, high = 0, len(text)  # text[:low] + tail fits
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle] + tail) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low] + tail


def split_lines(text: str, limit: int, size: Size = utf8_size) -> list[str]:
    """`text` as consecutive pieces of whole lines, each within `limit`; a line over the
    limit alone is cut."""
    pieces: list[list[str]] = [[]]
    used, newline = 0, size("\n")
    for line in text.split("\n"):
        cost = size(line)
        if cost > limit:
            line = fit(line, ELLIPSIS, limit, size)
            cost = size(line)
        if pieces[-1] and used + newline + cost > limit:
            pieces.append([])
        used = cost if not pieces[-1] else used + newline + cost
        pieces[-1].append(line)
    joined = ["\n".join(lines).strip("\n") for lines in pieces]
    return [piece for piece in joined if piece.strip()] or [fit(text, ELLIPSIS, limit, size)]


def _pieces(message: Message, text: str, limit: int, size: Size, tail: str) -> list[str]:
    """A weekly review split on its lines; anything else cut, ending with `tail`."""
    if message.event in SPLIT_EVENTS:
        return split_lines(text, limit, size)
    return [fit(text, tail, limit, size)]


def _room(build: Callable[[str], bytes], body_limit: int) -> int:
    """What a body limit leaves for the one string `build` places in the body."""
    return body_limit - len(build(""))


def _markdown_tail(link: str | None) -> str:
    return ELLIPSIS + (f"\n[{link}]({link})" if link else "")


# ---- signatures ----------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign`: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), before
    the URL encoding the query applies."""
    digest = _hmac(secret.encode(), f"{timestamp_ms}\n{secret}".encode())
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's `sign`: base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    return base64.b64encode(_hmac(f"{timestamp}\n{secret}".encode(), b"")).decode("ascii")


def webhook_signature(secret: str, body: bytes) -> str:
    """`X-Tracker-Signature`: "sha256=" + hex(HMAC-SHA256(key=secret, msg=raw body))."""
    return "sha256=" + _hmac(secret.encode(), body).hex()


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def epoch_milliseconds(now: datetime) -> int:
    return (now - EPOCH) // timedelta(milliseconds=1)


def epoch_seconds(now: datetime) -> int:
    return (now - EPOCH) // timedelta(seconds=1)


# ---- the formats ---------------------------------------------------------------------------


def wecom(
    message: Message, *, secret: str = "", mention: Sequence[str] = (), now: datetime
) -> list[Request]:
    """Markdown (no signing: the URL's key is the secret); a text message with
    `mentioned_mobile_list` after it when the channel @-mentions, as markdown cannot."""
    tail = _markdown_tail(message.link)
    contents = _pieces(message, message.markdown, WECOM_MARKDOWN_BYTES, utf8_size, tail)
    requests = [
        Request(_json({"msgtype": "markdown", "markdown": {"content": content}}))
        for content in contents
    ]
    if mention:
        text = {
            "content": cut_utf8(message.title, WECOM_TEXT_BYTES),
            "mentioned_mobile_list": list(mention),
        }
        requests.append(Request(_json({"msgtype": "text", "text": text})))
    return requests


def dingtalk(
    message: Message, *, secret: str = "", mention: Sequence[str] = (), now: datetime
) -> list[Request]:
    """Markdown with a title; signed in the query when the channel has a secret."""
    title = cut_utf8(message.title, TITLE_BYTES)

    def build(text: str) -> bytes:
        return _json({"msgtype": "markdown", "markdown": {"title": title, "text": text}})

    query: dict[str, str] = {}
    if secret:
        timestamp = epoch_milliseconds(now)
        query = {"timestamp": str(timestamp), "sign": dingtalk_sign(secret, timestamp)}
    room = _room(build, DINGTALK_BODY_BYTES)
    texts = _pieces(message, message.markdown, room, json_size, _markdown_tail(message.link))
    return [Request(build(text), query) for text in texts]


def feishu(
    message: Message, *, secret: str = "", mention: Sequence[str] = (), now: datetime
) -> list[Request]:
    """An interactive card (JSON 2.0): the title as its header, the markdown as a markdown
    element; `timestamp` and `sign` in the body when the channel has a secret."""
    signed: dict[str, str] = {}
    if secret:
        timestamp = epoch_seconds(now)
        signed = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp)}
    header = {
        "template": FEISHU_TEMPLATES.get(message.event, "blue"),
        "title": {"tag": "plain_text", "content": cut_utf8(message.title, TITLE_BYTES)},
    }

    def build(content: str) -> bytes:
        # Card JSON 2.0: its markdown element renders the headings and quotes of the messages,
        # which a 1.0 card shows as typed.
        card = {
            "schema": "2.0",
            "header": header,
            "body": {"elements": [{"tag": "markdown", "content": content}]},
        }
        return _json({**signed, "msg_type": "interactive", "card": card})

    room = _room(build, FEISHU_BODY_BYTES)
    tail = _markdown_tail(message.link)
    contents = _pieces(message, message.markdown, room, json_size, tail)
    return [Request(build(content)) for content in contents]


def slack(
    message: Message, *, secret: str = "", mention: Sequence[str] = (), now: datetime
) -> list[Request]:
    """`text` (the title: the notification's fallback) and the markdown as mrkdwn section
    blocks, split on lines; past the block limit the last block is cut."""
    sections = split_lines(mrkdwn(message.markdown), SLACK_SECTION_CHARS, utf16_size)
    if len(sections) > SLACK_BLOCKS:
        tail = ELLIPSIS + (f"\n<{message.link}>" if message.link else "")
        rest = "\n".join(sections[SLACK_BLOCKS - 1 :])
        rest = fit(rest, tail, SLACK_SECTION_CHARS, utf16_size)
        sections = [*sections[: SLACK_BLOCKS - 1], rest]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    return [Request(_json({"text": _slack_escape(message.title), "blocks": blocks}))]


def webhook(
    message: Message, *, secret: str = "", mention: Sequence[str] = (), now: datetime
) -> list[Request]:
    """tracker's own JSON, its event and delivery id in headers, signed when there is a secret."""
    payload: dict[str, Any] = {
        "event": message.event,
        "delivery": message.delivery,
        "at": message.at.isoformat(),
    }
    if message.incident is not None:
        payload["incident"] = message.incident
    payload["text"] = message.text
    body = _json(payload)
    headers = {"X-Tracker-Event": message.event, "X-Tracker-Delivery": message.delivery}
    if secret:
        headers["X-Tracker-Signature"] = webhook_signature(secret, body)
    return [Request(body, {}, headers)]


FORMATS: dict[str, Format] = {
    "wecom": wecom,
    "dingtalk": dingtalk,
    "feishu": feishu,
    "slack": slack,
    "webhook": webhook,
}


def render(
    kind: str,
    message: Message,
    *,
    secret: str = "",
    mention: Sequence[str] = (),
    now: datetime,
) -> list[Request]:
    """The requests a channel of `kind` posts for `message` (`now` dates the signatures). A
    lone surrogate (which JSON escapes can carry into a text, and UTF-8 cannot encode) is
    sent as U+FFFD."""
    texts = {name: _encodable(getattr(message, name)) for name in ("title", "markdown", "text")}
    clean = replace(message, **texts)
    return FORMATS[kind](clean, secret=secret, mention=mention, now=now)


def _encodable(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


# ---- text conversions ----------------------------------------------------------------------


def mrkdwn(markdown: str) -> str:
    """Markdown as Slack's mrkdwn: &, < and > escaped (quotes kept), **bold** → *bold*,
    [text](url) → <url|text>, headings bold."""
    text = _slack_escape(markdown)
    text = re.sub(r"^&gt;", ">", text, flags=re.MULTILINE)
    text = re.sub(r"\[([^\]\n|]+)\]\((https?://[^)\s|]+)\)", r"<\2|\1>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    return re.sub(r"^#{1,6}[ \t]+(.+)$", r"*\1*", text, flags=re.MULTILINE)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_text(message: Message) -> str:
    """The e-mail's text part: the message's text, with its link when the text lacks it."""
    if message.link and message.link not in message.text:
        return f"{message.text}\n\n{message.link}"
    return message.text


def email_html(message: Message) -> str:
    """The e-mail's HTML part: the text escaped, in paragraphs, its link made an anchor."""
    link = (
        message.link if message.link and message.link.startswith(("https://", "http://")) else None
    )
    paragraphs = [p for p in re.split(r"\n\s*\n", message.text) if p.strip()]
    body = [f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs]
    if link:
        anchor = f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
        if link in message.text:
            body = [p.replace(html.escape(link), anchor) for p in body]
        else:
            body.append(f"<p>{anchor}</p>")
    title = html.escape(message.title)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body>\n<h2>{title}</h2>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _json(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_jsonable)
    return text.encode("utf-8", "replace")  # a lone surrogate in the record: "?"


def _jsonable(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
