"""The database: chosen at run time, SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import peewee
from flask import Flask, g
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase


class RoutedDatabase(peewee.DatabaseProxy):
    """The proxy every model is bound to: the primary, or, in a thread inside
    `replica_reads()`, the streaming replica (a thread's reads, never another's)."""

    __slots__ = ("_local", "primary")

    def __init__(self) -> None:
        object.__setattr__(self, "_local", threading.local())
        object.__setattr__(self, "primary", None)
        super().__init__()

    def __setattr__(self, attr: str, value: object) -> None:
        object.__setattr__(self, "primary" if attr == "obj" else attr, value)

    @property  # type: ignore[override]
    def obj(self) -> peewee.Database | None:
        return getattr(self._local, "db", None) or self.primary

    def route(self, db: peewee.Database | None) -> None:
        """This thread's reads go to `db` (None: back to the primary)."""
        self._local.db = db


database = RoutedDatabase()
# What the driver raises when the database does not answer: the API turns these into 503.
DATABASE_DOWN: tuple[type[Exception], ...] = (peewee.OperationalError, peewee.InterfaceError)
PATIENT_MS = 24 * 3600 * 1000  # "as long as it takes", in SQLite's busy-timeout units


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a `Prepared` query's value goes: bound by name each time it runs, after
    `convert` (a field's `db_value`) when there is one."""

    name: Hashable  # a key of the values, or an index into them
    convert: Callable[[Any], Any] | None = None


def slot(name: Hashable, field: peewee.Field | None = None) -> peewee.Value:
    """A placeholder in a query built by a `Prepared`: compiled as a parameter, left as it
    is (peewee would convert it as a value of `field`), bound when the query runs."""
    return peewee.Value(Slot(name, None if field is None else field.db_value), converter=False)


class Prepared:
    """A query compiled once per shape and database kind, then run with new values: peewee
    builds and compiles a select of thirty columns in a quarter of a millisecond, longer than
    SQLite takes to run it on an index, and a list page runs two. `build(shape)` returns the
    query of one shape (which filters are given, from a small set) with `slot`s where the
    values go."""

    def __init__(self, build: Callable[[Any], peewee.Query]) -> None:
        self.build = build
        self.compiled: dict[tuple[type, Hashable], tuple[str, list[Any]]] = {}

    def execute(self, shape: Hashable, values: Mapping[Any, Any] | Sequence[Any]) -> Any:
        """Run the query of `shape` with `values` by slot name (or position); the driver's
        cursor."""
        db = database.obj
        key = (type(db), shape)
        compiled = self.compiled.get(key)
        if compiled is None:  # two threads may compile the same shape once each: harmless
            compiled = self.compiled[key] = self.build(shape).sql()
        sql, params = compiled
        return db.execute_sql(sql, [_bound(param, values) for param in params])


def _bound(param: Any, values: Mapping[Any, Any] | Sequence[Any]) -> Any:
    if not isinstance(param, Slot):
        return param  # a constant of the shape, converted when it was compiled
    value = values[param.name]  # type: ignore[index]
    return value if param.convert is None or value is None else param.convert(value)


class RowReader:
    """Rows of a select of `fields` as the dicts peewee's `.dicts()` gives, converting only the
    columns whose stored form is not already the Python value (times, booleans, JSON, money):
    peewee converts every value through its field, several times the query's own cost on a
    page of rows."""

    PLAIN = frozenset(
        {
            peewee.AutoField,
            peewee.CharField,
            peewee.TextField,
            peewee.IntegerField,
            peewee.BigIntegerField,
            peewee.SmallIntegerField,
            peewee.DoubleField,
            peewee.FloatField,
        }
    )

    def __init__(self, fields: Sequence[peewee.Field]) -> None:
        self.names = [field.name for field in fields]
        self.converters = [
            (at, _read_json if isinstance(field, peewee.JSONField) else field.python_value)
            for at, field in enumerate(fields)
            if type(field) not in self.PLAIN
        ]

    def __call__(self, row: Sequence[Any]) -> dict[str, Any]:
        values = dict(zip(self.names, row, strict=True))
        names = self.names
        for at, convert in self.converters:
            if row[at] is not None:
                values[names[at]] = convert(row[at])
        return values


def _read_json(value: Any) -> Any:
    """A JSON column's value: text on SQLite (read by orjson, a few times faster than the
    standard library peewee uses), already parsed on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def open_database(url: str, *, busy_timeout_ms: int = 5000) -> peewee.Database:
    """A peewee database for a URL: SQLite with WAL, foreign keys and a busy timeout, or
    a pooled PostgreSQL connection. Either way a write waits at most `busy_timeout_ms` for
    a lock another write holds, then gives up (`lock_timed_out`).

    SQLite's transactions begin IMMEDIATE, taking the write lock first: a deferred one that
    read before it wrote could not take the lock once another connection had committed
    since its read began (SQLITE_BUSY_SNAPSHOT), and the busy timeout does not wait for that
    case: it fails at once. Every transaction here writes, so waiting in line costs nothing.
    """
    scheme = urlparse(url).scheme
    params = parse_url(url)
    if scheme == "sqlite":
        path = params.pop("database")
        if path != ":memory:":
            _private_file(Path(path))
        return peewee.SqliteDatabase(
            path,
            pragmas={
                # The pages of a new database (an existing one keeps its own): payment minutes
                # are its bulk, written and read in ranges; 16 KiB pages wrote a week of them
                # 14% sooner than SQLite's 4 KiB.
                "page_size": 16384,
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": busy_timeout_ms,
                "synchronous": "normal",
            },
            timeout=busy_timeout_ms / 1000,
            lock_type="IMMEDIATE",
            **params,
        )
    params.setdefault("max_connections", 32)
    params.setdefault("stale_timeout", 300)
    params.setdefault("connect_timeout", 5)
    params.setdefault("options", f"-c lock_timeout={busy_timeout_ms}")
    return PooledPostgresqlDatabase(params.pop("database"), **params)


def _private_file(path: Path) -> None:
    """Make the database file readable by its owner only (it holds password hashes and token
    digests) before SQLite creates it; SQLite gives its WAL and shared-memory files the same
    mode. A folder made for it is the owner's only too."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def lock_timed_out(exc: BaseException) -> bool:
    """Whether a database error is a write that gave up waiting for a lock (SQLite: busy
    or locked; PostgreSQL: lock_not_available), not a database that does not answer."""
    original = getattr(exc, "orig", exc)  # peewee keeps the driver's error as `orig`
    code = getattr(original, "sqlite_errorname", "") or getattr(original, "pgcode", "") or ""
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or code == "55P03"


def is_postgres(db: peewee.Database | peewee.DatabaseProxy) -> bool:
    if isinstance(db, peewee.DatabaseProxy):
        db = db.obj
    return isinstance(db, peewee.PostgresqlDatabase)


@contextmanager
def exclusive(db: peewee.Database, name: str) -> Iterator[None]:
    """Hold a database-wide lock named `name` for the length of one transaction.

    PostgreSQL: a transaction-scoped advisory lock (released on commit, even on a pooled
    connection). SQLite: its single write lock, which every transaction takes as it begins.
    """
    with db.atomic():
        if is_postgres(db):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (lock_key(name),))
        yield


@contextmanager
def waiting_without_bound(db: peewee.Database) -> Iterator[peewee.Database]:
    """A connection whose locks wait as long as it takes (schema migrations: a replica
    starting beside one that migrates waits for it instead of failing), yielded as the
    database to use inside. SQLite: a connection of its own to the same file, patient from
    the moment it connects. PostgreSQL: `db` itself, with no lock_timeout in a transaction."""
    if is_postgres(db):
        with db.connection_context(), db.atomic():
            db.execute_sql("SET LOCAL lock_timeout = 0")
            yield db
        return
    if db.database == ":memory:":  # a database of one connection: nobody to wait for
        with db.connection_context():
            yield db
        return
    patient = open_database(f"sqlite:///{db.database}", busy_timeout_ms=PATIENT_MS)
    for attempt in range(100):
        try:
            patient.connect(reuse_if_open=True)
            break
        except peewee.OperationalError as exc:
            # Connecting sets WAL mode; several processes opening a brand-new file at once
            # may see it busy before any busy handler applies: wait a moment and again.
            if not lock_timed_out(exc) or attempt == 99:
                raise
            time.sleep(0.05)
    try:
        with patient.connection_context():
            yield patient
    finally:
        patient.close()


class TooSlow(Exception):
    """A query ran past its time limit and was stopped."""


@contextmanager
def time_limit(db: peewee.Database, seconds: float) -> Iterator[None]:
    """Stop the queries inside once they have run `seconds` (TooSlow): a search a client made
    broad must not hold a database connection and a core for long. PostgreSQL: a
    transaction-scoped statement_timeout. SQLite: a progress handler that interrupts."""
    if is_postgres(db):
        try:
            with db.atomic():
                db.execute_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
                yield
        except peewee.OperationalError as exc:
            if getattr(getattr(exc, "orig", None), "pgcode", None) == "57014":  # query_canceled
                raise TooSlow(str(exc)) from None
            raise
        return
    deadline = time.monotonic() + seconds
    connection = db.connection()
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 20_000)
    try:
        yield
    except peewee.OperationalError as exc:
        if "interrupted" in str(exc):
            raise TooSlow(str(exc)) from None
        raise
    finally:
        connection.set_progress_handler(None, 0)


def wait_until_up(db: peewee.Database, *, say: Callable[[str], None], pause: float = 1.0) -> None:
    """Block until the database answers: a process started beside the server (the scheduler)
    must outlive a database that is not up yet instead of dying with it."""
    while True:
        try:
            with db.connection_context():
                db.execute_sql("SELECT 1")
            return
        except DATABASE_DOWN as exc:
            say(f"waiting for the database: {str(exc).strip()}")
            time.sleep(pause)


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for an advisory lock name."""
    return zlib.crc32(name.encode()) - 2**31


log = logging.getLogger(__name__)
REPLICA_CHECK_SECONDS = 5.0  # how long a replica's health is taken as known
LAG_SQL = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "THEN 0 ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)
BYPASSED = "database.replica_bypassed"  # State counter: reads that went to the primary


class Replica:
    """A streaming replica reads may use while it answers and keeps up (its health looked
    at most every REPLICA_CHECK_SECONDS per process)."""

    def __init__(self, db: peewee.Database, max_lag_seconds: float) -> None:
        self.db = db
        self.max_lag_seconds = max_lag_seconds
        self._checked_at = -REPLICA_CHECK_SECONDS
        self._usable = False
        self._lock = threading.Lock()

    def usable(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= REPLICA_CHECK_SECONDS:
                self._usable = self._check()
                self._checked_at = now
            return self._usable

    def _check(self) -> bool:
        try:
            with self.db.connection_context():
                recovering, lag = self.db.execute_sql(LAG_SQL).fetchone()
        except DATABASE_DOWN as exc:
            log.warning("the read replica does not answer: %s", str(exc).strip())
            return False
        if not recovering:
            log.warning("the read replica is not in recovery: it is no replica; not used")
            return False
        if lag is not None and float(lag) > self.max_lag_seconds:
            log.warning("the read replica is %.1f s behind: reads go to the primary", float(lag))
            return False
        return True


_replica: Replica | None = None


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block that tolerate lag go to the replica, when there is one that
    answers and keeps up; else to the primary (counted). Write nothing inside."""
    if _replica is None or database._local.__dict__.get("db") is not None:
        yield  # no replica, or already reading from it
        return
    if not _replica.usable():
        _count_bypass()
        yield
        return
    database.route(_replica.db)
    try:
        yield
    finally:
        database.route(None)
        if not _replica.db.is_closed():
            _replica.db.close()  # back to the pool


def _count_bypass() -> None:
    from tracker.models import State

    try:
        with database.atomic():
            State.count(BYPASSED)
    except DATABASE_DOWN:
        pass  # the primary is down too: the read that follows says so


def init_app(app: Flask) -> None:
    """Bind the proxy to the configured database. A request connects on its first query
    (so /healthz answers with the database down) and gives the connection back at its end
    (to the pool, on PostgreSQL). On SQLite a thread keeps its connection from one request to
    the next: opening one costs four pragmas, and closing the last one checkpoints the WAL
    into the database file, every request."""
    settings = app.extensions["tracker.settings"]
    db = open_database(
        settings.effective_database_url, busy_timeout_ms=settings.database.busy_timeout_ms
    )
    database.initialize(db)
    app.extensions["tracker.db"] = db
    global _replica
    _replica = None
    if settings.database_replica_url:
        replica = open_database(
            settings.database_replica_url, busy_timeout_ms=settings.database.busy_timeout_ms
        )
        _replica = Replica(replica, settings.database.replica_max_lag_seconds)

    @app.before_request
    def _note_connection() -> None:
        g.tracker_db_was_open = not database.is_closed()

    keep_open = not is_postgres(db)

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        # Close only what this request opened: a caller holding a connection keeps it.
        if keep_open or g.get("tracker_db_was_open", False) or database.is_closed():
            return
        database.close()
