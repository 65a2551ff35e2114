"""Scheduled job runs: one row per job and tick, claimed by the first process to get there.

A frozen copy of the model as it was; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class JobRun(Model):
        job = CharField(max_length=32)
        tick = DateTimeField()
        runner = CharField(max_length=200)
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        status = CharField(max_length=16)
        error = TextField(default="")

        class Meta:
            database = db
            table_name = "job_run"
            indexes = ((("job", "tick"), True),)

    db.create_tables([JobRun])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("job_run"))
