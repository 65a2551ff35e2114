"""The period a query asks about: a named window ending now, or a range that stops at now."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tracker.core.windows import window_bounds
from tracker.errors import Invalid


def resolve_range(
    *,
    window: str | None,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    zone: ZoneInfo,
    default: str,
) -> tuple[datetime, datetime, str | None]:
    """A query's period: a named window (or `default`) ending now, or [since, until ?? now)
    cut at now: time yet to come is never counted. Returns (since, until, window)."""
    if since is None:
        if until is not None:
            raise Invalid.one("since", "is required with until")
        start, end = window_bounds(window or default, as_of=now, zone=zone)
        return start, end, window or default
    if window is not None:
        raise Invalid.one("window", "give either window or since/until, not both")
    end = min(until or now, now)
    if end < since:
        raise Invalid.one("until", "must not be before since")
    return since.astimezone(UTC), end.astimezone(UTC), None
