"""Minutes older than payments.keep_minutes_days folded into hours (DESIGN §13), on both
databases: every sum is kept, calendar windows answer exactly as before, a window edge in
folded history is counted to the hour and the answer says so, and nothing can be written
where the minutes are gone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import sqlite_only
from tracker.cli import main
from tracker.db import database
from tracker.models import PaymentDay, PaymentHour, PaymentMinute
from tracker.services.payments import fold, folded_until, outcome_totals, rebuild_daily_totals

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
KEEP = 40  # days: minutes before 2026-10-22 04:00 UTC are folded
OLD = datetime(2026, 9, 10, 10, 0, tzinfo=UTC)  # three hours of counts from here
RECENT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def rows(start, minutes, channel="unionpay"):
    """Counts that differ minute by minute, so a wrong boundary shows in the sums."""
    out = []
    for i in range(minutes):
        minute = (start + timedelta(minutes=i)).isoformat()
        base = {"minute": minute, "direction": "pay_in", "channel": channel, "scope": "final"}
        out.append({**base, "outcome": "success", "count": 100 + i % 7, "amount": "12.34"})
        out.append({**base, "outcome": "system", "count": i % 5})
    return out


@pytest.fixture
def history(api):
    for start, minutes in ((OLD, 180), (RECENT, 60)):
        for channel in ("unionpay", "alipay"):
            answer = api.post("/payments/counts", {"counts": rows(start, minutes, channel)})
            assert answer.status_code == 200, answer.get_json()
    return api


def rates(api, since, until, channel="unionpay"):
    body = api.get("/payments/rates", since=since, until=until, channel=channel).get_json()
    return body


def stored(app):
    with app.app_context(), database.connection_context():
        days = sorted(row[1:] for row in PaymentDay.select().tuples())  # not the row ids
        return days, PaymentMinute.select().count(), PaymentHour.select().count()


def folded(app, now=NOW, keep=KEEP):
    with app.app_context(), database.connection_context():
        return fold(now=now, keep_days=keep)


RANGES = {
    "a calendar month": ("2026-09-01T00:00:00+08:00", "2026-10-01T00:00:00+08:00"),
    "whole hours": ("2026-09-10T10:00:00Z", "2026-09-10T12:00:00Z"),
    "into the kept minutes": ("2026-09-10T00:00:00+08:00", "2026-11-25T06:30:00Z"),
}


def test_folding_keeps_every_sum_and_calendar_windows_answer_as_before(app, history):
    before = {name: rates(history, *r) for name, r in RANGES.items()}
    days_before, minutes_before, _ = stored(app)
    done = folded(app)
    assert (done.minutes, done.hours) == (2 * 180, 2 * 3)
    assert done.until == datetime(2026, 10, 22, 4, 0, tzinfo=UTC)
    days_after, minutes_after, hours = stored(app)
    assert days_after == days_before  # the daily totals are sums of the same counts
    assert (minutes_after, hours) == (minutes_before - 2 * 180, 6)
    for name, (since, until) in RANGES.items():
        after = rates(history, since, until)
        assert after["items"] == before[name]["items"], name
        assert after["exact_to"] == "minute", name
        assert after["counted_since"] == before[name]["since"], name


def test_an_edge_in_folded_history_is_counted_to_the_hour_and_says_so(app, history):
    whole = rates(history, "2026-09-10T10:00:00Z", "2026-09-10T12:00:00Z")
    folded(app)
    edges = rates(history, "2026-09-10T10:30:00Z", "2026-09-10T11:30:00Z")
    assert edges["exact_to"] == "hour"
    assert (edges["counted_since"], edges["counted_until"]) == (
        "2026-09-10T10:00:00Z",
        "2026-09-10T12:00:00Z",
    )
    assert (edges["since"], edges["until"]) == ("2026-09-10T10:30:00Z", "2026-09-10T11:30:00Z")
    assert edges["items"] == whole["items"]
    recent = rates(history, "2026-11-25T06:10:00Z", "2026-11-25T06:20:00Z")
    assert recent["exact_to"] == "minute"  # the kept minutes are exact as ever


def test_a_write_into_folded_history_is_refused_and_stores_nothing(app, history, runner, tmp_path):
    folded(app)
    before = stored(app)
    answer = history.post("/payments/counts", {"counts": rows(OLD + timedelta(hours=1), 2)})
    assert answer.status_code == 422
    error = answer.get_json()["errors"][0]
    assert error["field"] == "counts.minute" and "folded" in error["message"]
    csv = tmp_path / "old.csv"
    csv.write_text(
        "minute,direction,channel,scope,outcome,count\n"
        "2026-11-30T00:00:00Z,pay_in,unionpay,final,success,5\n"
        "2026-09-10T10:00:00Z,pay_in,unionpay,final,success,5\n"
    )
    result = runner.invoke(main, ["payments", "import", str(csv), "--quiet"])
    assert result.exit_code == 2 and "folded" in result.output
    assert stored(app) == before


def test_folding_again_folds_only_what_has_aged_since(app, history):
    folded(app)
    assert (folded(app).minutes, folded(app).hours) == (0, 0)
    later = folded(app, now=RECENT + timedelta(days=KEEP, hours=1))
    assert later.minutes == 2 * 60 and later.until == RECENT + timedelta(hours=1)
    with app.app_context(), database.connection_context():
        assert PaymentMinute.select().count() == 0
        assert folded_until() == RECENT + timedelta(hours=1)


def test_dips_are_not_looked_for_in_folded_history(app, history):
    folded(app)
    answer = history.get(
        "/payments/dips", since="2026-09-10T00:00:00Z", until="2026-09-11T00:00:00Z"
    )
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "since"


def test_daily_totals_rebuilt_after_folding_are_the_same(app, history):
    folded(app)
    days, *_ = stored(app)
    with app.app_context(), database.connection_context():
        rebuild_daily_totals(ZoneInfo("Asia/Shanghai"))
    assert stored(app)[0] == days


def test_tracker_payments_fold_folds_now_and_says_how_much(app, history, runner, monkeypatch):
    assert runner.invoke(main, ["payments", "fold"]).exit_code == 2  # keep_minutes_days = 0
    monkeypatch.setenv("TRACKER_PAYMENTS_KEEP_MINUTES_DAYS", "35")
    done = runner.invoke(main, ["payments", "fold"])
    assert done.exit_code == 0, done.output
    assert "360 minute rows folded into 6 hour rows" in done.output  # September's, not November's


# ---- the oracle: whatever the counts and the window, the hours hold the minutes' sums --------

MINUTES = st.lists(st.integers(min_value=0, max_value=50), min_size=180, max_size=180)
OFFSETS = st.integers(min_value=0, max_value=180)


@sqlite_only
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(counts=MINUTES, bounds=st.tuples(OFFSETS, OFFSETS).filter(lambda b: b[0] != b[1]))
def test_a_window_in_folded_history_counts_the_minutes_of_the_hours_it_touches(app, counts, bounds):
    first, last = sorted(bounds)
    with app.app_context(), database.connection_context():
        PaymentMinute.delete().execute()
        PaymentHour.delete().execute()
        PaymentMinute.insert_many(
            [(OLD + timedelta(minutes=i), "pay_in", "c", "final", n) for i, n in enumerate(counts)],
            fields=["minute", "direction", "channel", "scope", "success_count"],
        ).execute()
        fold(now=OLD + timedelta(days=KEEP, hours=3), keep_days=KEEP)
        totals = outcome_totals(
            direction="pay_in",
            scope="final",
            channel="c",
            since=OLD + timedelta(minutes=first),
            until=OLD + timedelta(minutes=last),
            zone=ZoneInfo("Asia/Shanghai"),
        )
    touched = counts[first // 60 * 60 : -(-last // 60) * 60]
    assert totals.get("success", 0) == sum(touched)
