"""API tokens may expire: `expires_at`, null for a token that never does.

A frozen copy of the field as it was; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("api_token", "expires_at", DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("api_token", "expires_at"))
