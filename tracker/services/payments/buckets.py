"""What every way in folds payment rows into: one bucket per stored row, and fen.

A bucket is one storage row being filled (a minute of one series: direction, channel,
scope): a count and an amount in fen per outcome, which outcomes were written, and the local
day its minute counts toward. Rows of the API, of a counts file and of a transactions file
all end as buckets, and `store.write` is the one thing that writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tracker.core.vocabulary import OUTCOMES

WIDTH = len(OUTCOMES)
POSITION = {outcome: at for at, outcome in enumerate(OUTCOMES)}
BIT = [1 << at for at in range(WIDTH)]
# The outcome positions set in a bitmask of written outcomes.
PRESENT = [tuple(at for at in range(WIDTH) if mask >> at & 1) for mask in range(1 << WIDTH)]


class Bucket:
    """One storage row being filled. A count or fen left None was not written: the stored
    value stays. Slotted: the hot loops of ingestion touch one for every row."""

    __slots__ = ("counts", "day", "fens", "written")

    def __init__(self, day: date | None) -> None:
        self.counts: list[int | None] = [None] * WIDTH
        self.fens: list[int | None] = [None] * WIDTH
        self.written = 0  # a bit per outcome written
        self.day = day

    def add(self, at: int, count: int, fen: int) -> None:
        """Add to outcome `at` (transactions add up; counts replace)."""
        self.counts[at] = (self.counts[at] or 0) + count
        self.fens[at] = (self.fens[at] or 0) + fen
        self.written |= BIT[at]

    def __repr__(self) -> str:
        return f"Bucket(counts={self.counts}, fens={self.fens}, day={self.day})"


# (naive UTC minute, direction, channel, scope) → its bucket
Key = tuple[datetime, str, str, str]
Buckets = dict[Key, Bucket]


@dataclass
class Folded:
    """Buckets folded from `rows` rows."""

    buckets: Buckets
    rows: int


def fen_of(amount: str | Decimal | None) -> int | None:
    """ "12.5" (or Decimal("12.5")) → 1250: an amount already checked to have at most two
    places, in fen. The one conversion of payment amounts: buckets, storage and staging all
    hold integer fen (Arrow's column way multiplies its decimals by 100 the same)."""
    if amount is None:
        return None
    if isinstance(amount, Decimal):
        return int(amount.scaleb(2))
    whole, _, cents = amount.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)
