"""peewee models: the stored shape of every record, and the named queries over them."""

from __future__ import annotations

import io
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import numpy
import orjson
import peewee
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from tracker.core.vocabulary import INCIDENT_GRADES, OUTCOMES, UNCOUNTED_STATUSES
from tracker.db import BaseModel, Prepared, is_postgres, slot


class UTCDateTimeField(peewee.DateTimeField):
    """Stores naive UTC; reads back aware UTC datetimes."""

    def db_value(self, value: datetime | None) -> Any:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value: Any) -> datetime | None:
        if isinstance(value, str):  # SQLite's text: ISO 8601, read in C (peewee tries formats)
            try:  # naive UTC as stored: read as UTC at once (replace() costs five times more)
                return datetime.fromisoformat(value + "+00:00")
            except ValueError:
                pass
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = super().python_value(value)
        else:
            value = super().python_value(value)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utc_of(value: Any) -> datetime | None:
    """A stored time (SQLite's text, PostgreSQL's naive datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # naive UTC text: read it as UTC at once
        return datetime.fromisoformat(value + "+00:00")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def raw_rows(query: peewee.Query) -> list[tuple]:
    """A query's rows as the driver gives them, without peewee's per-value conversion (which
    costs more than the query on the rollup's thousands of rows): times need `utc_of`."""
    return list(query.model._meta.database.execute(query).fetchall())


class MoneyField(peewee.BigIntegerField):
    """A CNY amount stored exactly as integer fen; read back as a two-place Decimal."""

    def db_value(self, value: Decimal | None) -> int | None:
        if value is None:
            return None
        return int(Decimal(value).scaleb(2).to_integral_exact())

    def python_value(self, value: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-2)


class Service(BaseModel):
    key = peewee.CharField(max_length=63, unique=True)
    name = peewee.CharField(max_length=200)
    tier = peewee.SmallIntegerField()
    objective = peewee.DoubleField()
    description = peewee.TextField(default="")
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()

    @classmethod
    def has_key(cls, key: str) -> bool:
        """Whether a service is known by `key` (a list's filter asks at every request)."""
        return _SERVICE_KEYED.execute(None, {"key": key}).fetchone() is not None

    @classmethod
    def by_keys(cls, keys: Iterable[str]) -> list[Service]:
        return list(cls.select().where(cls.key.in_(list(keys))))

    @classmethod
    def ordered(cls) -> peewee.ModelSelect:
        return cls.select().order_by(cls.tier, cls.key)


class Incident(BaseModel):
    title = peewee.CharField(max_length=200)
    summary = peewee.TextField(default="")
    status = peewee.CharField(max_length=16, default="open")
    grade = peewee.CharField(max_length=8, null=True)
    grade_reason = peewee.TextField(default="")
    impact_started_at = UTCDateTimeField()
    detected_at = UTCDateTimeField(index=True)
    acknowledged_at = UTCDateTimeField(null=True)
    mitigated_at = UTCDateTimeField(null=True)
    resolved_at = UTCDateTimeField(null=True)
    impact_ratio = peewee.DoubleField(default=1.0)
    counts_toward_availability = peewee.BooleanField(default=True)
    responsibility = peewee.JSONField(default=list)
    root_cause = peewee.CharField(max_length=32, default="unknown")
    detection_source = peewee.CharField(max_length=32, default="monitoring")
    location = peewee.CharField(max_length=200, default="")
    affected_transactions = peewee.BigIntegerField(null=True)
    affected_amount = MoneyField(null=True)
    fund_loss = MoneyField(null=True)
    regulatory_level = peewee.CharField(max_length=16, default="none")
    postmortem_url = peewee.CharField(max_length=2000, null=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    created_by = peewee.CharField(max_length=200)
    # A record opened from alerts: when every one of its alerts had resolved (the latest
    # `endsAt`), proposed as the end of impact; never written into `mitigated_at` by itself.
    alerts_resolved_at = UTCDateTimeField(null=True)
    regulatory_reported_at = UTCDateTimeField(null=True)

    class Meta:
        # Lists are newest first (detected_at, id), often filtered by status or grade.
        indexes = (
            (("detected_at", "id"), False),
            (("status", "detected_at", "id"), False),
            (("grade", "detected_at", "id"), False),
        )

    @classmethod
    def detected_between(cls, since: datetime | None, until: datetime | None) -> peewee.ModelSelect:
        """Incidents whose `detected_at` is in [since, until)."""
        query = cls.select()
        if since is not None:
            query = query.where(cls.detected_at >= since)
        if until is not None:
            query = query.where(cls.detected_at < until)
        return query

    @classmethod
    def impairing(cls, since: datetime, until: datetime) -> peewee.ModelSelect:
        """Incidents that count toward availability (DESIGN §4.1) with impact in [since, until):
        not cancelled, counted, ratio > 0, impaired from impact start to mitigation, else
        resolution, else still."""
        impact_end = peewee.fn.COALESCE(cls.mitigated_at, cls.resolved_at)
        # An expression has no field to convert its operand: pass the stored form (naive UTC).
        stored_since = cls.mitigated_at.db_value(since)
        return cls.select().where(
            cls.status.not_in(UNCOUNTED_STATUSES)
            & (cls.counts_toward_availability == True)  # noqa: E712 (SQL, not Python)
            & (cls.impact_ratio > 0)
            & (cls.impact_started_at < until)
            & (impact_end.is_null() | (impact_end > stored_since))
        )

    @classmethod
    def graded_between(cls, since: datetime, until: datetime) -> peewee.ModelSelect:
        """Incidents (grade A–D, neither a draft nor cancelled) detected in [since, until):
        what counts."""
        return cls.detected_between(since, until).where(
            cls.status.not_in(UNCOUNTED_STATUSES) & cls.grade.in_(INCIDENT_GRADES)
        )

    @classmethod
    def counted_between(cls, since: datetime, until: datetime) -> peewee.ModelSelect:
        """Every record detected in [since, until) but drafts and the cancelled ones."""
        return cls.detected_between(since, until).where(cls.status.not_in(UNCOUNTED_STATUSES))

    @classmethod
    def drafts(cls) -> peewee.ModelSelect:
        """Drafts from alerts waiting for a person, oldest first."""
        return cls.select().where(cls.status == "triage").order_by(cls.detected_at, cls.id)

    @classmethod
    def affecting(cls, query: peewee.ModelSelect, service_key: str) -> peewee.ModelSelect:
        """Incidents linked to the service, as a correlated EXISTS: a newest-first page walks
        its index and probes the link's unique key per row, stopping at the page's end,
        instead of collecting every linked incident and sorting them."""
        linked = (
            IncidentService.select(IncidentService.id)
            .join(Service)
            .where((IncidentService.incident == cls.id) & (Service.key == service_key))
        )
        return query.where(peewee.fn.EXISTS(linked))

    @classmethod
    def matching(cls, query: peewee.ModelSelect, pattern: str | peewee.Node) -> peewee.ModelSelect:
        """Case-insensitive search in title, summary and location for a `like_pattern`
        (PostgreSQL: trigram indexes serve it)."""
        like = "ILIKE" if is_postgres(cls._meta.database) else "LIKE"

        def contains(field: peewee.Field) -> peewee.NodeList:
            return peewee.NodeList((field, peewee.SQL(like), pattern, peewee.SQL("ESCAPE '\\'")))

        return query.where(contains(cls.title) | contains(cls.summary) | contains(cls.location))

    @staticmethod
    def like_pattern(text: str) -> str:
        """What `matching` looks for to find `text` as written: `%` and `_` are characters
        here, not wildcards."""
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"

    @classmethod
    def newest_first(cls, query: peewee.ModelSelect) -> peewee.ModelSelect:
        return query.order_by(cls.detected_at.desc(), cls.id.desc())

    @classmethod
    def after(cls, query: peewee.ModelSelect, at: datetime, id: int) -> peewee.ModelSelect:
        """Rows after (at, id) in newest-first order: keyset pagination."""
        return query.where((cls.detected_at < at) | ((cls.detected_at == at) & (cls.id < id)))

    @classmethod
    def unresolved(cls) -> peewee.ModelSelect:
        """Records not resolved yet: open or mitigated."""
        return cls.select().where(cls.status.in_(("open", "mitigated")))

    @classmethod
    def open_by_grade(cls) -> dict[str, int]:
        """Incidents not resolved yet (open or mitigated) per grade; `ungraded` for none yet."""
        counts = dict.fromkeys((*INCIDENT_GRADES, "none", "ungraded"), 0)
        query = cls.unresolved().select(cls.grade, peewee.fn.COUNT(cls.id))
        for grade, n in query.group_by(cls.grade).tuples():
            counts[grade or "ungraded"] = n
        return counts

    def service_keys(self) -> list[str]:
        return service_keys_by_incident([self.id]).get(self.id, [])


class IncidentService(BaseModel):
    incident = peewee.ForeignKeyField(Incident, on_delete="CASCADE")
    service = peewee.ForeignKeyField(Service, on_delete="RESTRICT", index=True)

    class Meta:
        indexes = ((("incident", "service"), True),)


def with_service_ids(incidents: peewee.ModelSelect) -> peewee.ModelSelect:
    """The query's incidents with the id of each service they affect as a last column: a row
    per incident and service, one row with None for an incident naming none (one query, in
    no order: the caller groups)."""
    return incidents.select_extend(IncidentService.service).join(
        IncidentService,
        peewee.JOIN.LEFT_OUTER,
        on=(IncidentService.incident == Incident.id),
    )


IDS_PER_QUERY = 10_000  # well under the bound parameters a statement may have (SQLite: 32,766)


_SERVICE_KEYED = Prepared(lambda _: Service.select(Service.id).where(Service.key == slot("key")))


def service_keys_by_incident(incident_ids: Sequence[int]) -> dict[int, list[str]]:
    """Affected service keys per incident id, in one query per IDS_PER_QUERY ids."""
    return services_by_incident(incident_ids)[0]


def services_by_incident(
    incident_ids: Sequence[int],
) -> tuple[dict[int, list[str]], dict[str, int]]:
    """Affected service keys per incident id, and the tier of each service named, in one
    query per IDS_PER_QUERY ids."""
    keys: dict[int, list[str]] = {}
    tiers: dict[str, int] = {}
    ids = list(incident_ids)
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        size = 1 << (len(chunk) - 1).bit_length()  # a few shapes: the last id again to fill
        chunk += chunk[-1:] * (size - len(chunk))
        for incident_id, key, tier in _LINKED.execute(size, chunk):
            keys.setdefault(incident_id, []).append(key)
            tiers[key] = tier
    return keys, tiers


def _linked(size: int) -> peewee.ModelSelect:
    """(incident id, service key, tier) of the links of `size` incidents, by key."""
    return (
        IncidentService.select(IncidentService.incident, Service.key, Service.tier)
        .join(Service)
        .where(IncidentService.incident.in_([slot(at) for at in range(size)]))  # type: ignore[arg-type]
        .order_by(Service.key)
    )


_LINKED = Prepared(_linked)


class TimelineEntry(BaseModel):
    incident = peewee.ForeignKeyField(Incident, backref="timeline", on_delete="CASCADE")
    at = UTCDateTimeField()
    text = peewee.TextField()
    author = peewee.CharField(max_length=200)
    created_at = UTCDateTimeField()

    @classmethod
    def of(cls, incident_id: int) -> peewee.ModelSelect:
        return cls.select().where(cls.incident == incident_id).order_by(cls.at, cls.id)


class AuditRecord(BaseModel):
    at = UTCDateTimeField(index=True)
    actor = peewee.CharField(max_length=200)
    action = peewee.CharField(max_length=32)
    entity = peewee.CharField(max_length=32)
    entity_id = peewee.CharField(max_length=64)
    before = peewee.JSONField(null=True)
    after = peewee.JSONField(null=True)

    class Meta:
        indexes = ((("entity", "entity_id", "id"), False),)

    @classmethod
    def filtered(
        cls, *, entity: str | None, entity_id: str | None, since: datetime | None
    ) -> peewee.ModelSelect:
        query = cls.select()
        if entity is not None:
            query = query.where(cls.entity == entity)
        if entity_id is not None:
            query = query.where(cls.entity_id == entity_id)
        if since is not None:
            query = query.where(cls.at >= since)
        return query


class MaintenanceWindow(BaseModel):
    services = peewee.JSONField()
    starts_at = UTCDateTimeField(index=True)
    ends_at = UTCDateTimeField()
    reason = peewee.TextField()
    announced_at = UTCDateTimeField()
    created_at = UTCDateTimeField()
    created_by = peewee.CharField(max_length=200)
    cancelled_at = UTCDateTimeField(null=True)
    cancelled_by = peewee.CharField(max_length=200, null=True)

    @classmethod
    def overlapping(cls, since: datetime | None, until: datetime | None) -> peewee.ModelSelect:
        """Windows that overlap [since, until)."""
        query = cls.select()
        if until is not None:
            query = query.where(cls.starts_at < until)
        if since is not None:
            query = query.where(cls.ends_at > since)
        return query


class NeverReusedId(peewee.AutoField):
    """A row id no later row gets again, even after the newest row is deleted: SQLite's
    AUTOINCREMENT (PostgreSQL's sequences never go back anyway)."""

    def ddl(self, ctx: Any) -> Any:
        nodes = super().ddl(ctx)
        if is_postgres(self.model._meta.database):
            return nodes
        return peewee.NodeList((nodes, peewee.SQL("AUTOINCREMENT")))


class User(BaseModel):
    """A person who signs in to the web UI; the password is kept only as an argon2 hash.
    `session_key` is in every session cookie of theirs: a new one ends them all."""

    id = NeverReusedId()
    name = peewee.CharField(max_length=254, unique=True)
    role = peewee.CharField(max_length=16)
    password_hash = peewee.CharField(max_length=200)  # "": no local password
    created_at = UTCDateTimeField()
    disabled_at = UTCDateTimeField(null=True)
    session_key = peewee.CharField(max_length=64, default="")
    # Where the person signs in: "local" (a password), "oidc" or "proxy" (the company's
    # account, known by its issuer and subject, the one identifier that never changes).
    source = peewee.CharField(max_length=8, default="local")
    issuer = peewee.CharField(max_length=1000, null=True)
    subject = peewee.CharField(max_length=255, null=True)
    email = peewee.CharField(max_length=254, default="")
    signed_in_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "app_user"  # "user" is reserved in PostgreSQL
        indexes = ((("issuer", "subject"), True),)

    @classmethod
    def active(cls, name: str) -> User | None:
        return cls.get_or_none((cls.name == name) & cls.disabled_at.is_null())


class LoginAttempt(BaseModel):
    """Sign-in attempts, kept a while to slow down password guessing across workers. An
    attempt is written as failed before its password is checked and marked succeeded after,
    so concurrent guesses count before any of them is checked; `cleared` by an unlock."""

    name = peewee.CharField(max_length=64, index=True)
    address = peewee.CharField(max_length=64, index=True)
    at = UTCDateTimeField(index=True)
    succeeded = peewee.BooleanField()
    cleared = peewee.BooleanField(default=False)

    @classmethod
    def failures_of_name(cls, name: str, since: datetime) -> int:
        """Failed attempts at this name since `since` and since its last success."""
        success = (
            cls.select(cls.at)
            .where((cls.name == name) & cls.succeeded)
            .order_by(cls.at.desc())
            .first()
        )
        after = cls.at >= since
        if success is not None and success.at >= since:
            after = cls.at > success.at
        return cls._failures((cls.name == name) & after)

    @classmethod
    def failures_from(cls, address: str, since: datetime) -> int:
        """Failed attempts from this address since `since`, at any name."""
        return cls._failures((cls.address == address) & (cls.at >= since))

    @classmethod
    def _failures(cls, where: peewee.Expression) -> int:
        return cls.select().where(where & ~cls.succeeded & ~cls.cleared).count()

    @classmethod
    def clear(cls, name: str) -> int:
        """Forgive the failures at this name (an admin's unlock)."""
        return cls.update(cleared=True).where((cls.name == name) & ~cls.succeeded).execute()


class ApiToken(BaseModel):
    name = peewee.CharField(max_length=200)
    role = peewee.CharField(max_length=16)
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField()
    revoked_at = UTCDateTimeField(null=True)
    expires_at = UTCDateTimeField(null=True)  # null: never expires
    # The person who made it (null: made on the command line for nobody in particular);
    # disabling them revokes it.
    created_by = peewee.ForeignKeyField(User, null=True, on_delete="RESTRICT", index=True)

    @classmethod
    def active_by_hash(cls, token_hash: str, now: datetime) -> ApiToken | None:
        """The token with this digest if it is neither revoked nor expired at `now`."""
        return cls.get_or_none(
            (cls.token_hash == token_hash)
            & cls.revoked_at.is_null()
            & (cls.expires_at.is_null() | (cls.expires_at > now))
        )


# Payment counts are stored wide: one row per minute (or day) and series (direction, channel,
# scope), with a count and an amount column per outcome. A minute of 9 outcomes is one row and
# one index entry instead of nine, which is what makes ingestion and rate queries cheap.
COUNT_COLUMNS = tuple(f"{o}_count" for o in OUTCOMES)
FEN_COLUMNS = tuple(f"{o}_fen" for o in OUTCOMES)
SERIES_COLUMNS = ("direction", "channel", "scope")


def _outcome_columns(*, stored_as_given: bool) -> Callable[[type[BaseModel]], type[BaseModel]]:
    """Add a count and an amount (fen) column per outcome. Minute rows keep NULL for an
    outcome never written; day rows hold running totals that start at 0."""

    def add(model: type[BaseModel]) -> type[BaseModel]:
        for column in (*COUNT_COLUMNS, *FEN_COLUMNS):
            field = (
                peewee.BigIntegerField(null=True)
                if stored_as_given
                else peewee.BigIntegerField(default=0)
            )
            model._meta.add_field(column, field)
        return model

    return add


def _upsert_many(
    model: type[BaseModel], names: Sequence[str], conflict: str, columns: Columns
) -> None:
    """Insert many rows, given as Arrow columns of equal length named `names`, with one
    `ON CONFLICT` clause: the hot path of ingestion, past the query builder. SQLite: the
    values as Python's (a timestamp as its text), bound in rows of VALUES (a third faster
    than `executemany`), laid out by slice assignment. A statement holds a power of two of
    rows, as many as SQLite's limit of parameters allows and the rest in smaller powers of
    two: SQLite takes 4.5 ms to compile a statement of 2,000 rows, so every size is one the
    connection has compiled before. PostgreSQL: COPY, then one `INSERT … SELECT`."""
    if not columns or not len(columns[0]):
        return
    table, listed = model._meta.table_name, ", ".join(names)
    db = model._meta.database
    if is_postgres(db):
        insert = f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {{}} {conflict}"
        _copy_many(model, names, insert, columns)
        return
    values = [_python_values(c) for c in columns]
    width, count = len(values), len(values[0])
    row = f"({', '.join('?' * width)})"
    cursor = db.cursor()
    fits = min(SQLITE_ROWS_PER_STATEMENT, _sqlite_parameters(cursor.connection) // width)
    start = 0
    while start < count:
        rows = 1 << (min(fits, count - start).bit_length() - 1)
        bound: list[Any] = [None] * (rows * width)
        for at, column in enumerate(values):
            bound[at::width] = column[start : start + rows]
        rows_sql = ", ".join([row] * rows)
        cursor.execute(f"INSERT INTO {table} ({listed}) VALUES {rows_sql} {conflict}", bound)
        start += rows


Columns = Sequence[pa.Array | pa.ChunkedArray]


def _python_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """A column as the Python values SQLite binds (a timestamp as its text). Text and times
    repeat (a minute and its series names on every row): each distinct one is made once and
    the rows share it, five to ten times sooner than a new object per row."""
    if not len(column) or not (
        pa.types.is_timestamp(column.type) or pa.types.is_string(column.type)
    ):
        return column.to_pylist()
    coded = pc.dictionary_encode(column, null_encoding="encode")  # a null: a value too
    if isinstance(coded, pa.ChunkedArray):
        coded = coded.combine_chunks()
    distinct = coded.dictionary
    if pa.types.is_timestamp(distinct.type):
        distinct = pc.cast(distinct, pa.string())
    return numpy.array(distinct.to_pylist(), dtype=object)[
        coded.indices.to_numpy(zero_copy_only=False)
    ].tolist()


def _copy_many(model: type[BaseModel], names: Sequence[str], insert: str, columns: Columns) -> None:
    """PostgreSQL: the rows written as CSV by Arrow (a null: an empty field; text: quoted when
    empty) and COPYed into this transaction's temporary table of the model's columns, then
    `insert` (its `{}` that table) and the table emptied. Paged VALUES (`execute_values`)
    formatted each row in Python and made the server parse them: 6.3 s for a week of minutes
    here, against 1.6 s this way."""
    db = model._meta.database
    table, staged = model._meta.table_name, f"bulk_{model._meta.table_name}"
    fields = [
        f.column_name for f in model._meta.sorted_fields if not isinstance(f, peewee.AutoField)
    ]
    buffer = io.BytesIO()
    pa_csv.write_csv(
        pa.table(list(columns), names=list(names)),
        buffer,
        pa_csv.WriteOptions(include_header=False),
    )
    buffer.seek(0)
    with db.atomic():  # ON COMMIT DROP: the temporary table lives as long as the transaction
        cursor = db.cursor()
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staged} ON COMMIT DROP AS "
            f"SELECT {', '.join(fields)} FROM {table} WITH NO DATA"
        )
        cursor.copy_expert(
            f"COPY {staged} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)", buffer
        )
        cursor.execute(insert.format(staged))
        cursor.execute(f"TRUNCATE {staged}")


SQLITE_ROWS_PER_STATEMENT = 2048


def _sqlite_parameters(connection: sqlite3.Connection) -> int:
    """SQLite's limit of parameters a statement (32,766 since 3.32; 999 before)."""
    return connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _series_totals(
    model: type[BaseModel],
    period: peewee.Field,
    first: Any,
    end: Any,
    *,
    direction: str,
    scope: str,
    channel: str | None,
) -> dict[str, int]:
    """Σ count per outcome of one direction and scope (one channel, or all) over rows whose
    `period` column is in [first, end)."""
    query = model.select(*(peewee.fn.SUM(getattr(model, c)) for c in COUNT_COLUMNS)).where(
        (model.direction == direction) & (model.scope == scope) & (period >= first) & (period < end)
    )
    if channel is not None:
        query = query.where(model.channel == channel)
    sums = query.tuples().get()
    return {o: int(n) for o, n in zip(OUTCOMES, sums, strict=True) if n is not None}


def _totals_by_series(
    model: type[BaseModel], period: peewee.Field, first: Any, end: Any
) -> dict[tuple[str, str, str], dict[str, int]]:
    """(direction, channel, scope) → Σ count per outcome of rows whose `period` column is in
    [first, end): every series in one query."""
    series = [model.direction, model.channel, model.scope]
    sums = [peewee.fn.SUM(getattr(model, c)) for c in COUNT_COLUMNS]
    query = (
        model.select(*series, *sums)
        .where((period >= first) & (period < end))
        .group_by(*series)
        .tuples()
    )
    return {
        (direction, channel, scope): {
            o: int(n) for o, n in zip(OUTCOMES, counts, strict=True) if n is not None
        }
        for direction, channel, scope, *counts in query
    }


class FollowUp(BaseModel):
    """An action item of an incident (DESIGN §11): who does what by when."""

    incident = peewee.ForeignKeyField(Incident, on_delete="CASCADE", index=True)
    title = peewee.CharField(max_length=200)
    owner = peewee.CharField(max_length=200, index=True)
    due_on = peewee.DateField()
    status = peewee.CharField(max_length=16, default="open")
    priority = peewee.CharField(max_length=8, default="medium")
    url = peewee.CharField(max_length=2000, null=True)
    done_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField()
    updated_at = UTCDateTimeField()
    created_by = peewee.CharField(max_length=200)

    class Meta:
        table_name = "follow_up"
        indexes = ((("status", "due_on"), False),)


class PendingChange(BaseModel):
    """A change of grade, responsibility or regulatory level waiting for a second admin
    (DESIGN §11): what it changes from and to, who proposed it and who decided."""

    incident = peewee.ForeignKeyField(Incident, on_delete="CASCADE", index=True)
    proposed_by = peewee.CharField(max_length=200)
    proposed_at = UTCDateTimeField()
    before = peewee.JSONField()
    after = peewee.JSONField()
    reason = peewee.TextField(default="")
    status = peewee.CharField(max_length=16, default="pending", index=True)
    decided_by = peewee.CharField(max_length=200, null=True)
    decided_at = UTCDateTimeField(null=True)
    decision_reason = peewee.TextField(default="")

    class Meta:
        table_name = "pending_change"


class PaymentChannel(BaseModel):
    """Every payment channel ever written: their number is capped (`payments.max_channels`),
    since each one multiplies the figures every rollup computes and every scrape carries."""

    name = peewee.CharField(max_length=64, unique=True)
    first_seen = UTCDateTimeField()

    @classmethod
    def known(cls, names: Iterable[str]) -> set[str]:
        """Which of these channels are known."""
        asked = list(names)
        if not asked:
            return set()
        size = 1 << (len(asked) - 1).bit_length()  # a few shapes: the last name again to fill
        asked += asked[-1:] * (size - len(asked))
        return {name for (name,) in _CHANNELS_NAMED.execute(size, asked).fetchall()}


_CHANNELS_NAMED = Prepared(
    lambda size: PaymentChannel.select(PaymentChannel.name).where(
        PaymentChannel.name.in_([slot(at) for at in range(size)])  # type: ignore[arg-type]
    )
)


class _CountsOverTime:
    """What a table of counts by moment (a minute or an hour, its `PERIOD` column) answers
    over [since, until): the rates read minutes and the hours of folded history alike."""

    PERIOD: ClassVar[str]

    @classmethod
    def outcome_totals(
        cls, *, direction: str, scope: str, channel: str | None, since: datetime, until: datetime
    ) -> dict[str, int]:
        """Σ count per outcome over the rows in [since, until)."""
        series = {"direction": direction, "scope": scope, "channel": channel}
        return _series_totals(cls, getattr(cls, cls.PERIOD), since, until, **series)

    @classmethod
    def totals_by_series(
        cls, since: datetime, until: datetime
    ) -> dict[tuple[str, str, str], dict[str, int]]:
        """(direction, channel, scope) → Σ count per outcome over the rows in [since, until)."""
        return _totals_by_series(cls, getattr(cls, cls.PERIOD), since, until)

    @classmethod
    def channels_between(cls, since: datetime, until: datetime) -> list[str]:
        """The distinct channels with a row in [since, until), in name order."""
        period = getattr(cls, cls.PERIOD)
        query = (
            cls.select(cls.channel)
            .where((period >= since) & (period < until))
            .distinct()
            .order_by(cls.channel)
        )
        return [channel for (channel,) in query.tuples()]


class _KeyedByTime(peewee.Metadata):
    """A table of counts keyed by its moment and series (migration 0019): WITHOUT ROWID on
    SQLite, so a row lives in one B-tree ordered by that key (an import writes one tree, not
    a table and an index); PostgreSQL has no such clause (a heap with its primary key)."""

    @property  # type: ignore[override]
    def without_rowid(self) -> bool:
        return self._without_rowid and not is_postgres(self.database)

    @without_rowid.setter
    def without_rowid(self, value: bool) -> None:
        self._without_rowid = value


@_outcome_columns(stored_as_given=True)
class PaymentMinute(_CountsOverTime, BaseModel):
    """The counts of one minute of one series; writing an outcome again replaces it."""

    PERIOD = "minute"

    minute = UTCDateTimeField()
    direction = peewee.CharField(max_length=8)
    channel = peewee.CharField(max_length=64)
    scope = peewee.CharField(max_length=16)

    class Meta:
        model_metadata_class = _KeyedByTime
        primary_key = peewee.CompositeKey("minute", "direction", "channel", "scope")
        without_rowid = True

    @classmethod
    def upsert_many(cls, outcomes: Sequence[int], columns: Columns) -> None:
        """Columns minute (naive UTC), direction, channel, scope, *counts, *fens of the outcomes
        at positions `outcomes` (in OUTCOMES order): those replace what is stored, the others
        stay as they are."""
        written = [COUNT_COLUMNS[at] for at in outcomes] + [FEN_COLUMNS[at] for at in outcomes]
        _upsert_many(
            cls,
            ("minute", *SERIES_COLUMNS, *written),
            f"ON CONFLICT (minute, {', '.join(SERIES_COLUMNS)}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in written),
            columns,
        )

    @classmethod
    def any_between(cls, earliest: datetime, latest: datetime) -> bool:
        """Whether some row's minute is in [earliest, latest]."""
        found = _MINUTE_BETWEEN.execute(True, {"earliest": earliest, "latest": latest})
        return found.fetchone() is not None

    @classmethod
    def stored_at(cls, minutes: Sequence[datetime]) -> peewee.ModelSelect:
        """(minute, direction, channel, scope, *counts, *fens) of every row at these minutes."""
        return cls._stored().where(cls.minute.in_(list(minutes)))

    @classmethod
    def stored_between(cls, earliest: datetime, latest: datetime) -> list[tuple]:
        """(minute, direction, channel, scope, *counts, *fens) of each row in [earliest, latest]."""
        rows = _MINUTE_BETWEEN.execute(False, {"earliest": earliest, "latest": latest})
        return [(utc_of(minute), *rest) for minute, *rest in rows.fetchall()]

    @classmethod
    def _stored(cls) -> peewee.ModelSelect:
        names = ("minute", *SERIES_COLUMNS, *COUNT_COLUMNS, *FEN_COLUMNS)
        return cls.select(*(getattr(cls, c) for c in names)).tuples()

    @classmethod
    def counted_by_minute(
        cls,
        *,
        direction: str,
        scope: str,
        since: datetime,
        until: datetime,
        excludes: Sequence[frozenset[str]],
    ) -> Iterable[tuple]:
        """(stored minute, channel, then per rate of `excludes`: successes and counted attempts)
        of every bucket of one direction and scope in [since, until), in no order: the rates'
        sums are made in SQL, so a row crosses into Python as a few integers."""
        table = cls._meta.table_name
        given = {o: f"COALESCE({c}, 0)" for o, c in zip(OUTCOMES, COUNT_COLUMNS, strict=True)}
        sums = []
        for excluded in excludes:
            counted = [given[o] for o in OUTCOMES if o not in excluded]
            sums += [given["success"] if "success" not in excluded else "0"]
            sums += [" + ".join(counted) or "0"]
        sql = (
            f"SELECT minute, channel, {', '.join(sums)} FROM {table} "
            "WHERE minute >= ? AND minute < ? AND direction = ? AND scope = ?"
        )
        if is_postgres(cls._meta.database):
            sql = sql.replace("?", "%s")
        stored = cls.minute.db_value
        params = (stored(since), stored(until), direction, scope)
        return cls._meta.database.execute_sql(sql, params)


def _minute_between(exists: bool) -> peewee.ModelSelect:
    """Whether there are minute rows in [earliest, latest], or what they hold."""
    rows = PaymentMinute._stored() if not exists else PaymentMinute.select(peewee.SQL("1"))
    between = PaymentMinute.minute.between(
        slot("earliest", PaymentMinute.minute), slot("latest", PaymentMinute.minute)
    )
    return rows.where(between).limit(1) if exists else rows.where(between)


_MINUTE_BETWEEN = Prepared(_minute_between)


class PaymentRevision(BaseModel):
    """A token per UTC hour of minute buckets, new at every write into the hour (in the
    write's transaction): what was computed from an hour's minutes (its dips) stays good
    while its token and its predecessor's are the ones it was computed under."""

    hour = UTCDateTimeField(primary_key=True)
    token = peewee.BigIntegerField()

    class Meta:
        table_name = "payment_revision"

    @classmethod
    def renew(cls, hours: Iterable[datetime]) -> None:
        """A new token for each of these hours (naive UTC)."""
        written = sorted(set(hours))
        tokens = [secrets.randbits(62) for _ in written]
        columns = [pa.array(written, pa.timestamp("s")), pa.array(tokens, pa.int64())]
        _upsert_many(
            cls,
            ("hour", "token"),
            "ON CONFLICT (hour) DO UPDATE SET token = excluded.token",
            columns,
        )

    @classmethod
    def tokens(cls, since: datetime, until: datetime) -> dict[datetime, int]:
        """hour (aware UTC) → token of the hours in [since, until) that were ever written."""
        query = cls.select(cls.hour, cls.token).where((cls.hour >= since) & (cls.hour < until))
        return dict(query.tuples())


@_outcome_columns(stored_as_given=False)
class PaymentHour(_CountsOverTime, BaseModel):
    """Σ of the minute rows of one UTC hour of history older than `payments.keep_minutes_days`:
    folded there, the minutes themselves are gone (services/payments/fold)."""

    PERIOD = "hour"

    hour = UTCDateTimeField()
    direction = peewee.CharField(max_length=8)
    channel = peewee.CharField(max_length=64)
    scope = peewee.CharField(max_length=16)

    class Meta:
        table_name = "payment_hour"
        model_metadata_class = _KeyedByTime
        primary_key = peewee.CompositeKey("hour", "direction", "channel", "scope")
        without_rowid = True


@_outcome_columns(stored_as_given=False)
class PaymentDay(BaseModel):
    """Σ of the minute rows of one local day (in the zone the totals were cut in)."""

    day = peewee.DateField()
    direction = peewee.CharField(max_length=8)
    channel = peewee.CharField(max_length=64)
    scope = peewee.CharField(max_length=16)

    class Meta:
        indexes = ((("day", "direction", "channel", "scope"), True),)

    @classmethod
    def channels_between(cls, first: date, end: date) -> list[str]:
        """The distinct channels with totals on local days [first, end)."""
        query = cls.select(cls.channel).where((cls.day >= first) & (cls.day < end)).distinct()
        return [channel for (channel,) in query.tuples()]

    @classmethod
    def add_many(cls, columns: Columns) -> None:
        """Add columns day, direction, channel, scope, *counts, *fens to the totals."""
        table = cls._meta.table_name
        add = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in (*COUNT_COLUMNS, *FEN_COLUMNS))
        _upsert_many(
            cls,
            ("day", *SERIES_COLUMNS, *COUNT_COLUMNS, *FEN_COLUMNS),
            f"ON CONFLICT (day, {', '.join(SERIES_COLUMNS)}) DO UPDATE SET {add}",
            columns,
        )

    @classmethod
    def outcome_totals(
        cls, *, direction: str, scope: str, channel: str | None, first: date, end: date
    ) -> dict[str, int]:
        """Σ count per outcome over local days [first, end)."""
        series = {"direction": direction, "scope": scope, "channel": channel}
        return _series_totals(cls, cls.day, first, end, **series)

    @classmethod
    def totals_by_series(cls, first: date, end: date) -> dict[tuple[str, str, str], dict[str, int]]:
        """(direction, channel, scope) → Σ count per outcome over local days [first, end)."""
        return _totals_by_series(cls, cls.day, first, end)


class PaymentStage(BaseModel):
    """A temporary table where a transactions import of many days adds up its sums by
    minute, series and outcome (never migrated; the columns of payments.columns.TOTALS)."""

    minute = peewee.BigIntegerField()  # seconds since the epoch, UTC
    direction = peewee.CharField(max_length=8)
    channel = peewee.CharField(max_length=64)
    scope = peewee.CharField(max_length=16)
    outcome = peewee.SmallIntegerField()  # position in OUTCOMES
    count = peewee.BigIntegerField()
    fen = peewee.BigIntegerField()

    class Meta:
        indexes = ((("minute", "direction", "channel", "scope", "outcome"), True),)

    @classmethod
    def add_many(cls, columns: Columns) -> None:
        """Add columns minute, direction, channel, scope, outcome, count, fen to the sums."""
        table = cls._meta.table_name
        _upsert_many(
            cls,
            ("minute", "direction", "channel", "scope", "outcome", "count", "fen"),
            "ON CONFLICT (minute, direction, channel, scope, outcome) DO UPDATE SET "
            f"count = {table}.count + excluded.count, fen = {table}.fen + excluded.fen",
            columns,
        )

    @classmethod
    def page_after(cls, last_id: int, size: int) -> list[tuple]:
        """(id, minute, direction, channel, scope, outcome, count, fen) of the next rows."""
        query = cls.select().where(cls.id > last_id).order_by(cls.id).limit(size).tuples()
        return list(query)


class Snapshot(BaseModel):
    """Every figure as of one moment (DESIGN §6): metrics, the API and the UI read the latest."""

    taken_at = UTCDateTimeField(index=True)
    duration_seconds = peewee.DoubleField()
    data = peewee.JSONField()

    @classmethod
    def latest(cls) -> Snapshot | None:
        return cls.select().order_by(cls.taken_at.desc(), cls.id.desc()).first()

    @classmethod
    def older_than(cls, moment: datetime) -> peewee.ModelDelete:
        return cls.delete().where(cls.taken_at < moment)


class JobRun(BaseModel):
    """One tick of a scheduled job, claimed by the first process to get there."""

    job = peewee.CharField(max_length=32)
    tick = UTCDateTimeField()
    runner = peewee.CharField(max_length=200)
    started_at = UTCDateTimeField()
    finished_at = UTCDateTimeField(null=True)
    status = peewee.CharField(max_length=16)  # running, succeeded, failed
    error = peewee.TextField(default="")

    class Meta:
        indexes = ((("job", "tick"), True),)

    @classmethod
    def claimed(cls, job: str, tick: datetime) -> bool:
        return cls.select().where((cls.job == job) & (cls.tick == tick)).exists()

    @classmethod
    def older_than(cls, moment: datetime) -> peewee.ModelDelete:
        return cls.delete().where(cls.started_at < moment)


class WeeklyReview(BaseModel):
    """A week as it was exported: later exports show what changed beside it."""

    week = peewee.CharField(max_length=8, primary_key=True)
    frozen_at = UTCDateTimeField()
    frozen_by = peewee.CharField(max_length=200)
    snapshot = peewee.JSONField()


class State(BaseModel):
    """Small facts about the stored data, e.g. the zone the daily totals were cut in."""

    key = peewee.CharField(max_length=64, primary_key=True)
    value = peewee.TextField()

    @classmethod
    def count(cls, key: str, by: int = 1) -> None:
        """Add to a counter that only grows (inside a write transaction: the write lock, or
        on PostgreSQL the row's, keeps two adders apart)."""
        (
            cls.insert(key=key, value=str(by))
            .on_conflict(
                conflict_target=[cls.key],
                update={cls.value: peewee.Cast(peewee.Cast(cls.value, "INTEGER") + by, "TEXT")},
            )
            .execute()
        )

    @classmethod
    def value_of(cls, key: str) -> str | None:
        """The value under `key`, or None (a payments write asks several times a batch)."""
        found = _STATE_VALUE.execute(None, {"key": key}).fetchone()
        return None if found is None else found[0]

    @classmethod
    def counters(cls, prefix: str) -> dict[str, int]:
        """Every counter whose key starts with `prefix`, by the rest of its key."""
        rows = cls.select().where(cls.key.startswith(prefix))
        return {row.key.removeprefix(prefix): int(row.value) for row in rows}


_STATE_VALUE = Prepared(lambda _: State.select(State.value).where(State.key == slot("key")))


class Notification(BaseModel):
    """One message of the outbox (DESIGN §10): an event for one channel, written in the
    transaction of the change that caused it, sent at least once under its `delivery` id.
    A sender leases it (`lease_until`) while sending, so replicas never send it side by side
    and a sender killed mid-send leaves it to the next one when the lease runs out."""

    delivery = peewee.CharField(max_length=36)  # a uuid4: unique without an index to keep so
    channel = peewee.CharField(max_length=64)
    event = peewee.CharField(max_length=32)
    subject = peewee.CharField(max_length=64)  # what it is about: `incident:12`, `review:2026-W48`
    payload = peewee.JSONField()  # the Event, rendered into a message when it is sent
    status = peewee.CharField(max_length=16, default="pending")  # pending, sent, failed
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField()
    lease_until = UTCDateTimeField(null=True)
    last_error = peewee.TextField(default="")
    created_at = UTCDateTimeField()
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("channel", "status", "next_attempt_at"), False),)

    # What `queue` writes: every column but the id and those a send fills in later.
    QUEUED = (
        "delivery",
        "channel",
        "event",
        "subject",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
    )
    _queue_sql: ClassVar[dict[str, str]] = {}  # the INSERT of `queue`, by parameter style

    @classmethod
    def queue(cls, **values: Any) -> None:
        """Add a pending message (the fields of QUEUED; those with a default may be left
        out). The statement is built once per
        database kind: peewee would build the INSERT anew each time, which was most of what
        queueing a message added to the write that causes it."""
        db = cls._meta.database
        sql = cls._queue_sql.get(db.param)
        if sql is None:
            placeholders = {getattr(cls, name): peewee.SQL(db.param) for name in cls.QUEUED}
            sql = cls._queue_sql.setdefault(db.param, cls.insert(placeholders).sql()[0])
        params = []
        for name in cls.QUEUED:
            field, value = getattr(cls, name), values.get(name, getattr(cls, name).default)
            # JSON as text: SQLite keeps it so, PostgreSQL casts the literal to jsonb
            params.append(
                json_text(value) if isinstance(field, peewee.JSONField) else field.db_value(value)
            )
        db.execute_sql(sql, params)

    @classmethod
    def due(cls, channel: str, now: datetime) -> peewee.ModelSelect:
        """The channel's pending messages whose time has come and that nobody is sending,
        oldest first."""
        return (
            cls.select()
            .where(
                (cls.channel == channel)
                & (cls.status == "pending")
                & (cls.next_attempt_at <= now)
                & (cls.lease_until.is_null() | (cls.lease_until <= now))
            )
            .order_by(cls.id)
        )

    @classmethod
    def pending_by_channel(cls) -> dict[str, int]:
        rows = (
            cls.select(cls.channel, peewee.fn.COUNT(cls.id))
            .where(cls.status == "pending")
            .group_by(cls.channel)
            .tuples()
        )
        return dict(rows)

    @classmethod
    def finished_before(cls, moment: datetime) -> peewee.ModelDelete:
        return cls.delete().where((cls.status != "pending") & (cls.created_at < moment))


class NotificationAttempt(BaseModel):
    """One try at sending a message: how a channel's rate per minute is kept (every post
    counts, a retry too) and what the outbox page shows of a message's history."""

    notification = peewee.ForeignKeyField(Notification, on_delete="CASCADE", index=True)
    channel = peewee.CharField(max_length=64)
    at = UTCDateTimeField()
    error = peewee.TextField(default="")  # empty: delivered

    class Meta:
        indexes = ((("channel", "at"), False),)

    @classmethod
    def made_since(cls, channel: str, moment: datetime) -> int:
        return cls.select().where((cls.channel == channel) & (cls.at > moment)).count()


class Alert(BaseModel):
    """One alert as Alertmanager identifies it, (fingerprint, startsAt): repeats, HA copies
    and retries of it are the same row (a unique key, so racing replicas cannot make two),
    linked to the record its group opened or joined."""

    fingerprint = peewee.CharField(max_length=64)
    starts_at = UTCDateTimeField()
    ends_at = UTCDateTimeField(null=True)
    status = peewee.CharField(max_length=16)  # firing, resolved
    group_hash = peewee.CharField(max_length=64, index=True)  # sha256 of the groupKey
    group_key = peewee.TextField()
    labels = peewee.JSONField()
    annotations = peewee.JSONField()
    generator_url = peewee.TextField(default="")
    incident = peewee.ForeignKeyField(Incident, on_delete="CASCADE", index=True)
    received_at = UTCDateTimeField()
    last_seen_at = UTCDateTimeField()

    class Meta:
        indexes = ((("fingerprint", "starts_at"), True),)

    @classmethod
    def known(cls, keys: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], Alert]:
        """The stored alerts of these (fingerprint, starts_at) keys."""
        wanted = list(keys)
        fingerprints = sorted({f for f, _ in wanted})
        found = {}
        for start in range(0, len(fingerprints), IDS_PER_QUERY):
            rows = cls.select().where(
                cls.fingerprint.in_(fingerprints[start : start + IDS_PER_QUERY])
            )
            found |= {(row.fingerprint, row.starts_at): row for row in rows}
        return {key: found[key] for key in wanted if key in found}

    @classmethod
    def record_of_group(cls, group_hash: str, statuses: Sequence[str]) -> Incident | None:
        """The newest record of the group still in one of `statuses`."""
        return (
            Incident.select()
            .join(cls, on=(cls.incident == Incident.id))
            .where((cls.group_hash == group_hash) & Incident.status.in_(list(statuses)))
            .order_by(Incident.id.desc())
            .first()
        )

    @classmethod
    def of_incidents(cls, ids: Sequence[int]) -> dict[int, list[Alert]]:
        found: dict[int, list[Alert]] = {}
        query = cls.select().where(cls.incident.in_(list(ids))).order_by(cls.starts_at, cls.id)
        for row in query:
            found.setdefault(row.incident_id, []).append(row)
        return found


MODELS: tuple[type[BaseModel], ...] = (
    Service,
    Incident,
    IncidentService,
    TimelineEntry,
    AuditRecord,
    MaintenanceWindow,
    User,
    LoginAttempt,
    ApiToken,
    FollowUp,
    PendingChange,
    PaymentChannel,
    PaymentMinute,
    PaymentRevision,
    PaymentHour,
    PaymentDay,
    State,
    WeeklyReview,
    Snapshot,
    JobRun,
    Notification,
    NotificationAttempt,
    Alert,
)
