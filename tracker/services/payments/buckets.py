"""What every way in folds payment rows into, a column at a time, and the one conversion of
amounts to fen.

Rows come in long: a row per minute, series (direction, channel, scope) and outcome, with a
count and an amount in fen (`LONG`: what a counts file or an API batch says, or what a
transactions file adds up to). `Buckets.of_long` pivots them once into storage rows: a row
per minute and series with a count and a fen per outcome (null: not written, the stored
value stays), the bitmask of the outcomes written, and the local day the minute counts
toward (`BUCKETS`). Within a batch the last row of a (minute, series, outcome) wins. The
API's JSON, counts files and transactions files all end as Buckets, and `store.write` is the
one thing that writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from math import prod
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from tracker.core.rates import day_of
from tracker.core.vocabulary import OUTCOMES
from tracker.models import COUNT_COLUMNS, FEN_COLUMNS, SERIES_COLUMNS

WIDTH = len(OUTCOMES)
POSITION = {outcome: at for at, outcome in enumerate(OUTCOMES)}
# The outcome positions set in a bitmask of written outcomes.
PRESENT = [tuple(at for at in range(WIDTH) if mask >> at & 1) for mask in range(1 << WIDTH)]
EPOCH = datetime(1970, 1, 1)
KEYS = ("minute", *SERIES_COLUMNS)

# A row per minute, series and outcome; fen null: no amount given.
LONG = pa.schema(
    [
        ("minute", pa.int64()),  # seconds since the epoch, UTC, a whole minute
        ("direction", pa.string()),
        ("channel", pa.string()),
        ("scope", pa.string()),
        ("outcome", pa.int8()),  # position in OUTCOMES
        ("count", pa.int64()),
        ("fen", pa.int64()),
    ]
)
# A row per minute and series: what one storage row becomes.
BUCKETS = pa.schema(
    [
        *(LONG.field(name) for name in KEYS),
        ("written", pa.int32()),  # a bit per outcome written
        ("day", pa.date32()),  # the local day the minute counts toward
        *((name, pa.int64()) for name in (*COUNT_COLUMNS, *FEN_COLUMNS)),
    ]
)
_NO_COUNT = pa.scalar(None, pa.int64())


@dataclass(frozen=True)
class Buckets:
    """Storage rows being filled (`BUCKETS`), each (minute, series) once."""

    table: pa.Table

    @classmethod
    def of_long(cls, long: pa.Table, *, zone: ZoneInfo) -> Buckets:
        """Pivot LONG rows into buckets, the last row of a (minute, series, outcome) winning:
        one ordered group-by on a single integer key (the minute and the series' number in
        the batch) takes each outcome's last count and fen."""
        if not len(long):
            return cls(BUCKETS.empty_table())
        outcome = long.column("outcome").combine_chunks()
        series = _Series.of(long)
        width = series.width
        key = pc.add(pc.multiply(long.column("minute"), width), series.code)
        columns = {"key": key}
        # A fen is carried as fen + 1 (0: not given) so that "last" skips only other outcomes.
        given = pc.add(pc.fill_null(long.column("fen"), -1), 1)
        present = sorted(pc.unique(outcome).to_pylist())
        for at in present:
            mine = pc.equal(outcome, at)
            columns[COUNT_COLUMNS[at]] = pc.if_else(mine, long.column("count"), _NO_COUNT)
            columns[FEN_COLUMNS[at]] = pc.if_else(mine, given, _NO_COUNT)
        aggregates = [(c, "last") for at in present for c in (COUNT_COLUMNS[at], FEN_COLUMNS[at])]
        grouped = pa.table(columns).group_by(["key"], use_threads=False).aggregate(aggregates)
        key = grouped.column("key")
        minute = pc.divide(key, width)
        out = {
            "minute": minute,
            **series.names(pc.subtract(key, pc.multiply(minute, width))),
            "written": _written(grouped, present),
            "day": local_days(minute, zone),
        }
        for at in range(WIDTH):
            if at in present:
                out[COUNT_COLUMNS[at]] = grouped.column(f"{COUNT_COLUMNS[at]}_last")
                fen = grouped.column(f"{FEN_COLUMNS[at]}_last")
                out[FEN_COLUMNS[at]] = pc.if_else(pc.equal(fen, 0), _NO_COUNT, pc.subtract(fen, 1))
            else:
                out[COUNT_COLUMNS[at]] = out[FEN_COLUMNS[at]] = pa.nulls(len(grouped), pa.int64())
        return cls(pa.table(out, schema=BUCKETS))

    def __len__(self) -> int:
        return len(self.table)

    def column(self, name: str) -> pa.ChunkedArray:
        return self.table.column(name)

    def naive(self) -> pa.ChunkedArray:
        """The minutes as naive UTC timestamps (what storage holds)."""
        return pc.cast(self.table.column("minute"), pa.timestamp("s"))

    def earliest(self) -> datetime:
        return EPOCH + timedelta(seconds=pc.min(self.table.column("minute")).as_py())

    def latest(self) -> datetime:
        return EPOCH + timedelta(seconds=pc.max(self.table.column("minute")).as_py())

    def minutes(self) -> list[datetime]:
        """The distinct minutes (naive UTC), in order."""
        distinct = pc.unique(self.table.column("minute")).to_pylist()
        return [EPOCH + timedelta(seconds=m) for m in sorted(distinct)]

    def channels(self) -> set[str]:
        return set(pc.unique(self.table.column("channel")).to_pylist())

    def hours(self) -> list[datetime]:
        """The UTC hours (naive) the buckets fall in."""
        minute = self.table.column("minute")
        hours = pc.unique(pc.multiply(pc.divide(minute, 3600), 3600)).to_pylist()
        return [EPOCH + timedelta(seconds=hour) for hour in sorted(hours)]

    def masks(self) -> list[int]:
        """The distinct sets of outcomes written (bitmasks)."""
        return sorted(pc.unique(self.table.column("written")).to_pylist())

    def rows(self) -> Iterator[tuple[tuple, list, list, int, date]]:
        """(key with the minute naive UTC, counts, fens, written, day) per bucket, in Python:
        the view tests compare."""
        columns = [self.naive(), *(self.table.column(s) for s in SERIES_COLUMNS)]
        keys = zip(*(c.to_pylist() for c in columns), strict=True)
        counts = zip(*(self.table.column(c).to_pylist() for c in COUNT_COLUMNS), strict=True)
        fens = zip(*(self.table.column(c).to_pylist() for c in FEN_COLUMNS), strict=True)
        written = self.table.column("written").to_pylist()
        days = self.table.column("day").to_pylist()
        for row in zip(keys, counts, fens, written, days, strict=True):
            key, count, fen, mask, day = row
            yield key, list(count), list(fen), mask, day


class _Series:
    """The series (direction, channel, scope) of a batch's rows as one integer code each:
    the three names' positions in their dictionaries, mixed."""

    def __init__(self, columns: list[pa.DictionaryArray]) -> None:
        self.dictionaries = [c.dictionary for c in columns]
        self.sizes = [len(d) for d in self.dictionaries]
        self.width = max(1, prod(self.sizes))  # how many codes there can be
        code = pc.cast(columns[0].indices, pa.int64())
        for column, size in zip(columns[1:], self.sizes[1:], strict=True):
            code = pc.add(pc.multiply(code, size), pc.cast(column.indices, pa.int64()))
        self.code = code

    @classmethod
    def of(cls, long: pa.Table) -> _Series:
        """The series of LONG rows, their names coded (once each)."""
        columns = []
        for name in SERIES_COLUMNS:
            column = long.column(name).combine_chunks()
            if pa.types.is_dictionary(column.type) and len(pc.unique(column.dictionary)) < len(
                column.dictionary
            ):  # a name twice in one dictionary (chunks put together) would be two series
                column = column.dictionary_decode()
            if not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column)
            columns.append(column)
        return cls(columns)

    def names(self, codes: pa.Array) -> dict[str, pa.Array]:
        """The series columns of these codes, as text."""
        names = {}
        parts = zip(SERIES_COLUMNS, self.dictionaries, self.sizes, strict=True)
        for name, dictionary, size in reversed(list(parts)):
            rest = pc.divide(codes, size)
            names[name] = pc.take(dictionary, pc.subtract(codes, pc.multiply(rest, size)))
            codes = rest
        return {name: names[name] for name in SERIES_COLUMNS}


def _written(grouped: pa.Table, present: list[int]) -> pa.Array:
    """Each bucket's bitmask of outcomes written: the bits of the outcomes with a count (a
    LONG row always has one)."""
    mask = pa.repeat(pa.scalar(0, pa.int32()), len(grouped))
    for at in present:
        has = pc.is_valid(grouped.column(f"{COUNT_COLUMNS[at]}_last"))
        mask = pc.bit_wise_or(mask, pc.if_else(has, pa.scalar(1 << at, pa.int32()), 0))
    return mask


def long_table(columns: dict[str, object]) -> pa.Table:
    """LONG rows from columns (Arrow arrays or Python lists) by name; the series names may be
    dictionary-coded text (they stay coded)."""
    arrays = {}
    for field in LONG:
        column = columns[field.name]
        if not isinstance(column, pa.Array | pa.ChunkedArray):
            column = pa.array(column, field.type)
        elif not pa.types.is_dictionary(column.type):
            column = column.cast(field.type)
        arrays[field.name] = column
    return pa.table(arrays)


def local_days(minutes: pa.Array, zone: ZoneInfo) -> pa.Array:
    """The local day of each minute (seconds since the epoch, UTC) in `zone`: Arrow's time
    zone database (the system's, as zoneinfo's), else zoneinfo for each distinct minute."""
    try:
        if zone.key is None:  # a zone read from a file: Arrow knows zones by name only
            raise TypeError(zone)
        instants = pc.cast(minutes, pa.timestamp("s", tz=zone.key))
        return pc.cast(pc.local_timestamp(instants), pa.date32())
    except (pa.ArrowException, TypeError):  # a zone Arrow's database does not know
        distinct = pc.unique(minutes)
        days = [
            day_of((EPOCH + timedelta(seconds=m)).replace(tzinfo=UTC), zone)
            for m in distinct.to_pylist()
        ]
        return pc.take(pa.array(days, pa.date32()), pc.index_in(minutes, value_set=distinct))


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
