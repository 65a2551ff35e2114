"""Payment counts per minute, their daily totals, and a table of small facts about the data.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class PaymentCount(Model):
        minute = DateTimeField()
        direction = CharField(max_length=8)
        channel = CharField(max_length=64)
        scope = CharField(max_length=16)
        outcome = CharField(max_length=16)
        count = BigIntegerField()
        amount = BigIntegerField(null=True)

        class Meta:
            database = db
            table_name = "payment_count"
            indexes = ((("minute", "direction", "channel", "scope", "outcome"), True),)

    db.create_tables([PaymentCount])

    class PaymentDaily(Model):
        day = DateField()
        direction = CharField(max_length=8)
        channel = CharField(max_length=64)
        scope = CharField(max_length=16)
        outcome = CharField(max_length=16)
        count = BigIntegerField()
        amount = BigIntegerField()

        class Meta:
            database = db
            table_name = "payment_daily"
            indexes = ((("day", "direction", "channel", "scope", "outcome"), True),)

    db.create_tables([PaymentDaily])

    class State(Model):
        key = CharField(primary_key=True, max_length=64)
        value = TextField()

        class Meta:
            database = db
            table_name = "state"

    db.create_tables([State])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("state"))
    migrator.migrate(migrator.drop_table("payment_daily"))
    migrator.migrate(migrator.drop_table("payment_count"))
