"""Payment counts per UTC hour: where minute rows older than `payments.keep_minutes_days` are
folded (DESIGN §13), so that years of history cost hours, not minutes.

A frozen copy of the model as it was; later migrations never edit it.
"""

from peewee import *

OUTCOMES = (
    "success",
    "user",
    "merchant",
    "risk",
    "bank_decline",
    "channel",
    "system",
    "pending",
    "invalid",
)


def up(migrator, db):
    class PaymentHour(Model):
        hour = DateTimeField()
        direction = CharField(max_length=8)
        channel = CharField(max_length=64)
        scope = CharField(max_length=16)

        class Meta:
            database = db
            table_name = "payment_hour"
            indexes = ((("hour", "direction", "channel", "scope"), True),)

    for column in (*(f"{o}_count" for o in OUTCOMES), *(f"{o}_fen" for o in OUTCOMES)):
        PaymentHour._meta.add_field(column, BigIntegerField(default=0))
    db.create_tables([PaymentHour])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("payment_hour"))
