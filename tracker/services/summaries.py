"""Monthly and yearly summaries, read through the same services as the weekly review and the
API, so the figures never disagree."""

from __future__ import annotations

from datetime import date, datetime

from tracker.core.aftercare import QuotaRow
from tracker.core.summary import ChannelRates, ServiceAvailability, Summary, parse_month, parse_year
from tracker.core.windows import local_midnight, year_bounds
from tracker.db import replica_reads
from tracker.errors import NotFound
from tracker.services import followups, regulatory
from tracker.services.payments import rates_between, rates_by_channel
from tracker.services.slo import availability_between, incident_counts, scopes, time_to
from tracker.settings import Settings


def monthly_summary(month: str, *, now: datetime, settings: Settings) -> Summary:
    """The figures of a calendar month (`2024-07`) cut in the configured zone, as of its end
    (or now, for the current month)."""
    zone = settings.zone
    try:
        year, number = parse_month(month)
        following = date(year + number // 12, number % 12 + 1, 1)
        since = local_midnight(date(year, number, 1), zone)
        until = local_midnight(following, zone)
    except (ValueError, OverflowError) as exc:  # not a month, or one no calendar can hold
        raise NotFound(str(exc)) from None
    return _summary(f"{year}-{number:02d}", since, until, now=now, settings=settings)


def yearly_summary(year: str, *, now: datetime, settings: Settings) -> Summary:
    """The figures of a calendar year (`2024`) cut in the configured zone, as of its end (or
    now, for the current year)."""
    try:
        number = parse_year(year)
        since, until = year_bounds(number, settings.zone)
    except (ValueError, OverflowError) as exc:
        raise NotFound(str(exc)) from None
    return _summary(f"{number:04d}", since, until, now=now, settings=settings)


def _summary(
    period: str, since: datetime, until: datetime, *, now: datetime, settings: Settings
) -> Summary:
    """The period's figures, read from the replica when there is one that keeps up."""
    with replica_reads():
        return _read_summary(period, since, until, now=now, settings=settings)


def _read_summary(
    period: str, since: datetime, until: datetime, *, now: datetime, settings: Settings
) -> Summary:
    """Every figure over [since, min(until, now)); a period yet to start does not exist."""
    if since > now:
        raise NotFound(f"{period} has not started yet")
    zone, as_of = settings.zone, min(until, now)
    definitions = settings.payments.definitions()
    window = {"since": since, "until": as_of, "zone": zone}
    counts = incident_counts(since=since, until=as_of)
    return Summary(
        period=period,
        since=since,
        until=until,
        as_of=as_of,
        zone=zone,
        rates=tuple(rates_between(definitions, channel=None, **window)),
        channels=tuple(
            ChannelRates(channel, tuple(rates))
            for channel, rates in rates_by_channel(definitions, **window).items()
        ),
        availability=tuple(
            _availability(scope, since=since, until=as_of, now=now, settings=settings)
            for scope in scopes()
        ),
        counts=counts,
        time_to_mitigate=time_to(since=since, until=as_of, kind="mitigate"),
        follow_ups=followups.tally(since, as_of, zone=zone),
        quotas=tuple(
            QuotaRow(grade, quota, counts[grade].attributed)
            for grade, quota in sorted(settings.quotas.items())
        )
        if len(period) == 4
        else (),
        reported_late=tuple(regulatory.reported_late_between(since, as_of, settings=settings)),
    )


def _availability(
    scope: str, *, since: datetime, until: datetime, now: datetime, settings: Settings
) -> ServiceAvailability:
    report = availability_between(scope, since=since, until=until, now=now, settings=settings)
    result = report.result
    return ServiceAvailability(
        scope,
        report.objective,
        result.availability,
        result.downtime_seconds,
        result.eligible_seconds,
    )
