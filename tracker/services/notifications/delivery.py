"""Sending what the outbox holds (DESIGN §10): once across replicas, oldest first per
channel, within each channel's rate per minute, retried with backoff until
`notifications.max_attempts`, then failed. At least once: a message is leased while it is
sent, and one whose sender died is sent again, under the same delivery id, when its lease
runs out."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker import channels
from tracker.core.notifications.backoff import retry_delay
from tracker.core.notifications.events import Event
from tracker.core.notifications.message import Message
from tracker.core.notifications.messages import message_of, test_message, title_of
from tracker.core.texts import Lang
from tracker.db import database, exclusive
from tracker.errors import NotFound
from tracker.models import Notification, NotificationAttempt, State
from tracker.schemas import NotificationOut, NotificationQuery, Page
from tracker.services.notifications.outbox import new_delivery
from tracker.services.paging import paginate
from tracker.settings import ChannelSettings, Settings

log = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=1)
# How long past its timeout a claimed message stays leased to its sender (sending the ones
# claimed before it, and writing down how it went).
LEASE_MARGIN = timedelta(seconds=5)
RESULTS = ("sent", "retried", "failed")  # tracker_notifications_total{result}
COUNTERS = "notifications."  # State keys: notifications.<channel>.<result>

Send = Callable[..., channels.Answer]


@dataclass(frozen=True)
class Sent:
    """What one pass over the outbox did, per result."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def send_pending(
    *,
    now: datetime,
    settings: Settings,
    send: Send = channels.send,
    jitter: Callable[[], float] = random.random,
) -> Sent:
    """One pass: every channel's due messages, oldest first, one at a time, as many as its
    rate leaves room for. `now` is the pass's start; the time it takes is added to it."""
    totals = dict.fromkeys(RESULTS, 0)
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    for channel in settings.notifications.channels:
        while (claimed := _claim(channel, now=clock(), settings=settings)) is not None:
            row, at = claimed
            result = _attempt(row, channel, at=at, settings=settings, send=send, jitter=jitter)
            totals[result] += 1
    return Sent(**totals)


def _claim(
    channel: ChannelSettings, *, now: datetime, settings: Settings
) -> tuple[Notification, datetime] | None:
    """Lease the channel's oldest due message if its rate per minute leaves room (every
    attempt of the last minute counts, a retry too): one message in flight per sender, so a
    sender that dies holds up one message for one lease."""
    timeout = timedelta(seconds=settings.notifications.timeout_seconds)
    with exclusive(database, f"tracker.notifications.{channel.name}"):
        if (
            NotificationAttempt.made_since(channel.name, now - RATE_WINDOW)
            >= channel.rate_per_minute
        ):
            return None
        row = Notification.due(channel.name, now).first()
        if row is None:
            return None
        row.attempts += 1
        row.lease_until = now + timeout + LEASE_MARGIN
        row.save(only=[Notification.attempts, Notification.lease_until])
        NotificationAttempt.create(notification=row.id, channel=channel.name, at=now)
    return row, now


def _attempt(
    row: Notification,
    channel: ChannelSettings,
    *,
    at: datetime,
    settings: Settings,
    send: Send,
    jitter: Callable[[], float],
) -> str:
    """Send one leased message and write down how it went: `sent`, `retried` or `failed`."""
    message = rendered(row, channel, settings=settings)
    try:
        send(channel, message, timeout=settings.notifications.timeout_seconds, now=at)
        error = ""
    except channels.DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a fault of ours: the message waits for a fix, the pass goes on
        error = f"unexpected {type(exc).__name__}"
        log.error("notification %s to %s: %s", row.delivery, channel.name, error)
    if not error:
        result = "sent"
    elif row.attempts >= settings.notifications.max_attempts:
        result = "failed"
    else:
        result = "retried"
    with database.atomic():
        query = Notification.update(
            status="pending" if result == "retried" else result,
            lease_until=None,
            last_error=error[:2000],
            sent_at=at if result == "sent" else None,
            next_attempt_at=at + retry_delay(row.attempts, jitter())
            if result == "retried"
            else row.next_attempt_at,
        ).where(Notification.id == row.id)
        query.execute()
        NotificationAttempt.update(error=error[:2000]).where(
            (NotificationAttempt.notification == row.id) & (NotificationAttempt.at == at)
        ).execute()
        State.count(f"{COUNTERS}{channel.name}.{result}")
    if result != "sent":
        log.warning(
            "notification %s (%s) to %s, attempt %d: %s",
            row.delivery,
            row.event,
            channel.name,
            row.attempts,
            error,
        )
    return result


def rendered(row: Notification, channel: ChannelSettings, *, settings: Settings) -> Message:
    """The message a row's event makes for its channel, in the channel's language."""
    return message_of(
        Event.from_json(row.payload),
        delivery=row.delivery,
        lang=channel.lang,
        zone=settings.zone,
        base_url=settings.base_url,
    )


def channel_named(name: str, settings: Settings) -> ChannelSettings:
    for channel in settings.notifications.channels:
        if channel.name == name:
            return channel
    raise NotFound(f"no notification channel {name[:64]!r}")


def send_test(name: str, *, now: datetime, settings: Settings) -> channels.Answer:
    """Send a test message to the channel at once (not through the outbox); DeliveryError
    says why it did not arrive."""
    channel = channel_named(name, settings)
    message = test_message(
        channel.name, delivery=new_delivery(), at=now, lang=channel.lang, base_url=settings.base_url
    )
    return channels.send(channel, message, timeout=settings.notifications.timeout_seconds, now=now)


def retry(notification_id: int, *, now: datetime) -> NotificationOut:
    """Send a failed (or waiting) message again now, with a fresh round of attempts."""
    with database.atomic():
        row = Notification.get_or_none(Notification.id == notification_id)
        if row is None:
            raise NotFound(f"no notification {notification_id}")
        if row.status != "sent":
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now
            row.lease_until = None
            row.save()
    return notification_view(row)


def notification_view(row: Notification, lang: Lang = "zh") -> NotificationOut:
    return NotificationOut(
        id=row.id,
        delivery=row.delivery,
        channel=row.channel,
        event=row.event,
        subject=row.subject,
        title=title_of(Event.from_json(row.payload), lang),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def list_notifications(query: NotificationQuery, *, lang: Lang = "zh") -> Page[NotificationOut]:
    """The outbox, newest first, each message's title in `lang`."""
    rows = Notification.select().order_by(Notification.id.desc())
    if query.status is not None:
        rows = rows.where(Notification.status == query.status)
    if query.channel is not None:
        rows = rows.where(Notification.channel == query.channel)
    page = paginate(
        rows,
        query,
        key=lambda r: [r.id],
        after=lambda q, values: q.where(Notification.id < int(values[0])),
        arity=1,
    )
    return page.map(lambda row: notification_view(row, lang))


def counts() -> dict[tuple[str, str], int]:
    """Every (channel, result) counted so far: tracker_notifications_total."""
    found = State.counters(COUNTERS)
    return {(key.rpartition(".")[0], key.rpartition(".")[2]): n for key, n in found.items()}


def pending() -> dict[str, int]:
    """Messages waiting to be sent, by channel: tracker_notifications_pending."""
    return Notification.pending_by_channel()


def prune(*, now: datetime, settings: Settings) -> int:
    """Drop sent and failed messages older than `notifications.keep_days` (their attempts go
    with them: the foreign key cascades)."""
    cutoff = now - timedelta(days=settings.notifications.keep_days)
    return Notification.finished_before(cutoff).execute()
