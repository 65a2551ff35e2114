"""Monthly and yearly summaries: the weekly review's figures over a calendar month or year,
plus availability and error budget per service, incident counts and time to mitigate per
grade, and success rates per channel; as data, as Markdown (zh, en) and as JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tracker.core.aftercare import FollowUpTally, LateReport, QuotaRow
from tracker.core.budget import Budget, error_budget
from tracker.core.counts import GradeCount
from tracker.core.display import count, percent, utc_text
from tracker.core.durations import DurationStats
from tracker.core.exact import exact, to_decimal
from tracker.core.rates import RateFigure
from tracker.core.texts import Lang, text
from tracker.core.vocabulary import ALL, SUMMARY_GRADES
from tracker.core.weekly.model import YEARS
from tracker.core.weekly.text import counts_line

Kind = Literal["month", "year"]
MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{1,2})")  # 2024-07; the team also writes 2024-7
YEAR_PATTERN = re.compile(r"[0-9]{4}")


def parse_month(text: str) -> tuple[int, int]:
    """`2024-07` → (2024, 7); ValueError for anything else."""
    match = MONTH_PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a month like 2024-07")
    year, month = int(match[1]), int(match[2])
    if not YEARS[0] <= year <= YEARS[1] or not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a month like 2024-07 (years {YEARS[0]}-{YEARS[1]})")
    return year, month


def parse_year(text: str) -> int:
    """`2024` → 2024; ValueError for anything else."""
    if YEAR_PATTERN.fullmatch(text) is None or not YEARS[0] <= int(text) <= YEARS[1]:
        raise ValueError(f"{text!r} is not a year like 2024 (years {YEARS[0]}-{YEARS[1]})")
    return int(text)


@dataclass(frozen=True)
class ServiceAvailability:
    """Availability of one scope (a service key or `all`) over the period: 1 − D / T."""

    service: str
    objective: float
    availability: float | None
    downtime_seconds: float
    eligible_seconds: float

    @property
    def budget(self) -> Budget:
        """B = (1 − o)·T for the period."""
        return error_budget(self.downtime_seconds, self.eligible_seconds, self.objective)

    @property
    def budget_used(self) -> float | None:
        """D / B with B = (1 − o)·T, a ratio (above 1 once overspent); None when T = 0. Over
        one period this is its burn rate, which error_budget computes exactly."""
        return self.budget.burn_rate


@dataclass(frozen=True)
class ChannelRates:
    """Every configured rate over the period for one channel."""

    channel: str
    rates: tuple[RateFigure, ...]


@dataclass(frozen=True)
class Summary:
    """A calendar month (`2024-07`) or year (`2024`) cut in `zone`, as of its end or now:
    rates overall and per channel, availability of `all` and per service, attributed and
    distinct counts and time to mitigate per grade, all over [since, as_of)."""

    period: str
    since: datetime
    until: datetime
    as_of: datetime
    zone: ZoneInfo
    rates: tuple[RateFigure, ...]
    channels: tuple[ChannelRates, ...]
    availability: tuple[ServiceAvailability, ...]  # `all` first, then each service
    counts: dict[str, GradeCount]
    time_to_mitigate: dict[str, DurationStats]
    follow_ups: FollowUpTally = field(default_factory=FollowUpTally)
    quotas: tuple[QuotaRow, ...] = ()  # a year's: what its quotas left
    reported_late: tuple[LateReport, ...] = ()

    @property
    def kind(self) -> Kind:
        return "year" if len(self.period) == 4 else "month"

    @property
    def overall(self) -> ServiceAvailability:
        """The availability of `all`."""
        return next(a for a in self.availability if a.service == ALL)


def minutes(seconds: float | None, lang: Lang = "zh") -> str:
    """Seconds as minutes to one decimal, rounded half up: 750 → `12.5分钟` (`12.5 min`);
    None → no data. A duration is not a share, so it need not be truncated."""
    if seconds is None:
        return text("no_data", lang)
    value = to_decimal(exact(seconds) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return text("summary.minutes", lang).format(value=count(value))


def _local(moment: datetime, zone: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone).strftime(pattern)


def _period_lines(summary: Summary, lang: Lang) -> list[str]:
    """`统计周期：2024-07-01 至 2024-07-31（Asia/Shanghai）`, and `截至` while it is running."""
    zone = summary.zone
    last_day = summary.until - timedelta(microseconds=1)
    lines = [
        text("summary.period", lang).format(
            first=_local(summary.since, zone, "%Y-%m-%d"),
            last=_local(last_day, zone, "%Y-%m-%d"),
            zone=zone.key,
        )
    ]
    if summary.as_of < summary.until:
        lines += ["", text("summary.as_of", lang).format(as_of=_local(summary.as_of, zone))]
    return lines


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _availability_row(entry: ServiceAvailability, lang: Lang) -> list[str]:
    return [
        entry.service,
        percent(entry.availability, lang=lang),
        percent(entry.objective, lang=lang),
        minutes(entry.downtime_seconds, lang),
        minutes(entry.budget.budget_seconds, lang),
        percent(entry.budget_used, lang=lang),
    ]


def summary_markdown(summary: Summary, lang: Lang = "zh") -> str:
    """The 【月度运行数据】 or 【年度运行数据】 section, in the weekly report's voice, with tables
    per channel, per service and per grade."""

    def t(key: str) -> str:
        return text(f"summary.{key}", lang)

    sep = text("separator", lang)
    lines = [t(summary.kind), "", *_period_lines(summary, lang), "", text("weekly.rates", lang), ""]
    lines += [f"- {r.label(lang)}{sep}{percent(r.value, lang=lang)}" for r in summary.rates]
    lines += ["", t("channels"), ""]
    if summary.channels:
        lines += _table(
            [t("channel"), *(r.label(lang) for r in summary.rates)],
            [
                [c.channel, *(percent(r.value, lang=lang) for r in c.rates)]
                for c in summary.channels
            ],
        )
    else:
        lines.append(f"- {t('none')}")
    overall = percent(summary.overall.availability, lang=lang)
    lines += ["", text("weekly.availability_heading", lang), ""]
    lines.append(f"- {t(f'availability_{summary.kind}')}{sep}{overall}")
    lines.append(f"- {counts_line(summary.counts, lang)}")
    lines += ["", t("services"), ""]
    lines += _table(
        [t(k) for k in ("service", "value", "objective", "downtime", "budget", "budget_used")],
        [_availability_row(a, lang) for a in summary.availability],
    )
    lines += ["", t("grades"), ""]
    lines += _table(
        [t(k) for k in ("grade", "attributed", "distinct", "ttm_p50", "ttm_p90")],
        [
            [
                grade,
                count(summary.counts[grade].attributed),
                str(summary.counts[grade].distinct),
                minutes(summary.time_to_mitigate[grade].p50_seconds, lang),
                minutes(summary.time_to_mitigate[grade].p90_seconds, lang),
            ]
            for grade in SUMMARY_GRADES
        ],
    )
    tally = summary.follow_ups
    lines += [
        "",
        t("follow_ups").format(opened=tally.opened, done=tally.done, overdue=tally.overdue),
    ]
    if summary.kind == "year":
        if summary.quotas:
            lines += ["", t("quotas"), ""]
            lines += _table(
                [t(k) for k in ("grade", "quota", "used", "remaining")],
                [
                    [q.grade, str(q.quota), count(q.used), count(q.remaining)]
                    for q in summary.quotas
                ],
            )
        lines += ["", t("reported_late"), ""]
        lines += [
            "- "
            + t("late_report").format(
                id=late.incident_id,
                title=late.title,
                deadline=_local(late.deadline, summary.zone),
                reported=_local(late.reported_at, summary.zone),
            )
            for late in summary.reported_late
        ] or [f"- {t('none')}"]
    return "\n".join(lines) + "\n"


def _availability_json(entry: ServiceAvailability, lang: Lang) -> dict[str, Any]:
    budget = entry.budget
    return {
        "service": entry.service,
        "objective": entry.objective,
        "objective_display": percent(entry.objective, lang=lang),
        "value": entry.availability,
        "display": percent(entry.availability, lang=lang),
        "downtime_seconds": entry.downtime_seconds,
        "downtime_display": minutes(entry.downtime_seconds, lang),
        "eligible_seconds": entry.eligible_seconds,
        "budget_seconds": budget.budget_seconds,
        "budget_display": minutes(budget.budget_seconds, lang),
        "budget_used": entry.budget_used,
        "budget_used_display": percent(entry.budget_used, lang=lang),
    }


def _grade_json(counted: GradeCount, stats: DurationStats, lang: Lang) -> dict[str, Any]:
    return {
        "attributed": count(counted.attributed),
        "distinct": counted.distinct,
        "time_to_mitigate": {
            "count": stats.count,
            "p50_seconds": stats.p50_seconds,
            "p50_display": minutes(stats.p50_seconds, lang),
            "p90_seconds": stats.p90_seconds,
            "p90_display": minutes(stats.p90_seconds, lang),
        },
    }


def summary_json(summary: Summary, lang: Lang = "zh") -> dict[str, Any]:
    """Raw values beside the display strings, and the Markdown."""
    return {
        "period": summary.period,
        "kind": summary.kind,
        "since": utc_text(summary.since),
        "until": utc_text(summary.until),
        "as_of": utc_text(summary.as_of),
        "timezone": summary.zone.key,
        "rates": [r.to_json(lang) for r in summary.rates],
        "channels": [
            {"channel": c.channel, "rates": [r.to_json(lang) for r in c.rates]}
            for c in summary.channels
        ],
        "availability": [_availability_json(a, lang) for a in summary.availability],
        "incidents": {
            "display": counts_line(summary.counts, lang),
            **{
                grade: _grade_json(summary.counts[grade], summary.time_to_mitigate[grade], lang)
                for grade in SUMMARY_GRADES
            },
        },
        "follow_ups": vars(summary.follow_ups),
        "quotas": [
            {
                "grade": q.grade,
                "quota": q.quota,
                "used": count(q.used),
                "remaining": count(q.remaining),
            }
            for q in summary.quotas
        ],
        "reported_late": [
            {
                "incident_id": late.incident_id,
                "title": late.title,
                "deadline": utc_text(late.deadline),
                "reported_at": utc_text(late.reported_at),
            }
            for late in summary.reported_late
        ],
        "markdown": summary_markdown(summary, lang),
    }
