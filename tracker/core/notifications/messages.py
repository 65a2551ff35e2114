"""Events as messages (DESIGN §10): the grade, title, services, local times, status, who
changed what and the link, in the channel's language, as Markdown and as plain text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tracker.core.dips import FoundDip
from tracker.core.notifications.events import Event
from tracker.core.notifications.message import Message
from tracker.core.readable import value_text
from tracker.core.texts import Lang, term, text

# The times an incident message shows, in this order, when they are set.
TIMES = ("impact_started_at", "detected_at", "mitigated_at", "resolved_at")
# What an incident message shows of the record: all an event keeps of it, but for a format
# that sends the whole record.
SHOWN = (
    "id",
    "title",
    "grade",
    "status",
    "services",
    *TIMES,
    "regulatory_level",
    "regulatory_deadline",
)
DUE_EVENT = "incident.regulatory_due"
DIP_EVENT = "payments.dip_unlogged"
FOLLOW_UP_EVENT = "followup.overdue"
# What a change event names as changed.
CHANGED = {"incident.graded": "grade", "incident.status": "status"}


def incident_title(incident: Mapping[str, Any], lang: Lang) -> str:
    """`【B级】银联代付通道超时 · 已止损`: an incident in one line."""
    return text("notify.title", lang).format(
        grade=term("grade", incident.get("grade"), lang),
        title=incident.get("title", ""),
        status=term("status", incident.get("status"), lang),
    )


def review_title(week: str, lang: Lang) -> str:
    return f"{text('notify.review.weekly', lang)} {week}"


def title_of(event: Event, lang: Lang) -> str:
    """The event's message title, without making the whole message."""
    if event.kind == "review.weekly":
        return review_title(event.week or "", lang)
    if event.kind == DIP_EVENT:
        return FoundDip.from_stored(event.dip or {}).title(lang)
    if event.kind == FOLLOW_UP_EVENT:
        return follow_up_title(event.owner or "", len(event.items or []), lang)
    return incident_title(event.incident or {}, lang)


def message_of(
    event: Event, *, delivery: str, lang: Lang, zone: ZoneInfo, base_url: str
) -> Message:
    """The event as a message in `lang`: the incident events, the weekly review, a dip."""
    if event.kind == "review.weekly":
        return review_message(
            event.week or "",
            event.sections or "",
            delivery=delivery,
            at=event.at,
            lang=lang,
            base_url=base_url,
        )
    if event.kind == DIP_EVENT:
        if event.dip is None:
            raise ValueError(f"event {event.kind} has no dip")
        dip = FoundDip.from_stored(event.dip)
        return dip_message(
            dip, delivery=delivery, at=event.at, lang=lang, zone=zone, base_url=base_url
        )
    if event.kind == FOLLOW_UP_EVENT:
        return follow_up_message(
            event.owner or "", event.items or [], delivery=delivery, at=event.at, lang=lang,
            base_url=base_url,
        )  # fmt: skip
    if event.incident is None:
        raise ValueError(f"event {event.kind} has no incident")
    return incident_message(
        event.kind,
        event.incident,
        delivery=delivery,
        at=event.at,
        actor=event.actor,
        before=event.before,
        lang=lang,
        zone=zone,
        base_url=base_url,
    )


def incident_link(base_url: str, incident_id: int) -> str | None:
    return f"{base_url.rstrip('/')}/incidents/{incident_id}" if base_url else None


def incident_message(
    event: str,
    incident: Mapping[str, Any],
    *,
    delivery: str,
    at: datetime,
    actor: str,
    before: Mapping[str, Any] | None,
    lang: Lang,
    zone: ZoneInfo,
    base_url: str,
) -> Message:
    """An incident event: `incident` is the record as the API answers it (JSON), `before`
    the values it had (a change event names the field that changed, before → after)."""
    sep = text("separator", lang)
    grade = term("grade", incident.get("grade"), lang)
    status = term("status", incident.get("status"), lang)
    title = incident_title(incident, lang)
    facts: list[tuple[str, str]] = []
    changed = CHANGED.get(event)
    if changed and before is not None and changed in before:
        was = value_text(changed, before[changed], lang, zone)
        now = value_text(changed, incident.get(changed), lang, zone)
        facts.append(
            (text(changed, lang), text("notify.change", lang).format(before=was, after=now))
        )
    if changed != "grade":
        facts.append((text("grade", lang), grade))
    if changed != "status":
        facts.append((text("status", lang), status))
    facts.append(
        (text("services", lang), value_text("services", incident.get("services"), lang, zone))
    )
    facts += [
        (text(name, lang), value_text(name, incident[name], lang, zone))
        for name in TIMES
        if incident.get(name)
    ]
    headline = text(f"notify.{event}", lang)
    if event == DUE_EVENT and incident.get("regulatory_deadline"):
        deadline = incident["regulatory_deadline"]
        facts.append(
            (
                text("regulatory_level", lang),
                term("regulatory_level", incident.get("regulatory_level"), lang),
            )
        )
        facts.append(
            (
                text("regulatory_deadline", lang),
                value_text("regulatory_deadline", deadline, lang, zone),
            )
        )
        if at >= datetime.fromisoformat(deadline.replace("Z", "+00:00")):
            headline = text("notify.incident.regulatory_overdue", lang)
    facts.append((text("notify.by", lang), actor))
    link = incident_link(base_url, incident["id"])
    heading = f"{headline}{sep}{title}"
    markdown = [f"**{heading}**", ""]
    markdown += [f"> {name}{sep}{value}" for name, value in facts]
    plain = [heading, *(f"{name}{sep}{value}" for name, value in facts)]
    if link:
        markdown += ["", f"[{text('notify.open', lang)}]({link})"]
        plain.append(f"{text('notify.open', lang)}{sep}{link}")
    return Message(
        event=event,
        delivery=delivery,
        at=at,
        title=title,
        markdown="\n".join(markdown),
        text="\n".join(plain),
        link=link,
        incident=dict(incident),
    )


def review_message(
    week: str, sections: str, *, delivery: str, at: datetime, lang: Lang, base_url: str
) -> Message:
    """The weekly review: its 【系统运行数据】 and 【生产事件】 sections as they are exported."""
    title = review_title(week, lang)
    link = f"{base_url.rstrip('/')}/report?week={week}" if base_url else None
    markdown, plain = sections.rstrip("\n"), sections.rstrip("\n")
    if link:
        markdown += f"\n\n[{text('notify.open_review', lang)}]({link})"
        plain += f"\n\n{text('notify.open_review', lang)}{text('separator', lang)}{link}"
    return Message("review.weekly", delivery, at, title, markdown, plain, link)


def dip_message(
    dip: FoundDip, *, delivery: str, at: datetime, lang: Lang, zone: ZoneInfo, base_url: str
) -> Message:
    """A dip no record covers: the rate, the channel, how low, when, and the form to log it."""
    sep = text("separator", lang)
    title = dip.title(lang)
    start, end = dip.started_at.astimezone(zone), dip.ended_at.astimezone(zone)
    span = (
        f"{start:%Y-%m-%d %H:%M} – {end:%H:%M}"
        if start.date() == end.date()
        else (f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}")
    )
    facts = [
        (text("dips.span", lang), f"{span} ({zone.key})"),
        (
            text("dips.failures", lang),
            text("dips.failures_of", lang).format(failures=dip.failures, attempts=dip.attempts),
        ),
    ]
    link = f"{base_url.rstrip('/')}{dip.record_path(lang)}" if base_url else None
    heading = f"{text(f'notify.{DIP_EVENT}', lang)}{sep}{title}"
    markdown = [f"**{heading}**", "", *(f"> {name}{sep}{value}" for name, value in facts)]
    plain = [heading, *(f"{name}{sep}{value}" for name, value in facts)]
    if link:
        markdown += ["", f"[{text('dips.log', lang)}]({link})"]
        plain.append(f"{text('dips.log', lang)}{sep}{link}")
    return Message(DIP_EVENT, delivery, at, title, "\n".join(markdown), "\n".join(plain), link)


def follow_up_title(owner: str, n: int, lang: Lang) -> str:
    return text("notify.followup.title", lang).format(owner=owner, n=n)


def follow_up_message(
    owner: str,
    items: list[Mapping[str, Any]],
    *,
    delivery: str,
    at: datetime,
    lang: Lang,
    base_url: str,
) -> Message:
    """The day's overdue follow-ups of one owner: each with its due date and its record."""
    sep = text("separator", lang)
    title = follow_up_title(owner, len(items), lang)
    heading = f"{text(f'notify.{FOLLOW_UP_EVENT}', lang)}{sep}{title}"
    markdown, plain = [f"**{heading}**", ""], [heading]
    for item in items:
        due = text("notify.followup.due", lang).format(due=item["due_on"])
        record = f"#{item['incident_id']} {item['incident_title']}"
        line = text("notify.followup.item", lang).format(title=item["title"], due=due)
        shown = record
        if base_url:
            shown = f"[{record}]({incident_link(base_url, item['incident_id'])})"
        markdown.append(f"> {line} · {shown}")
        plain.append(f"- {line} · {record}")
    link = None
    if base_url:
        link = f"{base_url.rstrip('/')}/follow-ups?owner={quote(owner)}&overdue=true"
        markdown += ["", f"[{text('notify.open_follow_ups', lang)}]({link})"]
        plain.append(f"{text('notify.open_follow_ups', lang)}{sep}{link}")
    body, text_body = "\n".join(markdown), "\n".join(plain)
    return Message(FOLLOW_UP_EVENT, delivery, at, title, body, text_body, link)


def test_message(
    channel: str, *, delivery: str, at: datetime, lang: Lang, base_url: str
) -> Message:
    """What `tracker notifications test CHANNEL` sends."""
    body = text("notify.test_body", lang).format(channel=channel)
    link = base_url or None
    return Message("test", delivery, at, text("notify.test", lang), body, body, link)
