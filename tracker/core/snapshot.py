"""A snapshot (DESIGN §6): every figure as of one moment, computed once by the rollup and read
by /metrics, GET /slo and the dashboard. The type is the schema: `to_json` is what is stored
and served, `from_json` reads it back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tracker.core.aftercare import QuotaRow
from tracker.core.dips import FoundDip
from tracker.core.display import count, utc_text
from tracker.core.rates import RateFigure


@dataclass(frozen=True)
class AvailabilityRow:
    """Availability of a scope (a service key or `all`) over a window, with its budget."""

    service: str
    window: str
    objective: float
    availability: float | None
    downtime_seconds: float
    eligible_seconds: float
    error_budget_remaining_ratio: float | None
    error_budget_burn_rate: float | None


@dataclass(frozen=True)
class RateRow:
    """A success rate over a window, for a channel or `all`."""

    window: str
    channel: str
    figure: RateFigure

    @property
    def rate(self) -> str:
        return self.figure.name

    @property
    def value(self) -> float | None:
        return None if self.figure.value is None else float(self.figure.value)

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.figure.name,
            "channel": self.channel,
            "window": self.window,
            "value": self.value,
            "numerator": self.figure.numerator,
            "denominator": self.figure.denominator,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateRow:
        figure = RateFigure(data["numerator"], data["denominator"], data["rate"])
        return cls(data["window"], data["channel"], figure)


@dataclass(frozen=True)
class CountRow:
    """Incidents of a grade (or AB) detected in a window: responsibility-weighted and not."""

    grade: str
    window: str
    attributed: Decimal
    distinct: int

    def to_json(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "window": self.window,
            "attributed": count(self.attributed),
            "distinct": self.distinct,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CountRow:
        return cls(data["grade"], data["window"], Decimal(data["attributed"]), data["distinct"])


@dataclass(frozen=True)
class TimeToRow:
    """Time to mitigate of a grade's incidents detected in a window: how many, p50, p90."""

    grade: str
    window: str
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class ImpairmentRow:
    """The largest impact ratio active on a scope at the snapshot's moment."""

    service: str
    ratio: float


@dataclass(frozen=True)
class DipCountRow:
    """Dips of a rate on a channel (or `all`) with a low minute in a window (`1d`, `7d`)
    that no record or maintenance window covers."""

    rate: str
    channel: str
    window: str
    unlogged: int


@dataclass(frozen=True)
class Snapshot:
    """Every figure as of `taken_at`; `id` and `duration_seconds` once it is stored."""

    taken_at: datetime
    availability: tuple[AvailabilityRow, ...]
    rates: tuple[RateRow, ...]
    incidents: tuple[CountRow, ...]
    time_to_mitigate: tuple[TimeToRow, ...]
    open_incidents: dict[str, int]
    impairment: tuple[ImpairmentRow, ...] = ()
    dips: tuple[DipCountRow, ...] = ()
    unlogged_dips: tuple[FoundDip, ...] = ()  # of the last 7 days, in time order
    follow_ups: dict[str, int] = field(default_factory=dict)  # open, overdue
    regulatory_overdue: int = 0  # records past their deadline, not reported
    quotas: tuple[QuotaRow, ...] = ()  # this calendar year, by grade
    id: int | None = None
    duration_seconds: float | None = field(default=None, compare=False)

    def availability_in(self, window: str) -> Iterator[AvailabilityRow]:
        return (row for row in self.availability if row.window == window)

    def rates_in(self, window: str, channel: str) -> Iterator[RateRow]:
        return (r for r in self.rates if r.window == window and r.channel == channel)

    def count_of(self, grade: str, window: str) -> CountRow | None:
        return next((r for r in self.incidents if (r.grade, r.window) == (grade, window)), None)

    def to_json(self) -> dict[str, Any]:
        """What is stored: every figure, JSON-ready (the id and cost are the record's)."""
        return {
            "taken_at": utc_text(self.taken_at),
            "availability": [vars(row) for row in self.availability],
            "rates": [row.to_json() for row in self.rates],
            "incidents": [row.to_json() for row in self.incidents],
            "time_to_mitigate": [vars(row) for row in self.time_to_mitigate],
            "open_incidents": dict(self.open_incidents),
            "impairment": [vars(row) for row in self.impairment],
            "dips": [vars(row) for row in self.dips],
            "unlogged_dips": [dip.stored() for dip in self.unlogged_dips],
            "follow_ups": dict(self.follow_ups),
            "regulatory_overdue": self.regulatory_overdue,
            "quotas": [q.to_json() for q in self.quotas],
        }

    def view(self) -> dict[str, Any]:
        """What GET /slo and POST /rollups answer."""
        return {"id": self.id, "duration_seconds": self.duration_seconds, **self.to_json()}

    @classmethod
    def from_json(
        cls, data: dict[str, Any], *, id: int | None = None, duration_seconds: float | None = None
    ) -> Snapshot:
        return cls(
            taken_at=datetime.fromisoformat(data["taken_at"].replace("Z", "+00:00")),
            availability=tuple(AvailabilityRow(**row) for row in data["availability"]),
            rates=tuple(RateRow.from_json(row) for row in data["rates"]),
            incidents=tuple(CountRow.from_json(row) for row in data["incidents"]),
            time_to_mitigate=tuple(TimeToRow(**row) for row in data["time_to_mitigate"]),
            open_incidents=dict(data["open_incidents"]),
            impairment=tuple(ImpairmentRow(**row) for row in data.get("impairment", [])),
            dips=tuple(DipCountRow(**row) for row in data.get("dips", [])),
            unlogged_dips=tuple(FoundDip.from_stored(d) for d in data.get("unlogged_dips", [])),
            follow_ups=dict(data.get("follow_ups", {})),
            regulatory_overdue=data.get("regulatory_overdue", 0),
            quotas=tuple(
                QuotaRow(q["grade"], q["quota"], Decimal(q["used"])) for q in data.get("quotas", [])
            ),
            id=id,
            duration_seconds=duration_seconds,
        )
