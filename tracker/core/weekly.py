"""The weekly review (DESIGN §7): its figures as data, and the text the team pastes into its
weekly report, in Chinese exactly as the seeds write it, or in English."""

from __future__ import annotations

import csv
import io
import re
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
    },
    "en": {
        "figures": "## System figures",
        "rates": "Payment success rates:",
        "availability_heading": "Availability:",
        "availability": "Year-to-date availability",
        "events": "## Production events",
        "no_events": "none",
        "separator": ": ",
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


def markdown(report: WeeklyReport, lang: Lang = "zh") -> str:
    """The 【系统运行数据】 and 【生产事件】 sections, ready to paste."""
    text, sep = TEXT[lang], TEXT[lang]["separator"]
    lines = [text["figures"], "", text["rates"], ""]
    lines += [f"- {r.label(lang)}{sep}{percent(r.value, lang=lang)}" for r in report.rates]
    lines += ["", text["availability_heading"], ""]
    lines.append(f"- {text['availability']}{sep}{percent(report.availability, lang=lang)}")
    lines.append(f"- {counts_line(report.counts, lang)}")
    lines += ["", text["events"], ""]
    events = [f"- {event_line(e, report.zone, lang)}" for e in report.events]
    lines += events or [f"- {text['no_events']}"]
    return "\n".join(lines) + "\n"


def as_json(report: WeeklyReport, lang: Lang = "zh") -> dict[str, Any]:
    """Raw values beside the display strings, and the events with their fields."""
    return {
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
        "markdown": markdown(report, lang),
    }


def as_csv(report: WeeklyReport, lang: Lang = "zh") -> str:
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
            ("event", e.id, e.title, utc_text(e.detected_at), event_line(e, report.zone, lang))
        )
    return out.getvalue()


def _number(value: Decimal) -> str:
    return count(value)
