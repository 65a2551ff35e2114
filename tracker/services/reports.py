"""The weekly review, read from the database and computed through the same core as the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tracker.charts import trend_png
from tracker.core.display import count
from tracker.core.incidents import attributed_weight
from tracker.core.render import render
from tracker.core.texts import LANGS
from tracker.core.weekly.frozen import frozen, thawed
from tracker.core.weekly.model import Event, Review, WeeklyReport, parse_week
from tracker.core.weekly.restate import restatements
from tracker.core.windows import iso_week_bounds, year_bounds
from tracker.db import database, replica_reads
from tracker.errors import NotFound
from tracker.models import Incident, WeeklyReview, service_keys_by_incident
from tracker.services import audit, notifications
from tracker.services.dips import dips_between
from tracker.services.payments import rates_between
from tracker.services.slo import availability_between, incident_counts
from tracker.services.trends import weekly_trend
from tracker.settings import Settings


def weekly_report(week: str, *, now: datetime, settings: Settings) -> WeeklyReport:
    """Rates over the ISO week; availability of `all` and attributed incident counts year to
    date as of the week's end (or now, for the current week); the week's events."""
    try:
        year, number = parse_week(week)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    zone = settings.zone
    since, until = iso_week_bounds(year, number, zone)
    if since > now:
        raise NotFound(f"{week} has not started yet")
    as_of = min(until, now)
    # the year the week ends in: its last moment, not the midnight after it
    year_start, _ = year_bounds((as_of - timedelta(microseconds=1)).astimezone(zone).year, zone)
    rates = rates_between(
        settings.payments.definitions(), since=since, until=as_of, channel=None, zone=zone
    )
    availability = availability_between(
        "all", since=year_start, until=as_of, now=now, settings=settings
    ).result
    return WeeklyReport(
        week=f"{year}-W{number:02d}",
        since=since,
        until=until,
        as_of=as_of,
        zone=zone,
        rates=tuple(rates),
        availability=availability.availability,
        downtime_seconds=availability.downtime_seconds,
        eligible_seconds=availability.eligible_seconds,
        counts=incident_counts(since=year_start, until=as_of),
        events=_events(since, until),
    )


def _events(since: datetime, until: datetime) -> tuple[Event, ...]:
    """Every record detected in the week but drafts and the cancelled ones, in time order."""
    rows = list(Incident.counted_between(since, until).order_by(Incident.detected_at, Incident.id))
    keys = service_keys_by_incident([r.id for r in rows])
    return tuple(
        Event(
            r.id,
            r.detected_at,
            r.title,
            r.grade,
            r.status,
            tuple(keys.get(r.id, ())),
            count(attributed_weight(r.responsibility)),
            r.impact_started_at,
            r.mitigated_at,
            r.resolved_at,
            r.summary,
            r.postmortem_url,
        )
        for r in rows
    )


def weekly_review(week: str, *, now: datetime, settings: Settings) -> Review:
    """A frozen week shows its frozen figures and the restatements; any other week, now. The
    dips of the week no record covers are as of now, either way."""
    with replica_reads():  # a review tolerates the replica's lag; freezing writes after it
        current = weekly_report(week, now=now, settings=settings)
        found = dips_between(current.since, current.as_of, settings=settings, now=now)
        unlogged = tuple(d for d in found if not d.logged)
        stored = WeeklyReview.get_or_none(WeeklyReview.week == current.week)
    if stored is None:
        return Review(current, {}, None, unlogged)
    presented = thawed(stored.snapshot, settings.zone)
    restated = {lang: restatements(presented, current, lang) for lang in LANGS}
    return Review(presented, restated, stored.frozen_at, unlogged)


def freeze(report: WeeklyReport, *, actor: str, now: datetime) -> bool:
    """Freeze a week as presented, once; returns whether this call froze it."""
    with database.atomic():
        created = (
            WeeklyReview.insert(
                week=report.week, frozen_at=now, frozen_by=actor, snapshot=frozen(report)
            )
            .on_conflict_ignore()
            .execute()
        )
        if created:
            audit.record(
                "freeze",
                "weekly_review",
                report.week,
                before=None,
                after={"week": report.week},
                actor=actor,
                now=now,
            )
    return bool(created)


def export_weekly(
    week: str, *, now: datetime, settings: Settings, actor: str, announce: bool = False
) -> list[Path]:
    """Write the week's Markdown (zh and en), JSON and 12-week chart (PNG) to
    `<data_dir>/exports/weekly/`; the first export freezes the week as presented. With
    `announce` (the Monday export), the channels that want `review.weekly` get its Markdown."""
    review = weekly_review(week, now=now, settings=settings)
    if review.frozen_at is None and review.report.as_of == review.report.until:
        freeze(review.report, actor=actor, now=now)
    folder = settings.data_dir / "exports" / "weekly"
    folder.mkdir(parents=True, exist_ok=True)
    report, detail = review.report, settings.report.event_detail
    written, sections = [], {}
    for lang in LANGS:
        path = folder / f"{report.week}.{lang}.md"
        sections[lang] = render(review, "md", lang, detail).body
        path.write_text(sections[lang], encoding="utf-8")
        written.append(path)
    path = folder / f"{report.week}.json"
    path.write_text(render(review, "json", "zh", detail).body, encoding="utf-8")
    written.append(path)
    path = folder / f"{report.week}.png"
    path.write_bytes(trend_png(weekly_trend(report.week, now=now, settings=settings)))
    written.append(path)
    if announce:
        with database.atomic():
            notifications.review_event(report.week, sections, now=now, settings=settings)
    return written
