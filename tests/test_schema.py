"""Numbered migrations: on an empty database they build exactly the models' schema, once."""

import os
from concurrent.futures import ProcessPoolExecutor

import pytest
from playhouse.schema_diff import diff_models

from tests.conftest import create_pg_database, drop_pg_database
from tracker.db import database, open_database
from tracker.migrate import HISTORY_TABLE, MIGRATIONS_DIR, pending, upgrade
from tracker.models import MODELS

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
