"""How figures print in reports (DESIGN §4.7): truncated percentages, shortest counts."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from tracker.core.exact import Number, exact, to_decimal
from tracker.core.texts import Lang, text


def percent(value: Number | None, *, lang: Lang = "zh", places: int = 3) -> str:
    """⌊value × 100 × 10^places⌋ / 10^places followed by '%' (truncated, never rounded up);
    exactly 1 is '100%', None is 'no data' in `lang`."""
    if value is None:
        return text("no_data", lang)
    fraction = exact(value)
    if fraction == 1:
        return "100%"
    truncated = math.floor(fraction * 100 * 10**places)
    return f"{Decimal(truncated).scaleb(-places):f}%"


def count(value: Number) -> str:
    """The shortest decimal that equals `value`: 0, 0.5, 1.25, 1 (never 1.0)."""
    fraction = exact(value)
    if fraction == 0:
        return "0"
    decimal = to_decimal(fraction)
    return f"{decimal.normalize():f}"


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with `Z`; microseconds only when there are any."""
    if moment.tzinfo is not UTC:  # stored times are UTC already: lists format thousands
        moment = moment.astimezone(UTC)
    return moment.isoformat()[:-6] + "Z"  # "+00:00" → "Z"
