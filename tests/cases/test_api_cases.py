"""/api/v1/cases/: status codes a client relies on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Case
from cases.services import case_claim, case_close
from tests.cases.conftest import make_customer, make_response, open_case, root_cause

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_alice(api_client, personas):
    api_client.force_authenticate(personas.alice)
    return api_client


def url(case, action=""):
    return f"/api/v1/cases/{case.reference}/" + (f"{action}/" if action else "")


def test_list_filters_and_hides_other_teams(as_alice, personas):
    mine = open_case(make_response(make_customer(name="Zoë Quinn"), comment="Rude driver"))
    late = open_case()
    Case.objects.filter(pk=late.pk).update(first_contact_due=timezone.now() - dt.timedelta(hours=1))
    hidden = open_case()
    Case.objects.filter(pk=hidden.pk).update(team=personas.south)
    refs = lambda r: [row["reference"] for row in r.json()["results"]]  # noqa: E731
    assert as_alice.get("/api/v1/cases/").status_code == 200
    assert set(refs(as_alice.get("/api/v1/cases/"))) == {mine.reference, late.reference}
    assert refs(as_alice.get("/api/v1/cases/?status=overdue")) == [late.reference]
    assert refs(as_alice.get("/api/v1/cases/?q=quinn")) == [mine.reference]
    assert refs(as_alice.get("/api/v1/cases/?q=rude")) == [mine.reference]
    assert refs(as_alice.get("/api/v1/cases/"))[0] == late.reference  # overdue first
    today = timezone.now().date().isoformat()
    assert len(refs(as_alice.get(f"/api/v1/cases/?created_after={today}&touchpoint=delivery"))) == 2


def test_retrieve_has_the_timeline_and_an_etag(as_alice):
    case = open_case()
    response = as_alice.get(url(case))
    assert response.status_code == 200 and response["ETag"] == '"1"'
    body = response.json()
    assert body["timeline"][0]["kind"] == "opened" and body["sla"]["level"] in ("ok", "due_soon")
    assert as_alice.get(f"/api/v1/cases/{case.pk}/").status_code == 200


def test_an_invisible_case_is_404_for_every_method(api_client, personas):
    case = open_case()
    api_client.force_authenticate(personas.charlie)
    assert api_client.get(url(case)).status_code == 404
    assert api_client.post(url(case, "claim")).status_code == 404
    assert api_client.patch(url(case), {"status": "closed"}, format="json").status_code == 404


def test_claim_then_someone_else_claims_409_naming_who(as_alice, api_client, personas):
    case = open_case()
    assert as_alice.post(url(case, "claim")).status_code == 200
    api_client.force_authenticate(personas.bob)
    response = api_client.post(url(case, "claim"))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("alice claimed this case at ")


def test_closing_without_fields_is_400_naming_each(as_alice):
    case = open_case()
    response = as_alice.post(url(case, "close"), {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"root_cause", "resolution", "outcome"}
    ok = as_alice.post(url(case, "close"), {"root_cause": root_cause().pk, "resolution": "Refunded",
                                            "outcome": "resolved", "prevention": "Check parcels"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "closed"


def test_an_illegal_transition_is_400(as_alice, personas):
    case = open_case()
    case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution="x", outcome="resolved")
    response = as_alice.post(url(case, "start"))
    assert response.status_code == 400 and "closed case" in response.json()["status"][0]
    case.refresh_from_db()
    assert (case.status, case.version) == ("closed", 2), "the refused start changed nothing"


def test_status_cannot_be_patched(as_alice):
    case = open_case()
    response = as_alice.patch(url(case), {"status": "closed", "resolution_due": "2030-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"status", "resolution_due"}
    assert as_alice.put(url(case), {"status": "closed"}, format="json").status_code == 405
    case.refresh_from_db()
    assert case.status == "new" and case.version == 1


def test_stale_edits_get_412_with_if_match_and_409_with_expected_version(as_alice, personas):
    case = open_case()
    case_claim(case_id=case.pk, by=personas.alice)
    stale = as_alice.post(url(case, "note"), {"note": "Called"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412 and "alice claimed this case" in stale.json()["detail"]
    assert as_alice.post(url(case, "note"), {"note": "Called", "expected_version": 1}, format="json").status_code == 409
    fresh = as_alice.post(url(case, "note"), {"note": "Called"}, format="json", HTTP_IF_MATCH='"2"')
    assert fresh.status_code == 200 and fresh["ETag"] == '"3"'
    assert case.events.filter(kind="note").count() == 1, "only the fresh edit was written"


def test_each_action_goes_through_its_service(as_alice, personas):
    case = open_case()
    assert as_alice.post(url(case, "start")).json()["status"] == "in_progress"
    contact = as_alice.post(url(case, "log-contact"), {"channel": "phone", "outcome": "no_answer"}, format="json")
    assert contact.status_code == 200 and contact.json()["first_contacted_at"] is None, "nobody was reached"
    contact = as_alice.post(url(case, "log-contact"), {"channel": "phone", "outcome": "reached"}, format="json")
    assert contact.status_code == 200 and contact.json()["first_contacted_at"]
    assert as_alice.post(url(case, "priority"), {"priority": "high"}, format="json").json()["priority"] == "high"
    assign = as_alice.post(url(case, "assign"), {"assignee": personas.bob.pk}, format="json")
    assert assign.json()["assignee"]["username"] == "bob"
    draft = as_alice.get(url(case, "email-draft")).json()
    # Written for the customer: their own words, no metric name or scale (issue #21).
    assert "The parcel arrived broken." in draft["body"] and "NPS" not in draft["body"]
    sent = as_alice.post(url(case, "email"), {"subject": draft["subject"], "body": draft["body"]}, format="json")
    assert sent.status_code == 200
    closed = as_alice.post(url(case, "close"), {"root_cause": root_cause().pk, "resolution": "Sent a new one",
                                                "outcome": "resolved"}, format="json")
    reopened = as_alice.post(url(case, "reopen"), {"reason": "Customer wrote again"}, format="json")
    assert closed.status_code == 200 and reopened.json()["status"] == "in_progress"
    kinds = [e["kind"] for e in reopened.json()["timeline"]]
    assert kinds.count("contact") == 3 and kinds[-1] == "reopened"


def test_customer_history_lists_responses_and_cases_newest_first(as_alice, api_client, personas):
    customer = make_customer()
    old = make_response(customer, nps=9, answered_at=timezone.now() - dt.timedelta(days=3))
    old.team = personas.north
    old.save()
    open_case(make_response(customer, nps=2), customer=customer)
    body = as_alice.get(f"/api/v1/customers/{customer.pk}/history/").json()
    assert [item["type"] for item in body["items"]] == ["case", "response", "response"]
    assert body["items"][-1]["id"] == old.pk
    assert as_alice.get(f"/api/v1/customer-history/{customer.pk}/").status_code == 200
    api_client.force_authenticate(personas.charlie)
    assert api_client.get(f"/api/v1/customers/{customer.pk}/history/").status_code == 404


def test_root_causes_list_only_active_ones(as_alice):
    from cases.models import RootCause

    RootCause.objects.filter(name="Lost").update(active=False)
    labels = [c["label"] for c in as_alice.get("/api/v1/root-causes/").json()]
    assert "Delivery > Late" in labels and "Delivery > Lost" not in labels
    assert "Delivery > Lost" in [c["label"] for c in as_alice.get("/api/v1/root-causes/?include_retired=1").json()]
