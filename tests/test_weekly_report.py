"""The weekly review (DESIGN §7): golden copies of the team's seed weeks, edges, formats."""

import csv
import io
import json
from pathlib import Path

import pytest

from tests.factories import counts_body, incident_body, service_body
from tracker.cli import main

GOLDEN = Path(__file__).parent / "golden"
HALF_OURS = [
    {"party": "payments", "share": 0.5},
    {"party": "银商", "share": 0.5, "internal": False},
]
W30_EVENTS = [
    (
        "2024-07-23T10:30:00+08:00",
        "武汉明瑞馨房地产经纪有限公司，在2022年7月24日因普租业务（合同编号：400003957663）收佣时，"
        "用户重复支付，我们将其中一笔原路退回，这种原路退款不从B户垫资手续费，而是从商户A户资金池挖了8.4元"
        "补足手续费，造成商户A户资金缺口。2024年5月31日，该商户普租业务（合同编号:400010027139）因此资金"
        "缺口无法完成分账，需从手续费账户将8.4元的资金缺口转至商户理房通账户。",
    ),
    (
        "2024-07-23T10:42:00+08:00",
        "平安上传备件导致M6V机房互联网出口带宽被打满，处理：把平安上传备件的定时任务改为晚上12点之后执行。",
    ),
    ("2024-07-23T21:00:00+08:00", "因AIgc execute的问题，导致商户小助手问答无响应"),
    ("2024-07-24T12:07:00+08:00", "因aigc平台GPT3.5的ak失败，导致商户小助手问答无响应"),
    ("2024-07-24T19:24:00+08:00", "AI审核-针对OCR2.0 识别通道做限流导致报502异常,19:33  回滚完成"),
]
W2_EVENTS = [
    (
        "2024-01-06T14:01:00+08:00",
        "监控发现14:01--14:03 M6V机房互联网出口电信方面抖动，运营商已处理，系统服务正常。",
    ),
    ("2024-01-10T13:41:00+08:00", "监控发现进件操作失误，导致取签约地址返回500。未影响业务。"),
]


def _counts(api, minute, direction, scope, outcomes):
    body = counts_body(minute, direction, scope, outcomes)
    assert api.post("/payments/counts", body, role="ingest").status_code == 200


def _event(api, detected_at, title, **fields):
    body = incident_body(
        title=title,
        detected_at=detected_at,
        mitigated_at=None,
        grade="none",
        counts_toward_availability=False,
        **fields,
    )
    response = api.post("/incidents", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def week_30(api, gateway):
    """2024-W30 as the team reported it."""
    api.post(
        "/incidents",
        incident_body(
            title="卡类型试算准确率未达到预先设定的标准，清结算POS自动结算未执行 ，"
            "10：05执行手工结算后恢复。原因银商反馈8笔是银商连通卡测试交易（金额都是0.01）, "
            "因银商侧内部系统计费问题导致没有正常给理房通下发对账文件，"
            "导致POS交易系统计算卡类型准确率不达标，影响POS交易整体结算",
            impact_started_at="2024-07-23T10:00:00+08:00",
            detected_at="2024-07-23T10:04:00+08:00",
            mitigated_at="2024-07-23T10:05:00+08:00",
            impact_ratio=1.0,
            grade="C",
            responsibility=HALF_OURS,
        ),
    )
    for detected_at, title in W30_EVENTS:
        _event(api, detected_at, title)
    _event(api, "2024-07-24T08:00:00+08:00", "误报，已取消", status="cancelled")
    _counts(
        api,
        "2024-07-23T10:04:00+08:00",
        "pay_in",
        "final",
        [("success", 99_999), ("system", 1), ("user", 321), ("risk", 4)],
    )
    _counts(
        api,
        "2024-07-24T09:00:00+08:00",
        "pay_out",
        "final",
        [("success", 99_994), ("channel", 6), ("bank_decline", 40)],
    )


@pytest.fixture
def week_2(api, gateway):
    """2024-W2 as the team reported it. Their hand-written week ran from report to report, so
    it listed a Saturday (1/6) that belongs to ISO week 2024-W1 (Jan 1-7); DESIGN §7 cuts
    reports by ISO week, so that event shows in W1."""
    for detected_at, title in W2_EVENTS:
        _event(api, detected_at, title)
    _counts(
        api,
        "2024-01-09T11:00:00+08:00",
        "pay_in",
        "final",
        [("success", 99_994), ("system", 6), ("user", 50)],
    )
    _counts(
        api, "2024-01-09T11:00:00+08:00", "pay_out", "final", [("success", 99_989), ("channel", 11)]
    )
    _counts(
        api,
        "2024-01-09T11:00:00+08:00",
        "pay_in",
        "first_attempt",
        [("success", 99_036), ("channel", 964), ("pending", 3)],
    )


def _report(api, week, **params):
    response = api.get(f"/reports/weekly/{week}", **params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_week_30_reproduces_the_team_s_report(api, week_30):
    response = _report(api, "2024-W30")
    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.get_data(as_text=True) == (GOLDEN / "2024-W30.zh.md").read_text()


def test_week_2_reproduces_the_team_s_report(api, week_2):
    text = _report(api, "2024-W2").get_data(as_text=True)
    assert text == (GOLDEN / "2024-W2.zh.md").read_text()


def test_an_event_belongs_to_the_iso_week_it_was_detected_in(api, week_2):
    text = _report(api, "2024-W1").get_data(as_text=True)
    assert "- 2024-01-06 14:01    监控发现14:01--14:03 M6V机房" in text


def test_the_report_in_english(api, week_30):
    text = _report(api, "2024-W30", lang="en").get_data(as_text=True)
    assert text == (GOLDEN / "2024-W30.en.md").read_text()


def test_json_carries_raw_values_beside_the_display(api, week_30):
    body = json.loads(_report(api, "2024-W30", format="json").get_data())
    pay_in = body["rates"][0]
    assert (pay_in["numerator"], pay_in["denominator"], pay_in["display"]) == (
        99_999,
        100_000,
        "99.999%",
    )
    assert body["availability"]["downtime_seconds"] == 300
    assert body["incidents"]["C"] == {"attributed": "0.5", "distinct": 1}
    assert [e["local_time"] for e in body["events"]][:2] == ["2024-07-23 10:04", "2024-07-23 10:30"]


def test_csv_has_a_row_per_figure_and_per_event(api, week_30):
    rows = list(
        csv.DictReader(io.StringIO(_report(api, "2024-W30", format="csv").get_data(as_text=True)))
    )
    sections = [r["section"] for r in rows]
    assert sections.count("rate") == 3 and sections.count("event") == 6
    assert {r["key"]: r["display"] for r in rows if r["section"] == "incidents"}["C"] == "0.5"


def test_cancelled_records_are_absent(api, week_30):
    assert "误报" not in _report(api, "2024-W30").get_data(as_text=True)


def test_week_edges_are_local_midnights(api, gateway):
    _event(api, "2024-07-22T00:30:00+08:00", "周一凌晨")
    _event(api, "2024-07-29T00:00:00+08:00", "下周一零点")
    _event(api, "2024-07-21T23:59:00+08:00", "上周日深夜")
    text = _report(api, "2024-W30").get_data(as_text=True)
    assert "周一凌晨" in text and "下周一零点" not in text and "上周日深夜" not in text


def test_counts_at_the_week_edges(api, gateway):
    _counts(api, "2024-07-22T00:30:00+08:00", "pay_in", "final", [("success", 3)])
    _counts(api, "2024-07-29T00:00:00+08:00", "pay_in", "final", [("system", 5)])
    body = json.loads(_report(api, "2024-W30", format="json").get_data())
    assert (body["rates"][0]["numerator"], body["rates"][0]["denominator"]) == (3, 3)


def test_truncation_never_rounds_up(api, gateway):
    _counts(
        api, "2024-07-23T10:00:00+08:00", "pay_in", "final", [("success", 999_999), ("system", 1)]
    )
    assert "入金有效成功率：99.999%" in _report(api, "2024-W30").get_data(as_text=True)


def test_an_empty_week_says_no_data_and_no_events(api, gateway):
    text = _report(api, "2024-W30").get_data(as_text=True)
    assert "入金有效成功率：无数据" in text and text.endswith("## 【生产事件】\n\n- 无\n")


@pytest.mark.parametrize(
    "week", ["2021-W53", "2024-W00", "2024-W54", "2024-30", "someday", "2999-W01"]
)
def test_a_week_that_does_not_exist_is_404(api, gateway, week):
    response = api.get(f"/reports/weekly/{week}")
    assert (response.status_code, response.mimetype) == (404, "application/problem+json")


def test_an_unknown_format_is_422(api, gateway):
    assert api.get("/reports/weekly/2024-W30", format="pdf").status_code == 422


def test_the_cli_writes_the_report(runner, week_30, tmp_path):
    out = tmp_path / "w30.md"
    result = runner.invoke(main, ["report", "weekly", "--week", "2024-W30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (GOLDEN / "2024-W30.zh.md").read_text()


def _export(app, week="2024-W30"):
    from tracker.clock import utcnow
    from tracker.db import database
    from tracker.services.reports import export_weekly

    settings = app.extensions["tracker.settings"]
    with app.app_context(), database.connection_context():
        return export_weekly(week, now=utcnow(), settings=settings, actor="test")


def test_the_weekly_export_writes_markdown_and_json(app, week_30):
    written = _export(app)
    names = ["2024-W30.zh.md", "2024-W30.en.md", "2024-W30.json", "2024-W30.png"]
    assert [p.name for p in written] == names
    assert written[0].read_text() == (GOLDEN / "2024-W30.zh.md").read_text()


def _c_incident(api):
    return api.get("/incidents", grade="C").get_json()["items"][0]


def test_an_exported_week_is_frozen_as_presented(app, api, week_30):
    _export(app)
    incident = _c_incident(api)
    api.patch(f"/incidents/{incident['id']}", {"responsibility": []})
    text = _report(api, "2024-W30").get_data(as_text=True)
    assert "- 事故数AB级0次，C级0.5次，D级0次\n" in text
    assert f"- 更正：C级 0.5 → 1；事故{incident['id']}重新定责 0.5 → 1\n" in text


def test_a_restatement_in_english_names_the_incident(app, api, week_30):
    _export(app)
    incident = _c_incident(api)
    api.patch(f"/incidents/{incident['id']}", {"grade": "B"})
    text = _report(api, "2024-W30", lang="en").get_data(as_text=True)
    assert f"- Restated: AB 0 → 0.5; C 0.5 → 0; incident {incident['id']} regraded C → B" in text


def test_retimed_added_and_withdrawn_incidents_are_restated(app, api, week_30):
    _export(app)
    incident = _c_incident(api)
    api.patch(f"/incidents/{incident['id']}", {"mitigated_at": "2024-07-23T10:06:00+08:00"})
    late = _event(api, "2024-07-25T09:00:00+08:00", "补录的事件")
    noise = api.get("/incidents", q="GPT3.5").get_json()["items"][0]
    api.patch(f"/incidents/{noise['id']}", {"status": "cancelled"})
    notes = json.loads(_report(api, "2024-W30", format="json").get_data())["restatements"]
    assert f"事故{incident['id']}时间更正" in notes and f"事故{late['id']}补录" in notes
    assert f"事故{noise['id']}撤销" in notes


def test_an_unchanged_frozen_week_reads_as_exported(app, api, week_30):
    _export(app)
    text = _report(api, "2024-W30").get_data(as_text=True)
    assert text == (GOLDEN / "2024-W30.zh.md").read_text()


def test_freezing_is_audited_once(app, api, week_30):
    _export(app)
    _export(app)
    records = api.get("/audit", entity="weekly_review").get_json()["items"]
    assert [r["entity_id"] for r in records] == ["2024-W30"]


def test_the_current_week_is_not_frozen(app, api, gateway):
    from datetime import UTC, datetime

    from tracker.core.weekly.model import week_name

    week = week_name(datetime.now(UTC), app.extensions["tracker.settings"].zone)
    _export(app, week)
    assert api.get("/audit", entity="weekly_review").get_json()["items"] == []


def test_a_service_body_is_not_needed_for_an_empty_week(api):
    api.post("/services", service_body("ledger"))
    assert _report(api, "2024-W30").status_code == 200


def _story_week(api):
    """A graded event whose summary tells the story, with its record, and one without."""
    api.post(
        "/incidents",
        incident_body(
            title="卡类型试算准确率未达到预先设定的标准，清结算POS自动结算未执行",
            summary="10：05执行手工结算后恢复。\n原因：银商未下发对账文件",
            grade="C",
            postmortem_url="https://wiki.example/postmortems/2024-07-23",
        ),
    )
    _event(api, "2024-07-23T10:42:00+08:00", "M6V机房出口带宽被打满")


def test_detail_summary_continues_each_line_with_its_summary_and_record_link(api, gateway):
    _story_week(api)
    text = _report(api, "2024-W30", detail="summary").get_data(as_text=True)
    assert (
        "- 2024-07-23 10:04    卡类型试算准确率未达到预先设定的标准，清结算POS自动结算未执行（C级）"
        "，10：05执行手工结算后恢复。 原因：银商未下发对账文件"
        "，详细记录：https://wiki.example/postmortems/2024-07-23\n"
    ) in text
    assert "- 2024-07-23 10:42    M6V机房出口带宽被打满\n" in text


def test_detail_in_english_names_the_record(api, gateway):
    _story_week(api)
    text = _report(api, "2024-W30", detail="summary", lang="en").get_data(as_text=True)
    assert "; Record: https://wiki.example/postmortems/2024-07-23\n" in text


@pytest.mark.parametrize("settings_overrides", [{"report": {"event_detail": "summary"}}])
def test_the_event_detail_setting_is_the_default_and_a_request_may_ask_otherwise(api, gateway):
    _story_week(api)
    detailed = _report(api, "2024-W30").get_data(as_text=True)
    titles = _report(api, "2024-W30", detail="title").get_data(as_text=True)
    assert "，10：05执行手工结算后恢复" in detailed and "10：05" not in titles


def test_a_regrade_is_restated_in_chinese_words(app, api, week_30):
    _export(app)
    noise = api.get("/incidents", q="GPT3.5").get_json()["items"][0]
    api.patch(f"/incidents/{noise['id']}", {"grade": "D"})
    text = _report(api, "2024-W30").get_data(as_text=True)
    assert f"- 更正：D级 0 → 1；事故{noise['id']}重新定级 不定级 → D级\n" in text
