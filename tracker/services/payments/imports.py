"""`tracker payments import`: files of counts or of transactions, CSV or Parquet, in bounded
memory, all or nothing, and safe to import twice (buckets are replaced, never added twice).

Each file goes the column way first (Arrow reads and checks a batch at a time, `columns`);
a file with any value not in canonical form is read again the row way, where pydantic
decides and names the first bad line (a CSV line, or a Parquet row) and its field. Nothing
is stored until the whole file has been read: a refused file leaves every table as it was.
"""

from __future__ import annotations

import csv
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from queue import Full, Queue
from typing import Any, BinaryIO, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field, TypeAdapter, ValidationError

from tracker.core.transactions import OutcomeMap
from tracker.db import database, exclusive
from tracker.errors import FieldError, Invalid
from tracker.models import PaymentStage
from tracker.schemas import Amount, Channel, Direction, Input, Instant, validation_errors
from tracker.services import audit, collector
from tracker.services.payments import columns
from tracker.services.payments.buckets import POSITION, Buckets, fen_of
from tracker.services.payments.columns import (
    TOTALS,
    Classifier,
    NotCanonical,
    add_totals,
    csv_batches,
    fold_columns,
    fold_transactions,
    whole_minutes,
)
from tracker.services.payments.rows import BadRow, csv_records, fold
from tracker.services.payments.store import LOCK, Bounds, Ready, write

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
CHUNK_ROWS = 5000  # rows validated at a time the row way
STAGE_FLUSH_BUCKETS = 200_000  # transaction sums held in memory before adding them up in SQL
PROGRESS_EVERY = 2000  # lines between progress reports the row way
PARQUET_BATCH_ROWS = 65_536
PARQUET_MAGIC = b"PAR1"

Progress = Callable[[int], None] | None


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


_TRANSACTION_ROWS = TypeAdapter(list[Transaction])


@dataclass
class ImportSummary:
    shape: str
    rows: int = 0
    buckets: int = 0
    unmapped_codes: Counter[str] = field(default_factory=Counter)


class ImportFailed(Invalid):
    """A bad line (a CSV line, a Parquet row): nothing from the file was stored."""

    def __init__(self, name: str, line: int, errors: list[FieldError], unit: str = "line") -> None:
        first = errors[0]
        where = f"{unit} {line}: " if line else ""  # line 0: the file as a whole
        super().__init__(
            [FieldError(f"{where}{e.field}", e.message) for e in errors],
            detail=f"{name}, {where.rstrip(': ') + ', ' if line else ''}field {first.field}: "
            f"{first.message}; nothing imported",
        )
        self.line = line


def import_file(
    stream: BinaryIO,
    *,
    name: str,
    zone: ZoneInfo,
    outcomes: OutcomeMap,
    bounds: Bounds,
    actor: str,
    now: datetime,
    progress: Progress = None,
) -> ImportSummary:
    """Import one file (Parquet by its first bytes, else CSV; its columns say which shape)
    in one transaction."""
    source = (
        _Parquet(stream, name, progress) if _is_parquet(stream) else _Csv(stream, name, progress)
    )
    store = partial(write, zone=zone, bounds=bounds, field="")
    header = source.header
    with exclusive(database, LOCK), collector.paused():
        if _is_shape(header, COUNTS_COLUMNS, COUNTS_OPTIONAL):
            summary = _import_counts(source, zone=zone, store=store)
        elif _is_shape(header, TRANSACTION_COLUMNS):
            summary = _import_transactions(source, zone=zone, outcomes=outcomes, store=store)
        else:
            source.fail(1, [FieldError("header", _header_help(header))])
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


def _is_parquet(stream: BinaryIO) -> bool:
    if not stream.seekable():
        return False
    magic = stream.read(len(PARQUET_MAGIC))
    stream.seek(0)
    return magic == PARQUET_MAGIC


def _is_shape(header: list[str], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> bool:
    return set(required) <= set(header) <= set(required) | set(optional)


def _header_help(header: list[str]) -> str:
    return (
        f"unknown columns {','.join(header) or '(empty file)'}; expected "
        f"{','.join(COUNTS_COLUMNS)}[,amount] or {','.join(TRANSACTION_COLUMNS)}"
    )


# ---- the two shapes --------------------------------------------------------------------------


def _import_counts(source: _Source, *, zone: ZoneInfo, store: Callable[[Ready], None]):
    """Counts the column way (each batch written as it is folded, inside a savepoint), or,
    if some value is not canonical, rolled back and read again the row way."""
    summary = ImportSummary("counts")
    if source.columns_first:
        try:
            with database.atomic():  # a savepoint inside the import's transaction
                fold_batch = partial(_ready_columns, zone=zone)
                # Read on the reading thread alone: each batch waits for the database writes
                # anyway, and Arrow's threads reading ahead would take the writes' core.
                batches = whole_minutes(source.column_batches(coded=True, threads=False))
                for ready, rows in _ahead(map(fold_batch, batches)):
                    store(ready)
                    summary.rows += rows
        except (NotCanonical, pa.ArrowInvalid):  # Arrow refuses text that is not UTF-8
            summary.rows = 0
            source.restart()
        else:
            summary.buckets = summary.rows
            return summary
    for lines, chunk in source.row_chunks():
        try:
            folded = fold(csv_records(chunk, source.header), zone=zone, blank_amount=True)
        except BadRow as exc:
            source.fail(
                lines[exc.index], [FieldError(e.field or "row", e.message) for e in exc.errors]
            )
        store(Ready.of(folded.buckets))
        summary.rows += folded.rows
    summary.buckets = summary.rows
    return summary


def _ready_columns(columns: dict[str, Any], *, zone: ZoneInfo) -> tuple[Ready, int]:
    """A batch of counts folded and made ready to write (on the reading thread), and its rows."""
    folded = fold_columns(columns, zone=zone, blank_amount=True)
    return Ready.of(folded.buckets), folded.rows


def _import_transactions(
    source: _Source, *, zone: ZoneInfo, outcomes: OutcomeMap, store: Callable[[Ready], None]
) -> ImportSummary:
    """Attempt 1 feeds scope first_attempt, final rows feed scope final. Sums by minute,
    series and outcome add up in memory (and in a temporary table past
    STAGE_FLUSH_BUCKETS), then replace the stored buckets of the minutes the file covers."""
    summary = ImportSummary("transactions")
    sums = _Sums(zone, store)
    try:
        if source.columns_first:
            classifier = Classifier(outcomes)
            try:
                with database.atomic():  # a savepoint: the temporary table may have been filled
                    batches = source.column_batches()
                    for rows, (totals, unmapped) in _ahead(
                        (len(next(iter(b.values()))), fold_transactions(b, classifier))
                        for b in batches
                    ):
                        sums.add(totals)
                        summary.rows += rows
                        summary.unmapped_codes += unmapped
                    summary.buckets = sums.store()
                    return summary
            except (NotCanonical, pa.ArrowInvalid):
                summary = ImportSummary("transactions")
                sums = _Sums(zone, store)
                source.restart()
        for lines, chunk in source.row_chunks():
            sums.add(_transaction_totals(source, lines, chunk, outcomes, summary))
            summary.rows += len(chunk)
        summary.buckets = sums.store()
        return summary
    finally:
        sums.close()


T = TypeVar("T")
_END = object()  # the worker's last hand-over


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of `items`, each made on a worker thread while the one before it is used:
    Arrow reads and folds the next batch (its kernels free the interpreter) while this
    thread writes the last one to the database. One batch waits at most (memory stays flat);
    the worker's exception is raised here, in order, and leaving early stops it."""
    handed: Queue[tuple[Any, BaseException | None]] = Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                handed.put((item, error), timeout=0.05)
                return True
            except Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not hand(item):
                    return
            hand(_END)
        except BaseException as exc:  # raised in the reading thread, in its turn
            hand(_END, exc)

    worker = threading.Thread(target=work, name="tracker-import-fold", daemon=True)
    worker.start()
    try:
        while True:
            item, error = handed.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _transaction_totals(source, lines, chunk, outcomes: OutcomeMap, summary) -> Any:
    """A chunk of rows validated by pydantic and added up as TOTALS."""
    rows = [dict(zip(source.header, values, strict=True)) for values in chunk]
    try:
        valid = _TRANSACTION_ROWS.validate_python(rows)
    except ValidationError as exc:
        index = exc.errors()[0]["loc"][0]
        prefix = f"[{index}]"
        errors = validation_errors(exc)
        mine = [e for e in errors if e.field.startswith(prefix)]
        source.fail(
            lines[index],  # type: ignore[index]
            [
                FieldError(e.field.removeprefix(prefix).lstrip(".") or "row", e.message)
                for e in mine
            ],
        )
    pending: dict[tuple, list[int]] = {}
    for line, tx in zip(lines, valid, strict=True):
        at = POSITION[_classify(tx, outcomes, source, line, summary)]
        minute = int(tx.created_at.timestamp()) // 60 * 60
        fen = fen_of(tx.amount)
        for scope, keep in (("first_attempt", tx.attempt == 1), ("final", tx.is_final)):
            if keep:
                total = pending.setdefault((minute, tx.direction, tx.channel, scope, at), [0, 0])
                total[0] += 1
                total[1] += fen
    keys = list(pending)
    sums = list(pending.values())
    return pa.table(
        [*(list(column) for column in zip(*keys, strict=True)), *zip(*sums, strict=True)]
        if keys
        else [[] for _ in TOTALS.names],
        schema=TOTALS,
    )


def _classify(tx: Transaction, outcomes: OutcomeMap, source, line: int, summary) -> str:
    try:
        outcome = outcomes.classify(tx.status, tx.reason_code)
    except KeyError:
        known = ", ".join(sorted(outcomes.statuses))
        source.fail(line, [FieldError("status", f"unknown status {tx.status!r}; known: {known}")])
    if outcomes.statuses[tx.status.strip().lower()] == "by_reason" and not outcomes.knows(
        tx.reason_code
    ):
        summary.unmapped_codes[tx.reason_code.strip().upper() or "(empty)"] += 1
    return outcome


class _Sums:
    """A transactions file's sums (TOTALS): added up in memory, and in a temporary table when
    they grow past STAGE_FLUSH_BUCKETS (a file of many days); stored at the end."""

    def __init__(self, zone: ZoneInfo, store: Callable[[Ready], None]) -> None:
        self.zone, self._store = zone, store
        self.pending: list[Any] = []
        self.held = 0
        self.staged = False

    def add(self, totals: Any) -> None:
        self.pending.append(totals)
        self.held += len(totals)
        if self.held > STAGE_FLUSH_BUCKETS:
            added = add_totals(self.pending)
            self.pending, self.held = [added], len(added)
            if self.held > STAGE_FLUSH_BUCKETS:
                self._stage(added)

    def store(self) -> int:
        """Write every sum as buckets; returns how many (bucket, outcome) sums there were."""
        added = add_totals(self.pending)
        self.pending, self.held = [], 0
        if not self.staged:
            self._write(added)
            return len(added)
        self._stage(added)
        stored, last_id = 0, 0
        while page := PaymentStage.page_after(last_id, CHUNK_ROWS):
            totals = pa.table(list(zip(*(row[1:] for row in page), strict=True)), schema=TOTALS)
            self._write(totals)
            stored += len(page)
            last_id = page[-1][0]
        return stored

    def _write(self, totals: Any) -> None:
        self._store(Ready.of(Buckets.of_long(totals, zone=self.zone)))

    def _stage(self, totals: Any) -> None:
        if not self.staged:
            PaymentStage.create_table(temporary=True)
            self.staged = True
        PaymentStage.add_many(totals.columns)
        self.pending, self.held = [], 0

    def close(self) -> None:
        if self.staged:
            PaymentStage.drop_table(safe=True)


# ---- the two formats -------------------------------------------------------------------------


class _Source(ABC):
    """A file being imported: its header, its batches of columns (the column way) and its
    chunks of (line numbers, rows of text) (the row way)."""

    unit = "line"
    columns_first = True
    header: list[str]

    def __init__(self, stream: BinaryIO, name: str, progress: Progress) -> None:
        self.stream, self.name, self.progress = stream, name, progress
        self.told = 0  # bytes reported to `progress`

    def tell(self, size: int) -> None:
        self.told += size
        if self.progress is not None and size:
            self.progress(size)

    def restart(self) -> None:
        """Back to the start for the row way: the progress told is taken back."""
        self.tell(-self.told)

    def fail(self, line: int, errors: list[FieldError]) -> None:
        raise ImportFailed(self.name, line, errors, self.unit)

    @abstractmethod
    def column_batches(
        self, *, coded: bool = False, threads: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Batches of Arrow columns by name; NotCanonical (or ArrowInvalid) if it cannot.
        `coded`: text may come dictionary-coded (values that repeat); `threads`: parsed on
        Arrow's threads, reading ahead."""

    @abstractmethod
    def row_chunks(self) -> Iterator[tuple[list[int], list[list[str]]]]:
        """Chunks of (line or row numbers, rows as text), from the start of the file."""


class _Csv(_Source):
    def __init__(self, stream: BinaryIO, name: str, progress: Progress) -> None:
        super().__init__(stream, name, progress)
        self.columns_first = stream.seekable()  # the row way reads it again
        self.reader = csv.reader(self._lines())
        try:
            self.header = [column.strip().lower() for column in next(self.reader, [])]
        except csv.Error as exc:
            self.fail(1, [FieldError("header", f"not valid CSV: {exc}")])

    def column_batches(
        self, *, coded: bool = False, threads: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Arrow's record batches of text (a batch per BLOCK_BYTES of file). Progress is told
        as each batch is folded, not as Arrow reads ahead."""
        self.stream.seek(0)
        for batch, read in csv_batches(self.stream, self.header, coded=coded, threads=threads):
            yield {name: batch.column(name) for name in self.header}
            self.tell(min(columns.BLOCK_BYTES, read - self.told))
        self.tell(self.stream.tell() - self.told)

    def row_chunks(self) -> Iterator[tuple[list[int], list[list[str]]]]:
        if self.columns_first:  # read again from the start
            self.stream.seek(0)
            self.reader = csv.reader(self._lines())
            next(self.reader)  # the header, read before
        return _chunks(self.reader, self.header, self)

    def _lines(self) -> Iterator[str]:
        """Decoded lines (UTF-8, a leading BOM dropped), reporting bytes read as it goes."""
        pending = 0
        for number, raw in enumerate(self.stream, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                self.fail(number, [FieldError("encoding", f"not UTF-8 ({exc.reason})")])
            pending += len(raw)
            if number % PROGRESS_EVERY == 0:
                self.tell(pending)
                pending = 0
            yield text
        self.tell(pending)


def _chunks(reader, header: list[str], source: _Source) -> Iterator[tuple[list[int], list]]:
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
            source.fail(reader.line_num, [FieldError("row", f"not valid CSV: {exc}")])
        if len(values) != width:
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            source.fail(
                reader.line_num,
                [FieldError("row", f"has {len(values)} fields, the header has {width}")],
            )
        lines.append(reader.line_num)
        chunk.append(values)
        if len(chunk) >= CHUNK_ROWS:
            yield lines, chunk
            lines, chunk = [], []
    if chunk:
        yield lines, chunk


class _Parquet(_Source):
    """A Parquet file (the format data platforms export): its rows are numbered from 1, and
    the row way reads each value as the text a CSV cell would hold."""

    unit = "row"

    def __init__(self, stream: BinaryIO, name: str, progress: Progress) -> None:
        super().__init__(stream, name, progress)
        try:  # a damaged footer can hold column names that are not UTF-8 (a ValueError)
            self.file = pq.ParquetFile(stream)
            self.names = self.file.schema_arrow.names
        except (pa.ArrowException, OSError, ValueError) as exc:
            self.fail(0, [FieldError("file", f"not a readable Parquet file: {exc}")])
        self.header = [column.strip().lower() for column in self.names]
        self.size = stream.seek(0, 2)
        self.rows = max(self.file.metadata.num_rows, 1)

    def _batches(self) -> Iterator[Any]:
        done = 0
        try:
            for batch in self.file.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                yield batch
                done += batch.num_rows
                self.tell(self.size * done // self.rows - self.told)
        except (pa.ArrowException, OSError, ValueError) as exc:
            self.fail(done + 1, [FieldError("file", f"not a readable Parquet file: {exc}")])

    def column_batches(
        self, *, coded: bool = False, threads: bool = True
    ) -> Iterator[dict[str, Any]]:
        for batch in self._batches():
            yield {name: batch.column(k) for k, name in enumerate(self.header)}

    def row_chunks(self) -> Iterator[tuple[list[int], list[list[str]]]]:
        row = 0
        for batch in self._batches():
            columns = [_readable(batch.column(k)) for k in range(batch.num_columns)]
            chunk = [list(values) for values in zip(*columns, strict=True)]
            lines = list(range(row + 1, row + 1 + len(chunk)))
            for index, values in enumerate(chunk):
                for name, value in zip(self.header, values, strict=True):
                    if isinstance(value, _Unreadable):
                        yield lines[:index], chunk[:index]  # the rows before it are judged first
                        self.fail(lines[index], [FieldError(name, value.reason)])
            yield lines, chunk
            row += len(chunk)


class _Unreadable:
    """A Parquet value Python cannot hold (a timestamp past year 9999, text not UTF-8)."""

    def __init__(self, exc: Exception) -> None:
        self.reason = f"cannot be read ({exc})"


def _readable(column: Any) -> list[Any]:
    """A column's values as CSV cells; a value that cannot be read is `_Unreadable`."""
    unreadable = (OverflowError, ValueError, pa.ArrowException)  # UnicodeError is a ValueError
    try:
        return [_cell(v) for v in column.to_pylist()]
    except unreadable:
        pass
    cells: list[Any] = []
    for k in range(len(column)):
        try:
            cells.append(_cell(column[k].as_py()))
        except unreadable as exc:
            cells.append(_Unreadable(exc))
    return cells


def _cell(value: Any) -> str:
    """A Parquet value as the text of a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.decode()  # not UTF-8: unreadable
    return str(value)
