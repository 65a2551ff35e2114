"""PostgreSQL: trigram indexes (pg_trgm) on the fields incident search reads, so that
`?q=` finds a substring in title, summary or location without reading every incident.
Where the extension cannot be created (not installed, or no right to), search still works,
bounded by its time limit. SQLite has no such index and needs none at its sizes.

A frozen copy of the indexes as they were; later migrations never edit it.
"""

import logging

from peewee import *

log = logging.getLogger(__name__)
FIELDS = ("title", "summary", "location")


def up(migrator, db):
    if not isinstance(db, PostgresqlDatabase):
        return
    try:
        with db.savepoint():
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        log.warning("no trigram indexes for incident search: %s", str(exc).strip())
        return
    for field in FIELDS:
        db.execute_sql(
            f"CREATE INDEX IF NOT EXISTS incident_{field}_trgm ON incident "
            f"USING gin ({field} gin_trgm_ops)"
        )


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        for field in FIELDS:
            db.execute_sql(f"DROP INDEX IF EXISTS incident_{field}_trgm")
