"""A maintenance window can be called off: `cancelled_at` and `cancelled_by` (null while it
stands). A cancelled window takes no time out of availability.

A frozen copy of the fields as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("maintenance_window", "cancelled_at", DateTimeField(null=True)),
        migrator.add_column(
            "maintenance_window", "cancelled_by", CharField(max_length=200, null=True)
        ),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("maintenance_window", "cancelled_by"),
        migrator.drop_column("maintenance_window", "cancelled_at"),
    )
