"""Rollup snapshots: every figure as of one moment.

A frozen copy of the model as it was; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class Snapshot(Model):
        taken_at = DateTimeField(index=True)
        duration_seconds = DoubleField()
        data = JSONField()

        class Meta:
            database = db
            table_name = "snapshot"

    db.create_tables([Snapshot])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("snapshot"))
