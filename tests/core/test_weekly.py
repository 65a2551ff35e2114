"""The weekly review's pure parts: weeks, lines, the frozen codec, restatements."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.core.counts import GradeCount
from tracker.core.rates import RateFigure
from tracker.core.weekly.frozen import frozen, thawed
from tracker.core.weekly.model import Event, WeeklyReport, last_week, parse_week, week_name
from tracker.core.weekly.restate import restatements
from tracker.core.weekly.text import counts_line, event_line, markdown

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2024, 7, 21, 16, tzinfo=UTC)  # 2024-07-22 00:00 in Shanghai


def _counts(c="0.5", d="0"):
    return {
        g: GradeCount(Decimal(v), 1 if v != "0" else 0)
        for g, v in {"A": "0", "B": "0", "AB": "0", "C": c, "D": d}.items()
    }


def _report(events=(), **changes):
    values = {
        "week": "2024-W30",
        "since": MONDAY,
        "until": MONDAY + timedelta(days=7),
        "as_of": MONDAY + timedelta(days=7),
        "zone": ZONE,
        "rates": (RateFigure(99_999, 100_000, "pay_in_effective", "入金有效成功率", "Pay-in"),),
        "availability": 0.99998,
        "downtime_seconds": 588.0,
        "eligible_seconds": 2.9e7,
        "counts": _counts(),
        "events": tuple(events),
    }
    return WeeklyReport(**{**values, **changes})


def _event(id=1, grade="C", **changes):
    values = {
        "id": id,
        "detected_at": datetime(2024, 7, 23, 2, 4, tzinfo=UTC),
        "title": "卡类型试算准确率未达到预先设定的标准",
        "grade": grade,
        "status": "resolved",
        "services": ("pos",),
        "weight": "0.5",
    }
    return Event(**{**values, **changes})


@pytest.mark.parametrize(("text", "parsed"), [("2024-W30", (2024, 30)), ("2024-W2", (2024, 2))])
def test_a_week_is_written_as_the_team_writes_it(text, parsed):
    assert parse_week(text) == parsed


@pytest.mark.parametrize("text", ["2024-30", "2024-W53", "0001-W01", "9999-W52"])
def test_a_week_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_week(text)


def test_the_week_a_moment_falls_in_is_cut_in_the_zone():
    sunday_night = datetime(2024, 7, 21, 15, 59, tzinfo=UTC)  # 23:59 Sunday in Shanghai
    assert (week_name(sunday_night, ZONE), week_name(MONDAY, ZONE)) == ("2024-W29", "2024-W30")
    assert last_week(MONDAY + timedelta(days=3), ZONE) == "2024-W29"


def test_the_counts_line_is_the_teams():
    assert counts_line(_counts(), "zh") == "事故数AB级0次，C级0.5次，D级0次"


def test_an_event_line_is_local_time_four_spaces_the_title_and_its_grade():
    line = event_line(_event(), ZONE, "zh")
    assert line == "2024-07-23 10:04    卡类型试算准确率未达到预先设定的标准（C级）"


def test_with_its_detail_an_event_line_carries_the_summary_and_the_record():
    event = _event(summary="10：05\n执行手工结算后恢复", postmortem_url="https://wiki/pm/1")
    assert event_line(event, ZONE, "zh", "summary").endswith(
        "（C级），10：05 执行手工结算后恢复，详细记录：https://wiki/pm/1"
    )


def test_an_empty_week_says_no_events():
    assert markdown(_report(), "en").endswith("## Production events\n\n- none\n")


@given(
    st.lists(
        st.builds(
            _event,
            id=st.integers(1, 10_000),
            grade=st.sampled_from([None, "none", "A", "B", "C", "D"]),
            title=st.text(min_size=1, max_size=30),
            summary=st.text(max_size=30),
            postmortem_url=st.one_of(st.none(), st.just("https://wiki/pm/2")),
        ),
        max_size=5,
    )
)
def test_a_frozen_week_thaws_to_what_was_frozen(events):
    report = _report(events)
    assert thawed(frozen(report), ZONE) == report


def test_a_week_frozen_before_summaries_were_kept_still_thaws():
    data = frozen(_report([_event()]))
    data["events"] = [e[:10] for e in data["events"]]
    assert thawed(data, ZONE).events[0].summary == ""


def test_nothing_changed_is_no_restatement():
    assert restatements(_report([_event()]), _report([_event()])) == []


def test_a_regrade_is_restated_by_figure_and_by_incident():
    before, after = _report([_event(grade="C")]), _report([_event(grade="B")], counts=_counts("0"))
    assert restatements(before, after) == ["C级 0.5 → 0", "事故1重新定级 C级 → B级"]
