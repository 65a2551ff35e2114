"""Alert intake (DESIGN §9): alerts by (fingerprint, startsAt), and the end of impact their
resolution proposes on the record they opened.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class Incident(Model):
        class Meta:
            database = db
            table_name = "incident"

    class Alert(Model):
        fingerprint = CharField(max_length=64)
        starts_at = DateTimeField()
        ends_at = DateTimeField(null=True)
        status = CharField(max_length=16)
        group_hash = CharField(max_length=64, index=True)
        group_key = TextField()
        labels = JSONField()
        annotations = JSONField()
        generator_url = TextField(default="")
        incident = ForeignKeyField(Incident, on_delete="CASCADE", index=True)
        received_at = DateTimeField()
        last_seen_at = DateTimeField()

        class Meta:
            database = db
            table_name = "alert"
            indexes = ((("fingerprint", "starts_at"), True),)

    migrator.migrate(
        migrator.add_column("incident", "alerts_resolved_at", DateTimeField(null=True))
    )
    db.create_tables([Alert])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("alert"), migrator.drop_column("incident", "alerts_resolved_at")
    )
