"""kill -9 in the middle of a payment-count write, by a real `tracker serve` or a real
`tracker payments import`: what was acknowledged is stored, the interrupted write is all there
or not there at all (daily totals still the sum of their minutes), no lock is left behind, and
sending it again completes it without counting anything twice."""

from __future__ import annotations

import http.client
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from tests.payments_stored import daily_totals_add_up, stored_between
from tests.servers import CLI, call, environment, server_group, wait_until
from tracker.cli import main
from tracker.db import database, is_postgres, lock_key, open_database
from tracker.models import AuditRecord
from tracker.services.payments import LOCK

OUTCOMES = ("success", "user", "bank_decline", "channel", "system")
BATCH_MINUTES = 2000  # x 5 outcomes = 10,000 rows, the most one batch may hold
START = datetime(2026, 3, 1, tzinfo=UTC)


def _rows(first: int, minutes: int, *, direction: str = "pay_in") -> list[dict]:
    """Payment-count rows for `minutes` consecutive minutes from minute `first` after START,
    five outcomes each, with counts that differ from minute to minute."""
    return [
        {
            "minute": (START + timedelta(minutes=m)).isoformat(),
            "direction": direction,
            "channel": "unionpay",
            "scope": "final",
            "outcome": outcome,
            "count": m % 97 + 7 * at,
        }
        for m in range(first, first + minutes)
        for at, outcome in enumerate(OUTCOMES)
    ]


def _expected(rows: list[dict]) -> dict[tuple, int]:
    return {
        (
            datetime.fromisoformat(r["minute"]),
            r["direction"],
            r["channel"],
            r["scope"],
            r["outcome"],
        ): r["count"]
        for r in rows
    }


def _stored_like(expected: dict[tuple, int]) -> dict[tuple, int]:
    minutes = [key[0] for key in expected]
    return stored_between(min(minutes), max(minutes))


@contextmanager
def _connected(url: str) -> Iterator[None]:
    """A connection of the test's own (the CLI run in-process rebinds the models')."""
    db = open_database(url)
    database.initialize(db)
    with db.connection_context():
        yield
    if hasattr(db, "close_all"):
        db.close_all()


def _holds_payment_lock(url: str) -> bool:
    """Whether some process holds the lock payment writes take (without waiting for it)."""
    if is_postgres(database):
        held = database.execute_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (lock_key(LOCK) % 2**32,),
        ).fetchone()[0]
        return held > 0
    probe = sqlite3.connect(urlparse(url).path[1:], timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def _wait_for_lock(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _holds_payment_lock(url):
            return True
        time.sleep(0.002)
    return False


def test_kill_9_of_the_server_mid_batch_loses_nothing_acknowledged_and_half_writes_nothing(
    database_url, app, db, tokens, tmp_path
):
    # More batches than the clients can send before the kill: one is always in flight.
    batches = [_rows(b * BATCH_MINUTES, BATCH_MINUTES) for b in range(16)]
    env = environment(tmp_path, database_url=database_url, scheduler_enabled="false")
    token = tokens["ingest"]
    answers: dict[int, int | None] = {}

    def client(indexes: range, base: str) -> None:
        for b in indexes:
            answers[b] = None  # sent, not answered (yet)
            try:
                answers[b] = call(
                    f"{base}/api/v1/payments/counts", {"counts": batches[b]}, token=token
                )[0]
            except (OSError, http.client.HTTPException):
                return  # the server is gone

    with server_group(env, workers=1) as server:
        clients = [
            threading.Thread(target=client, args=(range(k, len(batches), 2), server.base))
            for k in (0, 1)
        ]
        for thread in clients:
            thread.start()
        # (a copy: the client threads add to it meanwhile)
        wait_until(lambda: [*answers.copy().values()].count(200) >= 2, 30, "two batches stored")
        assert _wait_for_lock(database_url, 10), "no batch was being written"
        time.sleep(0.02)  # inside the transaction (a batch takes about 0.1 s)
        server.kill()
        for thread in clients:
            thread.join(timeout=30)
        wait_until(lambda: not _holds_payment_lock(database_url), 10, "the lock to be released")

    acknowledged = [b for b, status in answers.items() if status == 200]
    interrupted = [b for b, status in answers.items() if status is None]  # sent, no answer
    zone = app.extensions["tracker.settings"].zone
    stored = [_stored_like(_expected(batch)) for batch in batches]
    assert interrupted and all(stored[b] == _expected(batches[b]) for b in acknowledged)
    assert all(stored[b] in ({}, _expected(batches[b])) for b in interrupted)
    assert all(stored[b] == {} for b in range(len(batches)) if b not in answers)
    assert daily_totals_add_up(zone)

    with server_group(env, workers=1, log=tmp_path / "again.log") as server:
        again = [
            call(f"{server.base}/api/v1/payments/counts", {"counts": batches[b]}, token=token)[0]
            for b in interrupted
        ]
    assert again == [200] * len(interrupted), (tmp_path / "again.log").read_text()[-4000:]
    assert all(_stored_like(_expected(batches[b])) == _expected(batches[b]) for b in answers)
    assert daily_totals_add_up(zone)


def _write_counts_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w") as out:
        out.write("minute,direction,channel,scope,outcome,count\n")
        for r in rows:
            out.write(
                f"{r['minute']},{r['direction']},{r['channel']},{r['scope']},{r['outcome']},{r['count']}\n"
            )


def _first_progress(process: subprocess.Popen) -> int:
    """Read the import's progress bar (stderr) until it shows some of the file read, which
    happens inside the import's transaction; the percentage shown (0 if it ended first)."""
    while chunk := os.read(process.stderr.fileno(), 4096):
        shown = [int(n) for n in re.findall(rb"(\d+)%\|", chunk) if int(n) > 0]
        if shown:
            return shown[0]
    return 0


def test_kill_9_of_an_import_stores_nothing_and_running_it_again_imports_it_once(
    database_url, app, runner, tmp_path
):
    # 200,000 lines, read in about a dozen Arrow batches: long enough (a second or more) for
    # the progress bar to show a batch read inside the transaction before the import ends
    rows = _rows(0, 40_000, direction="pay_out")
    path = tmp_path / "counts.csv"
    _write_counts_csv(path, rows)
    env = environment(tmp_path, database_url=database_url)
    importing = subprocess.Popen(
        [*CLI, "payments", "import", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    reached = _first_progress(importing)
    with _connected(database_url):
        in_transaction = _holds_payment_lock(database_url)
        os.killpg(importing.pid, signal.SIGKILL)
        importing.wait(timeout=10)
        wait_until(lambda: not _holds_payment_lock(database_url), 10, "the lock to be released")
        nothing = (_stored_like(_expected(rows)), AuditRecord.select().count())

    again = runner.invoke(main, ["payments", "import", "--quiet", str(path)])
    with _connected(database_url):
        imports = AuditRecord.select().where(AuditRecord.action == "import").count()
        stored = _stored_like(_expected(rows))
        adds_up = daily_totals_add_up(app.extensions["tracker.settings"].zone)

    assert (reached > 0, in_transaction, importing.returncode) == (True, True, -signal.SIGKILL)
    assert nothing == ({}, 0)
    assert ("200000 counts rows" in again.output, imports) == (True, 1)
    assert stored == _expected(rows) and adds_up
