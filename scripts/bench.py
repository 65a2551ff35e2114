"""Benchmarks, each a ratio measured in one run on this machine (see scripts/bench)."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHANNELS = ("unionpay", "nucc", "icbc", "cmb")
OUTCOMES = (("success", 950), ("user", 30), ("channel", 2), ("system", 1))
START = datetime(2024, 7, 22, tzinfo=UTC) - timedelta(hours=8)


def count_rows(minutes: int) -> Iterator[tuple]:
    """Per-minute counts for several channels, both directions, both scopes."""
    for m in range(minutes):
        minute = START + timedelta(minutes=m)
        for channel in CHANNELS:
            for direction in ("pay_in", "pay_out"):
                for scope in ("final", "first_attempt"):
                    for outcome, n in OUTCOMES:
                        yield (minute, direction, channel, scope, outcome, n + m % 7, "12.50")


def fresh_app(url: str | None, workdir: Path, **overrides: Any):
    from tracker.app import create_app
    from tracker.db import open_database
    from tracker.migrate import upgrade
    from tracker.settings import load_settings

    url = url or f"sqlite:///{workdir / 'bench.db'}"
    if url.startswith("postgres"):
        _reset_postgres(url)
    upgrade(open_database(url))
    settings = load_settings(
        environ={}, overrides={"database_url": url, "data_dir": str(workdir), **overrides}
    )
    return create_app(settings)


def _reset_postgres(url: str) -> None:
    from tracker.db import open_database

    db = open_database(url)
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    db.close_all()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


RAW_TABLE = (
    "CREATE TABLE raw_count (minute TIMESTAMP NOT NULL, direction VARCHAR(8) NOT NULL, "
    "channel VARCHAR(64) NOT NULL, scope VARCHAR(16) NOT NULL, outcome VARCHAR(16) NOT NULL, "
    "count BIGINT NOT NULL, amount BIGINT, "
    "UNIQUE (minute, direction, channel, scope, outcome))"
)


def raw_insert(app, rows: list[tuple], batch: int) -> float:
    """executemany of the same rows, as they come (one row a minute, series and outcome), into
    a table of that shape with its unique key, in the same database, one commit per batch."""
    db = app.extensions["tracker.db"]
    marker = "%s" if "postgres" in type(db).__name__.lower() else "?"
    with db.connection_context():
        db.execute_sql(RAW_TABLE)
    sql = (
        "INSERT INTO raw_count (minute, direction, channel, scope, outcome, count, amount) "
        f"VALUES ({', '.join([marker] * 7)})"
    )
    prepared = [(m.replace(tzinfo=None), d, c, s, o, n, 1250) for m, d, c, s, o, n, _ in rows]

    def run() -> None:
        with db.connection_context():
            for start in range(0, len(prepared), batch):
                with db.atomic():
                    db.cursor().executemany(sql, prepared[start : start + batch])

    return timed(run)


def api_ingest(app, rows: list[tuple], batch: int) -> float:
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.tokens import create_token

    with app.app_context(), database.connection_context():
        token = create_token("bench", "ingest", actor="bench", now=utcnow())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [
        json.dumps(
            {
                "counts": [
                    {
                        "minute": m.isoformat(),
                        "direction": d,
                        "channel": c,
                        "scope": s,
                        "outcome": o,
                        "count": n,
                        "amount": a,
                    }
                    for m, d, c, s, o, n, a in rows[start : start + batch]
                ]
            }
        )
        for start in range(0, len(rows), batch)
    ]

    def run() -> None:
        for body in bodies:
            response = client.post("/api/v1/payments/counts", data=body, headers=headers)
            assert response.status_code == 200, response.get_json()

    return timed(run)


def write_counts_csv(path: Path, minutes: int) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("minute", "direction", "channel", "scope", "outcome", "count", "amount"))
        for m, d, c, s, o, n, a in count_rows(minutes):
            writer.writerow((m.isoformat(), d, c, s, o, n, a))
            rows += 1
    return rows


def import_file(app, path: Path) -> None:
    """`path` through tracker's import, as `tracker payments import` runs it."""
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services import payments

    settings = app.extensions["tracker.settings"]
    with app.app_context(), database.connection_context(), path.open("rb") as fh:
        payments.import_file(
            fh,
            name=path.name,
            zone=settings.zone,
            outcomes=settings.outcomes.outcome_map(),
            bounds=payments.Bounds.at(utcnow(), max_channels=settings.payments.max_channels),
            actor="bench",
            now=utcnow(),
        )


def csv_import(app, path: Path) -> float:
    return timed(lambda: import_file(app, path))


def peak_rss_of_import(path: Path, url: str | None) -> int:
    """Peak resident memory (KiB) of a fresh process that imports `path`."""
    code = (
        "import sys, resource, tempfile, pathlib;"
        "sys.path.insert(0, sys.argv[1]);"
        "from scripts.bench import fresh_app, csv_import;"
        "work = pathlib.Path(tempfile.mkdtemp());"
        "app = fresh_app(sys.argv[3] or None, work);"
        "csv_import(app, pathlib.Path(sys.argv[2]));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(path), url or ""],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return int(out.stdout.strip().splitlines()[-1])


def bench_payments(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    import logging

    logging.disable(logging.WARNING)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = list(count_rows(args.minutes))
        small = work / "small.csv"
        large = work / "large.csv"
        small_rows = write_counts_csv(small, args.minutes)
        url = args.database_url
        # Interleaved rounds, each on fresh databases: a noisy spell slows all three alike
        # instead of whichever happened to run during it; the fastest of each counts.
        runs: dict[str, list[float]] = {"raw": [], "api": [], "csv": []}
        for i in range(args.repeat):
            runs["raw"].append(raw_insert(fresh_app(url, work / f"raw{i}"), rows, 10_000))
            runs["api"].append(api_ingest(fresh_app(url, work / f"api{i}"), rows, 10_000))
            runs["csv"].append(csv_import(fresh_app(url, work / f"csv{i}"), small))
        raw, api, imported = (min(runs[k]) for k in ("raw", "api", "csv"))
        results.append(
            (
                f"API ingest, {len(rows):,} rows in batches of 10,000",
                f"{len(rows) / api:,.0f} rows/s vs raw {len(rows) / raw:,.0f} rows/s",
                f"{raw / api:.2f} (target ≥ 0.5)",
            )
        )

        results.append(
            (
                f"CSV import (counts), {small_rows:,} rows",
                f"{small_rows / imported:,.0f} rows/s vs raw {len(rows) / raw:,.0f} rows/s",
                f"{raw / imported:.2f} (target ≥ 0.7)",
            )
        )

        write_counts_csv(large, args.minutes * 10)
        small_rss = peak_rss_of_import(small, args.database_url)
        large_rss = peak_rss_of_import(large, args.database_url)
        results.append(
            (
                "CSV import peak memory, file 10× larger",
                f"{small_rss / 1024:,.0f} MiB → {large_rss / 1024:,.0f} MiB",
                f"{large_rss / small_rss:.2f} (flat ≈ 1)",
            )
        )
    return results


# ---- transactions: tracker's import vs DuckDB's GROUP BY over the same file -----------------

TX_CHANNELS = ("unionpay", "nucc", "icbc")
TX_STATUSES = (
    ("success", "", 930),
    ("failed", "INSUFFICIENT_FUNDS", 25),
    ("failed", "CHANNEL_TIMEOUT", 15),
    ("failed", "NEW_CODE_42", 5),
    ("declined", "RISK_REJECTED", 10),
    ("pending", "", 15),
)
TX_DAY = datetime(2024, 7, 23, tzinfo=UTC) - timedelta(hours=8)  # local midnight, +08:00


def write_transactions_csv(path: Path, rows: int, *, seed: int = 7) -> int:
    """`rows` transactions over one local day on three channels: first attempts, retries,
    final and not, every status of config/outcomes.toml's kinds and an unmapped code."""
    import random

    rng = random.Random(seed)
    weights = [w for *_, w in TX_STATUSES]
    zone = timezone(timedelta(hours=8))
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ("order_id", "attempt", "created_at", "direction", "channel", "status",
             "reason_code", "amount", "is_final")
        )  # fmt: skip
        for k in range(rows):
            at = (TX_DAY + timedelta(seconds=k * 86_400 // rows)).astimezone(zone)
            status, code, _ = rng.choices(TX_STATUSES, weights)[0]
            attempt = 1 if rng.random() < 0.9 else 2
            writer.writerow(
                (
                    f"o{k}", attempt, at.isoformat(), "pay_in" if k % 3 else "pay_out",
                    TX_CHANNELS[k % 3], status, code, f"{rng.randint(1, 500_000) / 100:.2f}",
                    "false" if status == "failed" and rng.random() < 0.5 else "true",
                )
            )  # fmt: skip
    return rows


DUCKDB_GROUPING = """
SELECT epoch(date_trunc('minute', created_at))::BIGINT AS minute, direction, channel,
       lower(status) AS status, upper(reason_code) AS reason_code,
       attempt = 1 AS first, is_final, count(*) AS n, sum(round(amount * 100))::BIGINT AS fen
FROM read_csv(?, header = true, columns = {
    'order_id': 'VARCHAR', 'attempt': 'INTEGER', 'created_at': 'TIMESTAMPTZ',
    'direction': 'VARCHAR', 'channel': 'VARCHAR', 'status': 'VARCHAR',
    'reason_code': 'VARCHAR', 'amount': 'DECIMAL(18,2)', 'is_final': 'BOOLEAN'})
GROUP BY ALL
"""


def duckdb_grouping(path: Path) -> list[tuple]:
    """DuckDB reads the file and groups it by minute, direction, channel, status and reason
    (and the two scope flags)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(DUCKDB_GROUPING, [str(path)]).fetchall()


def classified(groups: list[tuple], outcomes) -> dict[tuple, tuple[int, int]]:
    """DuckDB's groups classified as tracker classifies transactions: (minute, direction,
    channel, scope, outcome) → (count, fen)."""
    sums: dict[tuple, list[int]] = {}
    for minute, direction, channel, status, code, first, final, n, fen in groups:
        outcome = outcomes.classify(status, code or "")
        for scope, keep in (("first_attempt", first), ("final", final)):
            if keep:
                total = sums.setdefault((minute, direction, channel, scope, outcome), [0, 0])
                total[0] += n
                total[1] += fen
    return {key: (n, fen) for key, (n, fen) in sums.items()}


def stored_outcomes(app) -> dict[tuple, tuple[int, int]]:
    """What tracker stored, in the shape of `classified`."""
    from tracker.core.vocabulary import OUTCOMES
    from tracker.db import database
    from tracker.models import COUNT_COLUMNS, FEN_COLUMNS, PaymentMinute, utc_of

    columns = ("minute", "direction", "channel", "scope", *COUNT_COLUMNS, *FEN_COLUMNS)
    stored = {}
    with app.app_context(), database.connection_context():
        query = PaymentMinute.select(*(getattr(PaymentMinute, c) for c in columns)).tuples()
        for minute, direction, channel, scope, *values in query:
            epoch = int(utc_of(minute).timestamp())
            for at, outcome in enumerate(OUTCOMES):
                if values[at] is not None:
                    key = (epoch, direction, channel, scope, outcome)
                    stored[key] = (values[at], values[len(OUTCOMES) + at])
    return stored


def bench_transactions(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """A day of transactions (`--transactions` rows) through `tracker payments import` and
    through DuckDB, interleaved, best of `--repeat`; equal sums asserted; peak memory of the
    import at that size and ten times it."""
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "transactions.csv"
        rows = write_transactions_csv(path, args.transactions)
        ours_runs, theirs_runs = [], []
        for i in range(args.repeat):
            app = fresh_app(args.database_url, work / f"tx{i}")
            ours_runs.append(csv_import(app, path))
            started = time.perf_counter()
            groups = duckdb_grouping(path)
            theirs_runs.append(time.perf_counter() - started)
        outcomes = app.extensions["tracker.settings"].outcomes.outcome_map()
        expected, stored = classified(groups, outcomes), stored_outcomes(app)
        assert stored == expected, "tracker's minute buckets differ from DuckDB's grouping"
        ours, theirs = min(ours_runs), min(theirs_runs)
        results = [
            (
                f"transactions CSV import, {rows:,} rows of one day on 3 channels "
                f"({len(stored):,} minute sums, equal to DuckDB's): tracker vs DuckDB "
                "read_csv + GROUP BY",
                f"{ours:,.2f} s ({rows / ours:,.0f} rows/s) vs {theirs:,.2f} s",
                f"{ours / theirs:.1f} (target ≤ 3)",
            )
        ]
        parquet = work / "transactions.parquet"
        write_parquet(path, parquet)
        parquet_runs = [csv_import(fresh_app(args.database_url, work / f"pq{i}"), parquet)
                        for i in range(args.repeat)]  # fmt: skip
        results.append(
            (
                f"transactions Parquet import, the same {rows:,} rows",
                f"{min(parquet_runs):,.2f} s ({rows / min(parquet_runs):,.0f} rows/s)",
                f"{min(parquet_runs) / theirs:.1f} (÷ DuckDB on the CSV)",
            )
        )
        small_rss = peak_rss_of_import(path, args.database_url)
        large = work / "transactions10.csv"
        write_transactions_csv(large, rows * 10)
        large_rss = peak_rss_of_import(large, args.database_url)
        results.append(
            (
                f"transactions import peak memory, {rows:,} → {rows * 10:,} rows",
                f"{small_rss / 1024:,.0f} MiB → {large_rss / 1024:,.0f} MiB",
                f"{large_rss / small_rss:.2f} (flat ≈ 1)",
            )
        )
    return results


def write_parquet(csv_path: Path, parquet_path: Path) -> None:
    """The CSV as a data platform would export it: typed columns (a timestamp with its zone,
    integers, a decimal, a boolean)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    table = pa_csv.read_csv(
        csv_path,
        convert_options=pa_csv.ConvertOptions(
            column_types={
                "order_id": pa.string(), "attempt": pa.int16(),
                "created_at": pa.timestamp("us", tz="UTC"), "reason_code": pa.string(),
                "amount": pa.decimal128(18, 2), "is_final": pa.bool_(),
            },
            strings_can_be_null=False,
        ),
    )  # fmt: skip
    pq.write_table(table, parquet_path, row_group_size=131_072)


def seed_incidents(app, count: int) -> None:
    """`count` resolved incidents over the last year on two services, written in bulk."""
    from tracker.clock import utcnow

    seed_services(app, services=("gateway", "ledger"), incidents=count, now=utcnow())


def scrape_latencies(apps: dict, scrapes: int) -> dict:
    """Median seconds of one /metrics scrape of each app's latest snapshot, the apps scraped
    in turn (a noisy spell slows them all alike)."""
    import statistics

    clients = {name: app.test_client() for name, app in apps.items()}
    timings: dict = {name: [] for name in apps}
    for _ in range(scrapes):
        for name, client in clients.items():
            started = time.perf_counter()
            assert client.get("/metrics").status_code == 200
            timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) for name, t in timings.items()}


def bench_metrics(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    import logging

    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.rollup import take_snapshot

    logging.disable(logging.WARNING)
    apps = {}
    # None: an empty database; 1,000: the same two services, every series already present.
    with tempfile.TemporaryDirectory() as tmp:
        for count in (None, 1000, args.incidents):
            app = apps[count] = fresh_app(args.database_url, Path(tmp) / f"metrics{count}")
            if count is not None:
                seed_incidents(app, count)
            with app.app_context(), database.connection_context():
                take_snapshot(now=utcnow(), settings=app.extensions["tracker.settings"])
        latencies = scrape_latencies(apps, 300)
    large = latencies[args.incidents]
    return [
        (
            f"/metrics scrape, {args.incidents:,} incidents vs {against}",
            f"median {large * 1000:.2f} ms vs {latencies[count] * 1000:.2f} ms",
            f"{large / latencies[count]:.2f} (flat ≈ 1)",
        )
        for count, against in (
            (None, "an empty database"),
            (1000, "1,000 on the same two services"),
        )
    ]


# ---- rollup: a year of minutes, the tracker's rollup vs one hand-made query ------------------

RATE_SERIES = (("pay_in", "final"), ("pay_in", "first_attempt"), ("pay_out", "final"))
# Per-minute counts that vary from minute to minute (i is the minute's number); outcomes not
# listed stay NULL, as they do for a minute that never reported them.
SEEDED_COUNTS = {
    "success_count": "900 + i % 97",
    "user_count": "20 + i % 13",
    "risk_count": "i % 5",
    "channel_count": "i % 7",
    "system_count": "i % 3",
    "pending_count": "i % 2",
}


def _is_postgres(db) -> bool:
    from tracker.db import is_postgres

    return is_postgres(db)


def _stored_time(db, moment: datetime):
    """A UTC instant as the minute column stores it (naive UTC; text on SQLite)."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive if _is_postgres(db) else naive.strftime("%Y-%m-%d %H:%M:%S")


def seed_year(
    app, *, days: int, channels: int, until: datetime, seeded: dict[str, str] | None = None
) -> int:
    """`days` of per-minute counts before `until` for `channels` channels on the three series
    the rates read, written by one INSERT ... SELECT, then the daily totals (cut in the
    configured zone) as the sums of those minutes by another. Returns the minute rows.
    `seeded`: the counts per outcome column as SQL of the minute's number i (SEEDED_COUNTS)."""
    seeded = seeded or SEEDED_COUNTS
    from tracker.core.windows import local_midnight
    from tracker.models import COUNT_COLUMNS, FEN_COLUMNS
    from tracker.services.payments import DAILY_ZONE

    db = app.extensions["tracker.db"]
    zone = app.extensions["tracker.settings"].zone
    since = until - timedelta(days=days)
    minutes = days * 1440
    names = [f"ch{n:02d}" for n in range(channels)]
    channel_rows = ", ".join(f"('{c}')" for c in names)
    series_rows = ", ".join(f"('{d}', '{s}')" for d, s in RATE_SERIES)
    counted = ", ".join(seeded)
    if _is_postgres(db):
        head = ""
        numbers = f"generate_series(0, {minutes - 1}) AS m(i)"
        channel_table = f"(VALUES {channel_rows}) AS c(channel)"
        series_table = f"(VALUES {series_rows}) AS s(direction, scope)"
        minute = "%s::timestamp + make_interval(mins => i)"
    else:  # no generate_series; VALUES columns are named column1, column2, ...
        last = minutes - 1
        head = f"WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < {last}) "
        numbers = "m"
        channel_table = f"(SELECT column1 AS channel FROM (VALUES {channel_rows}))"
        series_table = (
            f"(SELECT column1 AS direction, column2 AS scope FROM (VALUES {series_rows}))"
        )
        minute = "datetime(?, '+' || i || ' minutes')"
    counts = ", ".join(seeded.values())
    if _is_postgres(db):  # psycopg2 reads % as a placeholder
        counts = counts.replace("%", "%%")
    fill_minutes = (
        f"{head}INSERT INTO payment_minute (minute, direction, channel, scope, {counted}) "
        f"SELECT {minute}, direction, channel, scope, {counts} "
        f"FROM {numbers} CROSS JOIN {channel_table} CROSS JOIN {series_table}"
    )
    mark = "%s" if _is_postgres(db) else "?"
    sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in COUNT_COLUMNS)
    fill_day = (
        f"INSERT INTO payment_day (day, direction, channel, scope, "
        f"{', '.join(COUNT_COLUMNS)}, {', '.join(FEN_COLUMNS)}) "
        f"SELECT {mark}, direction, channel, scope, {sums}, {', '.join(['0'] * len(FEN_COLUMNS))} "
        f"FROM payment_minute WHERE minute >= {mark} AND minute < {mark} "
        "GROUP BY direction, channel, scope"
    )
    first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    days = [
        (
            day.isoformat(),
            _stored_time(db, local_midnight(day, zone)),
            _stored_time(db, local_midnight(day + timedelta(days=1), zone)),
        )
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]
    with db.connection_context(), db.atomic():
        db.execute_sql(fill_minutes, (_stored_time(db, since),))
        for day in days:  # a day at a time: each an index range, no sort of the whole year
            db.execute_sql(fill_day, day)
        db.execute_sql(
            f"INSERT INTO state (key, value) VALUES ({mark}, {mark})", (DAILY_ZONE, zone.key)
        )
    _analyze(db)
    return minutes * channels * len(RATE_SERIES)


def _analyze(db) -> None:
    """PostgreSQL's planner statistics of the payment tables, as autovacuum would have them
    soon after a bulk load: measured without, its plans guess. (SQLite's planner keeps no
    statistics unless asked to, and tracker never asks.)"""
    if _is_postgres(db):
        with db.connection_context():
            db.execute_sql("ANALYZE payment_minute, payment_hour, payment_day")


def rollup_by_hand(app, windows: dict[str, tuple[datetime, datetime]]) -> dict[tuple, dict]:
    """One query over payment_minute: Σ of every outcome column per window, channel,
    direction and scope. Returns {(window, channel, direction, scope): {outcome: n}}, with
    channel `all` added up from the channels' rows."""
    from tracker.core.vocabulary import OUTCOMES

    db = app.extensions["tracker.db"]
    mark = "%s" if _is_postgres(db) else "?"
    bounds = ", ".join([f"({mark}, {mark}, {mark})"] * len(windows))
    params = [
        value
        for name, (since, until) in windows.items()
        for value in (name, _stored_time(db, since), _stored_time(db, until))
    ]
    sums = ", ".join(f"SUM({outcome}_count)" for outcome in OUTCOMES)
    sql = (
        f"WITH w(name, since, until) AS (VALUES {bounds}) "
        f"SELECT w.name, channel, direction, scope, {sums} "
        "FROM payment_minute JOIN w ON minute >= w.since AND minute < w.until "
        "GROUP BY w.name, channel, direction, scope"
    )
    totals: dict[tuple, dict] = {}
    with db.connection_context():
        rows = db.execute_sql(sql, params).fetchall()
    for window, channel, direction, scope, *counts in rows:
        for name in (channel, "all"):
            total = totals.setdefault((window, name, direction, scope), {})
            for outcome, n in zip(OUTCOMES, counts, strict=True):
                if n is not None:
                    total[outcome] = total.get(outcome, 0) + int(n)
    return totals


def rates_of(totals: dict[tuple, dict], definitions) -> dict[tuple, tuple[int, int]]:
    """(rate, channel, window) → (numerator, denominator) by DESIGN §4.5."""
    from tracker.core.rates import success_rate

    rates = {}
    for (window, channel, direction, scope), counts in totals.items():
        for d in definitions:
            if (d.direction, d.scope) == (direction, scope):
                value = success_rate(counts, d.excludes)
                rates[(d.name, channel, window)] = (value.numerator, value.denominator)
    return rates


def bench_rollup(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    import logging

    from tracker.core.windows import WINDOWS, window_bounds
    from tracker.db import database
    from tracker.services.rollup import take_snapshot

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = fresh_app(args.database_url, Path(tmp) / "rollup")
        settings = app.extensions["tracker.settings"]
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        started = time.perf_counter()
        rows = seed_year(app, days=args.rollup_days, channels=args.rollup_channels, until=now)
        seeded = time.perf_counter() - started
        windows = {w: window_bounds(w, as_of=now, zone=settings.zone) for w in WINDOWS}
        # The query reads every minute of the year: tens of seconds on SQLite, so it runs
        # once; the rollup, a second or less, takes the best of `repeat`.
        started = time.perf_counter()
        totals = rollup_by_hand(app, windows)
        by_hand = time.perf_counter() - started
        tracker_runs = []
        for _ in range(args.repeat):
            with app.app_context(), database.connection_context():
                started = time.perf_counter()
                snapshot = take_snapshot(now=now, settings=settings)
                tracker_runs.append(time.perf_counter() - started)
    ours = {
        (r["rate"], r["channel"], r["window"]): (r["numerator"], r["denominator"])
        for r in snapshot.to_json()["rates"]
    }
    theirs = rates_of(totals, settings.payments.definitions())
    assert ours == theirs, "the rollup and the hand-made query disagree"
    tracker_best = min(tracker_runs)
    return [
        (
            f"rollup: {args.rollup_days} days of minutes, {args.rollup_channels} channels "
            f"({rows:,} rows, seeded in {seeded:.0f} s), {len(ours)} rates",
            f"{tracker_best * 1000:,.0f} ms vs one SQL query {by_hand * 1000:,.0f} ms",
            f"{tracker_best / by_hand:.3f} (tracker ÷ SQL; < 1 is faster)",
        ),
        *rollup_by_services(args),
    ]


def seed_services(app, *, services: int | tuple[str, ...], incidents: int, now: datetime) -> None:
    """Services (`services` of them, or these keys) and `incidents` resolved incidents over
    the last year, spread over them (one service each: five minutes at ratio 0.5, resolved in
    twenty), written in bulk."""
    from tracker.db import database
    from tracker.models import Incident, IncidentService, Service

    keys = services if isinstance(services, tuple) else [f"svc-{k:03d}" for k in range(services)]
    with app.app_context(), database.connection_context(), database.atomic():
        Service.insert_many(
            [
                {
                    "key": key,
                    "name": key,
                    "tier": 1 + k % 3,
                    "objective": 0.9995,
                    "created_at": now,
                    "updated_at": now,
                }
                for k, key in enumerate(keys)
            ]
        ).execute()
        ids = [i for (i,) in Service.select(Service.id).order_by(Service.id).tuples()]
        rows = []
        for i in range(incidents):
            detected = now - timedelta(minutes=(i * 525_600 // max(incidents, 1)) + 30)
            rows.append(
                {
                    "title": f"incident {i}",
                    "status": "resolved",
                    "grade": "CD"[i % 2],
                    "impact_started_at": detected,
                    "detected_at": detected,
                    "mitigated_at": detected + timedelta(minutes=5),
                    "resolved_at": detected + timedelta(minutes=20),
                    "impact_ratio": 0.5,
                    "responsibility": [],
                    "created_at": now,
                    "updated_at": now,
                    "created_by": "bench",
                }
            )
        for start in range(0, len(rows), 1000):
            Incident.insert_many(rows[start : start + 1000]).execute()
        incident_ids = [i for (i,) in Incident.select(Incident.id).order_by(Incident.id).tuples()]
        links = [{"incident": i, "service": ids[n % len(ids)]} for n, i in enumerate(incident_ids)]
        for start in range(0, len(links), 1000):
            IncidentService.insert_many(links[start : start + 1000]).execute()
        if _is_postgres(app.extensions["tracker.db"]):
            database.execute_sql("ANALYZE")  # as autovacuum would after a bulk load


def rollup_by_services(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The rollup's cost as the catalog grows: 2, 20 and 200 services (1,000, 1,000 and
    5,000 incidents in the year), best of `repeat` in one process."""
    from tracker.db import database
    from tracker.services.rollup import take_snapshot

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    best = {}
    for services, incidents in ((2, 1000), (20, 1000), (200, 5000)):
        with tempfile.TemporaryDirectory() as tmp:
            app = fresh_app(args.database_url, Path(tmp) / f"services{services}")
            seed_services(app, services=services, incidents=incidents, now=now)
            runs = []
            for _ in range(args.repeat):
                with app.app_context(), database.connection_context():
                    started = time.perf_counter()
                    take_snapshot(now=now, settings=app.extensions["tracker.settings"])
                    runs.append(time.perf_counter() - started)
            best[services] = (incidents, min(runs))
            app.extensions["tracker.db"].close()
    rows = [
        (
            f"rollup: {services} services, {incidents:,} incidents in the year",
            f"{took * 1000:,.0f} ms",
            "",
        )
        for services, (incidents, took) in best.items()
    ]
    rows.append(
        (
            "rollup: 200 services ÷ 2 services",
            f"{best[200][1] * 1000:,.0f} ms vs {best[2][1] * 1000:,.0f} ms",
            f"{best[200][1] / best[2][1]:.1f} (target ≤ 5; 200 services under 1 s)",
        )
    )
    return rows


# ---- weekly: import + weekly report vs pandas -------------------------------------------------

WEEK = "2024-W30"  # count_rows starts on its Monday, local time
WEEKLY_ROUNDS = 5


def tracker_weekly(app, path: Path) -> dict[str, tuple[int, int]]:
    """Import the CSV and compute the week's report; returns rate → (numerator, denominator)."""
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.reports import weekly_report

    import_file(app, path)
    with app.app_context(), database.connection_context():
        settings = app.extensions["tracker.settings"]
        report = weekly_report(WEEK, now=utcnow(), settings=settings)
    return {r.name: (r.numerator, r.denominator) for r in report.rates}


def pandas_weekly(path: Path, definitions, since: datetime, until: datetime) -> dict:
    """The same rates from the same file: read_csv, keep the week, groupby, sum."""
    import pandas as pd

    frame = pd.read_csv(path, usecols=["minute", "direction", "scope", "outcome", "count"])
    minute = pd.to_datetime(frame["minute"], utc=True, format="ISO8601")
    week = frame[(minute >= since) & (minute < until)]
    totals = week.groupby(["direction", "scope", "outcome"])["count"].sum()
    rates = {}
    for d in definitions:
        counts = totals.loc[(d.direction, d.scope)] if (d.direction, d.scope) in totals else {}
        kept = {o: int(n) for o, n in dict(counts).items() if o not in d.excludes}
        rates[d.name] = (kept.get("success", 0), sum(kept.values()))
    return rates


def bench_weekly(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    import logging

    from tracker.core.weekly.model import parse_week
    from tracker.core.windows import iso_week_bounds

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "week.csv"
        rows = write_counts_csv(path, 7 * 1440)
        results: dict[str, dict] = {}
        ours_runs, theirs_runs = [], []
        # Interleaved rounds (a noisy spell slows both alike), at least five: a round takes
        # about a second, and one run's import time moves by a fifth on this shared machine.
        for i in range(max(args.repeat, WEEKLY_ROUNDS)):
            app = fresh_app(args.database_url, work / f"weekly{i}")
            started = time.perf_counter()
            results["tracker"] = tracker_weekly(app, path)
            ours_runs.append(time.perf_counter() - started)
            settings = app.extensions["tracker.settings"]
            since, until = iso_week_bounds(*parse_week(WEEK), settings.zone)
            started = time.perf_counter()
            results["pandas"] = pandas_weekly(path, settings.payments.definitions(), since, until)
            theirs_runs.append(time.perf_counter() - started)
    assert results["tracker"] == results["pandas"], results
    ours, theirs = min(ours_runs), min(theirs_runs)
    return [
        (
            f"weekly rates from a CSV of a week of minutes ({rows:,} rows): "
            "tracker import + report vs pandas read_csv + groupby",
            f"{ours:,.2f} s vs {theirs:,.2f} s",
            f"{ours / theirs:.2f} (tracker ÷ pandas; target ≤ 2)",
        )
    ]


# ---- load: GET /api/v1/incidents under wrk vs /healthz on the same server --------------------

WRK_HELP = "wrk is not installed: apt-get install -y wrk (Debian package `wrk`)"
# wrk's `done` callback prints the latency percentiles in microseconds, one parsable line.
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\\n", latency:percentile(50),
    latency:percentile(99), summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(url: str, *, token: str | None, seconds: int, connections: int, script: Path) -> dict:
    """p50 and p99 (seconds) and request count of `url` under wrk at fixed concurrency."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    p50, p99, requests, bad_status, failed = (int(v) for v in line.split()[1:])
    if bad_status or failed:
        sys.exit(f"bench load: {url}: {bad_status} non-2xx answers, {failed} socket errors")
    return {"p50": p50 / 1e6, "p99": p99 / 1e6, "requests": requests}


def bench_load(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    import logging

    from tests.servers import environment, serving
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.tokens import create_token

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = fresh_app(args.database_url, work)
        seed_incidents(app, args.incidents)
        with app.app_context(), database.connection_context():
            token = create_token("bench", "viewer", actor="bench", now=utcnow())
        settings = app.extensions["tracker.settings"]
        app.extensions["tracker.db"].close()
        script = work / "report.lua"
        script.write_text(WRK_REPORT, encoding="utf-8")
        env = environment(
            work,
            database_url=settings.effective_database_url,
            scheduler_enabled="false",
        )
        seconds = max(1, args.load_seconds // args.repeat)
        load = {"seconds": seconds, "connections": args.load_connections}
        rounds: dict[str, list[dict]] = {"list": [], "healthz": []}
        with serving(env, workers=args.load_workers) as base:
            wrk(f"{base}/api/v1/incidents", token=token, seconds=2, connections=4, script=script)
            # Interleaved rounds, each on new connections: how the kernel spreads them over
            # the workers moves a round's latencies by a factor of two or three either way.
            for _ in range(args.repeat):
                rounds["list"].append(
                    wrk(f"{base}/api/v1/incidents", token=token, **load, script=script)
                )
                rounds["healthz"].append(wrk(f"{base}/healthz", token=None, **load, script=script))
    listed, bare = (min(rounds[name], key=lambda r: r["p50"]) for name in ("list", "healthz"))
    setting = (
        f"{args.load_connections} connections, the best of {args.repeat} rounds of {seconds} s, "
        f"gunicorn {args.load_workers} workers × 4 threads"
    )
    return [
        (
            f"GET /api/v1/incidents (50 of {args.incidents:,}) p50 vs /healthz, {setting}",
            f"{listed['p50'] * 1000:.1f} ms vs {bare['p50'] * 1000:.1f} ms",
            f"{listed['p50'] / bare['p50']:.1f} (target ≤ 3)",
        ),
        (
            "GET /api/v1/incidents p99 vs /healthz",
            f"{listed['p99'] * 1000:.1f} ms vs {bare['p99'] * 1000:.1f} ms",
            f"{listed['p99'] / bare['p99']:.1f}",
        ),
        (
            "GET /api/v1/incidents throughput vs /healthz",
            f"{listed['requests'] / seconds:,.0f} req/s vs {bare['requests'] / seconds:,.0f} req/s",
            f"{listed['requests'] / bare['requests']:.2f}",
        ),
    ]


# ---- soak: the team's mix for minutes, with the scheduler on -------------------------------


def group_rss(pgid: int) -> int:
    """Resident memory (bytes) of every process in a process group: gunicorn's master, its
    workers and the scheduler."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        rss = next((line for line in status.splitlines() if line.startswith("VmRSS:")), None)
        total += int(rss.split()[1]) * 1024 if rss else 0
    return total


def bench_soak(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The concurrency test's mix (tests/load.py) for `--soak-seconds` against a real `tracker
    serve` with its scheduler: throughput and latency per kind, 5xx answers, and what was
    acknowledged but not stored; memory after a warm-up and at the end."""
    import logging
    import threading

    from tests.load import CHANNEL, KINDS, expected_minutes, percentile, run_mix
    from tests.payments_stored import stored_counts_of
    from tests.servers import call, environment, server_group
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.models import Incident
    from tracker.services.tokens import create_token

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = fresh_app(args.database_url, work)
        with app.app_context(), database.connection_context():
            token = create_token("bench", "admin", actor="bench", now=utcnow())
        settings = app.extensions["tracker.settings"]
        env = environment(work / "serve", database_url=settings.effective_database_url)
        samples: list[int] = []
        with server_group(env, workers=args.load_workers) as server:
            status, _, _ = call(
                f"{server.base}/api/v1/services",
                {"key": "gateway", "name": "Gateway", "tier": 1},
                token=token,
            )
            assert status == 201
            done = threading.Event()

            def sample() -> None:
                while not done.wait(min(30, args.soak_seconds / 4)):
                    samples.append(group_rss(server.process.pid))

            sampler = threading.Thread(target=sample)
            sampler.start()
            outcome = run_mix(
                server.base,
                token=token,
                service="gateway",
                clients=args.soak_clients,
                seconds=args.soak_seconds,
            )
            done.set()
            sampler.join()
            samples.append(group_rss(server.process.pid))
        with app.app_context(), database.connection_context():
            stored = {i for (i,) in Incident.select(Incident.id).tuples()}
            lost = len(set(outcome.created) - stored)
            expected = expected_minutes(outcome.batches)
            kept = stored_counts_of(CHANNEL)
            lost += sum(kept.get(key) != counts for key, counts in expected.items())
    database_name = "PostgreSQL" if args.database_url else "SQLite"
    setting = f"{database_name}, {args.soak_clients} clients, {args.soak_seconds} s"
    rows = []
    for kind in KINDS:
        times = outcome.latencies.get(kind, [])
        if not times:
            continue
        p50, p99 = (percentile(times, q) * 1000 for q in (0.5, 0.99))
        failed = sum(n for status, n in outcome.statuses[kind].items() if status >= 500)
        rows.append(
            (
                f"soak ({setting}): {kind}",
                f"{len(times) / outcome.seconds:,.1f} req/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms",
                f"{failed} 5xx",
            )
        )
    total = sum(len(t) for t in outcome.latencies.values())
    rows.append(
        (
            f"soak ({setting}): every request, and acknowledged writes not stored",
            f"{total:,} requests, {total / outcome.seconds:,.1f} req/s, "
            f"{outcome.five_hundreds()} 5xx, {lost} not stored",
            f"{outcome.five_hundreds() + lost} (target 0)",
        )
    )
    rows.append(
        (
            f"soak ({setting}): server memory (master, workers, scheduler) after a warm-up "
            "vs at the end",
            f"{samples[0] / 2**20:,.0f} MiB → {samples[-1] / 2**20:,.0f} MiB",
            f"{samples[-1] / samples[0]:.2f} (flat within 10%)",
        )
    )
    return rows


# ---- notifications: the outbox's cost to a write, and delivery to a local receiver -----------

NOTIFY_EVENTS = 1000


def post_incidents(app, count: int) -> float:
    """`count` incidents through POST /api/v1/incidents (the test client: no network)."""
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.tokens import create_token

    with app.app_context(), database.connection_context():
        token = create_token("bench", "responder", actor="bench", now=utcnow())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "title": "支付网关超时",
        "services": ["gateway"],
        "detected_at": "2026-11-30T10:04:00+08:00",
        "mitigated_at": "2026-11-30T10:05:00+08:00",
        "impact_ratio": 0.5,
    }

    def run() -> None:
        for _ in range(count):
            response = client.post("/api/v1/incidents", json=body, headers=headers)
            assert response.status_code == 201, response.get_json()

    return timed(run)


def bench_notifications(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """POST /incidents with one channel configured ÷ with none (the outbox write in the
    same transaction), interleaved, best of `repeat`; then the 1,000 queued events sent to a
    local WeCom robot in one pass: events per second."""
    import logging

    from tests.notifications.receivers import Receiver
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.notifications import send_pending

    logging.disable(logging.WARNING)
    posts = 300
    with tempfile.TemporaryDirectory() as tmp, Receiver("wecom") as receiver:
        channel = {  # the team's WeCom robot, its rate limit lifted for a local receiver
            "name": "bench",
            "kind": "wecom",
            "url": receiver.url,
            "events": ["incident.created"],
            "rate_per_minute": 100_000,
        }
        on_runs, off_runs, app = [], [], None
        for i in range(args.repeat):
            off = fresh_app(args.database_url, Path(tmp) / f"off{i}")
            seed_services(off, services=("gateway",), incidents=0, now=utcnow())
            off_runs.append(post_incidents(off, posts))
            off.extensions["tracker.db"].close()
            app = fresh_app(
                args.database_url,
                Path(tmp) / f"on{i}",
                notifications={"channels": [channel]},
            )
            seed_services(app, services=("gateway",), incidents=0, now=utcnow())
            on_runs.append(post_incidents(app, posts))
        post_incidents(app, NOTIFY_EVENTS - posts)
        settings = app.extensions["tracker.settings"]
        with app.app_context(), database.connection_context():
            started = time.perf_counter()
            done = send_pending(now=utcnow(), settings=settings)
            took = time.perf_counter() - started
        assert done.sent == NOTIFY_EVENTS and len(receiver.received) == NOTIFY_EVENTS, done
        assert not receiver.problems, receiver.problems[:3]
        app.extensions["tracker.db"].close()
    on, off = min(on_runs), min(off_runs)
    return [
        (
            f"POST /incidents with a notification channel vs none ({posts} incidents)",
            f"{on / posts * 1000:.2f} ms vs {off / posts * 1000:.2f} ms a request",
            f"{on / off:.2f} (on ÷ off; target ≤ 1.1)",
        ),
        (
            f"notifications: {NOTIFY_EVENTS:,} incident events to a local WeCom robot",
            f"{took:.2f} s",
            f"{NOTIFY_EVENTS / took:,.0f} events/s",
        ),
    ]


# ---- alerts: an alert storm through the webhook, beside payment counts as the reference ------

ALERT_GROUPS = 300
ALERTS = 100  # a notification
REPEATED, RESOLVED = 10, 10  # of a group's firing alerts, in each of its later notifications
ALERT_SERVICES = ("gateway", "acquiring", "payout")
ALERT_RESULTS = ("new", "repeat", "resolved")


class AlertStorm:
    """One sender's notifications, round-robin over its own groups (every other one of
    ALERT_GROUPS), 100 alerts each: a group's first carries 100 alerts that fire, each later
    one resolves 10 of its firing alerts, repeats 10 more and adds 80 new ones, as an
    Alertmanager re-sending busy groups would."""

    def __init__(self, sender: int, now: datetime) -> None:
        self.sender, self.now, self.sent = sender, now, 0
        self.firing: dict[int, list[dict]] = {}

    def next(self) -> dict:
        group = self.sender + 2 * (self.sent % (ALERT_GROUPS // 2))
        firing = self.firing.setdefault(group, [])
        ended = [
            {**a, "status": "resolved", "endsAt": self.now.isoformat()} for a in firing[:RESOLVED]
        ]
        repeated = firing[RESOLVED : RESOLVED + REPEATED]
        labels = {"alertname": f"Bench{group:03d}", "service": ALERT_SERVICES[group % 3]}
        fresh = [
            {
                "status": "firing",
                "labels": {**labels, "instance": f"node-{self.sent}-{k}"},
                "annotations": {"summary": f"bench group {group}"},
                "startsAt": (self.now - timedelta(seconds=k + 1)).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": f"{self.sender:02x}{self.sent:08x}{k:06x}",
            }
            for k in range(ALERTS - len(ended) - len(repeated))
        ]
        self.firing[group] = firing[RESOLVED:] + fresh
        self.sent += 1
        return alertmanager_body(labels, [*ended, *repeated, *fresh])


def alertmanager_body(labels: dict[str, str], alerts: list[dict]) -> dict:
    """Alertmanager's webhook body (version 4) of a group grouped by `labels`."""
    return {
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}",
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": "tracker",
        "groupLabels": labels,
        "commonLabels": labels,
        "commonAnnotations": alerts[0]["annotations"],
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    }


def expected_results(answered: list[list[dict]]) -> dict[str, int]:
    """What tracker_alerts_received_total must have counted of the notifications answered 200
    (each sender's in the order sent): an alert (fingerprint, startsAt) is new the first time
    it fires, a repeat after that."""
    seen, results = set(), dict.fromkeys(ALERT_RESULTS, 0)
    for bodies in answered:
        for alert in (a for body in bodies for a in body["alerts"]):
            key = (alert["fingerprint"], alert["startsAt"])
            if alert["status"] == "resolved":
                results["resolved"] += 1
            else:
                results["repeat" if key in seen else "new"] += 1
            seen.add(key)
    return results


def count_batch(number: int) -> list[dict]:
    """100 payment-count rows of minutes no other batch writes (25 minutes × 4 outcomes)."""
    start = START + timedelta(minutes=25 * number)
    return [
        {
            "minute": (start + timedelta(minutes=m)).isoformat(),
            "direction": "pay_in",
            "channel": "bench",
            "scope": "final",
            "outcome": outcome,
            "count": n,
        }
        for m in range(25)
        for outcome, n in OUTCOMES
    ]


def send_for(
    base: str, token: str, path: str, bodies: Callable[[int], Callable[[], dict]],
    *, senders: int, seconds: float,
) -> dict[str, Any]:  # fmt: skip
    """`senders` threads, each on a kept-alive connection, posting `bodies(sender)()` to `path`
    until `seconds` have passed: latencies, statuses, the bodies answered 200 per sender."""
    import threading
    from collections import Counter

    from tests.load import Client

    answered: list[list[dict]] = [[] for _ in range(senders)]
    run: dict[str, Any] = {
        "latencies": [],
        "statuses": Counter(),
        "errors": [],
        "answered": answered,
    }
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def send(sender: int) -> None:
        client, body_of = Client(base, token), bodies(sender)
        while time.monotonic() < deadline:
            body = body_of()
            started = time.perf_counter()
            status, answer = client.call("POST", path, body)
            took = time.perf_counter() - started
            with lock:
                run["latencies"].append(took)
                run["statuses"][status] += 1
                if status == 200:
                    run["answered"][sender].append(body)
                elif len(run["errors"]) < 5:
                    run["errors"].append(f"{status} {answer[:300]!r}")

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(k,)) for k in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run["seconds"] = time.monotonic() - started
    return run


def received_alerts(base: str) -> dict[str, float]:
    """tracker_alerts_received_total by result, as /metrics shows it."""
    import re

    from tests.servers import call

    _, _, text = call(f"{base}/metrics")
    pattern = re.compile(r'^tracker_alerts_received_total\{result="(\w+)"\} (\S+)$', re.M)
    return {result: float(value) for result, value in pattern.findall(text)}


def bench_alerts(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """An alert storm against a real `tracker serve`: two senders for `--alert-seconds`
    posting Alertmanager notifications of 100 alerts over 300 groups: alerts/s held, p99 of a
    post, 5xx answers, and what the metrics counted. POST /payments/counts of 100 rows a
    request, by two senders on the same server just before, is the reference."""
    import itertools
    import logging

    from tests.load import percentile
    from tests.servers import call, environment, serving
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.tokens import create_token

    logging.disable(logging.WARNING)
    senders = 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = fresh_app(args.database_url, work)
        seed_services(app, services=ALERT_SERVICES, incidents=0, now=utcnow())
        with app.app_context(), database.connection_context():
            token = create_token("bench", "ingest", actor="bench", now=utcnow())
        settings = app.extensions["tracker.settings"]
        app.extensions["tracker.db"].close()
        env = environment(
            work / "serve", database_url=settings.effective_database_url, scheduler_enabled="false"
        )
        numbers = itertools.count()
        with serving(env, workers=args.load_workers) as base:
            counts = send_for(
                base, token, "/api/v1/payments/counts",
                lambda _: lambda: {"counts": count_batch(next(numbers))},
                senders=senders, seconds=min(15, args.alert_seconds),
            )  # fmt: skip
            now = utcnow()
            probe = AlertStorm(0, now).next()
            status, _, answer = call(f"{base}/api/v1/alerts/alertmanager", probe, token=token)
            if status != 200:
                sys.exit(f"bench alerts: the intake answered {status} {answer!r}")
            storm = send_for(
                base, token, "/api/v1/alerts/alertmanager",
                lambda sender: AlertStorm(sender, now).next,
                senders=senders, seconds=args.alert_seconds,
            )  # fmt: skip
            received = received_alerts(base)
    for error in storm["errors"] + counts["errors"]:
        print(f"# refused: {error}", file=sys.stderr)
    # The probe was sender 0's first notification: the storm sends it again, as repeats.
    expected = expected_results([[probe, *storm["answered"][0]], *storm["answered"][1:]])
    accepted = sum(len(bodies) for bodies in storm["answered"])
    alert_rate = accepted * ALERTS / storm["seconds"]
    row_rate = sum(len(b) for b in counts["answered"]) * 100 / counts["seconds"]
    p50, p99, counts_p50, counts_p99 = (
        percentile(run["latencies"], q) * 1000 for run in (storm, counts) for q in (0.5, 0.99)
    )
    five = sum(n for status, n in storm["statuses"].items() if status >= 500)
    refused = sum(storm["statuses"].values()) - accepted - five
    got = " / ".join(f"{received.get(r, 0):,.0f}" for r in ALERT_RESULTS)
    want = " / ".join(f"{expected[r]:,}" for r in ALERT_RESULTS)
    matched = all(received.get(r, 0) == expected[r] for r in ALERT_RESULTS)
    setting = f"{senders} senders × {args.alert_seconds} s, gunicorn {args.load_workers} workers"
    return [
        (
            f"alert storm ({setting}): notifications of {ALERTS} alerts over {ALERT_GROUPS} "
            f"groups (80 new, {REPEATED} repeats, {RESOLVED} resolved) vs POST /payments/counts "
            "of 100 rows",
            f"{alert_rate:,.0f} alerts/s vs {row_rate:,.0f} rows/s",
            f"{alert_rate / row_rate:.2f} (alerts ÷ rows)",
        ),
        (
            "alert storm: p99 (p50) of a notification vs of a 100-row counts post",
            f"{p99:.0f} ms ({p50:.0f} ms) vs {counts_p99:.0f} ms ({counts_p50:.0f} ms)",
            f"{p99 / counts_p99:.1f}",
        ),
        (
            "alert storm: 5xx answers",
            f"{five} of {sum(storm['statuses'].values()):,} notifications ({refused} 4xx)",
            f"{five} (target 0)",
        ),
        (
            "alert storm: tracker_alerts_received_total new / repeat / resolved vs sent",
            f"{got} vs {want}",
            "equal" if matched else "differ (target equal)",
        ),
    ]


# ---- dips: a month of minutes on 20 channels, every dip of every rate -----------------------

# The seeded minutes with a 10-minute outage every day at minute 600 (300 system failures of
# about 1,250 attempts: every rate far below its dip_below).
DIP_COUNTS = {
    **SEEDED_COUNTS,
    "system_count": "CASE WHEN i % 1440 BETWEEN 600 AND 609 THEN 300 ELSE i % 3 END",
}
DIP_BELOW = {"pay_in_effective": 0.99, "pay_out_effective": 0.99, "first_attempt": 0.9}


def _watched_rates() -> list[dict]:
    import tomllib

    rates = tomllib.loads((ROOT / "config" / "payments.toml").read_text())["rates"]
    return [{**rate, "dip_below": DIP_BELOW[rate["name"]]} for rate in rates]


def _floor_scan(app, since: datetime, until: datetime) -> tuple[float, float]:
    """One SQL scan of the same minutes: fetched into Python with every count column the
    rates read, and only added up in the database. Seconds of each."""
    from tracker.models import COUNT_COLUMNS

    db = app.extensions["tracker.db"]
    mark = "%s" if _is_postgres(db) else "?"
    where = f"FROM payment_minute WHERE minute >= {mark} AND minute < {mark}"
    params = (_stored_time(db, since), _stored_time(db, until))
    columns = ", ".join(COUNT_COLUMNS)
    with db.connection_context():
        fetched = timed(
            lambda: db.execute_sql(
                f"SELECT minute, direction, channel, scope, {columns} {where}", params
            ).fetchall()
        )
        sums = ", ".join(f"SUM({c})" for c in COUNT_COLUMNS)
        added = timed(lambda: db.execute_sql(f"SELECT COUNT(*), {sums} {where}", params).fetchall())
    return fetched, added


def bench_dips(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """Every dip of every watched rate on 20 channels and `all` over 31 days of minutes, and
    the rollup with dips looked for ÷ without."""
    import logging

    from tracker.app import create_app
    from tracker.db import database
    from tracker.models import PaymentRevision
    from tracker.services import dips
    from tracker.services.rollup import take_snapshot
    from tracker.settings import load_settings

    logging.disable(logging.WARNING)
    days, channels = 31, args.dips_channels
    with tempfile.TemporaryDirectory() as tmp:
        watched = {"payments": {"rates": _watched_rates()}}
        app = fresh_app(args.database_url, Path(tmp) / "dips", **watched)
        settings = app.extensions["tracker.settings"]
        url = settings.effective_database_url
        plain = create_app(
            load_settings(environ={}, overrides={"database_url": url, "data_dir": str(tmp)})
        )
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        since = now - timedelta(days=days)
        rows = seed_year(app, days=days, channels=channels, until=now, seeded=DIP_COUNTS)
        with app.app_context(), database.connection_context(), database.atomic():
            hours = int((now - since) / timedelta(hours=1)) + 1
            start = since.replace(minute=0)
            PaymentRevision.renew(start + timedelta(hours=h) for h in range(hours))
        finding, scans, added = [], [], []
        for _ in range(args.repeat):  # interleaved: the floor, then tracker from cold
            fetched, summed = _floor_scan(app, since, now)
            scans.append(fetched)
            added.append(summed)
            dips.forget()
            with app.app_context(), database.connection_context():
                started = time.perf_counter()
                found = dips.dips_between(since, now, settings=settings, now=now)
                finding.append(time.perf_counter() - started)
        series = len(settings.payments.definitions()) * (channels + 1)
        per_series = {(d.rate, d.channel) for d in found}
        assert len(per_series) == series, f"dips on {len(per_series)} of {series} series"
        assert all(d.worst < 0.9 for d in found), "a dip that is no outage"
        assert abs(len(found) - series * days) <= series, f"{len(found)} dips, one a day expected"
        dips.forget()  # a process started afresh: the week's hours are read once
        with app.app_context(), database.connection_context():
            cold = timed(lambda: take_snapshot(now=now, settings=settings))
        on_runs, off_runs = [], []
        hour = now.replace(minute=0)
        for _ in range(args.repeat):  # a write into this hour between rollups, as live counts
            for target, runs in ((app, on_runs), (plain, off_runs)):
                with target.app_context(), database.connection_context():
                    with database.atomic():
                        PaymentRevision.renew([hour])
                    target_settings = target.extensions["tracker.settings"]
                    runs.append(timed(lambda s=target_settings: take_snapshot(now=now, settings=s)))
    best, floor, summed = min(finding), min(scans), min(added)
    on, off = min(on_runs), min(off_runs)
    return [
        (
            f"dips: {days} days × {channels} channels of minutes ({rows:,} buckets), every dip "
            f"of {len(DIP_BELOW)} rates on each channel and all ({len(found):,} dips), from cold",
            f"{best:.2f} s vs one SQL scan fetching the same minutes {floor:.2f} s "
            f"(adding them up in SQL: {summed:.2f} s)",
            f"{best / floor:.2f} (tracker ÷ the scan; target ≤ 2); {best / summed:.1f} ÷ the sum",
        ),
        (
            "rollup with dips looked for ÷ without, the hour being written to read again",
            f"{on * 1000:,.0f} ms vs {off * 1000:,.0f} ms (the first with dips, from cold: "
            f"{cold:.2f} s)",
            f"{on / off:.2f} (target ≤ 1.2)",
        ),
    ]


# ---- scale: a year of minutes against three -------------------------------------------------


def _stored_bytes(app, days: int, *, compact: bool = False) -> int:
    """Bytes the minute, hour and day tables take on disk (PostgreSQL, with their indexes),
    or the SQLite file; `compact` first gives back the space of deleted rows (VACUUM)."""
    db = app.extensions["tracker.db"]
    if _is_postgres(db):
        with db.connection_context():
            if compact:
                db.execute_sql("VACUUM (FULL, ANALYZE) payment_minute")
                db.execute_sql("ANALYZE payment_hour")
            (size,) = db.execute_sql(
                "SELECT pg_total_relation_size('payment_minute') + "
                "pg_total_relation_size('payment_hour') + pg_total_relation_size('payment_day')"
            ).fetchone()
        return int(size)
    if compact:
        with db.connection_context():
            db.execute_sql("VACUUM")
    path = Path(
        app.extensions["tracker.settings"].effective_database_url.removeprefix("sqlite:///")
    )
    return path.stat().st_size


def bench_scale(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """The cost of years of history: rollup, the weekly report and a `ytd` rates query with
    1 year and with 3 years of minutes stored (seeded in bulk SQL), and bytes per year; then
    the same history folded into hours but for the last `--scale-keep-days` (tracker's own
    fold, timed), and the same work and bytes again."""
    import logging

    from tracker.core.weekly.model import last_week
    from tracker.db import database
    from tracker.services.payments import fold, rates_report
    from tracker.services.reports import weekly_report
    from tracker.services.rollup import take_snapshot

    logging.disable(logging.WARNING)
    channels, keep = args.scale_channels, args.scale_keep_days
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    figures: dict[tuple[int, bool], dict[str, float]] = {}
    sizes, seeded_rows, folds = {}, {}, {}
    for years in (1, 3):
        with tempfile.TemporaryDirectory() as tmp:
            app = fresh_app(args.database_url, Path(tmp) / f"scale{years}")
            settings = app.extensions["tracker.settings"]
            seeded_rows[years] = seed_year(app, days=365 * years, channels=channels, until=now)
            sizes[years, False] = _stored_bytes(app, 365 * years)
            week = last_week(now, settings.zone)
            work = {
                "rollup": lambda s=settings: take_snapshot(now=now, settings=s),
                "weekly report": lambda s=settings, w=week: weekly_report(w, now=now, settings=s),
                "ytd rates": lambda s=settings: rates_report(
                    window="ytd", since=None, until=None, channel="all", now=now,
                    definitions=s.payments.definitions(), zone=s.zone,
                ),
            }  # fmt: skip
            for folded in (False, True):
                if folded:
                    with app.app_context(), database.connection_context():
                        started = time.perf_counter()
                        done = fold(now=now, keep_days=keep)
                        folds[years] = (done, time.perf_counter() - started)
                    sizes[years, True] = _stored_bytes(app, 365 * years, compact=True)
                figures[years, folded] = {}
                with app.app_context(), database.connection_context():
                    for name, fn in work.items():
                        fn()  # warm: the first read of a cold cache is not what a minute costs
                        figures[years, folded][name] = min(timed(fn) for _ in range(args.repeat))
    rows = []
    for folded in (False, True):
        kept = f"folded to hours but the last {keep} days" if folded else "of minutes"
        for name in figures[1, folded]:
            one, three = figures[1, folded][name], figures[3, folded][name]
            rows.append(
                (
                    f"scale: {name}, {channels} channels, 3 years ÷ 1 year {kept} "
                    f"({seeded_rows[3]:,} vs {seeded_rows[1]:,} minutes seeded)",
                    f"{three * 1000:,.0f} ms vs {one * 1000:,.0f} ms",
                    f"{three / one:.2f} (target ≤ 1.2)",
                )
            )
    for folded in (False, True):
        per_year = (sizes[3, folded] - sizes[1, folded]) / 2
        rows_a_year = 365 * channels * 3 * (24 if folded else 1440)
        kept = f"history folded to hours (the last {keep} days in minutes)" if folded else "minutes"
        rows.append(
            (
                f"scale: bytes per year of {kept} on disk, {channels} channels × 3 series",
                f"{per_year / 2**20:,.0f} MiB a year ({sizes[1, folded] / 2**20:,.0f} MiB for 1 "
                f"year, {sizes[3, folded] / 2**20:,.0f} MiB for 3)",
                f"{per_year / rows_a_year:.0f} bytes {'an hour' if folded else 'a minute'} row",
            )
        )
    done, seconds = folds[3]
    rows.append(
        (
            f"scale: tracker payments fold, 3 years of {channels} channels but the last {keep} "
            "days, a day per transaction",
            f"{done.minutes:,} minute rows into {done.hours:,} hour rows in {seconds:.0f} s",
            f"{done.minutes / seconds:,.0f} rows/s; a day of {channels} channels: "
            f"{seconds / ((done.minutes or 1) / (1440 * channels * 3)) * 1000:,.0f} ms",
        )
    )
    return rows


SECTIONS = {
    "payments": bench_payments,
    "transactions": bench_transactions,
    "rollup": bench_rollup,
    "weekly": bench_weekly,
    "metrics": bench_metrics,
    "load": bench_load,
    "soak": bench_soak,
    "notifications": bench_notifications,
    "alerts": bench_alerts,
    "dips": bench_dips,
    "scale": bench_scale,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "sections", nargs="*", help=f"any of {', '.join(SECTIONS)}; default: all, in that order"
    )
    parser.add_argument(
        "--minutes",
        type=int,
        default=1440,
        help="minutes of data (64 rows a minute); default one day",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument(
        "--transactions",
        type=int,
        default=1_000_000,
        help="rows of the transactions file (its peak memory is also measured at 10×)",
    )
    parser.add_argument(
        "--incidents",
        type=int,
        default=100_000,
        help="incidents in the large database of the metrics benchmark",
    )
    parser.add_argument(
        "--rollup-days",
        type=int,
        default=365,
        help="days of per-minute counts in the rollup benchmark; default a year",
    )
    parser.add_argument(
        "--rollup-channels",
        type=int,
        default=3,
        help="channels in the rollup benchmark (3 series each: the ones the rates read)",
    )
    parser.add_argument(
        "--dips-channels", type=int, default=20, help="channels in the dips benchmark"
    )
    parser.add_argument(
        "--scale-channels", type=int, default=20, help="channels in the scale benchmark"
    )
    parser.add_argument(
        "--scale-keep-days",
        type=int,
        default=90,
        help="payments.keep_minutes_days of the scale benchmark's folded history",
    )
    parser.add_argument("--load-seconds", type=int, default=15, help="wrk's run per endpoint")
    parser.add_argument("--load-connections", type=int, default=16, help="wrk's open connections")
    parser.add_argument("--load-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--soak-seconds", type=int, default=600, help="length of the soak")
    parser.add_argument("--soak-clients", type=int, default=12, help="clients in the soak")
    parser.add_argument(
        "--alert-seconds", type=int, default=30, help="each sender's run in the alert storm"
    )
    parser.add_argument(
        "--database-url",
        help="benchmark on this database (default SQLite); a PostgreSQL database is emptied first",
    )
    args = parser.parse_args()
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"no section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    args.sections = args.sections or list(SECTIONS)
    if "load" in args.sections and shutil.which("wrk") is None:
        sys.exit(f"bench load: {WRK_HELP}")
    if "weekly" in args.sections and importlib.util.find_spec("pandas") is None:
        sys.exit("bench weekly: pandas is not installed: scripts/bench installs the `bench` extra")
    print(
        f"# tracker benchmarks — {platform.node() and 'this machine'}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )
    print(f"# database: {args.database_url or 'SQLite (temporary file)'}\n")
    print("| benchmark | measured | ratio |")
    print("|---|---|---|")
    for section in args.sections:
        for name, measured, ratio in SECTIONS[section](args):
            print(f"| {name} | {measured} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
