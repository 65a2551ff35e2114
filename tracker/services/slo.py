"""Availability, error budgets, incident counts and time-to-x as of `now`, read from the
database and computed by the pure core."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from tracker.core.availability import AvailabilityResult, Impairment, Maintenance, availability
from tracker.core.budget import Budget, YearOutlook, error_budget, year_outlook
from tracker.core.counts import CountedIncident, GradeCount, count_incidents
from tracker.core.display import percent
from tracker.core.durations import DurationStats, Kind, TimedIncident, time_to_by_grade
from tracker.core.incidents import attributed_weight
from tracker.core.vocabulary import ALL
from tracker.core.windows import window_bounds, year_bounds
from tracker.db import replica_reads
from tracker.errors import Invalid
from tracker.models import (
    Incident,
    MaintenanceWindow,
    Service,
    raw_rows,
    utc_of,
    with_service_ids,
)
from tracker.schemas import AvailabilityOut, ErrorBudgetOut, YearOutlookOut
from tracker.services.catalog import get_service
from tracker.services.maintenance import counts_as_maintenance
from tracker.services.periods import resolve_range
from tracker.settings import Settings


@dataclass(frozen=True)
class AvailabilityReport:
    """Availability of one scope over [since, until), with its error budget; for `ytd` also
    the outlook for the rest of the year."""

    service: str
    window: str | None
    since: datetime
    until: datetime
    objective: float
    result: AvailabilityResult
    budget: Budget
    outlook: YearOutlook | None


def objective_of(scope: str, settings: Settings) -> float:
    """A service's own objective; `availability.objective` for `all`."""
    if scope == ALL:
        return settings.availability.objective
    return get_service(scope).objective


def _impairments(scope: str, since: datetime, until: datetime) -> list[Impairment]:
    query = Incident.impairing(since, until)
    if scope != ALL:
        query = Incident.affecting(query, scope)
    rows = query.select(
        Incident.impact_started_at,
        Incident.mitigated_at,
        Incident.resolved_at,
        Incident.impact_ratio,
    )
    return [
        Impairment(r.impact_started_at, r.mitigated_at or r.resolved_at, r.impact_ratio)
        for r in rows
    ]


def _maintenance(
    scope: str, since: datetime, until: datetime, *, settings: Settings
) -> list[Maintenance]:
    """Valid maintenance for the scope: announced in time, covering `all` or the service."""
    notice = settings.availability.maintenance_notice_hours
    return [
        Maintenance(w.starts_at, w.ends_at)
        for w in MaintenanceWindow.overlapping(since, until)
        if counts_as_maintenance(w, notice_hours=notice)
        and (w.services == [ALL] or (scope != ALL and scope in w.services))
    ]


def availability_between(
    scope: str,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    settings: Settings,
    window: str | None = None,
) -> AvailabilityReport:
    """Availability of `scope` over [since, min(until, now)); time yet to come is not counted."""
    objective = objective_of(scope, settings)
    until = min(until, now)
    if until < since:
        raise Invalid.one("until", "must not be before since")
    result = availability(
        _impairments(scope, since, until),
        _maintenance(scope, since, until, settings=settings),
        since=since,
        until=until,
        now=now,
    )
    budget = error_budget(result.downtime_seconds, result.eligible_seconds, objective)
    outlook = (
        _year_outlook(scope, result, objective, now=now, settings=settings)
        if (window == "ytd")
        else None
    )
    return AvailabilityReport(scope, window, since, until, objective, result, budget, outlook)


def availability_in_window(
    scope: str, window: str, *, now: datetime, settings: Settings
) -> AvailabilityReport:
    """Availability over a named window (DESIGN §2) ending now."""
    since, until = window_bounds(window, as_of=now, zone=settings.zone)
    return availability_between(
        scope, since=since, until=until, now=now, settings=settings, window=window
    )


def availability_report(
    scope: str,
    *,
    window: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
    settings: Settings,
) -> AvailabilityReport:
    """Over a named window (default `ytd`), or over [since, until ?? now)."""
    since, until, window = resolve_range(
        window=window, since=since, until=until, now=now, zone=settings.zone, default="ytd"
    )
    with replica_reads():  # a range query tolerates the replica's lag
        return availability_between(
            scope, since=since, until=until, now=now, settings=settings, window=window
        )


def _year_outlook(
    scope: str,
    so_far: AvailabilityResult,
    objective: float,
    *,
    now: datetime,
    settings: Settings,
) -> YearOutlook:
    """Budget minutes left this year and the availability the rest of the year needs."""
    _, year_end = year_bounds(now.astimezone(settings.zone).year, settings.zone)
    rest = availability(
        [],
        _maintenance(scope, now, year_end, settings=settings),
        since=now,
        until=year_end,
        now=now,
    )
    return year_outlook(
        so_far.downtime_seconds, so_far.eligible_seconds, rest.eligible_seconds, objective
    )


def scopes() -> list[str]:
    """`all`, then every service key."""
    return [ALL, *(s.key for s in Service.ordered())]


@dataclass(frozen=True)
class Facts:
    """Everything the availability figures of a period read, loaded once (a fixed number of
    queries, whatever the number of services and windows): the scopes with their
    objectives, the incidents impairing the period with the services each affects, and the
    maintenance that counts, with the services it covers."""

    objectives: dict[str, float]  # `all` first, then every service, in tier order
    impairments: tuple[tuple[Impairment, frozenset[str]], ...]
    maintenance: tuple[tuple[Maintenance, tuple[str, ...]], ...]
    by_service: dict[str, list[Impairment]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_service: dict[str, list[Impairment]] = {}
        for impairment, keys in self.impairments:
            for key in keys:
                by_service.setdefault(key, []).append(impairment)
        object.__setattr__(self, "by_service", by_service)

    @property
    def scopes(self) -> list[str]:
        return list(self.objectives)

    def impairments_of(self, scope: str) -> list[Impairment]:
        if scope == ALL:
            return [impairment for impairment, _ in self.impairments]
        return self.by_service.get(scope, [])

    def maintenance_of(self, scope: str) -> list[Maintenance]:
        """Maintenance of `all`, or naming the service (a service's never counts for all)."""
        return [
            m
            for m, covered in self.maintenance
            if covered == (ALL,) or (scope != ALL and scope in covered)
        ]


def load_facts(*, since: datetime, until: datetime, settings: Settings) -> Facts:
    """The facts of [since, until) for every scope (DESIGN §4.1)."""
    services = list(Service.ordered())
    objectives = {ALL: settings.availability.objective} | {s.key: s.objective for s in services}
    key_of = {s.id: s.key for s in services}
    rows = raw_rows(
        with_service_ids(
            Incident.impairing(since, until).select(
                Incident.id,
                Incident.impact_started_at,
                Incident.mitigated_at,
                Incident.resolved_at,
                Incident.impact_ratio,
            )
        )
    )
    found: dict[int, tuple[Impairment, list[str]]] = {}
    for incident_id, started, mitigated, resolved, ratio, service_id in rows:
        if incident_id not in found:
            impairment = Impairment(utc_of(started), utc_of(mitigated or resolved), ratio)
            found[incident_id] = (impairment, [])
        if service_id is not None:
            found[incident_id][1].append(key_of[service_id])
    sets: dict[tuple[str, ...], frozenset[str]] = {}  # incidents share a few sets of services
    impairments = tuple(
        (impairment, sets.setdefault(named := tuple(sorted(keys)), frozenset(named)))
        for impairment, keys in found.values()
    )
    notice = settings.availability.maintenance_notice_hours
    maintenance = tuple(
        (Maintenance(w.starts_at, w.ends_at), tuple(w.services))
        for w in MaintenanceWindow.overlapping(since, until)
        if counts_as_maintenance(w, notice_hours=notice)
    )
    return Facts(objectives, impairments, maintenance)


ONE = Fraction(1)  # the attributed weight of an incident that names no party: fully ours


def graded_since(since: datetime, until: datetime) -> list[tuple[CountedIncident, TimedIncident]]:
    """Every counted incident detected in [since, until), as counting and timing read them
    (one query for every window inside)."""
    rows = Incident.graded_between(since, until).select(
        Incident.detected_at,
        Incident.grade,
        Incident.status,
        Incident.responsibility,
        Incident.impact_started_at,
        Incident.mitigated_at,
        Incident.resolved_at,
    )
    read = Incident.responsibility.python_value  # JSON text on SQLite, a list on PostgreSQL
    graded = []
    for detected, grade, status, responsibility, started, mitigated, resolved in raw_rows(rows):
        detected = utc_of(detected)
        weight = ONE if responsibility in ("[]", []) else attributed_weight(read(responsibility))
        graded.append(
            (
                CountedIncident(detected, grade, status, weight),
                TimedIncident(
                    grade, detected, utc_of(started), utc_of(mitigated), utc_of(resolved)
                ),
            )
        )
    return graded


def incident_counts(*, since: datetime, until: datetime) -> dict[str, GradeCount]:
    """Attributed and distinct counts per grade (and AB), by `detected_at` in [since, until)."""
    rows = Incident.graded_between(since, until).select(
        Incident.detected_at, Incident.grade, Incident.status, Incident.responsibility
    )
    return count_incidents(
        (
            CountedIncident(r.detected_at, r.grade, r.status, attributed_weight(r.responsibility))
            for r in rows
        ),
        since=since,
        until=until,
    )


def time_to(*, since: datetime, until: datetime, kind: Kind) -> dict[str, DurationStats]:
    """Count, p50 and p90 of time to detect, mitigate or resolve per grade, over incidents
    detected in [since, until)."""
    rows = Incident.graded_between(since, until).select(
        Incident.grade,
        Incident.detected_at,
        Incident.impact_started_at,
        Incident.mitigated_at,
        Incident.resolved_at,
    )
    return time_to_by_grade(
        (
            TimedIncident(
                r.grade, r.detected_at, r.impact_started_at, r.mitigated_at, r.resolved_at
            )
            for r in rows
        ),
        kind=kind,
    )


def availability_view(report: AvailabilityReport) -> AvailabilityOut:
    """The API's representation of a report."""
    result, budget, outlook = report.result, report.budget, report.outlook
    return AvailabilityOut(
        service=report.service,
        window=report.window,
        since=report.since,
        until=report.until,
        objective=report.objective,
        availability=result.availability,
        availability_display=percent(result.availability, lang="en"),
        downtime_seconds=result.downtime_seconds,
        eligible_seconds=result.eligible_seconds,
        error_budget=ErrorBudgetOut.model_validate(budget),
        year=None
        if outlook is None
        else YearOutlookOut(
            budget_minutes_left=outlook.budget_minutes_left,
            required_availability=outlook.required_availability_rest,
        ),
    )
