"""The weekly review (DESIGN §7): its figures as data, and the text the team pastes into its
weekly report, in Chinese exactly as the seeds write it, or in English."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tracker.core.counts import GradeCount
from tracker.core.display import count, percent, utc_text
from tracker.core.rates import RateFigure
from tracker.core.texts import Lang, term, text
from tracker.core.vocabulary import INCIDENT_GRADES, REPORTED_GRADES

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{1,2})$")  # the team writes 2024-W2
EVENT_GAP = "    "  # the seeds put four spaces between the time and the title
YEARS = (2, 9998)  # of a report: its windows (and a 12-week trend) stay within datetime's
Detail = Literal["title", "summary"]


def parse_week(text: str) -> tuple[int, int]:
    """`2024-W30` → (2024, 30); ValueError for anything else or a week the year lacks."""
    match = WEEK_PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO week like 2024-W30")
    year, week = int(match[1]), int(match[2])
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"{text!r}: a week of the years {YEARS[0]} to {YEARS[1]}")
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}") from None
    return year, week


def week_name(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week a moment falls in, in `zone`: `2024-W30`."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Event:
    id: int
    detected_at: datetime
    title: str
    grade: str | None
    status: str
    services: tuple[str, ...]
    weight: str = "1"  # attributed weight, as the shortest decimal
    impact_started_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    postmortem_url: str | None = None

    @property
    def times(self) -> tuple[datetime | None, ...]:
        return (self.impact_started_at, self.detected_at, self.mitigated_at, self.resolved_at)


@dataclass(frozen=True)
class WeeklyReport:
    """Rates over the ISO week; availability of `all` and incident counts year to date, as of
    the week's end (or now, for the current week); the week's events in time order."""

    week: str
    since: datetime
    until: datetime
    as_of: datetime
    zone: ZoneInfo
    rates: tuple[RateFigure, ...]
    availability: float | None
    downtime_seconds: float
    eligible_seconds: float
    counts: dict[str, GradeCount]
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Review:
    """The week as presented: frozen at its first export, with what changed since."""

    report: WeeklyReport
    restated: dict[str, list[str]]  # lang → notes
    frozen_at: datetime | None

    def notes(self, lang: str) -> list[str]:
        return self.restated.get(lang, [])


def last_week(now: datetime, zone: ZoneInfo) -> str:
    """The ISO week before the one `now` is in: what a review is of, by default."""
    return week_name(now - timedelta(days=7), zone)


def counts_line(counts: dict[str, GradeCount], lang: Lang) -> str:
    """事故数AB级0次，C级0.5次，D级0次: attributed (responsibility-weighted) counts."""
    return text("weekly.counts", lang).format(
        **{grade: count(counts[grade].attributed) for grade in REPORTED_GRADES}
    )


CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def one_line(value: str) -> str:
    """Text as one line: every run of whitespace (newlines too) becomes one space, and a
    control character (none is stored now; older records may hold one) becomes U+FFFD."""
    return " ".join(CONTROLS.sub("\ufffd", value).split())


def event_line(event: Event, zone: ZoneInfo, lang: Lang, detail: Detail = "title") -> str:
    """`2024-07-23 10:04    title（C级）`: local time, four spaces, the title, the grade; with
    `detail="summary"` the summary follows on the same line, as the team writes its events by
    hand, and the record's link after it (`，详细记录：<url>`)."""
    when = event.detected_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    line = f"{when}{EVENT_GAP}{one_line(event.title)}"
    if event.grade in INCIDENT_GRADES:
        line += text("weekly.graded", lang).format(grade=event.grade)
    if detail == "summary":
        if one_line(event.summary):
            line += text("weekly.detail", lang).format(summary=one_line(event.summary))
        if event.postmortem_url:
            line += text("weekly.record", lang).format(url=event.postmortem_url)
    return line


def markdown(
    report: WeeklyReport,
    lang: Lang = "zh",
    restated: Sequence[str] = (),
    detail: Detail = "title",
) -> str:
    """The 【系统运行数据】 and 【生产事件】 sections, ready to paste; a frozen week's
    restatements follow its figures."""
    sep = text("separator", lang)
    lines = [text("weekly.figures", lang), "", text("weekly.rates", lang), ""]
    lines += [f"- {r.label(lang)}{sep}{percent(r.value, lang=lang)}" for r in report.rates]
    lines += ["", text("weekly.availability_heading", lang), ""]
    availability = percent(report.availability, lang=lang)
    lines.append(f"- {text('weekly.availability', lang)}{sep}{availability}")
    lines.append(f"- {counts_line(report.counts, lang)}")
    if restated:
        notes = text("joiner", lang).join(restated)
        lines.append(f"- {text('weekly.restated', lang)}{sep}{notes}")
    lines += ["", text("weekly.events", lang), ""]
    events = [f"- {event_line(e, report.zone, lang, detail)}" for e in report.events]
    lines += events or [f"- {text('weekly.no_events', lang)}"]
    return "\n".join(lines) + "\n"


def as_json(
    report: WeeklyReport,
    lang: Lang = "zh",
    restated: Sequence[str] = (),
    frozen_at: datetime | None = None,
    detail: Detail = "title",
) -> dict[str, Any]:
    """Raw values beside the display strings, and the events with their fields."""
    return {
        "frozen_at": None if frozen_at is None else utc_text(frozen_at),
        "restatements": list(restated),
        "week": report.week,
        "since": utc_text(report.since),
        "until": utc_text(report.until),
        "as_of": utc_text(report.as_of),
        "timezone": report.zone.key,
        "rates": [r.to_json(lang) for r in report.rates],
        "availability": {
            "service": "all",
            "window": "ytd",
            "value": report.availability,
            "display": percent(report.availability, lang=lang),
            "downtime_seconds": report.downtime_seconds,
            "eligible_seconds": report.eligible_seconds,
        },
        "incidents": {
            "window": "ytd",
            "display": counts_line(report.counts, lang),
            **{
                grade: {"attributed": _number(c.attributed), "distinct": c.distinct}
                for grade, c in report.counts.items()
            },
        },
        "events": [
            {
                "id": e.id,
                "detected_at": utc_text(e.detected_at),
                "local_time": e.detected_at.astimezone(report.zone).strftime("%Y-%m-%d %H:%M"),
                "title": e.title,
                "grade": e.grade,
                "status": e.status,
                "services": list(e.services),
                "summary": e.summary,
                "postmortem_url": e.postmortem_url,
                "line": event_line(e, report.zone, lang, detail),
            }
            for e in report.events
        ],
        "markdown": markdown(report, lang, restated, detail),
    }


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """Free text as a CSV cell a spreadsheet shows as text: a leading = + - @ would make it a
    formula in Excel or LibreOffice, so it gets a leading apostrophe (OWASP, CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def as_csv(
    report: WeeklyReport,
    lang: Lang = "zh",
    restated: Sequence[str] = (),
    detail: Detail = "title",
) -> str:
    """One row per figure, one per event: section, key, label, value, display."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "label", "value", "display"))
    for r in report.rates:
        value = "" if r.value is None else repr(float(r.value))
        writer.writerow(("rate", r.name, r.label(lang), value, percent(r.value, lang=lang)))
    availability = "" if report.availability is None else repr(report.availability)
    writer.writerow(
        (
            "availability",
            "all.ytd",
            text("weekly.availability", lang),
            availability,
            percent(report.availability, lang=lang),
        )
    )
    for grade, c in report.counts.items():
        writer.writerow(
            (
                "incidents",
                grade,
                text("weekly.incidents_label", lang).format(grade=grade),
                _number(c.attributed),
                count(c.attributed),
            )
        )
    for e in report.events:
        writer.writerow(
            (
                "event",
                e.id,
                _text_cell(e.title),
                utc_text(e.detected_at),
                event_line(e, report.zone, lang, detail),
            )
        )
    for note in restated:
        writer.writerow(("restated", "", text("weekly.restated", lang), "", _text_cell(note)))
    return out.getvalue()


# ---- frozen reviews: the week as it was presented, and what changed since --------------------


def snapshot(report: WeeklyReport) -> dict[str, Any]:
    """Everything needed to present the week again exactly as it was (JSON-ready)."""

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "week": report.week,
        "since": when(report.since),
        "until": when(report.until),
        "as_of": when(report.as_of),
        "rates": [
            [r.name, r.label_zh, r.label_en, r.numerator, r.denominator] for r in report.rates
        ],
        "availability": report.availability,
        "downtime_seconds": report.downtime_seconds,
        "eligible_seconds": report.eligible_seconds,
        "counts": {g: [str(c.attributed), c.distinct] for g, c in report.counts.items()},
        "events": [
            [
                e.id,
                when(e.detected_at),
                e.title,
                e.grade,
                e.status,
                list(e.services),
                e.weight,
                when(e.impact_started_at),
                when(e.mitigated_at),
                when(e.resolved_at),
                e.summary,
                e.postmortem_url,
            ]
            for e in report.events
        ],
    }


def from_snapshot(data: dict[str, Any], zone: ZoneInfo) -> WeeklyReport:
    def when(text: str | None) -> datetime | None:
        return None if text is None else datetime.fromisoformat(text)

    return WeeklyReport(
        week=data["week"],
        since=when(data["since"]),
        until=when(data["until"]),
        as_of=when(data["as_of"]),
        zone=zone,
        rates=tuple(
            RateFigure(numerator, denominator, name, label_zh, label_en)
            for name, label_zh, label_en, numerator, denominator in data["rates"]
        ),
        availability=data["availability"],
        downtime_seconds=data["downtime_seconds"],
        eligible_seconds=data["eligible_seconds"],
        counts={g: GradeCount(Decimal(a), d) for g, (a, d) in data["counts"].items()},
        events=tuple(
            Event(
                e[0],
                when(e[1]),
                e[2],
                e[3],
                e[4],
                tuple(e[5]),
                e[6],
                when(e[7]),
                when(e[8]),
                when(e[9]),
                *e[10:12],  # summary and link: weeks frozen before they were kept lack them
            )
            for e in data["events"]
        ),
    )


def restatements(frozen: WeeklyReport, current: WeeklyReport, lang: Lang = "zh") -> list[str]:
    """What changed since the week was frozen: figures as `C级 0.5 → 1`, then the week's
    incidents regraded, reattributed, retimed, added or withdrawn."""
    moved = []
    before = {r.name: r for r in frozen.rates}
    for rate in current.rates:
        if rate.name in before:
            moved.append((rate.label(lang), before[rate.name].value, rate.value, percent))
    moved.append(
        (text("weekly.availability", lang), frozen.availability, current.availability, percent)
    )
    for grade in REPORTED_GRADES:
        label = term("grade", grade, lang)
        moved.append(
            (label, frozen.counts[grade].attributed, current.counts[grade].attributed, count)
        )
    notes = []
    for label, was, now, shown in moved:
        a, b = (percent(v, lang=lang) if shown is percent else count(v) for v in (was, now))
        if a != b:
            notes.append(text("restate.figure", lang).format(label=label, before=a, after=b))
    return notes + _event_notes(frozen.events, current.events, lang)


def _event_notes(frozen: Sequence[Event], current: Sequence[Event], lang: Lang) -> list[str]:
    def note(key: str, **values: Any) -> str:
        return text(f"restate.{key}", lang).format(**values)

    notes = []
    was = {e.id: e for e in frozen}
    now = {e.id: e for e in current}
    for event in current:
        old = was.get(event.id)
        if old is None:
            notes.append(note("added", id=event.id))
            continue
        if old.grade != event.grade:
            a, b = (term("grade", g, lang) for g in (old.grade, event.grade))
            notes.append(note("regraded", id=event.id, before=a, after=b))
        if old.weight != event.weight:
            notes.append(note("reattributed", id=event.id, before=old.weight, after=event.weight))
        if old.times != event.times:
            notes.append(note("retimed", id=event.id))
    notes += [note("withdrawn", id=i) for i in was if i not in now]
    return notes


def _number(value: Decimal) -> str:
    return count(value)
