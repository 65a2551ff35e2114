"""Events into the outbox (DESIGN §10), in the transaction of the change that causes them:
a change rolled back sends nothing. Each channel that wants an event gets a row of its own
(its own status and attempts), holding the event's facts of the moment; the message is made
from them when it is sent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tracker.core.dips import FoundDip
from tracker.core.display import utc_text
from tracker.core.notifications.events import Event
from tracker.core.notifications.messages import CHANGED, DIP_EVENT, FOLLOW_UP_EVENT, SHOWN
from tracker.core.vocabulary import SEVERITY
from tracker.models import Notification
from tracker.schemas import FollowUpOut
from tracker.settings import ChannelSettings, Settings

# The channel kinds whose messages carry the whole incident record (the signed webhook's
# body); the others keep only what their messages show.
RECORD_KINDS = frozenset({"webhook"})
# Incident events a channel's `min_grade` filters (drafts and ungraded incidents pass).
GRADED_EVENTS = frozenset({"incident.created", "incident.graded", "incident.status"})


def wants(channel: ChannelSettings, event: str, grade: str | None = None) -> bool:
    """Whether the channel hears the event: it lists it and, for an incident event, the
    grade is at least as severe as its `min_grade`."""
    if event not in channel.events:
        return False
    if channel.min_grade is None or event not in GRADED_EVENTS or grade is None:
        return True
    return SEVERITY.get(grade, 0) >= SEVERITY[channel.min_grade]


def new_delivery() -> str:
    return str(uuid.uuid4())


def _queue(channel: ChannelSettings, event: Event, subject: str) -> None:
    Notification.queue(
        delivery=new_delivery(),
        channel=channel.name,
        event=event.kind,
        subject=subject,
        payload=event.to_json(),
        next_attempt_at=event.at,
        created_at=event.at,
    )


def incident_event(
    kind: str,
    incident: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
    settings: Settings,
    before: Mapping[str, Any] | None = None,
) -> int:
    """Queue an incident event (`incident` as the API answers it; `before`, for a change,
    the stored values it had) for every channel that wants it; returns how many rows were
    queued. Call inside the change's transaction."""
    channels = [c for c in settings.notifications.channels if wants(c, kind, incident.get("grade"))]
    if not channels:
        return 0
    changed = CHANGED.get(kind)
    was = {changed: before[changed]} if changed and before is not None else None
    shown = {name: incident.get(name) for name in SHOWN}
    for channel in channels:
        record = dict(incident) if channel.kind in RECORD_KINDS else shown
        event = Event(kind, now, actor=actor, incident=record, before=was)
        _queue(channel, event, f"incident:{incident['id']}")
    return len(channels)


def review_event(
    week: str, sections: Mapping[str, str], *, now: datetime, settings: Settings
) -> int:
    """Queue `review.weekly`: `sections` is the week's Markdown by language."""
    queued = 0
    for channel in settings.notifications.channels:
        if wants(channel, "review.weekly"):
            event = Event("review.weekly", now, week=week, sections=sections[channel.lang])
            _queue(channel, event, f"review:{week}")
            queued += 1
    return queued


def dip_event(dip: FoundDip, *, now: datetime, settings: Settings) -> int:
    """Queue `payments.dip_unlogged` for every channel that wants it."""
    queued = 0
    for channel in settings.notifications.channels:
        if wants(channel, DIP_EVENT):
            event = Event(DIP_EVENT, now, dip=dip.stored())
            subject = f"dip:{utc_text(dip.started_at)}:{dip.channel}"
            _queue(channel, event, subject[:64])
            queued += 1
    return queued


def follow_up_event(
    owner: str, items: list[FollowUpOut], *, now: datetime, settings: Settings
) -> int:
    """Queue one owner's `followup.overdue` digest for every channel that wants it."""
    shown = [
        {
            "id": item.id,
            "title": item.title,
            "due_on": item.due_on.isoformat(),
            "incident_id": item.incident_id,
            "incident_title": item.incident_title,
        }
        for item in items
    ]
    queued = 0
    for channel in settings.notifications.channels:
        if wants(channel, FOLLOW_UP_EVENT):
            event = Event(FOLLOW_UP_EVENT, now, owner=owner, items=shown)
            _queue(channel, event, f"follow-ups:{owner}"[:64])
            queued += 1
    return queued
