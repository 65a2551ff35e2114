"""The one place that reads the clock; everything else takes `now` as an argument."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)
