"""Outbound delivery (DESIGN §10): a message to one configured channel, over HTTP to the chat
robots and webhooks (`webhooks`) or by SMTP (`mail`). What comes back, an `Answer` or a
`DeliveryError`, never shows a secret."""

from __future__ import annotations

from datetime import datetime

from tracker.channels import mail, webhooks
from tracker.channels.answers import Answer, DeliveryError
from tracker.core.notifications.message import Message
from tracker.settings import ChannelSettings

__all__ = ["Answer", "DeliveryError", "close", "send"]


def send(channel: ChannelSettings, message: Message, *, timeout: float, now: datetime) -> Answer:
    """Deliver `message` to `channel` once (`now` dates signatures); raises DeliveryError when
    the channel does not take it: unreachable, too slow, a non-2xx or an in-body refusal."""
    deliver = mail.send if channel.kind == "email" else webhooks.send
    return deliver(channel, message, timeout=timeout, now=now)


def close() -> None:
    """Release the shared HTTP client's connections (at shutdown, or between tests)."""
    webhooks.close()
