"""Payment counts, one row per minute (and per local day) and series with a count and an
amount column per outcome, and a table of small facts about the data.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class PaymentDay(Model):
        day = DateField()
        direction = CharField(max_length=8)
        channel = CharField(max_length=64)
        scope = CharField(max_length=16)
        success_count = BigIntegerField(default=0)
        user_count = BigIntegerField(default=0)
        merchant_count = BigIntegerField(default=0)
        risk_count = BigIntegerField(default=0)
        bank_decline_count = BigIntegerField(default=0)
        channel_count = BigIntegerField(default=0)
        system_count = BigIntegerField(default=0)
        pending_count = BigIntegerField(default=0)
        invalid_count = BigIntegerField(default=0)
        success_fen = BigIntegerField(default=0)
        user_fen = BigIntegerField(default=0)
        merchant_fen = BigIntegerField(default=0)
        risk_fen = BigIntegerField(default=0)
        bank_decline_fen = BigIntegerField(default=0)
        channel_fen = BigIntegerField(default=0)
        system_fen = BigIntegerField(default=0)
        pending_fen = BigIntegerField(default=0)
        invalid_fen = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = "payment_day"
            indexes = ((("day", "direction", "channel", "scope"), True),)

    db.create_tables([PaymentDay])

    class PaymentMinute(Model):
        minute = DateTimeField()
        direction = CharField(max_length=8)
        channel = CharField(max_length=64)
        scope = CharField(max_length=16)
        success_count = BigIntegerField(null=True)
        user_count = BigIntegerField(null=True)
        merchant_count = BigIntegerField(null=True)
        risk_count = BigIntegerField(null=True)
        bank_decline_count = BigIntegerField(null=True)
        channel_count = BigIntegerField(null=True)
        system_count = BigIntegerField(null=True)
        pending_count = BigIntegerField(null=True)
        invalid_count = BigIntegerField(null=True)
        success_fen = BigIntegerField(null=True)
        user_fen = BigIntegerField(null=True)
        merchant_fen = BigIntegerField(null=True)
        risk_fen = BigIntegerField(null=True)
        bank_decline_fen = BigIntegerField(null=True)
        channel_fen = BigIntegerField(null=True)
        system_fen = BigIntegerField(null=True)
        pending_fen = BigIntegerField(null=True)
        invalid_fen = BigIntegerField(null=True)

        class Meta:
            database = db
            table_name = "payment_minute"
            indexes = ((("minute", "direction", "channel", "scope"), True),)

    db.create_tables([PaymentMinute])

    class State(Model):
        key = CharField(primary_key=True, max_length=64)
        value = TextField()

        class Meta:
            database = db
            table_name = "state"

    db.create_tables([State])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("state"))
    migrator.migrate(migrator.drop_table("payment_minute"))
    migrator.migrate(migrator.drop_table("payment_day"))
