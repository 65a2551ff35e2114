"""The weekly review (DESIGN §7): its figures as data, and the text the team pastes into its
weekly report, in Chinese exactly as the seeds write it, or in English."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tracker.core.counts import GradeCount
from tracker.core.display import count, percent, utc_text

Lang = Literal["zh", "en"]
WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{1,2})$")  # the team writes 2024-W2
EVENT_GAP = "    "  # the seeds put four spaces between the time and the title

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "figures": "## 【系统运行数据】",
        "rates": "支付成功率：",
        "availability_heading": "系统可用性：",
        "availability": "年度可用性",
        "events": "## 【生产事件】",
        "no_events": "无",
        "separator": "：",
        "restated": "更正",
        "joiner": "；",
    },
    "en": {
        "figures": "## System figures",
        "rates": "Payment success rates:",
        "availability_heading": "Availability:",
        "availability": "Year-to-date availability",
        "events": "## Production events",
        "no_events": "none",
        "separator": ": ",
        "restated": "Restated",
        "joiner": "; ",
    },
}


def parse_week(text: str) -> tuple[int, int]:
    """`2024-W30` → (2024, 30); ValueError for anything else or a week the year lacks."""
    match = WEEK_PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO week like 2024-W30")
    year, week = int(match[1]), int(match[2])
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
class RateFigure:
    name: str
    label_zh: str
    label_en: str
    numerator: int
    denominator: int

    @property
    def value(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    def label(self, lang: Lang) -> str:
        return self.label_zh if lang == "zh" else self.label_en


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


def counts_line(counts: dict[str, GradeCount], lang: Lang) -> str:
    """事故数AB级0次，C级0.5次，D级0次: attributed (responsibility-weighted) counts."""
    ab, c, d = (count(counts[g].attributed) for g in ("AB", "C", "D"))
    if lang == "zh":
        return f"事故数AB级{ab}次，C级{c}次，D级{d}次"
    return f"Incidents: AB {ab}, C {c}, D {d}"


def event_line(event: Event, zone: ZoneInfo, lang: Lang) -> str:
    """`2024-07-23 10:04    title（C级）`: local time, four spaces, the title, the grade."""
    when = event.detected_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    title = " ".join(event.title.split())
    if event.grade in ("A", "B", "C", "D"):
        title += f"（{event.grade}级）" if lang == "zh" else f" (grade {event.grade})"
    return f"{when}{EVENT_GAP}{title}"


def markdown(report: WeeklyReport, lang: Lang = "zh", restated: Sequence[str] = ()) -> str:
    """The 【系统运行数据】 and 【生产事件】 sections, ready to paste; a frozen week's
    restatements follow its figures."""
    text, sep = TEXT[lang], TEXT[lang]["separator"]
    lines = [text["figures"], "", text["rates"], ""]
    lines += [f"- {r.label(lang)}{sep}{percent(r.value, lang=lang)}" for r in report.rates]
    lines += ["", text["availability_heading"], ""]
    lines.append(f"- {text['availability']}{sep}{percent(report.availability, lang=lang)}")
    lines.append(f"- {counts_line(report.counts, lang)}")
    if restated:
        lines.append(f"- {text['restated']}{sep}{text['joiner'].join(restated)}")
    lines += ["", text["events"], ""]
    events = [f"- {event_line(e, report.zone, lang)}" for e in report.events]
    lines += events or [f"- {text['no_events']}"]
    return "\n".join(lines) + "\n"


def as_json(
    report: WeeklyReport,
    lang: Lang = "zh",
    restated: Sequence[str] = (),
    frozen_at: datetime | None = None,
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
        "rates": [
            {
                "rate": r.name,
                "label": r.label(lang),
                "value": None if r.value is None else float(r.value),
                "display": percent(r.value, lang=lang),
                "numerator": r.numerator,
                "denominator": r.denominator,
            }
            for r in report.rates
        ],
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
                "line": event_line(e, report.zone, lang),
            }
            for e in report.events
        ],
        "markdown": markdown(report, lang, restated),
    }


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    """Free text as a CSV cell a spreadsheet shows as text: a leading = + - @ would make it a
    formula in Excel or LibreOffice, so it gets a leading apostrophe (OWASP, CSV injection)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def as_csv(report: WeeklyReport, lang: Lang = "zh", restated: Sequence[str] = ()) -> str:
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
            TEXT[lang]["availability"],
            availability,
            percent(report.availability, lang=lang),
        )
    )
    for grade, c in report.counts.items():
        writer.writerow(
            (
                "incidents",
                grade,
                f"{grade} (ytd, attributed)",
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
                event_line(e, report.zone, lang),
            )
        )
    for note in restated:
        writer.writerow(("restated", "", TEXT[lang]["restated"], "", _text_cell(note)))
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
        rates=tuple(RateFigure(*r) for r in data["rates"]),
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
            )
            for e in data["events"]
        ),
    )


WORDS = {
    "zh": {
        "regraded": "事故{id}重新定级 {a} → {b}",
        "reattributed": "事故{id}重新定责 {a} → {b}",
        "retimed": "事故{id}时间更正",
        "added": "事故{id}补录",
        "withdrawn": "事故{id}撤销",
        "ungraded": "未定级",
    },
    "en": {
        "regraded": "incident {id} regraded {a} → {b}",
        "reattributed": "incident {id} reattributed {a} → {b}",
        "retimed": "incident {id} retimed",
        "added": "incident {id} added",
        "withdrawn": "incident {id} withdrawn",
        "ungraded": "ungraded",
    },
}


def restatements(frozen: WeeklyReport, current: WeeklyReport, lang: Lang = "zh") -> list[str]:
    """What changed since the week was frozen: figures as `C级 0.5 → 1`, then the week's
    incidents regraded, reattributed, retimed, added or withdrawn."""
    notes = []
    before = {r.name: r for r in frozen.rates}
    for rate in current.rates:
        if rate.name in before:
            a, b = percent(before[rate.name].value, lang=lang), percent(rate.value, lang=lang)
            if a != b:
                notes.append(f"{rate.label(lang)} {a} → {b}")
    a, b = percent(frozen.availability, lang=lang), percent(current.availability, lang=lang)
    if a != b:
        notes.append(f"{TEXT[lang]['availability']} {a} → {b}")
    for grade in ("AB", "C", "D"):
        a, b = count(frozen.counts[grade].attributed), count(current.counts[grade].attributed)
        if a != b:
            notes.append(f"{grade}级 {a} → {b}" if lang == "zh" else f"{grade} {a} → {b}")
    notes += _event_notes(frozen.events, current.events, WORDS[lang])
    return notes


def _event_notes(
    frozen: Sequence[Event], current: Sequence[Event], words: dict[str, str]
) -> list[str]:
    notes = []
    was = {e.id: e for e in frozen}
    now = {e.id: e for e in current}
    for event in current:
        old = was.get(event.id)
        if old is None:
            notes.append(words["added"].format(id=event.id))
            continue
        if old.grade != event.grade:
            notes.append(
                words["regraded"].format(
                    id=event.id,
                    a=old.grade or words["ungraded"],
                    b=event.grade or words["ungraded"],
                )
            )
        if old.weight != event.weight:
            notes.append(words["reattributed"].format(id=event.id, a=old.weight, b=event.weight))
        if old.times != event.times:
            notes.append(words["retimed"].format(id=event.id))
    notes += [words["withdrawn"].format(id=i) for i in was if i not in now]
    return notes


def _number(value: Decimal) -> str:
    return count(value)
