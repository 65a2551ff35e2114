"""The `tracker` command: a thin adapter over the same service functions as the API."""

from __future__ import annotations

import getpass
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import click
from flask import Flask
from pydantic import BaseModel, ValidationError

from tracker.api.routing import to_json
from tracker.clock import utcnow
from tracker.core.vocabulary import GRADES, ROLES, STATUSES
from tracker.db import DATABASE_DOWN, database, lock_timed_out, wait_until_up
from tracker.errors import FieldError, TrackerError
from tracker.schemas import validation_errors
from tracker.settings import SettingsError, load_settings

EXIT_INVALID = 2
EXIT_FAILED = 1


def _fail(message: str, errors: list[FieldError] = (), code: int = EXIT_FAILED) -> None:
    click.echo(f"error: {message}", err=True)
    for error in errors:
        click.echo(f"  {error.field}: {error.message}", err=True)
    sys.exit(code)


@contextmanager
def _app(*, wait: bool = False) -> Iterator[Flask]:
    """The app on a current schema with a database connection, errors turned into messages
    and exit codes; `wait`s for a database that does not answer yet instead of failing."""
    from tracker.app import create_app
    from tracker.schema import upgrade

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
            waited = app.extensions["tracker.settings"].database.busy_timeout_ms
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
    from tracker.schema import upgrade

    with _app() as app:
        applied = upgrade(app.extensions["tracker.db"])
    click.echo("applied: " + ", ".join(applied) if applied else "schema is current")


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
def tokens_create(name: str, role: str, days: int | None) -> None:
    """Create a token and print it (only once; it is stored hashed)."""
    from datetime import timedelta

    from tracker.services.tokens import create_token

    now = utcnow()
    expires_at = None if days is None else now + timedelta(days=days)
    with _app():
        click.echo(create_token(name, role, actor=_actor(), now=now, expires_at=expires_at))


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
            click.echo(f"{token.id:>4}  {token.role:<9}  {state:<24}  {token.name}")


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


@users.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
def users_create(name: str, role: str) -> None:
    """Create a user; the password is asked for twice (or read from standard input)."""
    from tracker.services.users import create_user

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    with _app():
        create_user(name, role, password, actor=_actor(), now=utcnow())
    click.echo(f"user {name} ({role}) created")


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


@incidents.command("add")
@click.option("--title", help="What happened")
@click.option("--service", "services", multiple=True, help="Affected service key (repeatable)")
@click.option("--detected-at", help="ISO 8601 with offset, e.g. 2024-07-23T10:04:00+08:00")
@click.option("--impact-started-at", help="Defaults to --detected-at")
@click.option("--mitigated-at")
@click.option("--resolved-at")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--grade", type=click.Choice(GRADES))
@click.option("--grade-reason")
@click.option("--impact-ratio", type=float)
@click.option("--summary")
@click.option("--location")
@click.option(
    "--no-availability-impact", is_flag=True, help="Logged, but does not count toward availability"
)
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
    no_availability_impact: bool,
    services: tuple[str, ...],
    **options: Any,
) -> None:
    """Log an incident."""
    from tracker.schemas import IncidentCreate
    from tracker.services.incidents import create_incident

    data = _read_json_file(from_json) if from_json else {}
    data.update({k: v for k, v in options.items() if v is not None})
    if services:
        data["services"] = list(services)
    if no_availability_impact:
        data["counts_toward_availability"] = False
    body = _validate(IncidentCreate, data, "incident")
    with _app() as app:
        rules = app.extensions["tracker.grading"]
        incident = create_incident(body, actor=_actor(), rules=rules, now=utcnow())
    if as_json:
        _print_json(incident)
    else:
        click.echo(
            f"incident {incident.id} logged; suggested grade {incident.suggested_grade} "
            f"({incident.suggested_grade_reason})"
        )


@incidents.command("list")
@click.option("--since")
@click.option("--until")
@click.option("--grade", type=click.Choice(("A", "B", "C", "D", "AB", "none", "ungraded")))
@click.option("--service")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("-q", "q", help="Search title, summary and location")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def incidents_list(as_json: bool, **filters: Any) -> None:
    """List incidents, newest first."""
    from tracker.schemas import IncidentQuery
    from tracker.services.incidents import list_incidents

    query = _validate(IncidentQuery, {k: v for k, v in filters.items() if v is not None}, "filter")
    with _app() as app:
        page = list_incidents(query, rules=app.extensions["tracker.grading"], now=utcnow())
        zone = app.extensions["tracker.settings"].zone
    if as_json:
        _print_json(page)
        return
    for item in page.items:
        grade = item.grade or "-"
        when = item.detected_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"{item.id:>6}  {when}  {grade:<4}  {item.status:<9}  "
            f"{','.join(item.services):<24}  {item.title}"
        )
    if page.next_cursor:
        click.echo("(more: narrow the filters or raise --limit, up to 200)", err=True)


@incidents.command("show")
@click.argument("incident_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def incidents_show(incident_id: int, as_json: bool) -> None:
    """Show one incident with its timeline."""
    from tracker.services.incidents import get_incident, list_timeline

    with _app() as app:
        incident = get_incident(incident_id, rules=app.extensions["tracker.grading"], now=utcnow())
        timeline = list_timeline(incident_id)
        zone = app.extensions["tracker.settings"].zone
    if as_json:
        _print_json({**to_json(incident), "timeline": to_json(timeline)["items"]})
        return
    for name, value in to_json(incident).items():
        click.echo(f"{name:>27}: {value}")
    for entry in timeline:
        click.echo(f"  {entry.at.astimezone(zone):%Y-%m-%d %H:%M}  {entry.author}: {entry.text}")


# ---- payments --------------------------------------------------------------------------------


@main.group()
def payments() -> None:
    """Payment outcome counts."""


@payments.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--quiet", is_flag=True, help="No progress bar")
def payments_import(path: str, quiet: bool) -> None:
    """Import a CSV of per-minute counts or of transactions (the header says which).

    Counts: minute,direction,channel,scope,outcome,count[,amount]. Transactions:
    order_id,attempt,created_at,direction,channel,status,reason_code,amount,is_final, classified
    by config/outcomes.toml. A bad line stops the import and stores nothing; importing a file
    again replaces its minutes instead of adding them twice.
    """
    from tqdm import tqdm

    from tracker.services.payment_import import import_csv

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
    with _app() as app, stream, bar:
        settings = app.extensions["tracker.settings"]
        summary = import_csv(
            stream,
            name=path,
            zone=settings.zone,
            outcomes=settings.outcomes.outcome_map(),
            actor=_actor(),
            now=utcnow(),
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
    with _app() as app:
        settings = app.extensions["tracker.settings"]
        snapshot = take_snapshot(now=now, settings=settings)
        pruned = prune_snapshots(now=now, settings=settings)
    click.echo(
        f"snapshot {snapshot.id} in {snapshot.duration_seconds:.3f} s"
        + (f"; pruned {pruned}" if pruned else "")
    )


# ---- reports ---------------------------------------------------------------------------------


@main.group()
def report() -> None:
    """The weekly review."""


@report.command("weekly")
@click.option("--week", help="ISO week, e.g. 2024-W30 (default: last week)")
@click.option(
    "--format", "fmt", type=click.Choice(("md", "json", "csv")), default="md", show_default=True
)
@click.option("--lang", type=click.Choice(("zh", "en")), default="zh", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to a file")
@click.option(
    "--export",
    is_flag=True,
    help="Write md (zh, en) and json to the export folder; freezes a finished week",
)
def report_weekly(week: str | None, fmt: str, lang: str, out: str | None, export: bool) -> None:
    """Print (or write) the weekly review in the team's own format."""
    from datetime import timedelta

    from tracker.core.weekly import as_csv, as_json, markdown, week_name
    from tracker.services.reports import export_weekly, weekly_review

    now = utcnow()
    with _app() as app:
        settings = app.extensions["tracker.settings"]
        week = week or week_name(now - timedelta(days=7), settings.zone)
        if export:
            for path in export_weekly(week, now=now, settings=settings, actor=_actor()):
                click.echo(str(path))
            return
        review = weekly_review(week, now=now, settings=settings)
    report, notes = review.report, review.notes(lang)
    if fmt == "json":
        data = as_json(report, lang, notes, review.frozen_at)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    else:
        text = (markdown if fmt == "md" else as_csv)(report, lang, notes)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"{report.week} written to {out}", err=True)
    else:
        click.echo(text, nl=False)


def _summary_command(kind: str) -> None:
    """`tracker report monthly|yearly`: the same figures as the API's summaries."""

    @report.command(kind)
    @click.option("--period", required=True, help="2024-07 for a month, 2024 for a year")
    @click.option(
        "--format", "fmt", type=click.Choice(("md", "json")), default="md", show_default=True
    )
    @click.option("--lang", type=click.Choice(("zh", "en")), default="zh", show_default=True)
    def command(period: str, fmt: str, lang: str) -> None:
        from tracker.core.summary import summary_json, summary_markdown
        from tracker.services import summaries

        build = summaries.monthly_summary if kind == "monthly" else summaries.yearly_summary
        with _app() as app:
            summary = build(period, now=utcnow(), settings=app.extensions["tracker.settings"])
        if fmt == "json":
            click.echo(json.dumps(summary_json(summary, lang), ensure_ascii=False, indent=2))
        else:
            click.echo(summary_markdown(summary, lang), nl=False)

    command.__doc__ = (
        f"Print the {kind} summary: availability per service, budgets, counts, "
        "time to mitigate, success rates per channel."
    )


_summary_command("monthly")
_summary_command("yearly")
