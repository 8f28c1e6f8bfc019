"""/api/v1/alert-rules/ (admins only) and /api/v1/alerts/ (visibility by the response's team)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertRule
from alerts.services import alerts_raise_for_response
from tests.alerts.helpers import customer, defaults_off, response, rule

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alert-rules/"


@pytest.mark.parametrize("who", ["alice", "mia"])
def test_non_admins_cannot_reach_rules(api_client, personas, who):
    """Rules are an admin area: for anyone else it does not exist (accounts.permissions)."""
    api_client.force_authenticate(getattr(personas, who))
    assert api_client.get(RULES).status_code == 404
    assert api_client.post(RULES, {"name": "x", "threshold": 3}, format="json").status_code == 404
    assert api_client.post(RULES + "backtest/", {"threshold": 3}, format="json").status_code == 404
    assert not AlertRule.objects.filter(name="x").exists()


def test_anonymous_is_401(api_client):
    assert api_client.get(RULES).status_code == 401


def test_admin_crud_with_summary_and_validation(api_client, personas):
    api_client.force_authenticate(personas.adam)
    created = api_client.post(RULES, {
        "name": "Rude", "metric": "nps", "threshold": 10, "keywords": ["rude", "refund"],
        "case_priority": "high", "case_team": personas.north.pk,
    }, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["summary"].startswith("When NPS is 10 or less with a comment mentioning “rude” or “refund”, open a High")
    assert body["scale"] == [0, 10]
    rule_url = f"{RULES}{body['id']}/"
    bad = api_client.patch(rule_url, {"threshold": 12}, format="json")
    assert bad.status_code == 400 and "outside the NPS scale" in bad.json()["threshold"][0]
    bad = api_client.patch(rule_url, {"keyword_mode": "all", "keywords": []}, format="json")
    assert bad.status_code == 400 and "keywords" in bad.json()
    stored = AlertRule.objects.get(pk=body["id"])
    assert (stored.threshold, stored.keyword_mode) == (10, body["keyword_mode"]), "refused edits wrote nothing"
    assert api_client.patch(rule_url, {"active": False}, format="json").json()["active"] is False
    assert AlertRule.objects.get(pk=body["id"]).active is False
    listed = api_client.get(RULES).json()["results"]
    assert "Rude" in [r["name"] for r in listed]
    assert api_client.delete(rule_url).status_code == 204
    assert not AlertRule.objects.filter(pk=body["id"]).exists()


def test_deleting_a_rule_with_alerts_is_a_conflict(api_client, personas):
    defaults_off()
    used = rule(name="Used", action="praise")
    alerts_raise_for_response(response=response(nps=1, cust=customer()))
    api_client.force_authenticate(personas.adam)
    answer = api_client.delete(f"{RULES}{used.pk}/")
    assert answer.status_code == 409 and "disable it instead" in answer.json()["detail"]
    assert AlertRule.objects.filter(pk=used.pk).exists()


def test_backtest_a_draft_and_a_saved_rule(api_client, personas):
    now = timezone.now()
    for nps, days in [(2, 1), (8, 2), (5, 40)]:
        response(nps=nps, cust=customer(), team=personas.north, answered_at=now - dt.timedelta(days=days))
    api_client.force_authenticate(personas.adam)
    draft = api_client.post(RULES + "backtest/", {"metric": "nps", "threshold": 6, "days": 30}, format="json")
    assert draft.status_code == 200, draft.json()
    assert (draft.json()["alerts"], draft.json()["cases"], draft.json()["scanned"]) == (1, 1, 2)
    assert draft.json()["by_team"] == [{"name": "North", "alerts": 1, "cases": 1}]
    assert not AlertRule.objects.filter(name="Draft rule").exists()
    bad = api_client.post(RULES + "backtest/", {"metric": "nps", "threshold": 60}, format="json")
    assert bad.status_code == 400 and "threshold" in bad.json()
    saved = rule(name="Saved", threshold=8)
    answer = api_client.post(f"{RULES}{saved.pk}/backtest/", {"days": 60}, format="json")
    assert answer.status_code == 200 and answer.json()["alerts"] == 3


def test_alerts_are_visible_through_the_response_team(api_client, personas):
    defaults_off()
    rule(name="Detractor", action="praise")
    north = response(nps=1, cust=customer(), team=personas.north, touchpoint="Store visit")
    south = response(nps=1, cust=customer(), team=personas.south)
    for r in (north, south):
        alerts_raise_for_response(response=r)
    api_client.force_authenticate(personas.alice)
    seen = api_client.get("/api/v1/alerts/").json()["results"]
    assert [a["response"] for a in seen] == [north.pk]
    assert seen[0]["reasons"] == ["NPS 1 is at most 6"]
    assert api_client.get(f"/api/v1/alerts/{Alert.objects.get(response=south).pk}/").status_code == 404
    api_client.force_authenticate(personas.adam)
    assert len(api_client.get("/api/v1/alerts/").json()["results"]) == 2
    filtered = api_client.get("/api/v1/alerts/", {"team": personas.south.pk, "action": "praise"}).json()["results"]
    assert [a["response"] for a in filtered] == [south.pk]
    assert api_client.get("/api/v1/alerts/", {"touchpoint": "store visit"}).json()["count"] == 1


@pytest.mark.parametrize("url, param", [
    ("/api/v1/alerts/", "created_after"),
    ("/api/v1/responses/", "answered_after"),
    ("/api/v1/recognitions/", "created_after"),
])
def test_a_time_offset_postgresql_refuses_is_read_in_utc(api_client, personas, url, param):
    """Python accepts offsets up to 23:59, PostgreSQL only to 15:59: the schema fuzzer's
    `-19:35` answered 500 until date filters were read in UTC (core.filters)."""
    defaults_off()
    rule(name="Detractor", action="praise")
    alerts_raise_for_response(response=response(nps=1, cust=customer(), team=personas.north))
    api_client.force_authenticate(personas.adam)
    later = api_client.get(url, {param: "4330-10-08T06:40:36-19:35"})
    assert (later.status_code, later.json()["count"]) == (200, 0)
    earlier = api_client.get(url, {param: "2000-01-01T00:00:00-19:35"})
    assert earlier.status_code == 200
    assert earlier.json()["count"] == api_client.get(url).json()["count"]
