"""The incident write path works once: one suggestion per write, only the affected services'
tiers read, responsibility normalised in one place."""

import pytest

from tests.factories import incident_body
from tracker.services import incidents


@pytest.fixture
def suggestions(monkeypatch):
    made = []
    real = incidents.suggest_grade
    monkeypatch.setattr(incidents, "suggest_grade", lambda *a, **k: made.append(1) or real(*a, **k))
    return made


def test_a_create_computes_the_suggestion_once(api, gateway, suggestions):
    assert api.post("/incidents", incident_body(grade="D")).status_code == 201
    assert len(suggestions) == 1


def test_an_update_computes_the_suggestion_once(api, incident, suggestions):
    response = api.patch(f"/incidents/{incident['id']}", {"grade": "C", "location": "M6V"})
    assert response.status_code == 200 and len(suggestions) == 1


def test_a_write_reads_the_tiers_of_its_services_only(app, api, gateway, monkeypatch):
    from tracker.models import Service

    read = []
    real = Service.by_keys
    monkeypatch.setattr(Service, "by_keys", lambda keys: read.append(sorted(keys)) or real(keys))
    api.post("/incidents", incident_body())
    assert read == [["gateway"]]
