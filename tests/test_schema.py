"""Numbered migrations: on an empty database they build exactly the models' schema, once."""

import os
from concurrent.futures import ProcessPoolExecutor

import peewee
import pytest
from playhouse.schema_diff import diff_models

from tests.conftest import create_pg_database, drop_pg_database
from tracker.db import database, open_database
from tracker.migrate import HISTORY_TABLE, MIGRATIONS_DIR, _runner, pending, upgrade
from tracker.models import COUNT_COLUMNS, FEN_COLUMNS, MODELS

MIGRATIONS = [path.stem for path in sorted(MIGRATIONS_DIR.glob("[0-9]*.py"))]


@pytest.fixture
def fresh_url(backend, tmp_path):
    """An URL factory for empty databases of the backend under test."""
    made = []

    def make(name):
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        made.append(f"tracker_{name}_{os.getpid()}")
        return create_pg_database(made[-1])

    yield make
    for name in made:
        drop_pg_database(name)


def _shape(db):
    """Every table's columns (name, type, nullability, key), indexes and foreign keys; not
    the trigram indexes of incident search, which only PostgreSQL has (migration 0012)."""
    shape = {}
    for table in sorted(set(db.get_tables()) - {HISTORY_TABLE}):
        columns = {
            (c.name, c.data_type.lower(), c.null, c.primary_key) for c in db.get_columns(table)
        }
        indexes = {
            (tuple(i.columns), i.unique)
            for i in db.get_indexes(table)
            if not i.name.endswith("_trgm")
        }
        keys = {(k.column, k.dest_table, k.dest_column) for k in db.get_foreign_keys(table)}
        shape[table] = (columns, indexes, keys)
    return shape


def test_migrations_build_exactly_the_models_schema(fresh_url):
    migrated, created = open_database(fresh_url("migrated")), open_database(fresh_url("created"))
    upgrade(migrated)
    with created.bind_ctx(MODELS):
        created.create_tables(MODELS)
    with migrated.connection_context(), created.connection_context():
        assert _shape(migrated) == _shape(created)
        database.initialize(migrated)
        diff = diff_models(migrated, list(MODELS))
        kept = [i for i in diff.drop_indexes if not i.name.endswith("_trgm")]
        assert not diff._replace(drop_indexes=kept)


def test_upgrade_is_idempotent(fresh_url):
    db = open_database(fresh_url("twice"))
    assert upgrade(db) == MIGRATIONS
    assert upgrade(db) == []
    with db.connection_context():
        assert pending(db) == []


def _upgrade(url):
    return upgrade(open_database(url))


def test_replicas_starting_together_migrate_once(fresh_url):
    url = fresh_url("together")
    with ProcessPoolExecutor(4) as pool:
        results = list(pool.map(_upgrade, [url] * 4))
    assert sorted(map(len, results)) == [0, 0, 0, len(MIGRATIONS)]
    db = open_database(url)
    with db.connection_context():
        assert db.execute_sql(f"SELECT COUNT(*) FROM {HISTORY_TABLE}").fetchone()[0] == len(
            MIGRATIONS
        )


def test_counts_keep_their_rows_when_keyed_by_time_and_back(fresh_url):
    """0019 rebuilds minutes and hours WITHOUT ROWID (SQLite) or drops their ids (PostgreSQL):
    every row stays, a key stays unique, and down gives the ids and unique indexes back."""
    db = open_database(fresh_url("keyed"))
    runner = _runner(db)
    runner.up("0018_payment_hours")
    with db.connection_context():
        outcomes = ", ".join((*COUNT_COLUMNS, *FEN_COLUMNS))
        counts = ", ".join(str(n) for n in range(2 * len(COUNT_COLUMNS)))
        for table, moment in (("payment_minute", "minute"), ("payment_hour", "hour")):
            for at in ("2024-07-22 10:00:00", "2024-07-22 11:00:00"):
                db.execute_sql(
                    f"INSERT INTO {table} ({moment}, direction, channel, scope, {outcomes}) "
                    f"VALUES ('{at}', 'pay_in', 'unionpay', 'final', {counts})"
                )
        rows = {t: _rows(db, t) for t in ("payment_minute", "payment_hour")}
    runner.up()
    with db.connection_context():
        assert {t: _rows(db, t) for t in rows} == rows
        with pytest.raises(peewee.IntegrityError), db.atomic():
            db.execute_sql(
                "INSERT INTO payment_minute (minute, direction, channel, scope) "
                "VALUES ('2024-07-22 10:00:00', 'pay_in', 'unionpay', 'final')"
            )
    runner.down("0019_counts_keyed_by_time")
    with db.connection_context():
        assert {t: _rows(db, t) for t in rows} == rows
        assert {i.name for i in db.get_indexes("payment_minute") if i.unique} >= {
            "paymentminute_minute_direction_channel_scope"
        }
        assert "id" in {c.name for c in db.get_columns("payment_hour")}


def _rows(db, table):
    columns = [c.name for c in db.get_columns(table) if c.name != "id"]
    return sorted(db.execute_sql(f"SELECT {', '.join(columns)} FROM {table}").fetchall())
