"""POST /payments/counts and GET /payments/rates (DESIGN §4.5, §5)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import counts_body, stored_counts
from tracker.models import COUNT_COLUMNS, PaymentDay, PaymentMinute
from tracker.services.payments import outcome_totals

WEEK_30 = {"since": "2024-07-22T00:00:00+08:00", "until": "2024-07-29T00:00:00+08:00"}


def count(minute, outcome="success", n=1, **fields):
    return {
        "minute": minute,
        "direction": "pay_in",
        "channel": "unionpay",
        "scope": "final",
        "outcome": outcome,
        "count": n,
        **fields,
    }


def ingest(api, rows, role="ingest"):
    return api.post("/payments/counts", {"counts": rows}, role=role)


def rates(api, **params):
    response = api.get("/payments/rates", **params)
    assert response.status_code == 200, response.get_json()
    return {item["rate"]: item for item in response.get_json()["items"]}


@pytest.fixture
def seed_week(api):
    """2024-W30: pay-in 99.999% (1 system failure in 100000), pay-out 99.994% (6 in 100000)."""
    rows = [
        count("2024-07-23T10:04:00+08:00", "success", 99_999),
        count("2024-07-23T10:04:00+08:00", "system", 1),
        count("2024-07-23T10:04:00+08:00", "user", 250),
        count("2024-07-24T09:00:00+08:00", "success", 99_994, direction="pay_out"),
        count("2024-07-24T09:00:00+08:00", "channel", 6, direction="pay_out"),
        count("2024-07-24T09:00:00+08:00", "bank_decline", 40, direction="pay_out"),
    ]
    assert ingest(api, rows).get_json() == {"upserted": 6}


def test_rates_of_the_seed_week(api, seed_week):
    week = rates(api, **WEEK_30)
    assert week["pay_in_effective"]["display"] == "99.999%"
    assert week["pay_out_effective"]["display"] == "99.994%"
    assert (week["pay_in_effective"]["numerator"], week["pay_in_effective"]["denominator"]) == (
        99_999,
        100_000,
    )


def test_a_rate_carries_its_labels(api, seed_week):
    rate = rates(api, **WEEK_30)["pay_out_effective"]
    assert (rate["label"], rate["label_en"]) == ("出金有效成功率", "Pay-out effective success rate")


def test_no_data_is_null_never_100_percent(api, seed_week):
    first = rates(api, **WEEK_30)["first_attempt"]
    assert (first["value"], first["display"], first["denominator"]) == (None, "无数据", 0)


def test_display_and_label_are_in_the_language_asked_for(api, seed_week):
    first = rates(api, **WEEK_30, lang="en")["first_attempt"]
    assert (first["label"], first["display"]) == ("First-attempt success rate", "no data")


def test_resending_a_batch_never_double_counts(api, seed_week):
    before = rates(api, **WEEK_30)
    ingest(api, [count("2024-07-23T10:04:00+08:00", "success", 99_999)])
    assert rates(api, **WEEK_30) == before


def test_writing_a_key_again_replaces_it(api, seed_week):
    ingest(api, [count("2024-07-23T10:04:00+08:00", "system", 11)])
    rate = rates(api, **WEEK_30)["pay_in_effective"]
    assert (rate["numerator"], rate["denominator"]) == (99_999, 100_010)


def test_rates_per_channel(api, seed_week):
    ingest(api, [count("2024-07-25T10:00:00+08:00", "channel", 1, channel="nucc")])
    assert rates(api, channel="nucc", **WEEK_30)["pay_in_effective"]["value"] == 0
    assert rates(api, channel="unionpay", **WEEK_30)["pay_in_effective"]["denominator"] == 100_000


def test_week_edges_are_local_midnights(api):
    ingest(
        api,
        [
            count("2024-07-22T00:30:00+08:00", "success", 3),
            count("2024-07-29T00:00:00+08:00", "system", 5),
            count("2024-07-21T23:59:00+08:00", "system", 7),
        ],
    )
    assert rates(api, **WEEK_30)["pay_in_effective"]["denominator"] == 3


def test_the_default_window_is_this_week(api):
    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    ingest(api, [count(now.isoformat(), "success", 2)])
    assert rates(api)["pay_in_effective"]["numerator"] == 2


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (count("2024-07-23T10:04:30+08:00"), "counts[1].minute"),
        (count("2024-07-23T10:04:00"), "counts[1].minute"),
        (count("2024-07-23T10:04:00+08:00", n=-1), "counts[1].count"),
        (count("2024-07-23T10:04:00+08:00", outcome="oops"), "counts[1].outcome"),
        (count("2024-07-23T10:04:00+08:00", direction="sideways"), "counts[1].direction"),
        (count("2024-07-23T10:04:00+08:00", scope="second"), "counts[1].scope"),
        (count("2024-07-23T10:04:00+08:00", channel="Bad Channel"), "counts[1].channel"),
        (count("2024-07-23T10:04:00+08:00", amount=12.5), "counts[1].amount"),
        (count("2024-07-23T10:04:00+08:00", extra=1), "counts[1].extra"),
        (count("2024-07-23T10:04:00+08:00", n=False), "counts[1].count"),
        (count(1721700240), "counts[1].minute"),
    ],
)
def test_one_bad_row_refuses_the_batch_naming_its_index(app, api, row, field):
    before = stored_counts(app)
    response = ingest(api, [count("2024-07-23T10:03:00+08:00"), row])
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert stored_counts(app) == before


@pytest.mark.parametrize("settings_overrides", [{"payments": {"max_batch_rows": 3}}])
def test_a_batch_over_the_limit_is_413_and_stores_nothing(app, api, settings_overrides):
    before = stored_counts(app)
    rows = [count(f"2024-07-23T10:0{m}:00+08:00") for m in range(4)]
    assert ingest(api, rows).status_code == 413
    assert stored_counts(app) == before


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("responder", 403), ("ingest", 200), ("admin", 200)]
)
def test_ingest_needs_the_ingest_role(api, role, status):
    assert ingest(api, [count("2024-07-23T10:04:00+08:00")], role=role).status_code == status


def test_amounts_are_exact_end_to_end(api, db):
    ingest(
        api,
        [
            count("2024-07-23T10:04:00+08:00", amount="0.10"),
            count("2024-07-23T10:05:00+08:00", amount="0.2"),
        ],
    )
    fen = [r.success_fen for r in PaymentMinute.select().order_by(PaymentMinute.minute)]
    assert fen == [10, 20]
    assert PaymentDay.get().success_fen == 30


def _daily_equals_minutes():
    by_day = {}
    for row in PaymentMinute.select():
        key = (row.minute.astimezone(ZONE).date(), row.direction, row.channel, row.scope)
        sums = by_day.setdefault(key, [0] * len(COUNT_COLUMNS))
        for at, column in enumerate(COUNT_COLUMNS):
            sums[at] += getattr(row, column) or 0
    daily = {
        (d.day, d.direction, d.channel, d.scope): [getattr(d, c) for c in COUNT_COLUMNS]
        for d in PaymentDay.select()
    }
    return {k: v for k, v in by_day.items() if any(v)} == {k: v for k, v in daily.items() if any(v)}


ZONE = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
START = datetime(2024, 7, 20, tzinfo=UTC)
minutes = st.integers(0, 10 * 1440 - 1).map(lambda m: START + timedelta(minutes=m))
buckets = st.lists(
    st.tuples(
        minutes,
        st.sampled_from(["success", "system", "user"]),
        st.integers(0, 50),
        st.sampled_from(["unionpay", "nucc"]),
    ),
    max_size=25,
)
FIXTURE_OK = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FIXTURE_OK
@given(batch=buckets, a=minutes, b=minutes)
def test_any_window_equals_the_sum_of_its_minute_buckets(api, db, batch, a, b):
    ingest(api, [count(m.isoformat(), o, n, channel=c) for m, o, n, c in batch])
    since, until = min(a, b), max(a, b) + timedelta(minutes=1)
    split = outcome_totals(
        direction="pay_in", scope="final", channel=None, since=since, until=until, zone=ZONE
    )
    direct = PaymentMinute.outcome_totals(
        direction="pay_in", scope="final", channel=None, since=since, until=until
    )
    assert {k: v for k, v in split.items() if v} == {k: v for k, v in direct.items() if v}


@FIXTURE_OK
@given(first=buckets, second=buckets)
def test_daily_totals_stay_the_sum_of_the_minutes_through_any_upserts(api, db, first, second):
    for batch in (first, second, first):
        ingest(api, [count(m.isoformat(), o, n, channel=c) for m, o, n, c in batch])
        assert _daily_equals_minutes()


def test_a_new_time_zone_recuts_the_daily_totals(app, api, database_url, tmp_path):
    from tracker.app import create_app
    from tracker.settings import load_settings

    ingest(
        api,
        [
            count("2024-07-23T07:30:00+08:00", "success", 5),
            count("2024-07-23T08:30:00+08:00", "system", 1),
        ],
    )
    utc = load_settings(
        environ={},
        overrides={"database_url": database_url, "data_dir": str(tmp_path), "timezone": "UTC"},
    )
    in_utc = create_app(utc).test_client()
    headers = {"Authorization": f"Bearer {api.tokens['viewer']}"}
    day = {"since": "2024-07-23T00:00:00Z", "until": "2024-07-24T00:00:00Z"}
    before = in_utc.get("/api/v1/payments/rates", query_string=day, headers=headers).get_json()
    in_utc.post(
        "/api/v1/payments/counts",
        headers={"Authorization": f"Bearer {api.tokens['ingest']}"},
        json={"counts": []},
    )
    after = in_utc.get("/api/v1/payments/rates", query_string=day, headers=headers).get_json()
    assert before["items"][0]["denominator"] == after["items"][0]["denominator"] == 1


def test_a_count_beyond_64_bits_is_a_422_naming_it_not_a_json_error(api):
    body = counts_body("2024-07-23T10:04:00+08:00", "pay_in", "final", {"success": 2**100})
    response = api.post("/payments/counts", body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "counts[0].count"
