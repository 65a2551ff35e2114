"""Incident counts and time-to-x read from the database (DESIGN §4.3, §4.4)."""

from datetime import datetime
from decimal import Decimal

import pytest

from tests.factories import incident_body
from tracker.services import slo

WEEK = {
    "since": datetime.fromisoformat("2024-07-22T00:00:00+08:00"),
    "until": datetime.fromisoformat("2024-07-29T00:00:00+08:00"),
}
HALF_OURS = [
    {"party": "payments", "share": 0.5},
    {"party": "银商", "share": 0.5, "internal": False},
]


@pytest.fixture
def seed_week(api, gateway):
    """The seed week 2024-W30: one C incident shared half and half, plus events."""
    bodies = [
        incident_body(grade="C", responsibility=HALF_OURS),
        incident_body(
            detected_at="2024-07-23T10:42:00+08:00",
            grade="none",
            mitigated_at="2024-07-23T10:50:00+08:00",
            counts_toward_availability=False,
        ),
        incident_body(detected_at="2024-07-24T12:07:00+08:00", mitigated_at=None),
        incident_body(
            detected_at="2024-07-24T19:24:00+08:00",
            grade="D",
            mitigated_at="2024-07-24T19:33:00+08:00",
            status="cancelled",
        ),
        incident_body(detected_at="2024-07-29T00:00:00+08:00", grade="A", mitigated_at=None),
    ]
    for body in bodies:
        assert api.post("/incidents", body).status_code == 201


def test_counts_are_attributed_and_distinct_by_grade(db, seed_week):
    counts = slo.incident_counts(**WEEK)
    assert (counts["C"].attributed, counts["C"].distinct) == (Decimal("0.5"), 1)
    assert counts["AB"].distinct == 0 and counts["D"].distinct == 0


def test_counts_go_by_detection_time_and_leave_out_the_next_monday(db, seed_week):
    next_week = {"since": WEEK["until"], "until": datetime.fromisoformat("2024-08-05T00:00+08:00")}
    assert slo.incident_counts(**next_week)["AB"].attributed == 1


def test_time_to_mitigate_by_grade(db, seed_week, api):
    api.post(
        "/incidents",
        incident_body(
            grade="C",
            impact_started_at="2024-07-25T09:50:00+08:00",
            detected_at="2024-07-25T10:00:00+08:00",
            mitigated_at="2024-07-25T10:10:00+08:00",
        ),
    )
    stats = slo.time_to(kind="mitigate", **WEEK)["C"]
    assert (stats.count, stats.p50_seconds, stats.p90_seconds) == (2, 60, 1200)


def test_time_to_detect_leaves_out_ungraded_events(db, seed_week):
    stats = slo.time_to(kind="detect", **WEEK)
    assert stats["C"].count == 1 and stats["AB"].count == 0
