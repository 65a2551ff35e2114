"""The `tracker` command: a thin adapter over the same service functions as the API."""

from __future__ import annotations

import getpass
import json
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask
from pydantic import BaseModel, ValidationError

from tracker.api.routing import to_json
from tracker.clock import utcnow
from tracker.context import grading
from tracker.context import settings as current_settings
from tracker.core.readable import SHARE_WORDS
from tracker.core.texts import LANGS
from tracker.core.vocabulary import (
    DETECTION_SOURCES,
    FOLLOW_UP_STATUSES,
    GRADES,
    LIST_GRADES,
    NOTIFICATION_STATUSES,
    REGULATORY_LEVELS,
    ROLES,
    ROOT_CAUSES,
    STATUSES,
)
from tracker.db import DATABASE_DOWN, database, lock_timed_out, wait_until_up
from tracker.errors import FieldError, TrackerError
from tracker.schemas import validation_errors
from tracker.settings import SettingsError, load_settings

EXIT_INVALID = 2
EXIT_FAILED = 1


def _fail(message: str, errors: Sequence[FieldError] = (), code: int = EXIT_FAILED) -> None:
    """Say what went wrong, each thing once (a field's error by its field, times in the
    configured zone), and exit with `code`. A message that says more than its first field
    error (an import names its file and line) is said first, in place of that error."""
    zone = _zone() if errors else None
    told = not errors or (
        errors[0].message in message and not message.startswith(f"{errors[0].field}: ")
    )
    if told:
        click.echo(f"error: {message}", err=True)
        errors = errors[1:]
    for error in errors:
        click.echo(f"error: {error.field}: {error.say('en', zone)}", err=True)
    sys.exit(code)


def _zone() -> ZoneInfo | None:
    """The configured zone, for times in messages; None when the settings do not load."""
    try:
        return load_settings().zone
    except SettingsError:
        return None


@contextmanager
def _app(*, wait: bool = False) -> Iterator[Flask]:
    """The app on a current schema with a database connection, errors turned into messages
    and exit codes; `wait`s for a database that does not answer yet instead of failing."""
    from tracker.app import create_app
    from tracker.migrate import upgrade

    try:
        app = create_app()
    except SettingsError as exc:
        _fail(str(exc))
    if wait:
        wait_until_up(app.extensions["tracker.db"], say=lambda text: click.echo(text, err=True))
    try:
        upgrade(app.extensions["tracker.db"])
    except DATABASE_DOWN as exc:
        _fail(f"the database does not answer: {str(exc).strip()}")
    with app.app_context(), database.connection_context():
        try:
            yield app
        except TrackerError as exc:
            code = EXIT_INVALID if exc.status in (400, 422) else EXIT_FAILED
            _fail(exc.detail, exc.errors, code)
        except DATABASE_DOWN as exc:
            if not lock_timed_out(exc):
                _fail(f"the database does not answer: {str(exc).strip()}")
            waited = current_settings().database.busy_timeout_ms
            _fail(
                f"the database is busy: this write waited {waited} ms for the lock another "
                "write held (an import, or the server under load) and gave up; nothing was "
                "changed, run it again"
            )


def _validate(model: type[BaseModel], data: dict[str, Any], where: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _fail(f"invalid {where or model.__name__}", validation_errors(exc), EXIT_INVALID)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _print_json(result: Any) -> None:
    click.echo(json.dumps(to_json(result), ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracker")
def main() -> None:
    """Incident and availability SLO tracker."""


# ---- serve, db -------------------------------------------------------------------------------


@main.command()
@click.option("--host", help="Address to bind (default: server.host)")
@click.option("--port", type=int, help="Port (default: server.port)")
@click.option("--workers", type=int, help="Worker processes (default: server.workers)")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API with gunicorn after applying pending migrations."""
    from tracker.server import run

    overrides: dict[str, Any] = {}
    for key, value in (("host", host), ("port", port), ("workers", workers)):
        if value is not None:
            overrides.setdefault("server", {})[key] = value
    try:
        settings = load_settings(overrides=overrides)
    except SettingsError as exc:
        _fail(str(exc))
    run(settings)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (safe to run from several replicas at once)."""
    from tracker.migrate import upgrade

    with _app() as app:
        applied = upgrade(app.extensions["tracker.db"])
    click.echo("applied: " + ", ".join(applied) if applied else "schema is current")


@db.command("copy")
@click.option("--to", "to_url", required=True, help="The empty database to copy into")
def db_copy(to_url: str) -> None:
    """Copy every table of the configured database into an empty one (SQLite → PostgreSQL):
    ids, audit and frozen weeks kept, checked table by table, all or nothing."""
    from tqdm import tqdm

    from tracker.db import open_database
    from tracker.services.copying import CopyMismatch, copy_database, source_rows

    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc))
    if not to_url.startswith(("sqlite://", "postgres://", "postgresql://")):
        _fail("--to must start with sqlite://, postgres:// or postgresql://", code=EXIT_INVALID)
    source_url = settings.effective_database_url
    if to_url == source_url:
        _fail("--to names the configured database itself", code=EXIT_INVALID)
    source, target = open_database(source_url), open_database(to_url)
    try:
        total = source_rows(source)
        with tqdm(total=total, unit="rows", unit_scale=True, file=sys.stderr) as bar:
            copied = copy_database(source, target, progress=bar.update)
    except TrackerError as exc:
        _fail(exc.detail, code=EXIT_INVALID)
    except CopyMismatch as exc:
        _fail(str(exc))
    except DATABASE_DOWN as exc:
        _fail(f"the copy stopped, nothing of it was kept: {str(exc).strip()}")
    for table in copied:
        if table.rows:
            click.echo(f"{table.table}\t{table.rows}\t{table.digest[:16]}")
    click.echo(f"copied {sum(t.rows for t in copied)} rows of {len(copied)} tables; equal")


# ---- tokens ----------------------------------------------------------------------------------


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--name", required=True, help="Who or what uses the token")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(min=1, max=36_500),
    help="Refuse the token after DAYS days (default: valid until revoked)",
    metavar="DAYS",
)
@click.option(
    "--user",
    "user_name",
    help="The user the token is made for: disabling them revokes it",
    metavar="NAME",
)
def tokens_create(name: str, role: str, days: int | None, user_name: str | None) -> None:
    """Create a token and print it (only once; it is stored hashed)."""

    from tracker.services.tokens import create_token
    from tracker.services.users import active_user

    now = utcnow()
    expires_at = None if days is None else now + timedelta(days=days)
    with _app():
        user = None if user_name is None else active_user(user_name)
        raw = create_token(
            name, role, actor=_actor(), now=now, expires_at=expires_at, created_by=user
        )
        click.echo(raw)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (never their values), with when each was revoked or expires (UTC)."""
    from tracker.services.tokens import list_tokens

    now = utcnow()
    with _app():
        for token in list_tokens():
            if token.revoked_at:
                state = f"revoked {token.revoked_at:%Y-%m-%d}"
            elif token.expires_at and token.expires_at <= now:
                state = f"expired {token.expires_at:%Y-%m-%d %H:%M}"
            elif token.expires_at:
                state = f"expires {token.expires_at:%Y-%m-%d %H:%M}"
            else:
                state = "active"
            maker = f"  (made by {token.created_by.name})" if token.created_by else ""
            click.echo(f"{token.id:>4}  {token.role:<9}  {state:<24}  {token.name}{maker}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its id (see `tokens list`)."""
    from tracker.services.tokens import revoke_token

    with _app():
        revoke_token(token_id, actor=_actor(), now=utcnow())
    click.echo(f"token {token_id} revoked")


# ---- users -----------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Web UI users."""


def _password() -> str:
    """A password asked for twice at a terminal, or read from standard input."""
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
def users_create(name: str, role: str) -> None:
    """Create a user; the password is asked for twice (or read from standard input)."""
    from tracker.services.users import create_user

    password = _password()
    with _app():
        create_user(name, role, password, actor=_actor(), now=utcnow())
    click.echo(f"user {name} ({role}) created")


@users.command("list")
def users_list() -> None:
    """Every user: name, role, how they sign in, and since when disabled (local time)."""
    from tracker.services.users import list_users

    with _app():
        zone = current_settings().zone
        for user in list_users():
            state = (
                f"disabled {user.disabled_at.astimezone(zone):%Y-%m-%d %H:%M}"
                if user.disabled_at
                else "active"
            )
            click.echo(f"{user.name:<24}  {user.role:<9}  {user.source:<5}  {state}")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable a user: they cannot sign in, every session of theirs ends now, and every
    API token made for them is revoked."""
    from tracker.services.users import disable_user

    with _app():
        revoked = disable_user(name, actor=_actor(), now=utcnow())
    click.echo(f"user {name} disabled; {revoked} of their tokens revoked")


@users.command("hand-over")
@click.argument("name")
@click.option(
    "--to",
    "source",
    type=click.Choice(["oidc", "proxy"]),
    default="oidc",
    show_default=True,
    help="The way the person will sign in",
)
def users_hand_over(name: str, source: str) -> None:
    """Hand a local user over to company sign-in: the next person to sign in under NAME
    through the provider (or proxy) becomes this user, history and all. The password stops
    working and every session ends now."""
    from tracker.services.identity import hand_over

    with _app():
        hand_over(name, source, actor=_actor(), now=utcnow())
    click.echo(f"user {name} waits for their first {source} sign-in")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
def users_set_role(name: str, role: str) -> None:
    """Give a user another role (their sessions end: they sign in again with it)."""
    from tracker.services.users import set_role

    with _app():
        user = set_role(name, role, actor=_actor(), now=utcnow())
    click.echo(f"user {name} is now {role}")
    if user.source == "oidc":
        click.echo("they sign in through the company: their groups set the role again then")


@users.command("reset-password")
@click.argument("name")
def users_reset_password(name: str) -> None:
    """Set a user's password (asked for twice, or read from standard input); their sessions
    end."""
    from tracker.services.users import reset_password

    password = _password()
    with _app():
        reset_password(name, password, actor=_actor(), now=utcnow())
    click.echo(f"password of {name} reset")


@users.command("unlock")
@click.argument("name")
def users_unlock(name: str) -> None:
    """Clear a name's failed sign-ins, so a person locked out may try again at once."""
    from tracker.services.users import unlock

    with _app():
        cleared = unlock(name, actor=_actor(), now=utcnow())
    click.echo(f"{name}: {cleared} failed sign-ins cleared")


# ---- incidents -------------------------------------------------------------------------------


@main.group()
def incidents() -> None:
    """Incidents (production events)."""


def _read_json_file(path: str) -> dict[str, Any]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        _fail(
            f"{path}: not valid JSON (line {getattr(exc, 'lineno', '?')}): {exc}", code=EXIT_INVALID
        )
    if not isinstance(data, dict):
        _fail(f"{path}: expected a JSON object with the incident's fields", code=EXIT_INVALID)
    return data


def _responsibility(text: str) -> dict[str, Any]:
    """`payments=0.5`, `银商=0.5:external` or `银商=同责:external` as a responsibility entry."""
    party, _, rest = text.rpartition("=")
    share, _, side = rest.partition(":")
    if not party or side not in ("", "internal", "external"):
        _fail(
            f"--responsibility {text!r}: write party=share[:external], e.g. 银商=0.5:external",
            code=EXIT_INVALID,
        )
    return {"party": party, "share": SHARE_WORDS.get(share, share), "internal": side != "external"}


# Every writable field as an option, for `incidents add` and `incidents update`.
INCIDENT_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--title",), {"help": "What happened"}),
    (("--summary",), {"help": "The story, as the weekly review tells it"}),
    (("--service", "services"), {"multiple": True, "help": "Affected service key (repeatable)"}),
    (("--status",), {"type": click.Choice(STATUSES)}),
    (("--grade",), {"type": click.Choice(GRADES)}),
    (("--grade-reason",), {"help": "Why, when the grade is below the suggestion"}),
    (("--impact-started-at",), {"help": "Defaults to --detected-at"}),
    (("--detected-at",), {"help": "ISO 8601 with an offset, e.g. 2024-07-23T10:04:00+08:00"}),
    (("--acknowledged-at",), {}),
    (("--mitigated-at",), {"help": "Customer impact ended"}),
    (("--resolved-at",), {}),
    (("--impact-ratio",), {"type": float, "help": "Share of traffic or function impaired, 0-1"}),
    (
        ("--responsibility",),
        {
            "multiple": True,
            "metavar": "PARTY=SHARE[:external]",
            "help": "A responsible party (repeatable); share 0-1 or 全责/主责/同责/次责/无责",
        },
    ),
    (("--root-cause",), {"type": click.Choice(ROOT_CAUSES)}),
    (("--detection-source",), {"type": click.Choice(DETECTION_SOURCES)}),
    (("--location",), {"help": "Data centre or region"}),
    (("--affected-transactions",), {"type": click.IntRange(min=0)}),
    (("--affected-amount",), {"help": "CNY as a decimal, e.g. 1234.50"}),
    (("--fund-loss",), {"help": "CNY as a decimal"}),
    (("--regulatory-level",), {"type": click.Choice(REGULATORY_LEVELS)}),
    (("--postmortem-url",), {"help": "The record's link in the weekly review"}),
)
NULLABLE_OPTIONS = frozenset(
    {
        "grade",
        "impact_started_at",
        "acknowledged_at",
        "mitigated_at",
        "resolved_at",
        "affected_transactions",
        "affected_amount",
        "fund_loss",
        "postmortem_url",
    }
)


def _incident_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for names, options in reversed(INCIDENT_OPTIONS):
        command = click.option(*names, **options)(command)
    return click.option(
        "--no-availability-impact",
        is_flag=True,
        default=None,
        help="Logged, but does not count toward availability",
    )(
        click.option(
            "--counts-toward-availability",
            "counts",
            type=click.BOOL,
            help="true or false (default true)",
        )(command)
    )


def _incident_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The options given, as the API's fields; an empty value clears a field that may be
    empty (`--mitigated-at ''`)."""
    data: dict[str, Any] = {}
    for name, value in options.items():
        if value is None or value == ():
            continue
        if name == "services":
            data["services"] = list(value)
        elif name == "responsibility":
            data["responsibility"] = [_responsibility(entry) for entry in value]
        elif value == "" and name in NULLABLE_OPTIONS:
            data[name] = None
        else:
            data[name] = value
    return data


def _availability_flag(data: dict[str, Any], counts: bool | None, no_impact: bool | None) -> None:
    if no_impact:
        data["counts_toward_availability"] = False
    elif counts is not None:
        data["counts_toward_availability"] = counts


@incidents.command("add")
@_incident_options
@click.option(
    "--from-json",
    "from_json",
    metavar="FILE",
    help="Read every field from a JSON file ('-' for stdin); options override it",
)
@click.option("--json", "as_json", is_flag=True, help="Print the created record as JSON")
def incidents_add(
    from_json: str | None,
    as_json: bool,
    counts: bool | None,
    no_availability_impact: bool | None,
    **options: Any,
) -> None:
    """Log an incident with any of its fields."""
    from tracker.schemas import IncidentCreate
    from tracker.services.incidents import create_incident

    data = _read_json_file(from_json) if from_json else {}
    data.update(_incident_fields(options))
    _availability_flag(data, counts, no_availability_impact)
    body = _validate(IncidentCreate, data, "incident")
    with _app():
        rules = grading()
        incident = create_incident(
            body, actor=_actor(), rules=rules, now=utcnow(), settings=current_settings()
        )
    if as_json:
        _print_json(incident)
    else:
        click.echo(
            f"incident {incident.id} logged; suggested grade {incident.suggested_grade} "
            f"({incident.suggested_grade_reason})"
        )


@incidents.command("update")
@click.argument("incident_id", type=click.IntRange(min=1))
@_incident_options
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON")
def incidents_update(
    incident_id: int,
    as_json: bool,
    counts: bool | None,
    no_availability_impact: bool | None,
    **options: Any,
) -> None:
    """Change the fields given; the others keep their values (every rule is checked again)."""
    from tracker.schemas import IncidentPatch

    data = _incident_fields(options)
    _availability_flag(data, counts, no_availability_impact)
    if not data:
        _fail("give at least one field to change, e.g. --location M6V", code=EXIT_INVALID)
    _patched(incident_id, _validate(IncidentPatch, data, "change"), as_json)


@incidents.command("resolve")
@click.argument("incident_id", type=click.IntRange(min=1))
@click.option("--at", help="When it was resolved (ISO 8601 with an offset); default now")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON")
def incidents_resolve(incident_id: int, at: str | None, as_json: bool) -> None:
    """Mark an incident resolved, now or --at a time."""
    from tracker.schemas import IncidentPatch

    data = {"status": "resolved", "resolved_at": at or utcnow().isoformat()}
    _patched(incident_id, _validate(IncidentPatch, data, "change"), as_json)


def _patched(incident_id: int, patch: Any, as_json: bool) -> None:
    from tracker.services.incidents import update_incident

    with _app():
        rules = grading()
        incident = update_incident(
            incident_id,
            patch,
            actor=_actor(),
            rules=rules,
            now=utcnow(),
            settings=current_settings(),
        )
    if as_json:
        _print_json(incident)
    else:
        click.echo(f"incident {incident.id}: {incident.status}, grade {incident.grade or '-'}")


def _filter_time(name: str, value: str | None, zone: ZoneInfo) -> str | None:
    """A list filter's time: ISO 8601 with an offset, or a date (local midnight)."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return value  # a time: validated (and named) with the filters
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).isoformat()


@incidents.command("list")
@click.option("--since", help="From this time (with an offset) or date (local midnight)")
@click.option("--until", help="Before this time or date")
@click.option("--grade", type=click.Choice(LIST_GRADES))
@click.option("--service")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("-q", "q", help="Search title, summary and location")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def incidents_list(as_json: bool, **filters: Any) -> None:
    """List incidents, newest first."""
    from tracker.schemas import IncidentQuery
    from tracker.services.incidents import list_incidents

    zone = _zone() or ZoneInfo("UTC")
    for name in ("since", "until"):
        filters[name] = _filter_time(name, filters[name], zone)
    query = _validate(IncidentQuery, {k: v for k, v in filters.items() if v is not None}, "filter")
    with _app():
        page = list_incidents(query, rules=grading(), now=utcnow())
    if as_json:
        _print_json(page)
        return
    for item in page.items:
        grade = item.grade or "-"
        when = item.detected_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{item.id:>6}  {when}  {grade:<4}  {item.status:<9}  "
            f"{','.join(item.services):<24}  {_printable(item.title)}"
        )
    if page.next_cursor:
        click.echo("(more: narrow the filters or raise --limit, up to 200)", err=True)


@incidents.command("show")
@click.argument("incident_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def incidents_show(incident_id: int, as_json: bool) -> None:
    """Show one incident with its timeline: local times, values as a person reads them."""
    from tracker.core.readable import label, value_text
    from tracker.services.incidents import get_incident, list_timeline

    with _app():
        incident = get_incident(incident_id, rules=grading(), now=utcnow())
        timeline = list_timeline(incident_id)
        zone = current_settings().zone
    if as_json:
        _print_json({**to_json(incident), "timeline": to_json(timeline)["items"]})
        return
    record = to_json(incident)
    width = max(len(label(name, "en")) for name in record)
    for name, value in record.items():
        shown = value_text(name, value, "en", zone)
        click.echo(f"{label(name, 'en'):>{width}}: {_printable(shown)}")
    for entry in timeline:
        when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"  {when}  {_printable(entry.author)}: {_printable(entry.text)}")


def _printable(value: str) -> str:
    """Text for a terminal: control characters (an escape sequence could clear the screen or
    write the clipboard) shown as their code, never sent."""
    return "".join(
        c if c in "\n\t" or (ord(c) >= 32 and not 127 <= ord(c) < 160) else f"\\x{ord(c):02x}"
        for c in value
    )


# ---- payments --------------------------------------------------------------------------------


@main.group()
def payments() -> None:
    """Payment outcome counts."""


@payments.command("fold")
def payments_fold() -> None:
    """Fold minute counts older than payments.keep_minutes_days into hourly counts now
    (the scheduler does it every hour), a day at a time."""
    from tracker.services.payments.fold import fold

    with _app():
        days = current_settings().payments.keep_minutes_days
        if not days:
            raise click.UsageError("payments.keep_minutes_days is 0: every minute is kept")
        done = fold(now=utcnow(), keep_days=days)
    until = f"{done.until:%Y-%m-%d %H:%M} UTC" if done.until else "-"
    click.echo(f"{done.minutes} minute rows folded into {done.hours} hour rows")
    click.echo(f"counts before {until} are hourly")


@payments.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--quiet", is_flag=True, help="No progress bar")
def payments_import(path: str, quiet: bool) -> None:
    """Import a CSV or Parquet file of per-minute counts or of transactions (the columns
    say which).

    Counts: minute,direction,channel,scope,outcome,count[,amount]. Transactions:
    order_id,attempt,created_at,direction,channel,status,reason_code,amount,is_final, classified
    by config/outcomes.toml. A bad line (a Parquet row) stops the import and stores nothing;
    importing a file again replaces its minutes instead of adding them twice. Parquet is read
    from a file, not from standard input.
    """
    from tqdm import tqdm

    from tracker.services.payments import Bounds, import_file

    stream = click.open_file(path, "rb")
    size = None if path == "-" else Path(path).stat().st_size
    bar = tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        desc=Path(path).name,
        disable=quiet,
        file=sys.stderr,
        leave=False,
    )
    with _app(), stream, bar:
        settings = current_settings()
        now = utcnow()
        summary = import_file(
            stream,
            name=path,
            zone=settings.zone,
            outcomes=settings.outcomes.outcome_map(),
            bounds=Bounds.at(now, max_channels=settings.payments.max_channels),
            actor=_actor(),
            now=now,
            progress=bar.update,
        )
    click.echo(f"{path}: {summary.rows} {summary.shape} rows → {summary.buckets} minute buckets")
    for code, rows in summary.unmapped_codes.most_common():
        click.echo(
            f"  unmapped reason code {code}: {rows} rows counted as {settings.outcomes.default}",
            err=True,
        )


@main.command()
def scheduler() -> None:
    """Run the scheduled jobs in the foreground (rollup, pruning, the Monday export)."""
    from tracker.scheduler import build

    with _app(wait=True) as app:  # started beside the server: outlive a database not up yet
        jobs = build(app)
    click.echo(f"scheduler running: {', '.join(job.id for job in jobs.get_jobs())}", err=True)
    signal.signal(signal.SIGTERM, lambda *_: jobs.shutdown(wait=False))
    with suppress(KeyboardInterrupt):
        jobs.start()


# ---- rollup ---------------------------------------------------------------------------------


@main.command()
def rollup() -> None:
    """Compute every figure now and store it as a snapshot (then prune old ones)."""
    from tracker.services.rollup import prune_snapshots, take_snapshot

    now = utcnow()
    with _app():
        settings = current_settings()
        snapshot = take_snapshot(now=now, settings=settings)
        pruned = prune_snapshots(now=now, settings=settings)
    click.echo(
        f"snapshot {snapshot.id} in {snapshot.duration_seconds:.3f} s"
        + (f"; pruned {pruned}" if pruned else "")
    )


# ---- notifications ---------------------------------------------------------------------------


@main.group()
def notifications() -> None:
    """The chat groups, e-mail and webhooks that hear what happens (DESIGN §10)."""


@notifications.command("test")
@click.argument("channel")
def notifications_test(channel: str) -> None:
    """Send a test message to CHANNEL now and print its answer."""
    from tracker.channels import DeliveryError
    from tracker.services.notifications import send_test

    with _app():
        try:
            answer = send_test(channel, now=utcnow(), settings=current_settings())
        except DeliveryError as exc:
            _fail(f"{channel}: not delivered: {exc}")
    click.echo(f"{channel}: delivered (HTTP {answer.status}) {answer.body}".rstrip())


@notifications.command("send")
def notifications_send() -> None:
    """Send what the outbox holds now (as the scheduler does every few seconds), once."""
    from tracker.services.notifications import send_pending

    with _app():
        done = send_pending(now=utcnow(), settings=current_settings())
    click.echo(f"sent {done.sent}, to retry {done.retried}, failed {done.failed}")


@notifications.command("list")
@click.option("--status", type=click.Choice(NOTIFICATION_STATUSES), help="Only these")
@click.option("--channel", help="Only this channel's")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def notifications_list(status: str | None, channel: str | None, limit: int) -> None:
    """The outbox, newest first."""
    from tracker.schemas import NotificationQuery
    from tracker.services.notifications import list_notifications

    query = _validate(
        NotificationQuery, {"status": status, "channel": channel, "limit": limit}, "query"
    )
    with _app():
        page = list_notifications(query)
    for item in page.items:
        error = f"  {item.last_error}" if item.last_error else ""
        click.echo(
            f"{item.id}\t{item.channel}\t{item.event}\t{item.status}\t"
            f"attempts {item.attempts}\t{item.title}{error}"
        )


@notifications.command("retry")
@click.argument("notification_id", type=click.IntRange(min=1))
def notifications_retry(notification_id: int) -> None:
    """Send a failed message again, with a fresh round of attempts."""
    from tracker.services.notifications import retry

    with _app():
        item = retry(notification_id, now=utcnow())
    click.echo(f"notification {item.id} to {item.channel}: {item.status}")


# ---- follow-ups -------------------------------------------------------------------------------


@main.group("follow-ups")
def follow_ups() -> None:
    """The action items of incidents (DESIGN §11)."""


@follow_ups.command("list")
@click.option("--overdue", is_flag=True, help="Only those open or in progress and past due")
@click.option("--owner", help="Only this owner's")
@click.option("--status", type=click.Choice(FOLLOW_UP_STATUSES), help="Only these")
@click.option("--limit", type=click.IntRange(1, 200), default=200, show_default=True)
def follow_ups_list(overdue: bool, owner: str | None, status: str | None, limit: int) -> None:
    """Follow-ups by due date, the overdue first: due, status, owner, title, record."""
    from tracker.schemas import FollowUpQuery
    from tracker.services.followups import list_follow_ups

    fields = {"overdue": True if overdue else None, "owner": owner, "status": status}
    query = _validate(FollowUpQuery, {**fields, "limit": limit}, "query")
    with _app() as app:
        page = list_follow_ups(query, now=utcnow(), zone=app.extensions["tracker.settings"].zone)
    for item in page.items:
        late = "\toverdue" if item.overdue else ""
        click.echo(
            f"{item.due_on.isoformat()}\t{item.status}\t{item.owner}\t{item.title}\t"
            f"#{item.incident_id} {item.incident_title}{late}"
        )
    if not page.items:
        click.echo("no follow-ups" + (" overdue" if overdue else ""))


# ---- reports ---------------------------------------------------------------------------------


@main.group()
def report() -> None:
    """The weekly review."""


@report.command("weekly")
@click.option("--week", help="ISO week, e.g. 2024-W30 (default: last week)")
@click.option(
    "--format", "fmt", type=click.Choice(("md", "json", "csv")), default="md", show_default=True
)
@click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True)
@click.option(
    "--detail",
    type=click.Choice(("title", "summary")),
    help="After each event: its title, or its summary and record link too "
    "(default: report.event_detail)",
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to a file")
@click.option(
    "--export",
    is_flag=True,
    help="Write md (zh, en) and json to the export folder; freezes a finished week",
)
def report_weekly(
    week: str | None, fmt: str, lang: str, detail: str | None, out: str | None, export: bool
) -> None:
    """Print (or write) the weekly review in the team's own format."""
    from tracker.core.render import render
    from tracker.core.weekly.model import last_week, parse_week
    from tracker.services.reports import export_weekly, weekly_review

    if week is not None:
        _parsed("--week", parse_week, week)
    now = utcnow()
    with _app():
        settings = current_settings()
        week = week or last_week(now, settings.zone)
        if export:
            for path in export_weekly(week, now=now, settings=settings, actor=_actor()):
                click.echo(str(path))
            return
        review = weekly_review(week, now=now, settings=settings)
    rendered = render(review, fmt, lang, detail or settings.report.event_detail)
    _written(rendered.body, out, f"{review.report.week} written to {out}")


def _parsed(option: str, parse: Callable[[str], Any], value: str) -> Any:
    """A value through its parser; a bad one exits 2 naming the option."""
    try:
        return parse(value)
    except ValueError as exc:
        _fail(f"{option}: {exc}", code=EXIT_INVALID)


def _written(text: str, out: str | None, said: str) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(said, err=True)
    else:
        click.echo(text, nl=False)


SUMMARIES = {
    "monthly": ("month", "2024-07", "a calendar month"),
    "yearly": ("year", "2024", "a calendar year"),
}


def _summary_command(kind: str) -> None:
    """`tracker report monthly` and `tracker report yearly`: the API's summaries."""
    unit, example, what = SUMMARIES[kind]

    @report.command(kind, help=f"Print the summary of {what}: availability and error budget per "
                    "service, incident counts and time to mitigate per grade, success rates "
                    "per channel.")  # fmt: skip
    @click.option("--period", required=True, metavar=unit.upper(), help=f"The {unit}: {example}")
    @click.option(
        "--format", "fmt", type=click.Choice(("md", "json")), default="md", show_default=True
    )
    @click.option("--lang", type=click.Choice(LANGS), default="zh", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to a file")
    def command(period: str, fmt: str, lang: str, out: str | None) -> None:
        from tracker.core.render import render
        from tracker.core.summary import parse_month, parse_year
        from tracker.services import summaries

        _parsed("--period", parse_month if kind == "monthly" else parse_year, period)
        build = summaries.monthly_summary if kind == "monthly" else summaries.yearly_summary
        with _app():
            summary = build(period, now=utcnow(), settings=current_settings())
        _written(render(summary, fmt, lang).body, out, f"{period} written to {out}")


_summary_command("monthly")
_summary_command("yearly")
