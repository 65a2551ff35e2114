"""Web UI users (argon2 password hashes) and sign-in attempts for throttling.

A frozen copy of the models as they were; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class User(Model):
        name = CharField(max_length=64, unique=True)
        role = CharField(max_length=16)
        password_hash = CharField(max_length=200)
        created_at = DateTimeField()
        disabled_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "app_user"

    class LoginAttempt(Model):
        name = CharField(max_length=64, index=True)
        address = CharField(max_length=64, index=True)
        at = DateTimeField(index=True)
        succeeded = BooleanField()

        class Meta:
            database = db
            table_name = "login_attempt"

    db.create_tables([User, LoginAttempt])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("login_attempt"))
    migrator.migrate(migrator.drop_table("app_user"))
