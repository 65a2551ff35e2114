"""Raw payment-count rows in, storage buckets out: the hot loop of ingestion.

Rows arrive as the JSON parser or the CSV reader made them, not as pydantic output:
validating 10,000 rows field by field through pydantic costs more than writing them. So each
row takes a cheap test that accepts only values pydantic would take unchanged (a minute or a
series already validated in this batch, a known outcome, a plain non-negative integer, an
amount in canonical form), and any row that fails it is validated whole by pydantic's
`PaymentCountRow`, which either accepts it (normalising it as the API documents) or names its
errors. pydantic stays the one definition of a valid row; the cheap tests only skip its work
where it would change nothing, and a property test checks that both always agree.

Folding: the rows of one minute and series (direction, channel, scope) become one storage row
with a count and an amount per outcome; within a batch the last row of a key wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from tracker.core.rates import day_of
from tracker.errors import FieldError
from tracker.schemas import FEN_AMOUNT_PATTERN, PaymentCountRow, validation_errors
from tracker.services.payments.buckets import POSITION, Bucket, Buckets, Folded, fen_of

FIELDS = ("minute", "direction", "channel", "scope", "outcome", "count", "amount")
REQUIRED = FIELDS[:-1]
MAX_COUNT = 2**62
WHOLE_MINUTE = "must be the start of a whole minute (seconds = 0)"
# An amount pydantic takes as it is (FenAmount's pattern, no surrounding space).
CANONICAL_AMOUNT = re.compile(FEN_AMOUNT_PATTERN)

ROW = TypeAdapter(PaymentCountRow)
_REQUIRED_OF = itemgetter(*REQUIRED)

# (minute, direction, channel, scope, outcome, count, amount): a row's values as they came,
# amount None when not given.
Record = tuple[Any, Any, Any, Any, Any, Any, Any]


class BadRow(Exception):
    """Row `index` of a batch is invalid; `errors` name its fields (`count`, `minute`, …)."""

    def __init__(self, index: int, errors: list[FieldError]) -> None:
        super().__init__(f"row {index}: {errors[0].field}: {errors[0].message}")
        self.index = index
        self.errors = errors

    def at(self, prefix: str) -> list[FieldError]:
        """The errors with paths under `prefix[index]`, as the API reports them."""
        return [
            FieldError(f"{prefix}[{self.index}]" + (f".{e.field}" if e.field else ""), e.message)
            for e in self.errors
        ]


def fold(records: Iterable[Record], *, zone: ZoneInfo, blank_amount: bool = False) -> Folded:
    """Validate and fold rows; the first invalid row raises `BadRow`. `blank_amount`: an empty
    amount means "not given" (a CSV cell), instead of an invalid amount."""
    batch = _Batch(zone, blank_amount)
    slots = batch.slots
    rows = 0
    for index, record in enumerate(records):  # kept flat on purpose: this is the hot loop
        minute, direction, channel, scope, outcome, count, amount = record
        try:
            bucket = slots.get((minute, direction, channel, scope))
            at = POSITION.get(outcome)
        except TypeError:  # an unhashable value (a list or an object): never valid
            bucket = at = None
        if type(count) is not int:
            digits = type(count) is str and count.isdigit() and count.isascii()
            count = int(count) if digits and len(count) < 19 else -1
        if amount is None or (blank_amount and amount == ""):
            fen = None
        elif type(amount) is str and CANONICAL_AMOUNT.fullmatch(amount):
            fen = fen_of(amount)
        else:
            fen = -1
        if at is None or not 0 <= count <= MAX_COUNT or fen == -1:
            at, count, fen = batch.validated(record, index)
        if bucket is None:
            bucket = batch.bucket(record, index)
        bucket.counts[at] = count
        bucket.fens[at] = fen
        bucket.written |= 1 << at
        rows = index + 1
    return Folded(batch.buckets, rows)


class _Batch:
    """What one fold has learnt: the bucket of each (minute, series) as given, and the
    minutes and series already validated, so pydantic sees each of them once."""

    def __init__(self, zone: ZoneInfo, blank_amount: bool) -> None:
        self.zone = zone
        self.blank_amount = blank_amount
        self.buckets: Buckets = {}
        self.slots: dict[tuple, Bucket] = {}  # (minute, direction, channel, scope) as given
        self.minutes: dict[Any, tuple[datetime, date]] = {}  # as given → (naive UTC, local day)
        self.series: dict[tuple, tuple[str, str, str]] = {}  # as given → as validated

    def validated(self, record: Record, index: int) -> tuple[int, int, int | None]:
        """The whole row through pydantic: (outcome position, count, fen), or BadRow."""
        valid = self._row(record, index)
        return POSITION[valid["outcome"]], valid["count"], fen_of(valid.get("amount"))

    def bucket(self, record: Record, index: int) -> Bucket:
        """The bucket of a row's minute and series, validating them on first sight."""
        raw_series = tuple(record[1:4])
        when = self.minutes.get(record[0])
        names = self.series.get(raw_series)
        if when is None or names is None:
            valid = self._row(record, index)
            minute = valid["minute"]
            when = (minute.astimezone(UTC).replace(tzinfo=None), day_of(minute, self.zone))
            names = (valid["direction"], valid["channel"], valid["scope"])
            self.minutes[record[0]] = when
            self.series[raw_series] = names
        key = (when[0], *names)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(when[1])
        self.slots[(record[0], *raw_series)] = bucket
        return bucket

    def _row(self, record: Record, index: int) -> dict[str, Any]:
        row = dict(zip(FIELDS, record, strict=True))
        if row["amount"] is None or (self.blank_amount and row["amount"] == ""):
            del row["amount"]  # not given
        try:
            valid = ROW.validate_python(row)
        except ValidationError as exc:
            raise BadRow(index, _row_errors(exc)) from None
        minute = valid["minute"]
        if minute.second or minute.microsecond:
            raise BadRow(index, [FieldError("minute", WHOLE_MINUTE)])
        return valid


def _row_errors(exc: ValidationError) -> list[FieldError]:
    """pydantic's errors of one row, with paths inside it ("" for the row as a whole)."""
    return [
        FieldError(e.field.removeprefix("$").lstrip("."), e.message)
        for e in validation_errors(exc, prefix="$")
    ]


def json_records(rows: Sequence[Any]) -> Iterator[Record]:
    """The records of a JSON batch's rows (objects); an object with missing or unknown
    members is validated whole here, so its errors are pydantic's."""
    for index, row in enumerate(rows):
        try:
            if len(row) == len(REQUIRED):
                yield (*_REQUIRED_OF(row), None)
                continue
            if len(row) == len(FIELDS):
                yield (*_REQUIRED_OF(row), row["amount"])
                continue
        except (KeyError, TypeError):
            pass
        try:
            valid = ROW.validate_python(row)
        except ValidationError as exc:
            raise BadRow(index, _row_errors(exc)) from None
        yield (*_REQUIRED_OF(valid), valid.get("amount"))


def csv_records(rows: Iterable[Sequence[str]], header: Sequence[str]) -> Iterator[Record]:
    """The records of CSV rows (already checked to have the header's width), in FIELDS
    order; without an amount column, amount is None."""
    if list(header) == list(FIELDS):
        return rows  # type: ignore[return-value]  # a list unpacks as a record does
    if "amount" in header:
        return map(itemgetter(*(header.index(f) for f in FIELDS)), rows)
    of = itemgetter(*(header.index(f) for f in REQUIRED))
    return ((*of(values), None) for values in rows)
