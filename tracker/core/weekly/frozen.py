"""A frozen week's codec: everything needed to present the week again exactly as it was,
as JSON-ready data, and back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.counts import GradeCount
from tracker.core.rates import RateFigure
from tracker.core.weekly.model import Event, WeeklyReport


def frozen(report: WeeklyReport) -> dict[str, Any]:
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


def thawed(data: dict[str, Any], zone: ZoneInfo) -> WeeklyReport:
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
