"""Payment rows a column at a time, with Apache Arrow: the fast way in for big batches.

A batch whose every value is in canonical form (the form of tracker's own exports and of
the documented examples: `2024-07-23T10:04:00+08:00`, `pay_in`, `950`, `1234.50`; in
Parquet, also timestamps with a zone, integers, decimals and booleans) is checked and
converted by Arrow's vectorised kernels without judging each value in Python. Counts fold
into storage buckets (`fold_columns`, `fold_objects` for the API's JSON); transactions are
classified through config/outcomes.toml as dictionary lookups and added up by minute,
series, scope and outcome with Arrow's group-by (`fold_transactions`). Anything else (another
time format, spaces, a bad value, a ragged line) is not judged here: the batch goes the
row-at-a-time way, where pydantic decides and names the line and field. So this module
never refuses a row; it folds a batch, or says it cannot (`NotCanonical`). Property tests
check that whatever it folds, the row way folds the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from tracker.core.rates import day_of
from tracker.core.transactions import BY_REASON, OutcomeMap
from tracker.core.vocabulary import DIRECTIONS, OUTCOMES, SCOPES
from tracker.schemas import CHANNEL_PATTERN, FEN_AMOUNT_PATTERN
from tracker.services.payments.buckets import POSITION, Bucket, Buckets, Folded
from tracker.services.payments.rows import REQUIRED

BLOCK_BYTES = 1 << 20  # a record batch per MiB of file: memory stays flat
EPOCH = datetime(1970, 1, 1)
MICROS = 60_000_000  # a minute
# How Arrow refuses a cast: a value it cannot convert, or a pair of types it has no kernel for.
CAST_REFUSED = (pa.ArrowInvalid, pa.ArrowNotImplementedError)
# An instant of years 1000-2999 to the second or the microsecond, with Z or an offset of at
# most 23:59 (Arrow's cast then refuses a date that does not exist; before 1970, a check).
INSTANT = (
    r"^[12][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
COUNT = r"^[0-9]{1,18}$"  # below 2**62 whatever the digits
_DIRECTIONS = pa.array(list(DIRECTIONS))
_SCOPES = pa.array(list(SCOPES))
_OUTCOMES = pa.array(list(OUTCOMES))


class NotCanonical(Exception):
    """Some value is not in canonical form (or the file is not plain CSV): use the row path."""


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


def csv_batches(stream: BinaryIO, header: list[str]) -> Iterator[tuple[pa.RecordBatch, int]]:
    """A CSV file's record batches of text (one per BLOCK_BYTES), each with the bytes read so
    far, or NotCanonical if Arrow cannot read it as plain CSV under this header."""
    counted = _Counted(stream)
    try:
        reader = pa_csv.open_csv(
            counted,
            # Arrow parses the next blocks on its threads while this one folds the last.
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
        if reader.schema.names != header:
            raise NotCanonical("the header is not in canonical form")
        for batch in reader:
            yield batch, counted.read_bytes
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
    direction, channel, scope, outcome = map(_text, (direction, channel, scope, outcome))
    amount = columns.get("amount")
    checks = [
        pc.is_in(direction, value_set=_DIRECTIONS),
        pc.match_substring_regex(channel, CHANNEL_PATTERN),
        pc.is_in(scope, value_set=_SCOPES),
        pc.is_in(outcome, value_set=_OUTCOMES),
    ]
    if pa.types.is_string(count.type):
        checks.append(pc.match_substring_regex(count, COUNT))
    elif pa.types.is_integer(count.type):
        checks.append(pc.and_(pc.greater_equal(count, 0), pc.less_equal(count, 2**62)))
    else:
        raise NotCanonical("a count is neither text nor an integer")
    for canonical in checks:
        check(canonical)
    epochs = _utc_epochs(minute)
    counts = pc.cast(count, pa.int64())
    if amount is None:
        fens = [None] * len(minute)
    else:
        text = pa.types.is_string(amount.type)
        given = pc.not_equal(amount, "") if blank_amount and text else pc.is_valid(amount)
        given = pc.fill_null(given, False)
        if pc.all(given).as_py():
            fens = fens_of(amount).to_pylist()
        elif not pc.any(given).as_py():
            fens = [None] * len(minute)
        else:  # some amounts given: the others are None, not 0
            filled = pc.if_else(given, amount, "0") if text else pc.fill_null(amount, 0)
            fens = fens_of(filled).to_pylist()
            fens = [f if g else None for f, g in zip(fens, given.to_pylist(), strict=True)]
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
    """Seconds since the epoch (UTC) of canonical whole minutes from 1970 on: ISO 8601 text
    (Arrow's strict cast: a date that does not exist, 2024-02-30 or 24:00, is NotCanonical)
    or a Parquet timestamp with a time zone."""
    micros = pc.cast(instants_of(minute), pa.int64())
    whole = pc.equal(pc.subtract(micros, pc.multiply(pc.divide(micros, MICROS), MICROS)), 0)
    if not pc.all(whole).as_py():
        raise NotCanonical("a minute has seconds")
    return pc.divide(micros, 1_000_000)


def instants_of(column: Any) -> Any:
    """Microsecond UTC timestamps of a time column, or NotCanonical: text checked by
    `INSTANT` or Parquet timestamps with a time zone; before 1970 is never canonical."""
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            raise NotCanonical("a timestamp without a time zone")
        instants = pc.cast(column, pa.timestamp("us", tz="UTC"))
    else:
        check(pc.match_substring_regex(_text(column), INSTANT))
        try:
            instants = pc.cast(column, pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            raise NotCanonical("a time is not a date and time") from None
    check(pc.greater_equal(pc.cast(instants, pa.int64()), 0))
    return instants


def fens_of(amount: Any) -> Any:
    """int64 fen of an amount column: canonical text (FEN_AMOUNT_PATTERN) or a Parquet decimal
    or integer of at most two places, 0 to 10**16; anything else is NotCanonical."""
    if pa.types.is_string(amount.type) or pa.types.is_large_string(amount.type):
        check(pc.match_substring_regex(amount, FEN_AMOUNT_PATTERN))
        exact = pc.cast(amount, pa.decimal128(18, 2))
    elif pa.types.is_decimal(amount.type) or pa.types.is_integer(amount.type):
        try:
            exact = pc.cast(amount, pa.decimal128(18, 2))  # safe: refuses a third place
        except CAST_REFUSED:
            raise NotCanonical("an amount is not of two places") from None
        check(pc.and_(pc.greater_equal(exact, 0), pc.less_equal(exact, 10**16)))
    else:
        raise NotCanonical("an amount is neither text nor a decimal")
    return pc.cast(pc.multiply(exact, 100), pa.int64())


def check(canonical: Any) -> None:
    """NotCanonical unless every value passed (a null never does)."""
    if canonical.null_count or not pc.all(canonical).as_py():
        raise NotCanonical("a value is not in canonical form")


def _text(column: Any) -> Any:
    if pa.types.is_string(column.type):
        return column
    if pa.types.is_large_string(column.type) or pa.types.is_dictionary(column.type):
        try:
            return pc.cast(column, pa.string())
        except CAST_REFUSED:
            raise NotCanonical("a column is not text") from None
    raise NotCanonical("a column is not text")


def _fold(epochs, directions, channels, scopes, positions, counts, fens, zone) -> Folded:
    """Fold values already known to be valid (the trusted half of `rows.fold`): keyed
    by the epoch while folding (an int hashes faster than a datetime), by the minute after."""
    slots: dict[tuple, list] = {}
    keys = zip(epochs, directions, channels, scopes, strict=True)
    for key, at, count, fen in zip(keys, positions, counts, fens, strict=True):
        bucket = slots.get(key)
        if bucket is None:
            bucket = slots[key] = Bucket(None)  # its day is known after the fold
        bucket.counts[at] = count
        bucket.fens[at] = fen
        bucket.written |= 1 << at
    buckets: Buckets = {}
    minutes: dict[int, tuple[datetime, Any]] = {}
    for (epoch, *series), bucket in slots.items():
        when = minutes.get(epoch)
        if when is None:
            naive = EPOCH + timedelta(seconds=epoch)
            when = minutes[epoch] = (naive, day_of(naive.replace(tzinfo=UTC), zone))
        bucket.day = when[1]
        buckets[(when[0], *series)] = bucket
    return Folded(buckets, len(epochs))


# ---- transactions ----------------------------------------------------------------------------

# Canonical transaction values: what the row way (pydantic's Transaction) takes unchanged.
ORDER_ID = r"^[A-Za-z0-9_.:/#-]{1,128}$"
ATTEMPT = r"^([1-9][0-9]{0,2}|1000)$"
REASON_CODE = r"^[A-Za-z0-9_.-]{0,64}$"
_FLAGS = pa.array(["true", "false"])
# The partial sums a transactions file folds into, a row per bucket and outcome.
TOTALS = pa.schema(
    [
        ("minute", pa.int64()),  # seconds since the epoch, UTC
        ("direction", pa.string()),
        ("channel", pa.string()),
        ("scope", pa.string()),
        ("outcome", pa.int8()),  # position in OUTCOMES
        ("count", pa.int64()),
        ("fen", pa.int64()),
    ]
)
TOTAL_KEYS = TOTALS.names[:5]


class Classifier:
    """config/outcomes.toml as Arrow lookups: a status's outcome position (-1: by reason),
    a reason code's, and the default's."""

    def __init__(self, outcomes: OutcomeMap) -> None:
        self.statuses = pa.array(list(outcomes.statuses))
        self.status_outcome = pa.array(
            [-1 if o == BY_REASON else POSITION[o] for o in outcomes.statuses.values()], pa.int8()
        )
        self.codes = pa.array(list(outcomes.codes), pa.string())
        self.code_outcome = pa.array([POSITION[o] for o in outcomes.codes.values()], pa.int8())
        self.default = POSITION[outcomes.default]

    def outcomes(self, status: Any, reason: Any) -> tuple[Any, Counter[str]]:
        """Each row's outcome position and the unmapped codes seen; NotCanonical for a status
        that is not known as written (the row way strips it, or names it)."""
        at = pc.index_in(pc.utf8_lower(status), value_set=self.statuses)
        check(pc.is_valid(at))
        outcome = pc.take(self.status_outcome, at)
        by_reason = pc.equal(outcome, -1)
        unmapped: Counter[str] = Counter()
        if not pc.any(by_reason).as_py():
            return outcome, unmapped
        codes = pc.utf8_upper(reason)
        code_at = pc.index_in(codes, value_set=self.codes)
        by_code = pc.fill_null(pc.take(self.code_outcome, code_at), self.default)
        unknown = pc.filter(codes, pc.and_(by_reason, pc.is_null(code_at)))
        for entry in pc.value_counts(unknown).to_pylist():
            unmapped[entry["values"] or "(empty)"] += entry["counts"]
        return pc.if_else(by_reason, by_code, outcome), unmapped


def fold_transactions(columns: dict[str, Any], classifier: Classifier) -> tuple[Any, Counter]:
    """Check a batch of transactions at once and add it up by minute, series, scope and
    outcome (TOTALS), or raise NotCanonical: attempt 1 feeds first_attempt, final rows feed
    final. Columns are CSV text or Parquet's types."""
    order_id, status, reason = (_text(columns[c]) for c in ("order_id", "status", "reason_code"))
    direction, channel = _text(columns["direction"]), _text(columns["channel"])
    check(pc.match_substring_regex(order_id, ORDER_ID))
    check(pc.is_in(direction, value_set=_DIRECTIONS))
    check(pc.match_substring_regex(channel, CHANNEL_PATTERN))
    check(pc.match_substring_regex(reason, REASON_CODE))
    first, final = _first_attempts(columns["attempt"]), _finals(columns["is_final"])
    micros = pc.cast(instants_of(columns["created_at"]), pa.int64())
    minutes = pc.multiply(pc.divide(micros, MICROS), 60)
    outcome, unmapped = classifier.outcomes(status, reason)
    rows = pa.table(
        {
            "minute": minutes,
            "direction": direction,
            "channel": channel,
            "outcome": outcome,
            "first": first,
            "final": final,
            "fen": fens_of(columns["amount"]),
        }
    )
    # One group-by over the rows with both scope flags as keys; each scope then adds up the
    # few groups that belong to it (filtering the rows per scope would copy them twice).
    keys = ["minute", "direction", "channel", "outcome"]
    grouped = rows.group_by([*keys, "first", "final"]).aggregate([("fen", "sum"), ("fen", "count")])
    parts = []
    for scope, flag in (("first_attempt", "first"), ("final", "final")):
        part = (
            grouped.filter(grouped.column(flag))
            .group_by(keys)
            .aggregate([("fen_sum", "sum"), ("fen_count", "sum")])
        )
        parts.append(part.append_column("scope", pa.repeat(pa.scalar(scope), len(part))))
    added = pa.concat_tables(parts)
    return _as_totals(added, count="fen_count_sum", fen="fen_sum_sum"), unmapped


def add_totals(tables: list[Any]) -> Any:
    """Partial sums added up into one row per key (TOTALS)."""
    if not tables:
        return TOTALS.empty_table()
    added = (
        pa.concat_tables(tables).group_by(TOTAL_KEYS).aggregate([("count", "sum"), ("fen", "sum")])
    )
    return _as_totals(added, count="count_sum", fen="fen_sum")


def _as_totals(table: Any, *, count: str, fen: str) -> Any:
    return pa.table(
        [
            *(table.column(k).cast(TOTALS.field(k).type) for k in TOTAL_KEYS),
            table.column(count).cast(pa.int64()),
            table.column(fen).cast(pa.int64()),
        ],
        schema=TOTALS,
    )


def buckets_of_totals(totals: Any, *, zone: ZoneInfo) -> Buckets:
    """TOTALS rows as storage buckets: each outcome written is the sum of its rows."""
    buckets: Buckets = {}
    minutes: dict[int, tuple[datetime, Any]] = {}
    columns = [totals.column(name).to_pylist() for name in TOTALS.names]
    for epoch, direction, channel, scope, at, count, fen in zip(*columns, strict=True):
        when = minutes.get(epoch)
        if when is None:
            naive = EPOCH + timedelta(seconds=epoch)
            when = minutes[epoch] = (naive, day_of(naive.replace(tzinfo=UTC), zone))
        key = (when[0], direction, channel, scope)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = Bucket(when[1])
        bucket.add(at, count, fen)
    return buckets


def _first_attempts(attempt: Any) -> Any:
    if pa.types.is_integer(attempt.type):
        check(pc.and_(pc.greater_equal(attempt, 1), pc.less_equal(attempt, 1000)))
        return pc.equal(attempt, 1)
    attempt = _text(attempt)
    check(pc.match_substring_regex(attempt, ATTEMPT))
    return pc.equal(attempt, "1")


def _finals(is_final: Any) -> Any:
    if pa.types.is_boolean(is_final.type):
        check(pc.is_valid(is_final))
        return is_final
    is_final = _text(is_final)
    check(pc.is_in(is_final, value_set=_FLAGS))
    return pc.equal(is_final, "true")
