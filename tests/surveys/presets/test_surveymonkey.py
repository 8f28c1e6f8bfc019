"""SurveyMonkey: a thin response_completed callback signed with Sm-Signature (base64 HMAC-SHA1 keyed
"<api key>&<api secret>"), completed from its API (a local stub) with the survey's details.

Fixtures follow https://api.surveymonkey.com/v3/docs: the callback body ("Webhook callbacks":
name, filter_type, filter_id, event_type, event_id, object_type, object_id, event_datetime,
resources), GET /surveys/{id}/responses/{id}/details (pages[].questions[].answers[] with
choice_id / text), GET /surveys/{id}/details (pages[].questions[] with family, subtype, headings
and answers.choices[] with weight), and the error body ({"error": {"id", "name", "docs",
"message", "http_status_code"}}).
"""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from surveys.adapters import surveymonkey
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import delivery_normalize, delivery_process
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.vendor_stub import case_rules, post_through_door, vendor_api  # noqa: F401

pytestmark = pytest.mark.django_db

CT = "application/vnd.surveymonkey.response.v1+json"
SURVEY, COLLECTOR = "105723396", "50253586"


def event(response_id="5007154325", event_id="10001") -> bytes:
    return json.dumps({
        "name": "Closeloop", "filter_type": "survey", "filter_id": SURVEY, "event_type": "response_completed",
        "event_id": event_id, "object_type": "response", "object_id": response_id,
        "event_datetime": "2025-03-01T10:00:01.182613+00:00",
        "resources": {"respondent_id": response_id, "recipient_id": "0", "user_id": "71",
                      "collector_id": COLLECTOR, "survey_id": SURVEY},
    }).encode()


NPS_CHOICES = [{"id": f"30578387{i:02d}", "text": str(i), "position": i + 1, "weight": i, "visible": True}
               for i in range(11)]
CSAT_CHOICES = [{"id": f"40000000{i}", "text": t, "position": i, "weight": i, "visible": True}
                for i, t in enumerate(["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
                                      start=1)]
SURVEY_DETAILS = {
    "id": SURVEY, "title": "Support satisfaction", "language": "en", "question_count": 3, "page_count": 1,
    "pages": [{"id": "103332310", "position": 1, "questions": [
        {"id": "319352786", "position": 1, "family": "matrix", "subtype": "rating",
         "headings": [{"heading": "How likely is it that you would recommend us to a friend or colleague?"}],
         "answers": {"rows": [{"id": "3057838700", "text": "", "position": 1}], "choices": NPS_CHOICES}},
        {"id": "319352787", "position": 2, "family": "open_ended", "subtype": "essay",
         "headings": [{"heading": "What could we do better?"}]},
        {"id": "319352788", "position": 3, "family": "single_choice", "subtype": "vertical",
         "headings": [{"heading": "How satisfied are you with the support you received?"}],
         "answers": {"choices": CSAT_CHOICES}},
    ]}],
}


def details(response_id="5007154325", nps_choice="3057838703", status="completed") -> dict:
    return {
        "id": response_id, "recipient_id": "", "collection_mode": "default", "response_status": status,
        "custom_value": "", "first_name": "Sam", "last_name": "Ray", "email_address": "sam@example.com",
        "ip_address": "203.0.113.7", "logic_path": {}, "metadata": {"contact": {}}, "page_path": [],
        "collector_id": COLLECTOR, "survey_id": SURVEY, "custom_variables": {"customer_id": "C-5"},
        "total_time": 62, "date_modified": "2025-03-01T10:00:00+00:00", "date_created": "2025-03-01T09:58:58+00:00",
        "pages": [{"id": "103332310", "questions": [
            {"id": "319352786", "answers": [{"choice_id": nps_choice, "row_id": "3057838700", "simple_text": "3"}]},
            {"id": "319352787", "answers": [{"text": "Waited 40 minutes for a reply.", "simple_text": "Waited"}]},
            {"id": "319352788", "answers": [{"choice_id": "400000002", "simple_text": "Dissatisfied"}]},
        ]}],
    }


@pytest.fixture
def source(vendor_api):  # noqa: F811
    case_rules()
    return make_source("surveymonkey", secret="sm-app-secret",
                       auth={"api_key": "sm-client-id", "api_base": vendor_api.base + "/v3", "api_token": "sm-token"})


def signed(source, body: bytes) -> dict:
    return {"sm-apikey": "sm-client-id", "sm-signature": surveymonkey.sign("sm-client-id", source.secret, body)}


def answer(stub, response_id="5007154325", **kwargs):
    stub.answer(f"/v3/surveys/{SURVEY}/responses/{response_id}/details", (200, details(response_id, **kwargs)))
    stub.answer(f"/v3/surveys/{SURVEY}/details", (200, SURVEY_DETAILS))


def test_a_completed_response_is_fetched_and_recorded(client, source, vendor_api):  # noqa: F811
    answer(vendor_api)
    body = event()
    assert post_through_door(client, source, body, signed(source, body), CT).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps, r.csat, r.csat_scale_min, r.csat_scale_max) == ("5007154325", 3, 2, 1, 5)
    assert r.comment == "Waited 40 minutes for a reply."
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-5", "sam@example.com", "Sam Ray")
    assert r.survey.name == "Support satisfaction"
    assert cases_for(r) == 1
    first, second = vendor_api.requests
    assert (first["path"], first["query"], first["headers"]["authorization"]) == (
        f"/v3/surveys/{SURVEY}/responses/5007154325/details", "simple=true", "Bearer sm-token")
    assert second["path"] == f"/v3/surveys/{SURVEY}/details"


def test_a_promoter_opens_no_case(client, source, vendor_api):  # noqa: F811
    answer(vendor_api, nps_choice="3057838710")
    body = event()
    post_through_door(client, source, body, signed(source, body), CT)
    r = SurveyResponse.objects.get()
    assert r.nps == 10 and cases_for(r) == 0


def test_the_survey_details_are_fetched_once_per_survey(client, source, vendor_api):  # noqa: F811
    answer(vendor_api, "5007154325")
    answer(vendor_api, "5007154326")
    for response_id, event_id in (("5007154325", "e1"), ("5007154326", "e2")):
        body = event(response_id, event_id)
        post_through_door(client, source, body, signed(source, body), CT)
    assert SurveyResponse.objects.count() == 2
    assert len(vendor_api.calls(f"/v3/surveys/{SURVEY}/details")) == 1


def test_a_partial_response_is_normalized_as_partial(client, source, vendor_api):  # noqa: F811
    answer(vendor_api, status="partial")
    body = event()
    post_through_door(client, source, body, signed(source, body), CT)
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    assert delivery_normalize(delivery).partial is True


@pytest.mark.parametrize("status, error, expected", [
    (401, {"error": {"id": "1011", "name": "Authorization Error", "docs": "https://developer.surveymonkey.com/api/v3/#error-codes",
                     "message": "The authorization token provided was invalid.", "http_status_code": 401}},
     "answered 401: The authorization token provided was invalid.; check the source's API token"),
    (404, {"error": {"id": "1020", "name": "Resource Not Found", "docs": "https://developer.surveymonkey.com/api/v3/#error-codes",
                     "message": "There was an error retrieving the requested resource.", "http_status_code": 404}},
     "answered 404: There was an error retrieving the requested resource."),
])
def test_a_refusal_from_surveymonkey_fails_the_delivery_with_its_message(client, source, vendor_api, status,  # noqa: F811
                                                                           error, expected):
    vendor_api.answer(f"/v3/surveys/{SURVEY}/responses/5007154325/details", (status, error))
    body = event()
    post_through_door(client, source, body, signed(source, body), CT)
    delivery = only_delivery()
    assert delivery.status == "failed" and expected in delivery.error
    assert not SurveyResponse.objects.exists()


def test_an_outage_is_retried_with_backoff(client, source, vendor_api):  # noqa: F811
    path = f"/v3/surveys/{SURVEY}/responses/5007154325/details"
    vendor_api.answer(path, (503, {"error": {"message": "Service unavailable"}}), (200, details()))
    vendor_api.answer(f"/v3/surveys/{SURVEY}/details", (429, {"error": {"message": "Too many requests"}}),
                      (200, SURVEY_DETAILS))
    body = event()
    post_through_door(client, source, body, signed(source, body), CT)
    delivery = only_delivery()
    assert delivery.status == "pending" and delivery.not_before > timezone.now()
    assert "answered 503 (Service unavailable)" in delivery.error
    outcomes = []
    for _ in range(2):  # the survey details answer 429 once, then the response is recorded
        WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=None)
        outcomes.append(delivery_process(delivery_pk=delivery.pk))
    assert outcomes == ["retrying", "processed"]
    assert SurveyResponse.objects.get().nps == 3


def test_a_wrong_signature_or_api_key_is_refused(client, source, vendor_api):  # noqa: F811
    body = event()
    headers = signed(source, body)
    assert post_through_door(client, source, body + b" ", headers, CT).status_code == 401
    assert post_through_door(client, source, body, {**headers, "sm-apikey": "another-app"}, CT).status_code == 401
    assert not WebhookDelivery.objects.exists() and vendor_api.requests == []


def test_a_source_without_a_token_fails_saying_what_to_set(client, vendor_api):  # noqa: F811
    source = make_source("surveymonkey", secret="sm-app-secret", auth={"api_key": "sm-client-id"})
    body = event()
    post_through_door(client, source, body, signed(source, body), CT)
    assert "set auth.api_token" in only_delivery().error


def test_the_sample_delivery_is_signed_and_reaches_the_api(client, source, vendor_api):  # noqa: F811
    content_type, body, headers = surveymonkey.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "failed" and "answered 404" in delivery.error  # the made-up response id
    assert vendor_api.requests[0]["headers"]["authorization"] == "Bearer sm-token"


def test_the_connect_page_examples_work(client, source, vendor_api):  # noqa: F811
    examples = doc_examples("surveymonkey.md")
    callback = json.loads(examples["callback"])
    callback["resources"]["survey_id"] = callback["filter_id"] = SURVEY
    body = json.dumps(callback).encode()
    answer(vendor_api, callback["object_id"])
    post_through_door(client, source, body, signed(source, body), CT)
    assert SurveyResponse.objects.get().nps == 3
    subscribe = json.loads(examples["subscribe"])
    assert subscribe["event_type"] == "response_completed" and subscribe["object_type"] == "survey"
