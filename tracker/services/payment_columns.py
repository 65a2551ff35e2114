"""Payment-count rows a column at a time, with Apache Arrow: the fast way in for big files.

A CSV file whose every value is in canonical form (the form of tracker's own exports and of
the documented examples: `2024-07-23T10:04:00+08:00`, `pay_in`, `950`, `1234.50`) is read by
Arrow's CSV reader, checked and converted by its vectorised kernels, and folded into storage
buckets without judging each value in Python. Anything else (another time format, spaces, a
bad value, a ragged line) is not judged here: the file goes the row-at-a-time way of
`payment_rows`, where pydantic decides and names the line and field. So this module never
refuses a row; it folds a batch, or says it cannot (`NotCanonical`). A property test checks
that whatever it folds, the row-at-a-time path folds the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from tracker.core.rates import day_of
from tracker.core.vocabulary import DIRECTIONS, OUTCOMES, SCOPES
from tracker.schemas import CHANNEL_PATTERN, FEN_AMOUNT_PATTERN
from tracker.services.payment_rows import (
    BIT,
    COUNTS,
    DAY,
    FENS,
    REQUIRED,
    WRITTEN,
    Buckets,
    Folded,
    new_bucket,
)

BLOCK_BYTES = 1 << 20  # a record batch per MiB of file: memory stays flat
EPOCH = datetime(1970, 1, 1)
# A whole minute, years 1000-2999, with Z or an offset of at most 23:59.
MINUTE = (
    r"^[12][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:00(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
COUNT = r"^[0-9]{1,18}$"  # below 2**62 whatever the digits
_DIRECTIONS = pa.array(list(DIRECTIONS))
_SCOPES = pa.array(list(SCOPES))
_OUTCOMES = pa.array(list(OUTCOMES))


class NotCanonical(Exception):
    """Some value is not in canonical form (or the file is not plain CSV): use the row path."""


def import_counts(
    stream: BinaryIO,
    header: list[str],
    *,
    zone: ZoneInfo,
    write: Callable[[Buckets], None],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fold and write a counts file a record batch at a time; returns its rows. Raises
    NotCanonical (after writing some batches: run it inside a savepoint) if the file is not
    canonical throughout. Progress is told as each batch is written, not as Arrow reads
    ahead (it reads the blocks of a file well before it parses them)."""
    rows = 0
    counted = _Counted(stream)
    told = 0
    for batch in _batches(counted, header):
        folded = fold_columns(
            {name: batch.column(name) for name in header}, zone=zone, blank_amount=True
        )
        write(folded.buckets)
        rows += folded.rows
        if progress is not None:  # a batch is a block of the file: BLOCK_BYTES, or the rest
            step = min(BLOCK_BYTES, counted.read_bytes - told)
            progress(step)
            told += step
    if progress is not None and counted.read_bytes > told:
        progress(counted.read_bytes - told)
    return rows


def fold_objects(rows: list[Any], *, zone: ZoneInfo) -> Folded:
    """Fold a JSON batch (objects as the parser made them) a column at a time, or raise
    NotCanonical: a row that is not an object of the known members, a count that is not an
    integer, or any value not in canonical form."""
    try:
        values = {name: [row[name] for row in rows] for name in REQUIRED}
        amounts = [row.get("amount") for row in rows]
        members = sum(map(len, rows))
    except (KeyError, TypeError, AttributeError):
        raise NotCanonical("a row is not an object of the known members") from None
    # Rows with an amount have seven members, the others six; an explicit null amount counts
    # as not given here and sends the batch the row way, which is just slower.
    if members != len(rows) * (len(REQUIRED) + 1) - amounts.count(None):
        raise NotCanonical("a row has members other than the known ones")
    if not set(map(type, values["count"])) <= {int}:
        raise NotCanonical("a count is not an integer")  # Arrow would truncate 5.5 to 5
    try:
        columns = {
            name: pa.array(column, type=pa.int64() if name == "count" else pa.string())
            for name, column in values.items()
        }
        columns["amount"] = pa.array(amounts, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise NotCanonical("a value is not of its type") from None
    return fold_columns(columns, zone=zone)


def _batches(stream: _Counted, header: list[str]) -> Iterator[pa.RecordBatch]:
    try:
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
        if reader.schema.names != header:
            raise NotCanonical("the header is not in canonical form")
        yield from reader
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError) as exc:
        raise NotCanonical(str(exc)) from None


class _Counted:
    """A binary stream that counts the bytes read from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.read_bytes, self.closed = stream, 0, False

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.read_bytes += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def fold_columns(columns: dict[str, Any], *, zone: ZoneInfo, blank_amount: bool = False) -> Folded:
    """Check canonical columns at once and fold them (the last row of a key wins), or raise
    NotCanonical. Columns are Arrow string arrays, except that `count` may be int64."""
    minute, direction, channel, scope, outcome, count = (columns[f] for f in REQUIRED)
    amount = columns.get("amount")
    checks = [
        pc.match_substring_regex(minute, MINUTE),
        pc.is_in(direction, value_set=_DIRECTIONS),
        pc.match_substring_regex(channel, CHANNEL_PATTERN),
        pc.is_in(scope, value_set=_SCOPES),
        pc.is_in(outcome, value_set=_OUTCOMES),
    ]
    if pa.types.is_string(count.type):
        checks.append(pc.match_substring_regex(count, COUNT))
    else:
        checks.append(pc.and_(pc.greater_equal(count, 0), pc.less_equal(count, 2**62)))
    if amount is not None:
        given = pc.not_equal(amount, "") if blank_amount else pc.is_valid(amount)
        canonical = pc.match_substring_regex(amount, FEN_AMOUNT_PATTERN)
        checks.append(pc.or_kleene(pc.invert(given), canonical))
        amount = pc.if_else(given, amount, None)
    for check in checks:
        if check.null_count or not pc.all(check).as_py():
            raise NotCanonical("a value is not in canonical form")
    epochs = _utc_epochs(minute)
    counts = count if pa.types.is_integer(count.type) else pc.cast(count, pa.int64())
    if amount is None:
        fens = [None] * len(minute)
    else:
        cents = pc.multiply(pc.cast(amount, pa.decimal128(18, 2)), 100)
        fens = pc.cast(cents, pa.int64()).to_pylist()
    return _fold(
        epochs.to_pylist(),
        direction.to_pylist(),
        channel.to_pylist(),
        scope.to_pylist(),
        pc.index_in(outcome, value_set=_OUTCOMES).to_pylist(),
        counts.to_pylist(),
        fens,
        zone,
    )


def _utc_epochs(minute: Any) -> Any:
    """Seconds since the epoch (UTC) of canonical minutes (Arrow's strict ISO 8601 cast: a
    date that does not exist, 2024-02-30 or 24:00, is NotCanonical)."""
    try:
        instants = pc.cast(minute, pa.timestamp("s", tz="UTC"))
    except pa.ArrowInvalid:
        raise NotCanonical("a minute is not a date and time") from None
    return pc.cast(instants, pa.int64())


def _fold(epochs, directions, channels, scopes, positions, counts, fens, zone) -> Folded:
    """Fold values already known to be valid (the trusted half of `payment_rows.fold`): keyed
    by the epoch while folding (an int hashes faster than a datetime), by the minute after."""
    slots: dict[tuple, list] = {}
    keys = zip(epochs, directions, channels, scopes, strict=True)
    for key, at, count, fen in zip(keys, positions, counts, fens, strict=True):
        bucket = slots.get(key)
        if bucket is None:
            bucket = slots[key] = new_bucket(None)  # its day is known after the fold
        bucket[COUNTS][at] = count
        bucket[FENS][at] = fen
        bucket[WRITTEN] |= BIT[at]
    buckets: Buckets = {}
    minutes: dict[int, tuple[datetime, Any]] = {}
    for (epoch, *series), bucket in slots.items():
        when = minutes.get(epoch)
        if when is None:
            naive = EPOCH + timedelta(seconds=epoch)
            when = minutes[epoch] = (naive, day_of(naive.replace(tzinfo=UTC), zone))
        bucket[DAY] = when[1]
        buckets[(when[0], *series)] = bucket
    return Folded(buckets, len(epochs))
