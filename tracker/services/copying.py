"""A database copied whole (DESIGN §13): `tracker db copy --to postgresql://…` moves a team
from the embedded SQLite to PostgreSQL (or any tracker database to an empty one).

Every table is copied row for row with its ids, in one transaction on the target, after the
target's schema is migrated, while the source is held in one transaction of its own (on
SQLite its write lock: nothing changes it meanwhile, so the copy is of one moment). A copy
that is interrupted (killed, the connection lost, a digest that disagrees) rolls back and
leaves the target's tables empty, so it can simply be run again; one that finishes leaves
them whole. Each table's rows are read in key order through the models (every value
converted as the application reads and writes it), and a digest of them is taken as they
are written and again as the target holds them, before the commit; identity sequences are
then set past the copied ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import peewee

from tracker.db import BaseModel, is_postgres
from tracker.errors import Conflict
from tracker.migrate import upgrade
from tracker.models import MODELS, utc_of

BATCH = 2_000


@dataclass(frozen=True)
class TableCopy:
    """A table as copied: its rows and the digest both databases agree on."""

    table: str
    rows: int
    digest: str


class CopyMismatch(Exception):
    """The target does not hold what was copied into it (nothing was committed)."""


def _canonical(value: Any) -> str:
    """A value as the digest reads it, the same whichever database it came from."""
    if isinstance(value, datetime):
        return utc_of(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def _ordered(model: type[BaseModel], db: peewee.Database) -> peewee.ModelSelect:
    key = model._meta.primary_key
    keys = key.field_names if isinstance(key, peewee.CompositeKey) else [key.name]
    order = [getattr(model, name) for name in keys]
    return model.select().order_by(*order).tuples().bind(db)


def _json_at(model: type[BaseModel]) -> list[int]:
    """Where a model's JSON columns are in its rows. Their values cross as text: a query
    bound to a database of its own does not give the field that database's JSON reader."""
    return [
        at
        for at, name in enumerate(model._meta.sorted_field_names)
        if isinstance(model._meta.fields[name], peewee.JSONField)
    ]


def _rows(model: type[BaseModel], db: peewee.Database) -> Iterator[tuple]:
    """Every row of a table in key order, as the model reads it (JSON parsed), streamed."""
    at = _json_at(model)
    for row in _ordered(model, db).iterator():
        if at:
            row = list(row)
            for i in at:
                if isinstance(row[i], str):
                    row[i] = json.loads(row[i])
            row = tuple(row)
        yield row


def _digest(rows: Iterator[tuple]) -> tuple[int, str]:
    hasher, n = hashlib.sha256(), 0
    for row in rows:
        hasher.update("\x1f".join(_canonical(v) for v in row).encode() + b"\x1e")
        n += 1
    return n, hasher.hexdigest()


def held_rows(db: peewee.Database) -> dict[str, int]:
    """Rows of each tracker table that holds any (tables not created yet hold none)."""
    present = set(db.get_tables())
    counts = {}
    for model in MODELS:
        table = model._meta.table_name
        if table in present:
            n = model.select().bind(db).count()
            if n:
                counts[table] = n
    return counts


def copy_database(
    source: peewee.Database,
    target: peewee.Database,
    *,
    progress: Callable[[int], None] = lambda n: None,
    before_commit: Callable[[], None] = lambda: None,
) -> list[TableCopy]:
    """Copy every table of `source` into the empty `target` (migrated first) in one
    transaction; `progress(n)` after each batch of n rows. A target holding rows is a 409;
    a digest that disagrees raises CopyMismatch and commits nothing."""
    upgrade(target)
    with target.connection_context():
        held = held_rows(target)
        if held:
            listed = ", ".join(f"{t} ({n})" for t, n in sorted(held.items()))
            raise Conflict(f"the target database is not empty: it holds rows in {listed}")
        copied = []
        with source.connection_context(), source.atomic(), target.atomic():
            for model in MODELS:
                copied.append(_copy_table(model, source, target, progress))
            for done in copied:
                model = next(m for m in MODELS if m._meta.table_name == done.table)
                n, digest = _digest(_rows(model, target))
                if (n, digest) != (done.rows, done.digest):
                    raise CopyMismatch(
                        f"{done.table}: the target holds {n} rows (digest {digest[:12]}), "
                        f"{done.rows} were copied (digest {done.digest[:12]}); nothing was kept"
                    )
            _set_sequences(target)
            before_commit()
    return copied


def _copy_table(
    model: type[BaseModel],
    source: peewee.Database,
    target: peewee.Database,
    progress: Callable[[int], None],
) -> TableCopy:
    fields = [model._meta.fields[name] for name in model._meta.sorted_field_names]
    at = _json_at(model)
    hasher, total, batch = hashlib.sha256(), 0, []

    def flush() -> None:
        if batch:
            model.insert_many(batch, fields=fields).bind(target).execute()
            progress(len(batch))
            batch.clear()

    for row in _rows(model, source):
        hasher.update("\x1f".join(_canonical(v) for v in row).encode() + b"\x1e")
        if at:
            row = tuple(
                json.dumps(v, ensure_ascii=False) if i in at and v is not None else v
                for i, v in enumerate(row)
            )
        batch.append(row)
        total += 1
        if len(batch) >= BATCH:
            flush()
    flush()
    return TableCopy(model._meta.table_name, total, hasher.hexdigest())


def _set_sequences(target: peewee.Database) -> None:
    """PostgreSQL's identity sequences past the copied ids (SQLite's AUTOINCREMENT follows
    the ids inserted by itself)."""
    if not is_postgres(target):
        return
    for model in MODELS:
        key = model._meta.primary_key
        if not isinstance(key, peewee.AutoField):
            continue
        table, column = model._meta.table_name, key.column_name
        target.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
            f'COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) FROM "{table}"'
        )


def source_rows(source: peewee.Database) -> int:
    """How many rows a copy of `source` writes (for the progress bar)."""
    with source.connection_context():
        return sum(held_rows(source).values())
