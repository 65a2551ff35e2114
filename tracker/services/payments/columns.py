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
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from tracker.core.transactions import BY_REASON, OutcomeMap
from tracker.core.vocabulary import DIRECTIONS, OUTCOMES, SCOPES
from tracker.schemas import CHANNEL_PATTERN, FEN_AMOUNT_PATTERN
from tracker.services.payments.buckets import LONG, POSITION, Buckets, Folded, long_table
from tracker.services.payments.rows import REQUIRED

BLOCK_BYTES = 4 << 20  # a record batch per 4 MiB of file: memory stays flat
MICROS = 60_000_000  # a minute
# How Arrow refuses a cast: a value it cannot convert, or a pair of types it has no kernel for.
CAST_REFUSED = pa.ArrowException
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


def csv_batches(
    stream: BinaryIO, header: list[str], *, coded: bool = False, threads: bool = True
) -> Iterator[tuple[pa.RecordBatch, int]]:
    """A CSV file's record batches of text (one per BLOCK_BYTES), each with the bytes read so
    far, or NotCanonical if Arrow cannot read it as plain CSV under this header. `coded`:
    every column dictionary-coded as it is read (a counts file, whose values repeat).
    `threads`: Arrow parses the next blocks on its threads while this one folds (it reads
    several ahead first, so the first batch comes later)."""
    text = pa.dictionary(pa.int32(), pa.string()) if coded else pa.string()
    counted = _Counted(stream)
    try:
        reader = pa_csv.open_csv(
            counted,
            read_options=pa_csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=threads),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: text for name in header}, strings_can_be_null=False
            ),
        )
        if reader.schema.names != header:
            raise NotCanonical("the header is not in canonical form")
        for batch in reader:
            yield batch, counted.read_bytes
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError) as exc:
        raise NotCanonical(str(exc)) from None


MINUTE_RUN = 4096  # rows of one minute held back at most


def whole_minutes(
    batches: Iterator[dict[str, Any]], *, longest: int = MINUTE_RUN
) -> Iterator[dict[str, Any]]:
    """The same rows in the same order, each batch's trailing run of its last minute held back
    and put before the next batch's rows (as chunks of its columns): a file in time order, cut
    into blocks anywhere, is written a minute at a time, so no batch replaces what the one
    before it has just written (reading it back, joining, taking it off the daily totals).
    A run longer than `longest` rows (a file that is not in time order, or a minute of
    thousands of series) is not held: memory stays bounded, and the write replaces."""
    held: dict[str, Any] | None = None
    for batch in batches:
        if held is not None:
            batch = {name: _joined(held[name], column) for name, column in batch.items()}
        batch, held = _cut_last_minute(batch, longest)
        if batch is not None:
            yield batch
    if held is not None:
        yield held


def _cut_last_minute(
    batch: dict[str, Any], longest: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the rows before the trailing run of the last row's minute, that run), or (batch,
    None) if the run is longer than `longest` rows, or (None, batch) if it is all of it."""
    minute = batch["minute"]
    rows = len(minute)
    if not rows:
        return None, None
    tail = minute.slice(max(0, rows - longest - 1))
    try:
        other = pc.indices_nonzero(pc.invert(pc.equal(tail, tail[-1])))
    except pa.ArrowException:  # not a column of minutes: the fold says why
        return batch, None
    if not len(other):
        return (None, batch) if len(tail) == rows else (batch, None)
    cut = rows - len(tail) + pc.max(other).as_py() + 1
    return (
        {name: column.slice(0, cut) for name, column in batch.items()},
        {name: column.slice(cut) for name, column in batch.items()},
    )


def _joined(before: Any, after: Any) -> pa.ChunkedArray:
    """Two columns of the same type as one, chunk after chunk."""
    chunks = [
        chunk
        for column in (before, after)
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    ]
    return pa.chunked_array(chunks, type=after.type)


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
    NotCanonical. Columns are Arrow text (plain or dictionary-coded, as a CSV is read), except
    that `count` may be integers and, from Parquet, `minute` timestamps and `amount` decimals.
    Text is checked and converted once per distinct value: a file repeats each minute, series
    name, count and amount many times."""
    direction = _coded(columns["direction"], lambda v: pc.is_in(v, value_set=_DIRECTIONS))
    channel = _coded(columns["channel"], lambda v: pc.match_substring_regex(v, CHANNEL_PATTERN))
    scope = _coded(columns["scope"], lambda v: pc.is_in(v, value_set=_SCOPES))
    outcome = per_value(columns["outcome"], _positions)
    count = per_value(columns["count"], _counts)
    amount = columns.get("amount")
    rows = len(columns["minute"])
    if amount is None:
        fens = pa.nulls(rows, pa.int64())
    elif is_text(amount.type):
        fens = per_value(
            pc.fill_null(amount, "0") if amount.null_count else amount,  # null: not given (JSON)
            partial(_text_fens, blank_amount=blank_amount),
        )
        if amount.null_count:
            fens = pc.if_else(pc.is_valid(amount), fens, pa.scalar(None, pa.int64()))
    else:  # Parquet's decimals or integers; a null is not given
        given = pc.is_valid(amount)
        fens = pc.if_else(given, fens_of(pc.fill_null(amount, 0)), pa.scalar(None, pa.int64()))
    long = long_table(
        {
            "minute": per_value(columns["minute"], _utc_epochs),
            "direction": direction,
            "channel": channel,
            "scope": scope,
            "outcome": outcome,
            "count": count,
            "fen": fens,
        }
    )
    return Folded(Buckets.of_long(long, zone=zone), rows)


def is_text(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind)
    )


def _coded(column: Any, canonical: Callable[[Any], Any] | None = None) -> pa.DictionaryArray:
    """A text column dictionary-coded (as it is, if it is), its distinct values checked by
    `canonical`; NotCanonical if it is not text or holds a null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not is_text(column.type):
        raise NotCanonical("a column is not text")
    coded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    if coded.null_count:
        raise NotCanonical("a value is missing")
    values = _text(coded.dictionary)
    if canonical is not None:
        check(canonical(values))
    return pa.DictionaryArray.from_arrays(coded.indices, values)


def per_value(column: Any, convert: Callable[[Any], Any]) -> Any:
    """`convert(column)`, run once per distinct value when the column is text."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not is_text(column.type):
        return convert(column)
    coded = _coded(column)
    return pc.take(convert(coded.dictionary), coded.indices)


def _positions(outcome: Any) -> Any:
    check(pc.is_in(_text(outcome), value_set=_OUTCOMES))
    return pc.cast(pc.index_in(outcome, value_set=_OUTCOMES), pa.int8())


def _counts(count: Any) -> Any:
    if is_text(count.type):
        check(pc.match_substring_regex(_text(count), COUNT))
    elif pa.types.is_integer(count.type):
        check(pc.and_(pc.greater_equal(count, 0), pc.less_equal(count, 2**62)))
    else:
        raise NotCanonical("a count is neither text nor an integer")
    return pc.cast(count, pa.int64())


def _text_fens(amount: Any, *, blank_amount: bool) -> Any:
    """Fen of amounts as text; with `blank_amount`, an empty one is not given (null)."""
    if not blank_amount:
        return fens_of(amount)
    blank = pc.equal(amount, "")
    fens = fens_of(pc.if_else(blank, "0", amount))
    return pc.if_else(blank, pa.scalar(None, pa.int64()), fens)


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


# ---- transactions ----------------------------------------------------------------------------

# Canonical transaction values: what the row way (pydantic's Transaction) takes unchanged.
ORDER_ID = r"^[A-Za-z0-9_.:/#-]{1,128}$"
ATTEMPT = r"^([1-9][0-9]{0,2}|1000)$"
REASON_CODE = r"^[A-Za-z0-9_.-]{0,64}$"
_FLAGS = pa.array(["true", "false"])
# The partial sums a transactions file folds into: a row per minute, series and outcome.
TOTALS = LONG
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
