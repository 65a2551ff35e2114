"""The notification outbox (DESIGN §10) and its attempts.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class Notification(Model):
        delivery = CharField(max_length=36)
        channel = CharField(max_length=64)
        event = CharField(max_length=32)
        subject = CharField(max_length=64)
        payload = JSONField()
        status = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        lease_until = DateTimeField(null=True)
        last_error = TextField(default="")
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "notification"
            indexes = ((("channel", "status", "next_attempt_at"), False),)

    class NotificationAttempt(Model):
        notification = ForeignKeyField(Notification, on_delete="CASCADE", index=True)
        channel = CharField(max_length=64)
        at = DateTimeField()
        error = TextField(default="")

        class Meta:
            database = db
            table_name = "notification_attempt"
            indexes = ((("channel", "at"), False),)

    db.create_tables([Notification, NotificationAttempt])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("notification_attempt"), migrator.drop_table("notification")
    )
