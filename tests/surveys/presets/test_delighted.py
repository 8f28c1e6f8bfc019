"""Delighted: survey_response.created / .updated webhooks signed with X-Delighted-Webhook-Signature
(sha256=<hex HMAC-SHA256(API key, raw body)>), following https://app.delighted.com/docs/api/webhooks.
Not thin: the event carries the response, nothing is fetched."""

from __future__ import annotations

import json

import pytest

from surveys.adapters import delighted
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.vendor_stub import case_rules, post_through_door

pytestmark = pytest.mark.django_db

JSON = "application/json"


def event(survey_type="nps", score=4, event_type="survey_response.created", response_id="5435") -> bytes:
    return json.dumps({"event_type": event_type, "event_data": {
        "id": response_id, "person": {"id": "420", "email": "jony@example.com", "name": "Jony Appleseed",
                                      "created_at": 1740823000, "last_sent_at": 1740823000, "phone_number": None},
        "survey_type": survey_type, "score": score, "comment": "The app keeps logging me out.",
        "permalink": "https://app.delighted.com/r/5435", "created_at": 1740823200, "updated_at": 1740823200,
        "person_properties": {"Customer ID": "C-77", "Plan": "Gold", "Location": "Leeds"},
        "notes": [], "tags": ["mobile"], "additional_answers": [],
    }}).encode()


@pytest.fixture
def source():
    case_rules()
    return make_source("delighted", secret="delighted-api-key")


def signed(source, body: bytes) -> dict:
    return {"x-delighted-webhook-signature": delighted.sign(source.secret, body)}


def test_an_nps_response_is_recorded_and_a_detractor_opens_a_case(client, source):
    body = event()
    assert post_through_door(client, source, body, signed(source, body), JSON).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps, r.comment, r.location) == ("5435", 4, "The app keeps logging me out.", "Leeds")
    assert (r.customer.external_id, r.customer.email, r.customer.tier) == ("C-77", "jony@example.com", "Gold")
    assert cases_for(r) == 1


def test_a_csat_survey_is_csat_on_1_to_5(client, source):
    body = event("csat", 2, response_id="5436")
    post_through_door(client, source, body, signed(source, body), JSON)
    r = SurveyResponse.objects.get()
    assert (r.csat, r.csat_scale_min, r.csat_scale_max, r.nps) == (2, 1, 5, None)


def test_a_tampered_body_or_wrong_key_is_refused(client, source):
    body = event()
    assert post_through_door(client, source, body.replace(b'"score": 4', b'"score": 9'), signed(source, body),
                             JSON).status_code == 401
    assert post_through_door(client, source, body, {"x-delighted-webhook-signature": delighted.sign("k", body)},
                             JSON).status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_an_unsubscribe_is_acknowledged_without_a_response(client, source):
    body = json.dumps({"event_type": "unsubscribe.created",
                       "event_data": {"person": {"id": "420", "email": "jony@example.com"}}}).encode()
    post_through_door(client, source, body, signed(source, body), JSON)
    assert only_delivery().status == "processed" and not SurveyResponse.objects.exists()


def test_the_sample_delivery_opens_a_case(client, source):
    content_type, body, headers = delighted.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id) == (2, "TEST-1") and cases_for(r) == 1


def test_the_connect_page_example_is_recorded(client, source):
    body = doc_examples("delighted.md")["event"].encode()
    post_through_door(client, source, body, signed(source, body), JSON)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, r.customer.email) == (3, "C-77", "jo@example.com")
