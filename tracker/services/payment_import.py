"""`tracker payments import`: CSV files of counts or of transactions, streamed in bounded
memory, all or nothing, and safe to import twice (buckets are replaced, never added twice)."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import BinaryIO
from zoneinfo import ZoneInfo

from peewee import EXCLUDED
from pydantic import Field, TypeAdapter, ValidationError

from tracker.core.transactions import OutcomeMap
from tracker.db import database, exclusive
from tracker.errors import FieldError, Invalid
from tracker.models import PaymentStage
from tracker.schemas import (
    Amount,
    Channel,
    Direction,
    Input,
    Instant,
    validation_errors,
)
from tracker.services import audit, payment_columns
from tracker.services.payment_rows import BadRow, Buckets, csv_records, fold
from tracker.services.payments import LOCK, Bounds, write

COUNTS_COLUMNS = ("minute", "direction", "channel", "scope", "outcome", "count")
COUNTS_OPTIONAL = ("amount",)
TRANSACTION_COLUMNS = (
    "order_id",
    "attempt",
    "created_at",
    "direction",
    "channel",
    "status",
    "reason_code",
    "amount",
    "is_final",
)
CHUNK_ROWS = 5000  # rows validated and written at a time
STAGE_FLUSH_BUCKETS = 20_000  # transaction buckets held in memory before adding them up in SQL
PROGRESS_EVERY = 2000  # lines between progress reports


class Transaction(Input):
    order_id: str = Field(min_length=1, max_length=128)
    attempt: int = Field(ge=1, le=1000)
    created_at: Instant
    direction: Direction
    channel: Channel
    status: str = Field(min_length=1, max_length=32)
    reason_code: str = Field("", max_length=64)
    amount: Amount
    is_final: bool


@dataclass
class ImportSummary:
    shape: str
    rows: int = 0
    buckets: int = 0
    unmapped_codes: Counter[str] = field(default_factory=Counter)


class ImportFailed(Invalid):
    """A bad line: nothing from the file was stored."""

    def __init__(self, name: str, line: int, errors: list[FieldError]) -> None:
        first = errors[0]
        super().__init__(
            [FieldError(f"line {line}: {e.field}", e.message) for e in errors],
            detail=f"{name}, line {line}, field {first.field}: {first.message}; nothing imported",
        )
        self.line = line


def import_csv(
    stream: BinaryIO,
    *,
    name: str,
    zone: ZoneInfo,
    outcomes: OutcomeMap,
    bounds: Bounds,
    actor: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import one CSV file (its header says which shape) in one transaction."""
    store = partial(write, zone=zone, bounds=bounds, field="")
    reader = csv.reader(_lines(stream, name, progress))
    try:
        header = [column.strip().lower() for column in next(reader, [])]
    except csv.Error as exc:
        raise ImportFailed(name, 1, [FieldError("header", f"not valid CSV: {exc}")]) from None
    with exclusive(database, LOCK):
        if _is_shape(header, COUNTS_COLUMNS, COUNTS_OPTIONAL):
            summary = _import_canonical_counts(
                stream, header, zone=zone, store=store, progress=progress
            )
            if summary is None:
                reader = csv.reader(_lines(stream, name, progress))
                next(reader)  # the header, read above
                summary = _import_counts(reader, header, name=name, zone=zone, store=store)
        elif _is_shape(header, TRANSACTION_COLUMNS):
            summary = _import_transactions(
                reader, header, name=name, zone=zone, outcomes=outcomes, store=store
            )
        else:
            raise ImportFailed(name, 1, [FieldError("header", _header_help(header))])
        audit.record(
            "import",
            "payment_import",
            name[-64:],
            before=None,
            after={
                "file": name,
                "shape": summary.shape,
                "rows": summary.rows,
                "buckets": summary.buckets,
                "unmapped_codes": dict(summary.unmapped_codes),
            },
            actor=actor,
            now=now,
        )
    return summary


def _is_shape(header: list[str], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> bool:
    return set(required) <= set(header) <= set(required) | set(optional)


def _header_help(header: list[str]) -> str:
    return (
        f"unknown columns {','.join(header) or '(empty file)'}; expected "
        f"{','.join(COUNTS_COLUMNS)}[,amount] or {','.join(TRANSACTION_COLUMNS)}"
    )


def _lines(stream: BinaryIO, name: str, progress: Callable[[int], None] | None) -> Iterator[str]:
    """Decoded lines (UTF-8, a leading BOM dropped), reporting bytes read as it goes."""
    pending = 0
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                name, number, [FieldError("encoding", f"not UTF-8 ({exc.reason})")]
            ) from None
        pending += len(raw)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(pending)
            pending = 0
        yield text
    if progress is not None and pending:
        progress(pending)


def _rows(
    reader: Iterator[list[str]], header: list[str], name: str
) -> Iterator[tuple[list[int], list[list[str]]]]:
    """Chunks of (line numbers, rows), with short or long rows refused."""
    lines: list[int] = []
    chunk: list[list[str]] = []
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num  # type: ignore[attr-defined]
            raise ImportFailed(name, line, [FieldError("row", f"not valid CSV: {exc}")]) from None
        if len(values) != width:
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            raise ImportFailed(
                name,
                reader.line_num,  # type: ignore[attr-defined]
                [FieldError("row", f"has {len(values)} fields, the header has {width}")],
            )
        lines.append(reader.line_num)  # type: ignore[attr-defined]
        chunk.append(values)
        if len(chunk) >= CHUNK_ROWS:
            yield lines, chunk
            lines, chunk = [], []
    if chunk:
        yield lines, chunk


def _validate(
    adapter: TypeAdapter, lines: list[int], chunk: list[list[str]], header: list[str], name: str
) -> list:
    rows = [dict(zip(header, values, strict=True)) for values in chunk]
    try:
        return adapter.validate_python(rows)
    except ValidationError as exc:
        index = exc.errors()[0]["loc"][0]
        line = lines[index]  # type: ignore[index]
        raise _failed(name, line, index, validation_errors(exc)) from None


def _failed(name: str, line: int, index: int, errors: list[FieldError]) -> ImportFailed:
    """A row's errors (paths `[index].field`) as the file's line and fields."""
    prefix = f"[{index}]"
    mine = [e for e in errors if e.field.startswith(prefix)]
    return ImportFailed(
        name,
        line,
        [FieldError(e.field.removeprefix(prefix).lstrip(".") or "row", e.message) for e in mine],
    )


_TRANSACTION_ROWS = TypeAdapter(list[Transaction])


def _import_canonical_counts(
    stream: BinaryIO,
    header: list[str],
    *,
    zone: ZoneInfo,
    store: Callable[[Buckets], None],
    progress: Callable[[int], None] | None,
) -> ImportSummary | None:
    """A counts file in canonical form, the fast way (payment_columns). None if the file is
    not canonical throughout (what it wrote is rolled back, and the stream rewound for the
    row-at-a-time way, which names any bad line) or cannot be rewound."""
    if not stream.seekable():
        return None
    read = 0

    def counted(size: int) -> None:
        nonlocal read
        read += size
        if progress is not None:
            progress(size)

    stream.seek(0)
    try:
        with database.atomic():  # a savepoint inside the import's transaction
            rows = payment_columns.import_counts(
                stream, header, zone=zone, write=store, progress=counted
            )
    except payment_columns.NotCanonical:
        if progress is not None:
            progress(-read)
        stream.seek(0)
        return None
    return ImportSummary("counts", rows=rows, buckets=rows)


def _import_counts(
    reader, header, *, name: str, zone: ZoneInfo, store: Callable[[Buckets], None]
) -> ImportSummary:
    """Rows go straight from the CSV reader to the payment service's fold (an empty amount
    cell means "not given"); a chunk at a time is written inside the import's transaction."""
    summary = ImportSummary("counts")
    for lines, chunk in _rows(reader, header, name):
        try:
            folded = fold(csv_records(chunk, header), zone=zone, blank_amount=True)
        except BadRow as exc:
            errors = [FieldError(e.field or "row", e.message) for e in exc.errors]
            raise ImportFailed(name, lines[exc.index], errors) from None
        store(folded.buckets)
        summary.rows += folded.rows
        summary.buckets += folded.rows
    return summary


def _import_transactions(
    reader,
    header,
    *,
    name: str,
    zone: ZoneInfo,
    outcomes: OutcomeMap,
    store: Callable[[Buckets], None],
) -> ImportSummary:
    """Attempt 1 feeds scope first_attempt, final rows feed scope final; buckets add up in a
    temporary table, then replace the stored buckets of the minutes the file covers."""
    summary = ImportSummary("transactions")
    PaymentStage.create_table(temporary=True)
    try:
        pending: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        for lines, chunk in _rows(reader, header, name):
            valid = _validate(_TRANSACTION_ROWS, lines, chunk, header, name)
            for line, tx in zip(lines, valid, strict=True):
                outcome = _classify(tx, outcomes, name, line, summary)
                minute = tx.created_at.astimezone(UTC).replace(second=0, microsecond=0)
                fen = int(tx.amount.scaleb(2))
                for scope in _scopes(tx):
                    total = pending[(minute, tx.direction, tx.channel, scope, outcome)]
                    total[0] += 1
                    total[1] += fen
            summary.rows += len(chunk)
            if len(pending) >= STAGE_FLUSH_BUCKETS:
                _stage(pending)
                pending.clear()
        _stage(pending)
        summary.buckets = _merge_stage(zone, store)
    finally:
        PaymentStage.drop_table(safe=True)
    return summary


def _scopes(tx: Transaction) -> list[str]:
    return [s for s, keep in (("first_attempt", tx.attempt == 1), ("final", tx.is_final)) if keep]


def _classify(
    tx: Transaction, outcomes: OutcomeMap, name: str, line: int, summary: ImportSummary
) -> str:
    try:
        outcome = outcomes.classify(tx.status, tx.reason_code)
    except KeyError:
        known = ", ".join(sorted(outcomes.statuses))
        raise ImportFailed(
            name, line, [FieldError("status", f"unknown status {tx.status!r}; known: {known}")]
        ) from None
    if outcomes.statuses[tx.status.strip().lower()] == "by_reason" and not outcomes.knows(
        tx.reason_code
    ):
        summary.unmapped_codes[tx.reason_code.strip().upper() or "(empty)"] += 1
    return outcome


def _stage(pending: dict[tuple, list[int]]) -> None:
    rows = [(*key, count, fen) for key, (count, fen) in pending.items()]
    fields = [
        PaymentStage.minute,
        PaymentStage.direction,
        PaymentStage.channel,
        PaymentStage.scope,
        PaymentStage.outcome,
    ]
    for start in range(0, len(rows), 1000):
        PaymentStage.insert_many(
            [(*r[:5], r[5], Decimal(r[6]).scaleb(-2)) for r in rows[start : start + 1000]],
            fields=[*fields, PaymentStage.count, PaymentStage.amount],
        ).on_conflict(
            conflict_target=fields,
            update={
                PaymentStage.count: PaymentStage.count + EXCLUDED.count,
                PaymentStage.amount: PaymentStage.amount + EXCLUDED.amount,
            },
        ).execute()


def _merge_stage(zone: ZoneInfo, store: Callable[[Buckets], None]) -> int:
    """Replace stored buckets with the staged ones, a page at a time."""
    merged, last_id = 0, 0
    while page := PaymentStage.page_after(last_id, CHUNK_ROWS):
        store(fold(map(PaymentStage.as_record, page), zone=zone).buckets)
        merged += len(page)
        last_id = page[-1].id
    return merged
