"""Buckets into storage, a column at a time, on both databases: batches longer than one SQL
statement are stored whole, rewriting moves the daily totals by the difference whether the
stored minutes are read as one stretch or by name, each local day is zoneinfo's, and the
import's reading thread hands over its batches and its errors in order."""

import threading
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.rates import day_of
from tracker.db import database
from tracker.models import COUNT_COLUMNS, PaymentDay, PaymentMinute, _python_values
from tracker.services.payments.buckets import Buckets, local_days, long_table
from tracker.services.payments.imports import _ahead

START = datetime(2026, 9, 1, 0, 0, tzinfo=UTC)


def row(minute, outcome="success", count=1, channel="unionpay", amount=None):
    body = {
        "minute": minute.isoformat(),
        "direction": "pay_in",
        "channel": channel,
        "scope": "final",
        "outcome": outcome,
        "count": count,
    }
    return body if amount is None else {**body, "amount": amount}


def post(api, rows):
    answer = api.post("/payments/counts", {"counts": rows})
    assert answer.status_code == 200, answer.get_json()


def daily(app):
    """(day, outcome) → count of the stored daily totals."""
    with app.app_context(), database.connection_context():
        query = PaymentDay.select(PaymentDay.day, *(getattr(PaymentDay, c) for c in COUNT_COLUMNS))
        return {
            (day, column): count
            for day, *counts in query.tuples()
            for column, count in zip(COUNT_COLUMNS, counts, strict=True)
            if count
        }


def test_a_batch_longer_than_one_statement_is_stored_whole(app, api):
    rows = [row(START + timedelta(minutes=i), count=i % 9 + 1) for i in range(4_500)]
    post(api, rows)  # 4,500 rows: SQLite takes 2,000 a statement here
    with app.app_context(), database.connection_context():
        assert PaymentMinute.select().count() == 4_500
    by_day = {}
    for i in range(4_500):
        day = day_of(START + timedelta(minutes=i), app.extensions["tracker.settings"].zone)
        by_day[day] = by_day.get(day, 0) + i % 9 + 1
    assert daily(app) == {(day, "success_count"): n for day, n in by_day.items()}


def _minute(v: int) -> datetime:
    return START.replace(tzinfo=None) + timedelta(minutes=v)


# A column type: (its Arrow type, the value a number stands for, the value SQLite binds for it)
BOUND = {
    "text": (pa.string(), lambda v: f"series-{v}", lambda v: f"series-{v}"),
    "time": (pa.timestamp("s"), _minute, lambda v: _minute(v).strftime("%Y-%m-%d %H:%M:%S")),
    "integer": (pa.int64(), int, int),
}


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(BOUND)),
    st.lists(st.lists(st.one_of(st.none(), st.integers(0, 40)), max_size=30), max_size=4),
)
def test_the_values_bound_for_sqlite_are_each_row_s_own(kind, chunks):
    """Whether a column repeats its values or not, with nulls, in chunks: each row binds its
    own value (text as it is, a time as its text, an integer as it is)."""
    kind_of, stored, bound = BOUND[kind]
    arrays = [pa.array([None if v is None else stored(v) for v in c], kind_of) for c in chunks]
    expected = [None if v is None else bound(v) for c in chunks for v in c]
    assert _python_values(pa.chunked_array(arrays, type=kind_of)) == expected
    if len(arrays) == 1:
        assert _python_values(arrays[0]) == expected


@pytest.mark.parametrize("apart", [timedelta(minutes=1), timedelta(days=40)])
def test_rewriting_moves_the_daily_totals_by_the_difference(app, api, apart):
    """Two minutes close together are read back as one stretch, two far apart by name:
    either way the second write replaces the first and the days hold only the second."""
    first, second = START, START + apart
    post(api, [row(first, count=5), row(second, count=7), row(second, "system", count=2)])
    post(api, [row(first, count=3), row(second, count=11)])  # system at `second` stays
    zone = app.extensions["tracker.settings"].zone
    expected = {}
    for minute, outcome, count in ((first, "success", 3), (second, "success", 11)):
        key = (day_of(minute, zone), f"{outcome}_count")
        expected[key] = expected.get(key, 0) + count
    expected[(day_of(second, zone), "system_count")] = 2
    assert daily(app) == expected


def test_a_batch_writing_other_outcomes_keeps_the_stored_ones(app, api):
    post(api, [row(START, count=5, amount="1.00")])
    post(api, [row(START, "system", count=2), row(START + timedelta(hours=1), "user", count=1)])
    with app.app_context(), database.connection_context():
        stored = PaymentMinute.get(PaymentMinute.minute == START)
        assert (stored.success_count, stored.success_fen, stored.system_count) == (5, 100, 2)
        assert stored.user_count is None


ZONES = [
    ZoneInfo(name)
    for name in (
        "Asia/Shanghai",
        "America/New_York",
        "Asia/Kathmandu",  # +05:45
        "Pacific/Chatham",  # +12:45 and +13:45
        "Australia/Lord_Howe",  # a half-hour of summer time
        "UTC",
    )
]


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 70 * 365 * 1440), min_size=1, max_size=50),
    zone=st.sampled_from([*ZONES, "from a file"]),
)
def test_each_minute_counts_toward_the_local_day_zoneinfo_gives(minutes, zone):
    if zone == "from a file":  # no key: Arrow cannot look it up, zoneinfo decides
        with (files("tzdata.zoneinfo") / "Asia" / "Shanghai").open("rb") as fh:
            zone = ZoneInfo.from_file(fh)
    epochs = [m * 60 for m in minutes]
    days = local_days(pa.array(epochs, pa.int64()), zone).to_pylist()
    assert days == [
        day_of(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=e), zone) for e in epochs
    ]


def test_the_reading_thread_hands_over_its_batches_and_then_its_error_in_order():
    def batches():
        yield 1
        yield 2
        raise ValueError("line 3")

    got = []
    with pytest.raises(ValueError, match="line 3"):
        for item in _ahead(batches()):
            got.append(item)
    assert got == [1, 2]


def test_leaving_the_batches_early_stops_the_reading_thread():
    def endless():
        n = 0
        while True:
            n += 1
            yield n

    items = _ahead(endless())
    assert next(items) == 1
    items.close()  # what a refused batch or an exception in the writer does
    assert not [t for t in threading.enumerate() if t.name == "tracker-import-fold"]


def test_a_name_twice_in_a_dictionary_is_one_series_and_the_last_row_wins():
    twice = pa.DictionaryArray.from_arrays(pa.array([0, 1]), pa.array(["icbc", "icbc"]))
    pay_in = pa.DictionaryArray.from_arrays(pa.array([0, 0]), pa.array(["pay_in"]))
    long = long_table(
        {
            "minute": [60, 60],
            "direction": pay_in,
            "channel": twice,
            "scope": ["final", "final"],
            "outcome": [0, 0],
            "count": [1, 2],
            "fen": [100, None],
        }
    )
    ((key, counts, fens, written, _),) = Buckets.of_long(long, zone=ZoneInfo("UTC")).rows()
    assert key == (datetime(1970, 1, 1, 0, 1), "pay_in", "icbc", "final")
    assert (counts[0], fens[0], written) == (2, None, 1)
