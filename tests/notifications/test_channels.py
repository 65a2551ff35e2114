"""Each channel kind end to end: `tracker.channels.send` to a real local receiver that checks
the payload and the signature the service's way; failures of every kind are DeliveryErrors,
and no secret reaches an error, an answer or a log line."""

from __future__ import annotations

import logging
import ssl
import subprocess
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import IN_CI
from tests.notifications.receivers import KINDS, Receiver, SmtpReceiver
from tests.servers import free_port
from tracker.channels import DeliveryError, send
from tracker.channels.webhooks import REFUSALS
from tracker.core.notifications.message import Message
from tracker.settings import ChannelSettings

LINK = "https://tracker.example.com/incidents/42"
SECRET = "SECf00dfeedc0ffee5ec7e7-签名"
SIGNED = ("dingtalk", "feishu", "webhook")


def message(event: str = "incident.created", **fields) -> Message:
    title = fields.pop("title", "【B级】支付网关超时 · 处理中")
    markdown = fields.pop("markdown", f"**{title}**\n\n> 服务：支付网关\n\n[查看详情]({LINK})")
    return Message(
        event=event,
        delivery=fields.pop("delivery", "42-incident.created-1"),
        at=datetime(2024, 7, 22, 9, 30, tzinfo=UTC),
        title=title,
        markdown=markdown,
        text=fields.pop("text", f"{title}\n服务：支付网关\n查看详情：{LINK}"),
        link=LINK,
        incident={"id": 42, "title": "支付网关超时", "grade": "B"},
        **fields,
    )


def channel(kind: str, url: str, **fields) -> ChannelSettings:
    return ChannelSettings(name="oncall", kind=kind, url=url, events=["incident.created"], **fields)


def deliver(target: ChannelSettings, msg: Message | None = None, timeout: float = 5.0):
    return send(target, msg or message(), timeout=timeout, now=datetime.now(UTC))


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_delivers_a_payload_its_service_accepts(kind):
    with Receiver(kind) as receiver:
        answer = deliver(channel(kind, receiver.url))
    assert answer.status == 200 and len(receiver.received) == 1
    assert receiver.problems == []


@pytest.mark.parametrize("kind", SIGNED)
def test_signed_kinds_pass_the_services_signature_check(kind):
    with Receiver(kind, secret=SECRET) as receiver:
        deliver(channel(kind, receiver.url, secret=SECRET))
    assert len(receiver.received) == 1 and receiver.problems == []


@pytest.mark.parametrize("kind", SIGNED)
def test_a_wrong_secret_fails_the_signature_check_and_the_send(kind):
    with Receiver(kind, secret=SECRET) as receiver, pytest.raises(DeliveryError) as failure:
        deliver(channel(kind, receiver.url, secret="SECnot-the-right-one"))
    assert receiver.received == [] and len(receiver.problems) == 1
    assert "SECnot-the-right-one" not in str(failure.value)


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_a_refusal_inside_a_200_is_a_delivery_error(kind):
    with Receiver(kind) as receiver:
        wrong_key = receiver.url.replace(receiver.key, "TESTKEYwrong0000")
        with pytest.raises(DeliveryError, match="refused the message") as failure:
            deliver(channel(kind, wrong_key))
    assert "TESTKEYwrong0000" not in str(failure.value)


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("wecom", '{"errcode":93000,"errmsg":"invalid webhook url"}'),
        ("dingtalk", '{"errcode":310000,"errmsg":"sign not match"}'),
        ("feishu", '{"code":19021,"msg":"sign match fail"}'),
        ("feishu", '{"StatusCode":19024,"StatusMessage":"Key Words Not Found"}'),
        ("slack", "invalid_payload"),
        ("wecom", "<html>gateway</html>"),
    ],
)
def test_each_services_in_body_error_is_a_refusal(kind, answer):
    assert REFUSALS[kind](answer) is not None


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("wecom", '{"errcode":0,"errmsg":"ok"}'),
        ("feishu", '{"code":0,"msg":"success","data":{}}'),
        ("feishu", '{"StatusCode":0,"StatusMessage":"success"}'),
        ("slack", "ok"),
        ("webhook", ""),
    ],
)
def test_each_services_success_answer_is_accepted(kind, answer):
    assert REFUSALS[kind](answer) is None


@pytest.mark.parametrize("kind", KINDS)
def test_an_http_500_is_a_delivery_error(kind):
    with Receiver(kind, fail_first=1) as receiver, pytest.raises(DeliveryError, match="HTTP 500"):
        deliver(channel(kind, receiver.url))
    assert receiver.attempts == 1


@pytest.mark.parametrize("kind", ["wecom", "webhook"])
def test_a_hanging_receiver_fails_within_the_timeout(kind):
    with Receiver(kind, hang_first=1, hang_seconds=30) as receiver:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out after 1 s"):
            deliver(channel(kind, receiver.url), timeout=1.0)
    assert time.monotonic() - started < 1.0 + 4


def test_an_unreachable_channel_is_a_delivery_error():
    url = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key=TESTKEYnobody"
    with pytest.raises(DeliveryError, match="could not connect") as failure:
        deliver(channel("wecom", url))
    assert "TESTKEYnobody" not in str(failure.value)


@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_reaches_an_error_an_answer_or_a_log_line(kind, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver(kind, secret=SECRET, fail_first=1) as receiver:
        target = channel(kind, receiver.url, secret=SECRET)
        with pytest.raises(DeliveryError) as failure:
            deliver(target)  # the 500's body echoes the URL, key and all
        answer = deliver(target)
    shown = f"{failure.value} {answer} {caplog.text}"
    assert receiver.key not in shown and SECRET not in shown
    assert receiver.url not in shown


def test_wecom_mentions_arrive_as_a_text_after_the_markdown():
    with Receiver("wecom") as receiver:
        deliver(channel("wecom", receiver.url, mention=["13800001111"]))
    markdown, text = (r.json for r in receiver.wait_for(2))
    assert markdown["msgtype"] == "markdown" and receiver.problems == []
    assert text["text"]["mentioned_mobile_list"] == ["13800001111"]


def test_a_long_weekly_review_reaches_wecom_whole_in_several_messages():
    lines = [f"{n:03d} 支付成功率 99.95%，渠道 银联、网联，耗时正常" for n in range(300)]
    review = message("review.weekly", markdown="\n".join(lines), title="周报 2024-W30")
    with Receiver("wecom") as receiver:
        deliver(channel("wecom", receiver.url), review)
    contents = [r.json["markdown"]["content"] for r in receiver.received]
    assert len(contents) > 1 and receiver.problems == []
    assert "\n".join(contents) == review.markdown


# ---- e-mail --------------------------------------------------------------------------------


def mail_channel(url: str, **fields) -> ChannelSettings:
    fields.setdefault("to", ["oncall@pay.example.com", "lead@pay.example.com"])
    return channel("email", url, sender="告警 <tracker@pay.example.com>", **fields)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    try:
        subprocess.run(command, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        if IN_CI:
            pytest.fail(f"CI=true needs openssl for the STARTTLS test: {exc}")
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


@pytest.fixture
def tls_context(certificate, monkeypatch):
    """A server context offering the certificate, which the client is made to trust."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_an_email_arrives_with_subject_recipients_and_text_and_html_parts():
    with SmtpReceiver() as server:
        answer = deliver(mail_channel(server.url))
    (mail,) = server.messages
    assert answer.status == 250 and mail["Subject"] == message().title
    assert server.envelopes[0].rcpt_tos == ["oncall@pay.example.com", "lead@pay.example.com"]
    assert "服务：支付网关" in mail.get_body(("plain",)).get_content()
    assert f'<a href="{LINK}">' in mail.get_body(("html",)).get_content()


def test_an_email_is_multipart_alternative_with_a_message_id_from_the_delivery():
    with SmtpReceiver() as server:
        deliver(mail_channel(server.url))
    (mail,) = server.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Message-ID"] == "<tracker.42-incident.created-1@pay.example.com>"


def test_the_email_html_part_is_escaped():
    with SmtpReceiver() as server:
        deliver(mail_channel(server.url), message(title="<script>alert(1)</script> 故障"))
    html = server.messages[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_email_goes_over_starttls_when_the_server_offers_it(tls_context):
    with SmtpReceiver(tls_context=tls_context) as server:
        deliver(mail_channel(server.url))
    assert server.envelopes[0].tls is True


def test_email_logs_in_after_starttls(tls_context):
    with SmtpReceiver(tls_context=tls_context, logins={"tracker": "pa55-word"}) as server:
        deliver(mail_channel(server.url.replace("//", "//tracker:pa55-word@")))
    assert server.envelopes[0].login == "tracker"


def test_email_never_sends_a_password_without_tls():
    with SmtpReceiver() as server:
        target = mail_channel(server.url.replace("//", "//tracker:pa55-word@"))
        with pytest.raises(DeliveryError, match="no STARTTLS") as failure:
            deliver(target)
    assert server.messages == [] and "pa55-word" not in str(failure.value)


def test_an_unreachable_mail_server_is_a_delivery_error():
    with pytest.raises(DeliveryError, match="connection refused"):
        deliver(mail_channel(f"smtp://127.0.0.1:{free_port()}"))
