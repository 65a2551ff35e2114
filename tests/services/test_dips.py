"""Unlogged dips on both databases (DESIGN §12): planted outages, only the one nobody logged
and no maintenance covers is unlogged; the boundaries are exact."""

from datetime import UTC, datetime, timedelta

import pytest

from tracker.services import rollup

DAY = {"since": "2026-11-24T00:00:00Z", "until": "2026-11-25T01:00:00Z"}
PAY_IN = {
    "name": "pay_in_effective",
    "label_zh": "入金有效成功率",
    "label_en": "Pay-in effective success rate",
    "direction": "pay_in",
    "scope": "final",
    "excludes": ["user", "merchant", "risk", "bank_decline", "pending", "invalid"],
    "dip_below": 0.95,
}
# Busy channels carry 200 attempts a minute, `quiet` 20: five minutes of it (100) are below
# the floor of 150.
BUSY, QUIET = 200, 20
OUTAGES = {  # channel → the first minutes of its 10-minute outages (UTC)
    "unionpay": ["2026-11-24T02:00", "2026-11-24T06:00", "2026-11-24T23:55"],
    "alipay": ["2026-11-24T09:00", "2026-11-24T15:55"],  # 15:55–16:05 crosses local midnight
    "quiet": ["2026-11-24T12:00"],
}


@pytest.fixture
def settings_overrides():
    return {"payments": {"rates": [PAY_IN]}, "dips": {"min_attempts": 150}}


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def minute_rows(minute, channel, *, failing):
    attempts = QUIET if channel == "quiet" else BUSY
    failed = 0 if not failing else attempts if channel == "quiet" else attempts // 2
    base = {"minute": minute.isoformat(), "direction": "pay_in", "channel": channel}
    return [
        {**base, "scope": "final", "outcome": "success", "count": attempts - failed},
        {**base, "scope": "final", "outcome": "system", "count": failed},
    ]


def plant(api, outages=OUTAGES):
    """Every channel has counts from 15 minutes before each outage to 25 after it."""
    failing = {(c, at(m) + timedelta(minutes=i)) for c, ms in outages.items() for m in ms
               for i in range(10)}  # fmt: skip
    starts = [at(m) for ms in outages.values() for m in ms]
    minutes = sorted({start + timedelta(minutes=i) for start in starts for i in range(-15, 25)})
    rows = [
        row
        for minute in minutes
        for channel in ("unionpay", "alipay", "quiet")
        for row in minute_rows(minute, channel, failing=(channel, minute) in failing)
    ]
    for start in range(0, len(rows), 5000):
        batch = {"counts": rows[start : start + 5000]}
        response = api.post("/payments/counts", batch, role="ingest")
        assert response.status_code == 200, response.get_json()


def record(api, gateway, start, end, **fields):
    body = {
        "title": "渠道成功率下降",
        "services": ["gateway"],
        "impact_started_at": start + "Z",
        "detected_at": start + "Z",
        "mitigated_at": end + "Z",
        "impact_ratio": 0.5,
        **fields,
    }
    response = api.post("/incidents", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def planted(api, gateway):
    plant(api)
    ids = {
        "first": record(api, gateway, "2026-11-24T02:00", "2026-11-24T02:12"),
        "midnight": record(api, gateway, "2026-11-24T15:55", "2026-11-24T16:06"),
        "utc": record(api, gateway, "2026-11-24T23:55", "2026-11-25T00:06"),
    }
    window = {
        "services": ["all"],
        "starts_at": "2026-11-24T09:00:00Z",
        "ends_at": "2026-11-24T09:30:00Z",
        "reason": "网关升级",
        "announced_at": "2026-11-23T09:00:00Z",
    }
    response = api.post("/maintenance-windows", window)
    assert response.status_code == 201, response.get_json()
    ids["maintenance"] = response.get_json()["id"]
    return ids


def found(api, **params):
    response = api.get("/payments/dips", **{**DAY, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def spans(items):
    return [(d["channel"], d["started_at"], d["ended_at"]) for d in items]


def test_only_the_outage_nobody_logged_is_unlogged(api, planted):
    unlogged = found(api, unlogged="true")
    # unionpay at 50% for 06:00–06:09: minute 06:00's window (05:56–06:00) is already below
    # 95%, 06:13's (06:09–06:13) still holds 06:09. Across the three channels (420 a minute,
    # 100 failing) a window needs two failing minutes: 06:01 to 06:12.
    assert spans(unlogged) == [
        ("unionpay", "2026-11-24T05:56:00Z", "2026-11-24T06:14:00Z"),
        ("all", "2026-11-24T05:57:00Z", "2026-11-24T06:13:00Z"),
    ]
    unionpay, every = sorted(unlogged, key=lambda d: d["channel"] == "all")
    assert (unionpay["attempts"], unionpay["failures"]) == (18 * BUSY, 10 * BUSY // 2)
    assert unionpay["worst_value"] == 0.5 and unionpay["worst_display"] == "50.000%"
    assert (every["attempts"], every["failures"]) == (16 * 420, 10 * BUSY // 2)
    assert every["worst_value"] == pytest.approx(1600 / 2100)
    assert unionpay["label"] == "入金有效成功率"
    assert unionpay["incident_ids"] == unionpay["maintenance_ids"] == []


def test_logged_dips_name_what_covers_them(api, planted):
    logged = {(d["channel"], d["started_at"]): d for d in found(api) if d["logged"]}
    assert logged["unionpay", "2026-11-24T01:56:00Z"]["incident_ids"] == [planted["first"]]
    assert logged["alipay", "2026-11-24T08:56:00Z"]["maintenance_ids"] == [planted["maintenance"]]
    # across local midnight (16:00 UTC) and UTC midnight: one dip each, not two halves
    assert logged["alipay", "2026-11-24T15:51:00Z"]["ended_at"] == "2026-11-24T16:09:00Z"
    assert logged["alipay", "2026-11-24T15:51:00Z"]["incident_ids"] == [planted["midnight"]]
    assert logged["unionpay", "2026-11-24T23:51:00Z"]["ended_at"] == "2026-11-25T00:09:00Z"
    assert {channel for channel, _ in logged} == {"unionpay", "alipay", "all"}  # quiet: too few


def test_a_channel_below_the_floor_has_no_dip(api, planted):
    assert found(api, channel="quiet") == []
    assert [d["channel"] for d in found(api, channel="unionpay")] == ["unionpay"] * 3


def test_a_record_covers_a_dip_within_the_slack_and_not_beyond(api, gateway):
    plant(api, {"unionpay": ["2026-11-24T06:00"]})
    # the unionpay dip is [05:56, 06:14); 10 minutes of slack on each side
    record(api, gateway, "2026-11-24T05:30", "2026-11-24T05:46")  # ends 10 minutes before
    assert [d["incident_ids"] for d in found(api, channel="unionpay")] == [[]]
    later = record(api, gateway, "2026-11-24T05:30", "2026-11-24T05:47")
    assert [d["incident_ids"] for d in found(api, channel="unionpay")] == [[later]]


def test_drafts_cover_dips_and_cancelled_records_do_not(api, gateway):
    plant(api, {"unionpay": ["2026-11-24T06:00"]})
    cancelled = record(api, gateway, "2026-11-24T06:00", "2026-11-24T06:10")
    assert api.patch(f"/incidents/{cancelled}", {"status": "cancelled"}).status_code == 200
    assert [d["logged"] for d in found(api, channel="unionpay")] == [False]


def test_new_counts_in_an_hour_are_read_again(api, planted):
    assert len(found(api, unlogged="true")) == 2  # the hours are remembered now
    healed = [
        row
        for i in range(10)
        for row in minute_rows(at("2026-11-24T06:00") + timedelta(minutes=i), "unionpay",
                               failing=False)
    ]  # fmt: skip
    assert api.post("/payments/counts", {"counts": healed}, role="ingest").status_code == 200
    assert found(api, unlogged="true") == []


def test_a_range_longer_than_31_days_or_an_unwatched_rate_is_refused(api):
    response = api.get("/payments/dips", since="2026-10-01T00:00:00Z", until="2026-11-02T00:00:00Z")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "until"
    response = api.get("/payments/dips", rate="pay_out_effective")
    assert response.status_code == 422
    assert "pay_in_effective" in response.get_json()["errors"][0]["message"]


@pytest.mark.parametrize("settings_overrides", [{}])
def test_no_dips_are_looked_for_without_dip_below(api):
    plant(api, {"unionpay": ["2026-11-24T06:00"]})
    assert found(api) == []


def test_the_rollup_counts_the_unlogged_dips_of_the_last_day_and_week(app, api, planted):
    from tests.test_metrics import samples, scrape

    now = at("2026-11-25T05:00")  # the unlogged dip (06:00 yesterday) is within a day
    with app.app_context():
        snapshot = rollup.take_snapshot(now=now, settings=app.extensions["tracker.settings"])
    counts = {(r.channel, r.window): r.unlogged for r in snapshot.dips}
    assert counts == {
        **{(c, w): 0 for c in ("alipay", "quiet") for w in ("1d", "7d")},
        ("unionpay", "1d"): 1,
        ("unionpay", "7d"): 1,
        ("all", "1d"): 1,
        ("all", "7d"): 1,
    }
    assert [(d.channel, d.started_at) for d in snapshot.unlogged_dips] == [
        ("unionpay", at("2026-11-24T05:56")),
        ("all", at("2026-11-24T05:57")),
    ]
    exported = {
        (s["channel"], s["window"]): v
        for s, v in samples(scrape(app.test_client()))["tracker_payment_dips_unlogged"]
    }
    assert exported == counts
    with app.app_context():
        assert rollup.get_latest().unlogged_dips == snapshot.unlogged_dips  # as stored
    later = at("2026-11-25T06:30")  # a day after the dip's last low minute (06:13)
    with app.app_context():
        snapshot = rollup.take_snapshot(now=later, settings=app.extensions["tracker.settings"])
    counts = {(r.channel, r.window): r.unlogged for r in snapshot.dips}
    assert (counts["unionpay", "1d"], counts["unionpay", "7d"]) == (0, 1)
