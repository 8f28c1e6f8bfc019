"""/api/v1/sources/ for integrators: CX admins list, create, read and change webhook sources
(the secret is shown once, on create), and send a test delivery through the webhook door.
Anonymous callers get 401, everyone else 404 (accounts.permissions)."""

from __future__ import annotations

import pytest

from alerts.defaults import default_rules_ensure
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery, WebhookSource
from surveys.services import source_create

pytestmark = pytest.mark.django_db


def test_only_cx_admins_use_it(api_client, personas):
    source_create(name="G", slug="g", vendor="generic")
    assert api_client.get("/api/v1/sources/").status_code == 401
    for user in (personas.alice, personas.mia):
        api_client.force_authenticate(user)
        assert api_client.get("/api/v1/sources/").status_code == 404
        assert api_client.get("/api/v1/sources/g/").status_code == 404
        assert api_client.post("/api/v1/sources/", {"name": "X", "vendor": "generic"}, format="json").status_code == 404
        assert api_client.post("/api/v1/sources/g/test-delivery/").status_code == 404
    assert WebhookSource.objects.count() == 1 and not WebhookDelivery.objects.exists()


def test_create_shows_the_secret_once_and_reads_never_do(api_client, personas):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/sources/", {
        "name": "Helpdesk CSAT", "vendor": "generic", "auth": {"mode": "token"},
        "mapping": {"csat": "ticket.rating", "csat_scale": "0-1", "csat_values": "Good, I'm satisfied=1; Bad, I'm unsatisfied=0",
                    "response_id": "ticket.id"}}, format="json")
    assert created.status_code == 201
    body = created.json()
    source = WebhookSource.objects.get(slug="helpdesk-csat")
    assert body == {
        "id": source.pk, "name": "Helpdesk CSAT", "slug": "helpdesk-csat", "vendor": "generic",
        "url": "http://127.0.0.1:8000/webhooks/helpdesk-csat/", "secret": source.secret, "auth": {"mode": "token"},
        "mapping": {"csat": "ticket.rating", "csat_scale": "0-1",
                    "csat_values": {"Good, I'm satisfied": 1, "Bad, I'm unsatisfied": 0}, "response_id": "ticket.id"},
        "active": True, "rate_limit_per_second": 50, "secret_grace_hours": 24, "feedback_kind": "survey",
        "created_at": body["created_at"]}
    assert len(source.secret) >= 40
    listed = api_client.get("/api/v1/sources/").json()
    assert [s["slug"] for s in listed["results"]] == ["helpdesk-csat"] and "secret" not in listed["results"][0]
    assert "secret" not in api_client.get("/api/v1/sources/helpdesk-csat/").json()


def test_update_changes_settings_rotates_the_secret_and_keeps_vendor_and_slug(api_client, personas):
    source = source_create(name="G", slug="g", vendor="generic", secret="first")
    api_client.force_authenticate(personas.adam)
    changed = api_client.patch("/api/v1/sources/g/", {"name": "Renamed", "secret": "second", "active": False},
                               format="json")
    assert changed.status_code == 200 and "secret" not in changed.json()
    source.refresh_from_db()
    assert (source.name, source.secret, source.active) == ("Renamed", "second", False)
    refused = api_client.patch("/api/v1/sources/g/", {"vendor": "typeform"}, format="json")
    assert (refused.status_code, refused.json()) == (400, {"vendor": [
        "The vendor is fixed once the source exists; create another source instead."]})
    assert api_client.delete("/api/v1/sources/g/").status_code == 405
    assert WebhookSource.objects.get(pk=source.pk).vendor == "generic"


def test_an_unknown_vendor_names_the_twelve(api_client, personas):
    api_client.force_authenticate(personas.adam)
    response = api_client.post("/api/v1/sources/", {"name": "X", "vendor": "surveygizmo"}, format="json")
    assert (response.status_code, response.json()) == (400, {"vendor": ['"surveygizmo" is not a valid choice.']})


def test_test_delivery_goes_through_the_webhook_door_to_a_response_and_a_case(
        api_client, personas, django_capture_on_commit_callbacks):
    default_rules_ensure()
    source = source_create(name="Thumbs", slug="thumbs", vendor="generic", secret="s3cret", auth={"mode": "token"},
                           mapping={"csat": "rating", "csat_scale": "0-1", "csat_values": {"Good": 1, "Bad": 0}})
    api_client.force_authenticate(personas.adam)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client.post("/api/v1/sources/thumbs/test-delivery/")
    assert answer.status_code == 200
    delivery = WebhookDelivery.objects.get(source=source)
    assert answer.json() == {"status": 202, "answer": {"status": "accepted", "id": delivery.pk,
                                                       "delivery_id": delivery.delivery_id},
                             "delivery": delivery.pk}
    assert (delivery.status, delivery.content_type) == ("processed", "application/json")
    response = SurveyResponse.objects.get(pk=delivery.response_id)
    assert (response.csat, response.csat_scale_min, response.csat_scale_max) == (0, 0, 1)
    assert Case.objects.filter(responses=response).count() == 1


def test_a_source_the_door_refuses_fails_the_test_delivery_like_a_real_one():
    """The sample goes through the door's checks: a source deactivated meanwhile answers 404, as
    the tool's own deliveries would, and nothing is stored."""
    from surveys.connect import source_test_delivery

    source = source_create(name="G", slug="g", vendor="generic", secret="right")
    WebhookSource.objects.filter(pk=source.pk).update(active=False)
    result = source_test_delivery(source=source)
    assert (result.status, result.answer, result.delivery_pk) == (
        404, {"error": "No active webhook source with this address."}, None)
    assert not WebhookDelivery.objects.exists()
