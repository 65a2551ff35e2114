"""A token per UTC hour of payment minutes, renewed by every write into the hour, so that
what was computed from an hour's minutes (its dips) is known to be still good.

A frozen copy of the model as it was; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class PaymentRevision(Model):
        hour = DateTimeField(primary_key=True)
        token = BigIntegerField()

        class Meta:
            database = db
            table_name = "payment_revision"

    db.create_tables([PaymentRevision])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("payment_revision"))
