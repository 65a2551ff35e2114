"""After the incident (DESIGN §11): follow-ups, changes waiting for a second admin, and when
a record was reported to the regulator.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class Incident(Model):
        class Meta:
            database = db
            table_name = "incident"

    class FollowUp(Model):
        incident = ForeignKeyField(Incident, on_delete="CASCADE", index=True)
        title = CharField(max_length=200)
        owner = CharField(max_length=200, index=True)
        due_on = DateField()
        status = CharField(max_length=16, default="open")
        priority = CharField(max_length=8, default="medium")
        url = CharField(max_length=2000, null=True)
        done_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        created_by = CharField(max_length=200)

        class Meta:
            database = db
            table_name = "follow_up"
            indexes = ((("status", "due_on"), False),)

    class PendingChange(Model):
        incident = ForeignKeyField(Incident, on_delete="CASCADE", index=True)
        proposed_by = CharField(max_length=200)
        proposed_at = DateTimeField()
        before = JSONField()
        after = JSONField()
        reason = TextField(default="")
        status = CharField(max_length=16, default="pending", index=True)
        decided_by = CharField(max_length=200, null=True)
        decided_at = DateTimeField(null=True)
        decision_reason = TextField(default="")

        class Meta:
            database = db
            table_name = "pending_change"

    migrator.migrate(
        migrator.add_column("incident", "regulatory_reported_at", DateTimeField(null=True))
    )
    db.create_tables([FollowUp, PendingChange])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("pending_change"),
        migrator.drop_table("follow_up"),
        migrator.drop_column("incident", "regulatory_reported_at"),
    )
