"""The weekly review as the team pastes it (Markdown, in Chinese exactly as the seeds write
it, or in English), as JSON with the raw values beside the display strings, and as CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.counts import GradeCount
from tracker.core.dips import FoundDip
from tracker.core.display import count, percent, utc_text
from tracker.core.texts import Lang, text
from tracker.core.vocabulary import INCIDENT_GRADES, REPORTED_GRADES
from tracker.core.weekly.model import EVENT_GAP, Detail, Event, WeeklyReport


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
    unlogged_dips: Sequence[FoundDip] = (),
) -> dict[str, Any]:
    """Raw values beside the display strings, the events with their fields, and the dips
    of the week no record covers (DESIGN §12)."""
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
                grade: {"attributed": count(c.attributed), "distinct": c.distinct}
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
        "unlogged_dips": [d.to_json(lang) for d in unlogged_dips],
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
                count(c.attributed),
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
