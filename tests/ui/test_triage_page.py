"""The triage queue: drafts from alerts lead the navigation while they wait, and a person
accepts, merges or dismisses each from the page."""

from datetime import timedelta

from tests.api.test_alert_intake import _alert, _body
from tracker.clock import utcnow


def _draft(api) -> int:
    assert api.post("/alerts/alertmanager", _body(), role="ingest").status_code == 200
    return api.get("/incidents", status="triage").get_json()["items"][0]["id"]


def test_waiting_drafts_lead_the_navigation_with_their_count(responder, api, gateway):
    assert "待处理告警" not in responder.get("/").get_data(as_text=True)
    _draft(api)
    page = responder.get("/").get_data(as_text=True)
    assert 'href="/triage"' in page and '<span class="count">1</span>' in page


def test_the_queue_shows_each_draft_with_its_alerts_and_their_source(responder, api, gateway):
    _draft(api)
    page = responder.get("/triage").get_data(as_text=True)
    assert "支付网关错误率升高" in page and "PaymentErrors" in page
    assert 'href="http://prometheus:9090/graph?g0.expr=errors"' in page


def test_accepting_a_draft_from_the_page_makes_it_an_incident(responder, api, gateway):
    draft = _draft(api)
    form = {"services": "gateway", "status": "open"}
    assert responder.post(f"/triage/{draft}/accept", form).status_code == 302
    assert api.get(f"/incidents/{draft}").get_json()["status"] == "open"


def test_accepting_without_a_service_says_so_on_the_page(responder, api, gateway):
    draft = _draft(api)
    answer = responder.post(f"/triage/{draft}/accept", {"status": "open"})
    assert answer.status_code == 422 and "服务：至少选1项" in answer.get_data(as_text=True)


def test_dismissing_needs_a_reason_and_then_cancels_the_draft(responder, api, gateway):
    draft = _draft(api)
    assert responder.post(f"/triage/{draft}/dismiss", {"reason": ""}).status_code == 422
    assert responder.post(f"/triage/{draft}/dismiss", {"reason": "演练"}).status_code == 302
    assert api.get(f"/incidents/{draft}").get_json()["status"] == "cancelled"


def test_a_resolved_group_proposes_its_end_as_the_mitigation_time(responder, api, gateway):
    draft = _draft(api)
    ends = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    resolved = _body(_alert(status="resolved", ends=ends), status="resolved")
    api.post("/alerts/alertmanager", resolved, role="ingest")
    page = responder.get("/triage").get_data(as_text=True)
    assert "作为止损时间" in page and f'data-fill="mitigated-{draft}"' in page
