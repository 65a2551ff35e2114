"""Each chat service's payload from a message: within its documented limits (bytes of UTF-8,
Chinese text included), cut and split as the format says, signed as the service verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.notifications.formats import (
    FORMATS,
    cut_utf8,
    email_html,
    mrkdwn,
    render,
)
from tracker.core.notifications.message import Message
from tracker.core.vocabulary import CHANNEL_KINDS

NOW = datetime(2024, 7, 22, 1, 30, 15, 123000, tzinfo=UTC)
LINK = "https://tracker.example.com/incidents/42"
LINE = "> 影响服务：支付网关、收银台；状态：处理中，已通知值班人员"  # 86 bytes of UTF-8
SECRET = "SEC0123456789abcdef-签名"


def message(event: str = "incident.created", markdown: str = LINE, **fields) -> Message:
    return Message(
        event=event,
        delivery=fields.pop("delivery", "d-42-1"),
        at=NOW,
        title=fields.pop("title", "【B级】支付网关超时 · 处理中"),
        markdown=markdown,
        text=fields.pop("text", markdown),
        link=fields.pop("link", LINK),
        **fields,
    )


def weekly(lines: int) -> Message:
    body = "\n".join(f"{n:03d} {LINE}" for n in range(lines))
    return message("review.weekly", body)


def utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def bodies(kind: str, msg: Message, **options) -> list[dict]:
    return [r.json() for r in render(kind, msg, now=NOW, **options)]


# ---- cut_utf8 ------------------------------------------------------------------------------

tails = st.sampled_from(["", "…", f"…\n[{LINK}]({LINK})", "——完"])


@given(st.text(), st.integers(0, 300), tails)
def test_a_cut_never_exceeds_the_limit(text, limit, tail):
    assert utf8(cut_utf8(text, limit, tail)) <= limit


@given(st.text(), st.integers(0, 300), tails)
def test_a_cut_keeps_whole_characters_of_the_text(text, limit, tail):
    cut = cut_utf8(text, limit, tail)
    kept = cut if cut == text else cut.removesuffix(tail)
    assert text.startswith(kept) or tail.startswith(cut)


@given(st.text(), st.integers(0, 300), tails)
def test_a_text_that_fits_is_kept_whole(text, limit, tail):
    if utf8(text) <= limit:
        assert cut_utf8(text, limit, tail) == text


@given(st.text(min_size=1), st.integers(0, 300), tails)
def test_a_cut_text_ends_with_the_tail(text, limit, tail):
    if utf8(text) > limit >= utf8(tail):
        assert cut_utf8(text, limit, tail).endswith(tail)


def test_a_cut_through_a_chinese_character_drops_it_whole():
    assert cut_utf8("支付网关", 7, "") == "支付"  # 6 bytes: a third character needs 9


# ---- the table -----------------------------------------------------------------------------


def test_every_chat_kind_has_a_format():
    assert set(FORMATS) == set(CHANNEL_KINDS) - {"email"}


def test_bodies_are_compact_utf8_json():
    for kind in FORMATS:
        (request, *_) = render(kind, message(), now=NOW)
        compact = json.dumps(request.json(), ensure_ascii=False, separators=(",", ":"))
        assert request.body == compact.encode("utf-8"), kind


# ---- wecom ---------------------------------------------------------------------------------


def test_wecom_sends_markdown_content():
    assert bodies("wecom", message()) == [{"msgtype": "markdown", "markdown": {"content": LINE}}]


def test_a_long_wecom_message_is_cut_to_4096_bytes_and_ends_with_its_link():
    (body,) = bodies("wecom", message(markdown="\n".join([LINE] * 100)))
    content = body["markdown"]["content"]
    assert utf8(content) <= 4096 and content.endswith(f"…\n[{LINK}]({LINK})")


def test_a_long_weekly_review_goes_to_wecom_as_several_messages_on_line_boundaries():
    review = weekly(200)  # about 18 KB
    contents = [b["markdown"]["content"] for b in bodies("wecom", review)]
    assert len(contents) > 4 and all(utf8(c) <= 4096 for c in contents)
    assert "\n".join(contents) == review.markdown


def test_a_weekly_line_longer_than_the_limit_is_cut():
    review = message("review.weekly", f"{LINE}\n{'长' * 2000}\n{LINE}")
    contents = [b["markdown"]["content"] for b in bodies("wecom", review)]
    assert [utf8(c) <= 4096 for c in contents] == [True] * 3 and contents[1].endswith("…")


def test_wecom_mentions_come_as_a_text_message_after_the_markdown():
    markdown, text = bodies("wecom", message(), mention=["13800001111"])
    assert markdown["msgtype"] == "markdown" and text["msgtype"] == "text"
    assert text["text"]["mentioned_mobile_list"] == ["13800001111"]


def test_a_mention_text_is_cut_to_2048_bytes():
    long_title = "支付网关超时" * 200
    *_, text = bodies("wecom", message(title=long_title), mention=["13800001111"])
    assert utf8(text["text"]["content"]) <= 2048


# ---- dingtalk ------------------------------------------------------------------------------


def dingtalk_reference_sign(secret: str, timestamp: str) -> str:
    """钉钉 加签, as its docs write it: quote_plus(b64encode(hmac(secret, ts\\nsecret)))."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    code = hmac.new(secret.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    return quote_plus(base64.b64encode(code))


def test_dingtalk_sends_markdown_with_a_title():
    (body,) = bodies("dingtalk", message())
    assert body == {"msgtype": "markdown", "markdown": {"title": message().title, "text": LINE}}


def test_dingtalk_signs_with_the_millisecond_timestamp_in_the_query():
    (request,) = render("dingtalk", message(), secret=SECRET, now=NOW)
    assert request.query["timestamp"] == "1721611815123"
    assert quote_plus(request.query["sign"]) == dingtalk_reference_sign(SECRET, "1721611815123")


def test_an_unsigned_dingtalk_request_has_no_query():
    (request,) = render("dingtalk", message(), now=NOW)
    assert request.query == {}


def test_a_dingtalk_body_stays_within_20000_bytes_though_json_escapes_grow_it():
    escaped = '"引号"\\\n\t' * 4000  # every character escapes to 2 bytes or more
    (request,) = render("dingtalk", message(markdown=escaped), secret=SECRET, now=NOW)
    assert len(request.body) <= 20_000
    assert request.json()["markdown"]["text"].endswith(f"…\n[{LINK}]({LINK})")


# ---- feishu --------------------------------------------------------------------------------


def feishu_reference_sign(secret: str, timestamp: str) -> str:
    """飞书 签名校验, as its docs write it: the key is "timestamp\\nsecret", the message empty."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, digestmod=hashlib.sha256).digest()).decode("utf-8")


def test_feishu_sends_an_interactive_card_with_a_header_and_markdown():
    (body,) = bodies("feishu", message())
    card = body["card"]
    assert body["msg_type"] == "interactive" and card["header"]["title"]["content"]
    assert card["schema"] == "2.0"
    assert card["body"]["elements"] == [{"tag": "markdown", "content": LINE}]


def test_feishu_signs_with_the_second_timestamp_as_a_string_in_the_body():
    (body,) = bodies("feishu", message(), secret=SECRET)
    assert body["timestamp"] == "1721611815"
    assert body["sign"] == feishu_reference_sign(SECRET, "1721611815")


def test_a_feishu_body_stays_within_20_kb():
    (request,) = render("feishu", message(markdown=LINE * 1000), secret=SECRET, now=NOW)
    assert len(request.body) <= 20_000


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1), st.integers(1, 30_000), st.sampled_from(["dingtalk", "feishu"]))
def test_any_text_fits_the_body_limit(text, length, kind):
    markdown = (text * (length // len(text) + 1))[:length]
    for event in ("incident.created", "review.weekly"):
        for request in render(kind, message(event, markdown), secret=SECRET, now=NOW):
            assert len(request.body) <= 20_000


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.characters(exclude_characters="\n"), max_size=3000), max_size=30))
def test_any_weekly_review_splits_into_wecom_messages_within_4096_bytes(lines):
    for body in bodies("wecom", message("review.weekly", "\n".join(lines) or "空")):
        assert 0 < utf8(body["markdown"]["content"]) <= 4096


# ---- slack ---------------------------------------------------------------------------------


def test_slack_sends_the_title_as_text_and_the_markdown_as_mrkdwn_sections():
    (body,) = bodies("slack", message())
    assert body["text"] == message().title
    assert body["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": LINE}}]


def test_a_long_slack_message_splits_into_sections_of_3000_characters_at_most_50():
    (body,) = bodies("slack", weekly(6000))  # about 240 000 characters
    texts = [block["text"]["text"] for block in body["blocks"]]
    assert len(texts) == 50 and all(len(t) <= 3000 for t in texts)
    assert texts[-1].endswith(f"…\n<{LINK}>")


def test_markdown_becomes_slack_mrkdwn():
    converted = mrkdwn("## 标题\n**加粗** [详情](https://x.example/a?b=1)\n> 引用 a<b & c")
    assert converted == "*标题*\n*加粗* <https://x.example/a?b=1|详情>\n> 引用 a&lt;b &amp; c"


# ---- webhook -------------------------------------------------------------------------------


def test_the_webhook_body_carries_event_delivery_at_incident_and_text():
    (body,) = bodies("webhook", message(incident={"id": 42, "grade": "B"}))
    assert list(body) == ["event", "delivery", "at", "incident", "text"]
    assert body["at"] == "2024-07-22T01:30:15.123000+00:00" and body["incident"]["id"] == 42


def test_the_webhook_body_has_no_incident_when_the_message_has_none():
    (body,) = bodies("webhook", message())
    assert "incident" not in body


def test_the_webhook_is_signed_over_its_raw_body():
    (request,) = render("webhook", message(), secret=SECRET, now=NOW)
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Tracker-Signature"] == f"sha256={expected}"
    assert request.headers["X-Tracker-Delivery"] == "d-42-1"


def test_an_unsigned_webhook_has_no_signature_header():
    (request,) = render("webhook", message(), now=NOW)
    assert "X-Tracker-Signature" not in request.headers


# ---- e-mail --------------------------------------------------------------------------------


def test_the_email_html_escapes_the_text_and_links_the_record():
    page = email_html(message(title="<b>标题</b>", text=f"a < b & <script>\n\n详情：{LINK}"))
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;标题" in page
    assert f'<a href="{LINK}">{LINK}</a>' in page
