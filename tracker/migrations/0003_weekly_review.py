"""Frozen weekly reviews: a week as it was exported.

A frozen copy of the model as it was; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class WeeklyReview(Model):
        week = CharField(primary_key=True, max_length=8)
        frozen_at = DateTimeField()
        frozen_by = CharField(max_length=200)
        snapshot = JSONField()

        class Meta:
            database = db
            table_name = "weekly_review"

    db.create_tables([WeeklyReview])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("weekly_review"))
