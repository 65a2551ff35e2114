"""Numbered schema migrations (peewee's `playhouse.migrations` runner) applied under a lock."""

from __future__ import annotations

from pathlib import Path

import peewee
from playhouse.migrations import Runner

from tracker.db import DATABASE_DOWN, exclusive, waiting_without_bound

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HISTORY_TABLE = "schema_migration"


def _runner(db: peewee.Database) -> Runner:
    return Runner(db, str(MIGRATIONS_DIR), table_name=HISTORY_TABLE)


def upgrade(db: peewee.Database) -> list[str]:
    """Apply pending migrations; returns their names. Replicas starting together are safe:
    the first takes the lock and migrates, the others wait and then find nothing to do."""
    with waiting_without_bound(db) as patient, exclusive(patient, "tracker.schema"):
        return _runner(patient).up()


def pending(db: peewee.Database) -> list[str]:
    """Names of migrations not yet applied."""
    return [m.name for m in _runner(db).status() if m.applied is None and m.path is not None]


def readiness(db: peewee.Database) -> dict[str, str]:
    """What keeps the service from being ready, by check; empty when ready."""
    try:
        with db.connection_context():
            db.execute_sql("SELECT 1")
            waiting = pending(db)
    except DATABASE_DOWN as exc:
        return {"database": str(exc).strip() or type(exc).__name__}
    if waiting:
        return {"migrations": "pending: " + ", ".join(waiting)}
    return {}
