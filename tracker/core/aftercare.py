"""After the incident (DESIGN §11) over plain values: when a follow-up is overdue, when the
regulator must have heard of a record, and what a year's grade quota leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tracker.core.display import count
from tracker.core.vocabulary import FOLLOW_UP_OPEN, REPORTED_LEVELS

# `incident.regulatory_due` goes out this long before the deadline, and again at it.
DUE_WARNING = timedelta(minutes=10)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The local date of `now`: overdue is cut at local midnight, not UTC's."""
    return now.astimezone(zone).date()


def is_overdue(status: str, due_on: date, today: date) -> bool:
    """Open or in progress, and due before today (a follow-up due today is not overdue)."""
    return status in FOLLOW_UP_OPEN and due_on < today


def report_deadline(level: str, detected_at: datetime, within_minutes: int) -> datetime | None:
    """When the regulator must have heard of a record at `level` (None: it need not)."""
    if level not in REPORTED_LEVELS:
        return None
    return detected_at + timedelta(minutes=within_minutes)


def report_overdue(deadline: datetime | None, reported_at: datetime | None, now: datetime) -> bool:
    """Past its deadline and not reported yet."""
    return deadline is not None and reported_at is None and now >= deadline


def reported_late(deadline: datetime | None, reported_at: datetime | None) -> bool:
    """Reported, but after its deadline."""
    return deadline is not None and reported_at is not None and reported_at > deadline


@dataclass(frozen=True)
class QuotaRow:
    """A grade's yearly quota: the responsibility-weighted incidents allowed, those counted
    so far this year, and what is left (negative once exceeded)."""

    grade: str
    quota: int
    used: Decimal

    @property
    def remaining(self) -> Decimal:
        return Decimal(self.quota) - self.used

    def to_json(self) -> dict[str, object]:
        return {
            "grade": self.grade,
            "quota": self.quota,
            "used": count(self.used),
            "remaining": count(self.remaining),
        }

    @property
    def remaining_ratio(self) -> float | None:
        """What is left as a share of the quota (None for a quota of 0: nothing to share)."""
        return None if self.quota == 0 else float(self.remaining) / self.quota


@dataclass(frozen=True)
class FollowUpTally:
    """A period's follow-ups: opened in it, done in it, and due in it but not done by the
    day they were due (done later, or still open)."""

    opened: int = 0
    done: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class LateReport:
    """A record that reached the regulator after its deadline."""

    incident_id: int
    title: str
    deadline: datetime
    reported_at: datetime
