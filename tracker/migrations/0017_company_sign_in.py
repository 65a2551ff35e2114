"""Company sign-in (DESIGN §14): people known by their OpenID provider or signing-in proxy,
and API tokens that remember who made them.

- `app_user.source` ("local", "oidc", "proxy"), `issuer` and `subject` (unique together: the
  provider's identifier of the person), `email`, `signed_in_at`; `name` grows to 254
  characters (a company name may be an e-mail address). On SQLite the table is rebuilt, keeping
  AUTOINCREMENT (migration 0009).
- `api_token.created_by`: the user who made the token; disabling them revokes it.

A frozen copy of the schema change; later migrations never edit it.
"""

from peewee import *


def up(migrator, db):
    class AppUser(Model):
        class Meta:
            database = db
            table_name = "app_user"

    if isinstance(db, PostgresqlDatabase):
        migrator.migrate(
            migrator.alter_column_type("app_user", "name", CharField(max_length=254)),
            migrator.add_column("app_user", "source", CharField(max_length=8, default="local")),
            migrator.add_column("app_user", "issuer", CharField(max_length=1000, null=True)),
            migrator.add_column("app_user", "subject", CharField(max_length=255, null=True)),
            migrator.add_column("app_user", "email", CharField(max_length=254, default="")),
            migrator.add_column("app_user", "signed_in_at", DateTimeField(null=True)),
        )
    else:
        _rebuild_user_table(db)
    migrator.migrate(
        migrator.add_index("app_user", ("issuer", "subject"), True),
        migrator.add_column(
            "api_token",
            "created_by_id",
            ForeignKeyField(AppUser, null=True, on_delete="RESTRICT", field=AppUser.id),
        ),  # indexed by add_column, as every foreign key
    )


def _rebuild_user_table(db):
    kept = "id, name, role, password_hash, created_at, disabled_at, session_key"
    db.execute_sql(
        'CREATE TABLE "app_user_new" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, '
        '"name" VARCHAR(254) NOT NULL, "role" VARCHAR(16) NOT NULL, '
        '"password_hash" VARCHAR(200) NOT NULL, "created_at" DATETIME NOT NULL, '
        '"disabled_at" DATETIME, "session_key" VARCHAR(64) NOT NULL, '
        '"source" VARCHAR(8) NOT NULL DEFAULT \'local\', "issuer" VARCHAR(1000), '
        '"subject" VARCHAR(255), "email" VARCHAR(254) NOT NULL DEFAULT \'\', '
        '"signed_in_at" DATETIME)'
    )
    db.execute_sql(f"INSERT INTO app_user_new ({kept}) SELECT {kept} FROM app_user")
    db.execute_sql("DROP TABLE app_user")
    db.execute_sql("ALTER TABLE app_user_new RENAME TO app_user")
    db.execute_sql('CREATE UNIQUE INDEX "app_user_name" ON "app_user" ("name")')


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("api_token", "created_by_id"),
        migrator.drop_index("app_user", "app_user_issuer_subject"),
        migrator.drop_column("app_user", "signed_in_at"),
        migrator.drop_column("app_user", "email"),
        migrator.drop_column("app_user", "subject"),
        migrator.drop_column("app_user", "issuer"),
        migrator.drop_column("app_user", "source"),
    )
