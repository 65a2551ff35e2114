"""Alertmanager's webhook (DESIGN §9): firing alerts open one triage draft per group, the same
alert sent again adds nothing, resolving proposes an end, and a draft counts nowhere until a
person accepts it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import stored_counts
from tracker.clock import utcnow

START = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
GROUP = '{}/{service=~".+"}:{alertname="PaymentErrors", service="gateway"}'


def _alert(fingerprint="a1b2c3", status="firing", starts=START, ends=None, **labels):
    return {
        "status": status,
        "labels": {"alertname": "PaymentErrors", "service": "gateway", **labels},
        "annotations": {"summary": "支付网关错误率升高"},
        "startsAt": starts.isoformat().replace("+00:00", ".123456789Z"),
        "endsAt": (ends.isoformat().replace("+00:00", "Z") if ends else "0001-01-01T00:00:00Z"),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=errors",
        "fingerprint": fingerprint,
    }


def _body(*alerts, group=GROUP, status="firing"):
    return {
        "version": "4",
        "groupKey": group,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "tracker",
        "groupLabels": {"alertname": "PaymentErrors"},
        "commonLabels": {"alertname": "PaymentErrors"},
        "commonAnnotations": {"summary": "支付网关错误率升高"},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts) or [_alert()],
    }


def _post(api, body):
    return api.post("/alerts/alertmanager", body, role="ingest")


def _drafts(api):
    return api.get("/incidents", status="triage").get_json()["items"]


def test_a_firing_alert_opens_a_triage_draft_from_its_start(api, gateway):
    answer = _post(api, _body())
    assert answer.status_code == 200, answer.get_json()
    (draft,) = _drafts(api)
    assert answer.get_json() == {"alerts": 1, "incidents": [draft["id"]]}
    assert (draft["title"], draft["grade"], draft["services"]) == (
        "支付网关错误率升高",
        None,
        ["gateway"],
    )
    assert (
        draft["impact_started_at"]
        == draft["detected_at"]
        == START.isoformat().replace("+00:00", ".123456Z")
    )


def test_the_same_notification_ten_times_makes_one_draft_one_alert_one_entry(api, gateway):
    for _ in range(10):
        assert _post(api, _body()).status_code == 200
    (draft,) = _drafts(api)
    assert len(api.get(f"/incidents/{draft['id']}/alerts").get_json()["items"]) == 1
    assert len(api.get(f"/incidents/{draft['id']}/timeline").get_json()["items"]) == 1


def test_a_later_alert_of_the_group_joins_the_draft(api, gateway):
    _post(api, _body())
    _post(api, _body(_alert(), _alert("d4e5f6", starts=START + timedelta(minutes=3))))
    (draft,) = _drafts(api)
    assert len(api.get(f"/incidents/{draft['id']}/alerts").get_json()["items"]) == 2


def test_resolving_every_alert_proposes_the_end_but_never_sets_mitigated_at(api, gateway):
    _post(api, _body())
    ends = START + timedelta(minutes=20)
    _post(api, _body(_alert(status="resolved", ends=ends), status="resolved"))
    (draft,) = _drafts(api)
    assert draft["alerts_resolved_at"] == ends.isoformat().replace("+00:00", "Z")
    assert draft["mitigated_at"] is None
    texts = [e["text"] for e in api.get(f"/incidents/{draft['id']}/timeline").get_json()["items"]]
    assert texts == [
        "告警触发：PaymentErrors — 支付网关错误率升高",
        "告警恢复：PaymentErrors — 支付网关错误率升高",
    ]


def test_a_draft_counts_nowhere_until_a_person_accepts_it(api, gateway):
    _post(api, _body())
    ytd = {"service": "gateway", "window": "ytd"}
    assert api.get("/slo/availability", **ytd).get_json()["downtime_seconds"] == 0
    (draft,) = _drafts(api)
    accepted = api.patch(f"/incidents/{draft['id']}", {"status": "open"}, role="responder")
    assert accepted.status_code == 200, accepted.get_json()
    assert api.get("/slo/availability", **ytd).get_json()["downtime_seconds"] > 0


def test_accepting_a_draft_needs_a_service(api, gateway):
    _post(api, _body(_alert(service="unknown-service")))
    (draft,) = _drafts(api)
    assert draft["services"] == []
    refused = api.patch(f"/incidents/{draft['id']}", {"status": "open"}, role="responder")
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "services"


def test_an_ingest_token_can_neither_accept_nor_grade_a_draft(api, gateway):
    _post(api, _body())
    (draft,) = _drafts(api)
    for change in ({"status": "open"}, {"grade": "C"}):
        assert api.patch(f"/incidents/{draft['id']}", change, role="ingest").status_code == 403


@pytest.fixture
def settings_overrides():
    return {"alerts": {"ignore": {"severity": ["info"]}, "service_map": {"pay-gw": "gateway"}}}


def test_ignored_alerts_are_dropped_and_mapped_labels_name_their_service(api, gateway):
    assert _post(api, _body(_alert(severity="info"))).get_json()["incidents"] == []
    _post(api, _body(_alert("f00d", service="pay-gw")))
    (draft,) = _drafts(api)
    assert draft["services"] == ["gateway"]


def test_a_draft_merges_into_an_incident_already_logged(api, gateway, incident):
    _post(api, _body())
    (draft,) = _drafts(api)
    merged = api.post(f"/incidents/{draft['id']}/merge", {"into": incident["id"]}, role="responder")
    assert merged.status_code == 200, merged.get_json()
    assert len(api.get(f"/incidents/{incident['id']}/alerts").get_json()["items"]) == 1
    assert api.get(f"/incidents/{draft['id']}").get_json()["status"] == "cancelled"


def test_a_dismissed_draft_is_cancelled_with_its_reason(api, gateway):
    _post(api, _body())
    (draft,) = _drafts(api)
    dismissed = api.post(
        f"/incidents/{draft['id']}/dismiss", {"reason": "演练告警"}, role="responder"
    )
    assert dismissed.get_json()["status"] == "cancelled"
    texts = [e["text"] for e in api.get(f"/incidents/{draft['id']}/timeline").get_json()["items"]]
    assert "忽略告警草稿：演练告警" in texts


@pytest.mark.parametrize(
    ("alert", "field"),
    [
        ({"fingerprint": ""}, "alerts[0].fingerprint"),
        ({"startsAt": "2026-12-01 10:00"}, "alerts[0].startsAt"),
        ({"startsAt": "1733050000"}, "alerts[0].startsAt"),
        ({"labels": {"alertname": "x" * (1 << 20)}}, "alerts[0].labels.alertname"),
        ({"labels": {"alertname": "a\u0000b"}}, "alerts[0].labels.alertname"),
        ({"status": "burning"}, "alerts[0].status"),
    ],
)
def test_a_bad_alert_is_refused_naming_its_field_and_nothing_is_stored(
    app, api, gateway, alert, field
):
    before = stored_counts(app)
    answer = _post(api, _body({**_alert(), **alert}))
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == field
    assert stored_counts(app) == before


def test_a_body_without_a_fingerprint_or_json_is_refused(app, api, gateway):
    missing = _alert()
    del missing["fingerprint"]
    assert _post(api, _body(missing)).status_code == 422
    malformed = api.client.post(
        "/api/v1/alerts/alertmanager",
        data=b"{not json",
        headers={
            "Authorization": f"Bearer {api.tokens['ingest']}",
            "Content-Type": "application/json",
        },
    )
    assert malformed.status_code == 400


def test_more_alerts_than_max_per_request_is_a_413_storing_nothing(app, api, gateway):
    before = stored_counts(app)
    many = [_alert(f"f{n:05d}") for n in range(1001)]
    answer = _post(api, _body(*many))
    assert answer.status_code == 413 and answer.mimetype == "application/problem+json"
    assert stored_counts(app) == before
