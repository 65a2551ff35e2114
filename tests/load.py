"""The request mix of a busy team against a real `tracker serve`: on-call engineers logging
and editing incidents, payment systems pushing counts, the rollup asked for by hand and team
leads reading the weekly report, all at once. The concurrency test runs it for seconds, the
soak benchmark (`scripts/bench soak`) for minutes; both check what was answered against what
is stored."""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

KINDS = ("create", "patch", "counts", "rollup", "weekly")
WEIGHTS = (4, 4, 2, 1, 1)
BATCH_MINUTES = 25  # × 2 directions × 4 outcomes = 200 rows a batch
OUTCOMES = (("success", 990), ("user", 6), ("channel", 3), ("system", 1))
CHANNEL = "loadtest"
WEEK = "2024-W30"
# Each batch writes minutes no other batch writes, so what must be stored is known exactly.
FIRST_MINUTE = datetime(2024, 7, 22, tzinfo=UTC) - timedelta(hours=8)


@dataclass
class Outcome:
    """What the mix sent and what it was answered."""

    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    created: list[int] = field(default_factory=list)  # ids answered 201
    batches: list[int] = field(default_factory=list)  # batch numbers answered 200
    errors: list[str] = field(default_factory=list)  # bodies of the 5xx answers, first few
    seconds: float = 0.0

    def five_hundreds(self) -> int:
        return sum(n for c in self.statuses.values() for s, n in c.items() if s >= 500)


def batch_rows(number: int) -> list[dict]:
    """Batch `number`: BATCH_MINUTES minutes of its own, both directions, four outcomes."""
    start = FIRST_MINUTE + timedelta(minutes=number * BATCH_MINUTES)
    return [
        {
            "minute": (start + timedelta(minutes=m)).isoformat(),
            "direction": direction,
            "channel": CHANNEL,
            "scope": "final",
            "outcome": outcome,
            "count": n + number % 5,
        }
        for m in range(BATCH_MINUTES)
        for direction in ("pay_in", "pay_out")
        for outcome, n in OUTCOMES
    ]


def incident_body(service: str, k: int, now: datetime) -> dict:
    detected = now - timedelta(minutes=random.randint(10, 7 * 24 * 60))
    return {
        "title": f"负载测试事件 {k}",
        "services": [service],
        "detected_at": detected.isoformat(),
        "mitigated_at": (detected + timedelta(minutes=random.randint(1, 9))).isoformat(),
        "impact_ratio": 0.25,
        "responsibility": [{"party": "payments", "share": 0.5}],
    }


class Client:
    """One kept-alive HTTP connection with a token, reopened when the server drops it."""

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body=data, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def run_mix(
    base: str,
    *,
    token: str,
    service: str,
    clients: int = 12,
    seconds: float = 20.0,
    seed: int = 0,
) -> Outcome:
    """`clients` threads sending the mix until `seconds` have passed."""
    outcome = Outcome()
    lock = threading.Lock()
    numbers = itertools.count()
    deadline = time.monotonic() + seconds

    def work(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        client = Client(base, token)
        while time.monotonic() < deadline:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            with lock:
                targets = outcome.created[-50:]
            if kind == "patch" and not targets:
                kind = "create"
            number = next(numbers)
            if kind == "create":
                request = ("POST", "/api/v1/incidents", incident_body(service, number, _now()))
            elif kind == "patch":
                change = {"location": f"M{number}", "summary": f"第 {number} 次更新"}
                request = ("PATCH", f"/api/v1/incidents/{rng.choice(targets)}", change)
            elif kind == "counts":
                request = ("POST", "/api/v1/payments/counts", {"counts": batch_rows(number)})
            elif kind == "rollup":
                request = ("POST", "/api/v1/rollups", None)
            else:
                request = ("GET", f"/api/v1/reports/weekly/{WEEK}", None)
            started = time.perf_counter()
            status, body = client.call(*request)
            took = time.perf_counter() - started
            with lock:
                outcome.statuses[kind][status] += 1
                outcome.latencies[kind].append(took)
                if kind == "create" and status == 201:
                    outcome.created.append(json.loads(body)["id"])
                elif kind == "counts" and status == 200:
                    outcome.batches.append(number)
                if status >= 500 and len(outcome.errors) < 10:
                    outcome.errors.append(f"{kind} {status} {body[:300]!r}")

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.monotonic() - started
    return outcome


def _now() -> datetime:
    return datetime.now(UTC)


def expected_minutes(batches: list[int]) -> dict[tuple[datetime, str], dict[str, int]]:
    """(minute, direction) → outcome counts that the batches answered 200 must have stored."""
    expected: dict[tuple[datetime, str], dict[str, int]] = {}
    for number in batches:
        for row in batch_rows(number):
            key = (datetime.fromisoformat(row["minute"]), row["direction"])
            expected.setdefault(key, {})[row["outcome"]] = row["count"]
    return expected


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]
