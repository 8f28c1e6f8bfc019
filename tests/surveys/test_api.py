"""/api/v1/responses/ and /api/v1/customers/: visibility by team, filters, and the documented formats."""

from __future__ import annotations

import pytest

from surveys.models import SurveyResponse
from surveys.services import delivery_process
from surveys.models import WebhookDelivery
from tests.factories import api_key_for
from tests.surveys.payloads import closeloop_body, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def responses(personas):
    source = make_source("standard")
    made = {}
    for rid, nps, comment, team, email in [
        ("n1", 2, "bad", personas.north, "a@example.com"), ("n2", 9, "", personas.north, "a@example.com"),
        ("s1", 5, "meh", personas.south, "s@example.com"),
    ]:
        d = WebhookDelivery.objects.create(source=source, delivery_id=rid, content_type="application/json",
                                           body=closeloop_body(response_id=rid, nps=nps, comment=comment, email=email,
                                                              external_id=email))
        delivery_process(delivery_pk=d.pk)
        r = SurveyResponse.objects.get(external_id=rid)
        SurveyResponse.objects.filter(pk=r.pk).update(team=team)
        made[rid] = r
    return made


def _as(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return api_client


def test_agents_see_only_their_teams_responses(api_client, personas, responses):
    ids = {r["external_id"] for r in _as(api_client, personas.alice).get("/api/v1/responses/").json()["results"]}
    assert ids == {"n1", "n2"}
    assert _as(api_client, personas.charlie).get(f"/api/v1/responses/{responses['n1'].pk}/").status_code == 404


def test_admins_see_everything(api_client, personas, responses):
    assert _as(api_client, personas.adam).get("/api/v1/responses/").json()["count"] == 3


FILTERS = [
    ("metric=nps&score_max=6", {"n1", "s1"}),
    ("score_min=9", {"n2"}),
    ("has_comment=true", {"n1", "s1"}),
    ("has_comment=false", {"n2"}),
    ("location=leeds", {"n1", "n2", "s1"}),
    ("source=standard-test&touchpoint=DELIVERY", {"n1", "n2", "s1"}),
    ("answered_after=2025-03-02T00:00:00Z", set()),
]


def test_response_filters(api_client, personas, responses):
    client = _as(api_client, personas.adam)
    for query, expected in FILTERS:
        body = client.get(f"/api/v1/responses/?{query}").json()
        assert {r["external_id"] for r in body["results"]} == expected, query


def test_customers_come_with_only_their_visible_responses(api_client, personas, responses):
    from cases.models import Case

    # A customer is visible through a response or a case of one's teams (docs/customers.md): s1's
    # case was routed before the fixture moved s1 to South; move it too, so all of s is South's.
    Case.objects.filter(customer__email="s@example.com").update(team=personas.south)
    alice = _as(api_client, personas.alice).get("/api/v1/customers/").json()["results"]
    assert [c["email"] for c in alice] == ["a@example.com"]
    detail = _as(api_client, personas.alice).get(f"/api/v1/customers/{alice[0]['id']}/").json()
    assert detail["responses_total"] == 2  # n1 and n2 (the timeline: tests/customers/test_api.py)
    charlie = _as(api_client, personas.charlie).get("/api/v1/customers/").json()["results"]
    assert [c["email"] for c in charlie] == ["s@example.com"]


def test_webhook_formats_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/").content.decode()
    assert "webhook-formats" in schema and "webhook-signature" in schema and "Typeform-Signature" in schema
    formats = client.get("/api/v1/webhook-formats/?vendor=typeform").json()
    assert list(formats) == ["typeform"]
    every = client.get("/api/v1/webhook-formats/").json()
    assert list(every) == [
        "typeform", "surveymonkey", "qualtrics", "delighted", "formbricks", "standard", "tally", "jotform",
        "surveysparrow", "zendesk", "intercom", "helpscout", "google_forms", "generic", "stripe",
    ]
    assert every["stripe"]["headers"] == ["stripe-signature: <as in docs/connect/stripe.md>"]
    assert every["zendesk"]["title"] == "Zendesk CSAT"
    assert every["zendesk"]["docs"] == ["docs/connect/zendesk.md"]
    assert every["tally"]["headers"] == ["tally-signature: <as in docs/connect/tally.md>"]
    assert every["tally"]["example_body"]["eventType"] == "FORM_RESPONSE"
