"""The payment channels written so far, one row each, so that their number can be capped
(`payments.max_channels`) without scanning the counts; filled from the stored minutes, each
first seen at its earliest.

A frozen copy of the model as it was; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class PaymentChannel(Model):
        name = CharField(max_length=64, unique=True)
        first_seen = DateTimeField()

        class Meta:
            database = db
            table_name = "payment_channel"

    db.create_tables([PaymentChannel])
    seen = db.execute_sql("SELECT channel, MIN(minute) FROM payment_minute GROUP BY channel")
    rows = list(seen.fetchall())
    if rows:
        PaymentChannel.insert_many(rows, fields=["name", "first_seen"]).execute()


def down(migrator, db):
    migrator.migrate(migrator.drop_table("payment_channel"))
