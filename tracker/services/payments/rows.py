"""Raw payment-count rows in, storage buckets out: the hot loop of ingestion.

Rows arrive as the JSON parser or the CSV reader made them, not as pydantic output:
validating 10,000 rows field by field through pydantic costs more than writing them. So each
row takes a cheap test that accepts only values pydantic would take unchanged (a minute or a
series already validated in this batch, a known outcome, a plain non-negative integer, an
amount in canonical form), and any row that fails it is validated whole by pydantic's
`PaymentCountRow`, which either accepts it (normalising it as the API documents) or names its
errors. pydantic stays the one definition of a valid row; the cheap tests only skip its work
where it would change nothing, and a property test checks that both always agree.

Folding: the rows become LONG columns, which `Buckets.of_long` pivots into storage rows (one
per minute and series, a count and an amount per outcome; within a batch the last row of a
key wins), as the column way does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from tracker.errors import FieldError
from tracker.schemas import FEN_AMOUNT_PATTERN, PaymentCountRow, validation_errors
from tracker.services.payments.buckets import LONG, POSITION, Buckets, Folded, fen_of, long_table

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
    batch = _Batch(blank_amount)
    keys = batch.keys
    columns: list[list[Any]] = [[] for _ in LONG.names]
    minutes, directions, channels, scopes, outcomes, counts, fens = (c.append for c in columns)
    rows = 0
    for index, record in enumerate(records):  # kept flat on purpose: this is the hot loop
        minute, direction, channel, scope, outcome, count, amount = record
        try:
            key = keys.get((minute, direction, channel, scope))
            at = POSITION.get(outcome)
        except TypeError:  # an unhashable value (a list or an object): never valid
            key = at = None
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
        if key is None:
            key = batch.key(record, index)
        minutes(key[0])
        directions(key[1])
        channels(key[2])
        scopes(key[3])
        outcomes(at)
        counts(count)
        fens(fen)
        rows = index + 1
    long = long_table(dict(zip(LONG.names, columns, strict=True)))
    return Folded(Buckets.of_long(long, zone=zone), rows)


class _Batch:
    """What one fold has learnt: each (minute, series) as given with its validated key, so
    pydantic sees each minute and series once."""

    def __init__(self, blank_amount: bool) -> None:
        self.blank_amount = blank_amount
        # (minute, direction, channel, scope) as given → (epoch seconds, direction, channel, scope)
        self.keys: dict[tuple, tuple[int, str, str, str]] = {}
        self.minutes: dict[Any, int] = {}  # as given → seconds since the epoch
        self.series: dict[tuple, tuple[str, str, str]] = {}  # as given → as validated

    def validated(self, record: Record, index: int) -> tuple[int, int, int | None]:
        """The whole row through pydantic: (outcome position, count, fen), or BadRow."""
        valid = self._row(record, index)
        return POSITION[valid["outcome"]], valid["count"], fen_of(valid.get("amount"))

    def key(self, record: Record, index: int) -> tuple[int, str, str, str]:
        """The validated key of a row's minute and series, validating them on first sight."""
        raw_series = tuple(record[1:4])
        epoch = self.minutes.get(record[0])
        names = self.series.get(raw_series)
        if epoch is None or names is None:
            valid = self._row(record, index)
            epoch = int(valid["minute"].timestamp())
            names = (valid["direction"], valid["channel"], valid["scope"])
            self.minutes[record[0]] = epoch
            self.series[raw_series] = names
        key = self.keys[(record[0], *raw_series)] = (epoch, *names)
        return key

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
