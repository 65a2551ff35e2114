"""Sessions that can be ended, and sign-in lockouts an admin can clear.

- `app_user.session_key`: every session cookie carries its user's key; a new key (sign-out,
  disabling, a new role or password) ends them all. Existing users get a random one.
- `app_user.id` is never reused: on SQLite the table is rebuilt with AUTOINCREMENT (a deleted
  newest user's id would otherwise go to the next one created, and their old cookie with it).
- `login_attempt.cleared`: failures forgiven by `tracker users unlock`.

A frozen copy of the schema change; later migrations never edit it.
"""

import secrets

from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("app_user", "session_key", CharField(max_length=64, default="")),
        migrator.add_column("login_attempt", "cleared", BooleanField(default=False)),
    )
    for (user_id,) in db.execute_sql("SELECT id FROM app_user").fetchall():
        db.execute_sql(
            "UPDATE app_user SET session_key = %s WHERE id = %s"
            if isinstance(db, PostgresqlDatabase)
            else "UPDATE app_user SET session_key = ? WHERE id = ?",
            (secrets.token_urlsafe(32), user_id),
        )
    if not isinstance(db, PostgresqlDatabase):
        _rebuild_with_autoincrement(db)


def _rebuild_with_autoincrement(db):
    columns = "id, name, role, password_hash, created_at, disabled_at, session_key"
    db.execute_sql(
        'CREATE TABLE "app_user_new" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, '
        '"name" VARCHAR(64) NOT NULL, "role" VARCHAR(16) NOT NULL, '
        '"password_hash" VARCHAR(200) NOT NULL, "created_at" DATETIME NOT NULL, '
        '"disabled_at" DATETIME, "session_key" VARCHAR(64) NOT NULL)'
    )
    db.execute_sql(f"INSERT INTO app_user_new ({columns}) SELECT {columns} FROM app_user")
    db.execute_sql("DROP TABLE app_user")
    db.execute_sql("ALTER TABLE app_user_new RENAME TO app_user")
    db.execute_sql('CREATE UNIQUE INDEX "app_user_name" ON "app_user" ("name")')


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("login_attempt", "cleared"),
        migrator.drop_column("app_user", "session_key"),
    )
