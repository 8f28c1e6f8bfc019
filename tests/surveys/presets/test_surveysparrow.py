"""SurveySparrow: the full submission webhook (recorded as it comes) and a thin custom payload
(completed from its API, a local stub), authenticated by a shared-token header.

The submission fixture is SurveySparrow's own sample submission as shipped with the SurveySparrow
integration of Pipedream (PipedreamHQ/pipedream components/surveysparrow/sources/
new-nps-submission-instant/test-event.mjs), with its placeholder ids made distinct; the thin
payload is the custom webhook payload that integration registers ({"id": "{submission_id}"}) and
the API answer the `data` it reads from GET /v3/responses/{id}.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.utils import timezone

from surveys.adapters import surveysparrow
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import delivery_normalize, delivery_process
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.vendor_stub import case_rules, post_through_door, vendor_api  # noqa: F401

pytestmark = pytest.mark.django_db

JSON = "application/json"
SUBMISSION = {
    "id": 123123001, "completed_time": "2024-03-12T18:42:15.293Z", "survey_id": 123123002, "contact_id": None,
    "state": "COMPLETED", "channel_id": 123123003, "language": None, "start_time": "2024-03-12T18:41:15.293Z",
    "contact": None,
    "channel": {"name": "System Share - 14 Mar 2024 11:41", "type": "SYSTEM", "status": "ACTIVE"},
    "answers": [
        {"answer": "Value for money", "detailed_answer": [{"choice_id": 123123004, "choice_text": "Value for money"}],
         "other": False, "position": 2, "other_choice_text": "Value for money",
         "question": "What are the top reasons that made you choose us?", "question_tags": [],
         "question_id": 123123005, "skipped": False},
        {"answer": 4, "rating_scale": 5, "question": "How would you rate the quality of our product?",
         "question_tags": [], "question_id": 123123006, "skipped": False},
        {"answer": 8, "step": 10, "question": "How satisfied are you with the competency of our customer support?",
         "question_tags": [], "question_id": 123123007, "skipped": False},
        {"answer": "Product quality exceeded expectations, but the checkout process needs streamlining.",
         "answer_sentiment": None, "question": "Uh-oh! What could have been better?", "question_tags": [],
         "question_id": 123123008, "skipped": False},
        {"answer": 0, "step": 10,
         "question": "On a scale of 0-10, how likely are you to recommend MediaPandaa to a friend or colleague?",
         "question_tags": [], "question_id": 123123009, "skipped": False},
        {"answer": "2024-03-12T18:41:15.293Z", "question_id": "startTime"},
        {"answer": "2024-03-12T18:42:15.293Z", "question_id": "submittedTime"},
        {"answer": "COMPUTER", "question_id": "deviceType"},
        {"answer": "America/Los_Angeles", "question_id": "timeZone"},
        {"question_id": "totalScore"},
    ],
    "device": {}, "tags": [], "variables": [], "expressions": [],
}


def submission(**changes) -> dict:
    data = copy.deepcopy(SUBMISSION)
    data.update(changes)
    return data


@pytest.fixture
def source(vendor_api):  # noqa: F811
    case_rules()
    return make_source("surveysparrow", secret="sparrow-shared-token",
                       auth={"api_base": vendor_api.base + "/v3", "api_token": "ss-token"})


def token(source) -> dict:
    return {"x-closeloop-token": source.secret}


def test_a_full_submission_is_recorded_as_it_comes(client, source, vendor_api):  # noqa: F811
    body = json.dumps(submission(contact={"email": "mia@example.com", "full_name": "Mia Chen", "phone": ""},
                                 variables=[{"name": "customer_id", "value": "C-88"}])).encode()
    assert post_through_door(client, source, body, token(source), JSON).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps, r.csat, r.csat_scale_min, r.csat_scale_max) == ("123123001", 0, 4, 1, 5)
    assert r.comment == "Product quality exceeded expectations, but the checkout process needs streamlining."
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-88", "mia@example.com", "Mia Chen")
    assert r.scores["q123123007"]["value"] == 8.0  # the 0-10 opinion scale that is not NPS
    assert cases_for(r) == 1
    assert vendor_api.requests == []  # nothing to fetch


def test_a_wrong_or_missing_token_is_refused(client, source):
    body = json.dumps(SUBMISSION).encode()
    assert post_through_door(client, source, body, {"x-closeloop-token": "nope"}, JSON).status_code == 401
    assert post_through_door(client, source, body, {}, JSON).status_code == 401
    assert post_through_door(client, source, body, {}, JSON, query=f"token={source.secret}").status_code == 202


def test_a_thin_payload_is_completed_from_the_api(client, source, vendor_api):  # noqa: F811
    vendor_api.answer("/v3/responses/123123001", (200, {"data": submission()}))
    body = json.dumps({"id": "123123001", "survey_id": "123123002"}).encode()
    post_through_door(client, source, body, token(source), JSON)
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps) == ("123123001", 0) and cases_for(r) == 1
    (call,) = vendor_api.requests
    assert (call["path"], call["query"], call["headers"]["authorization"]) == (
        "/v3/responses/123123001", "survey_id=123123002", "Bearer ss-token")


def test_a_nul_in_what_the_vendor_api_returns_is_stored_replaced(client, source, vendor_api):  # noqa: F811
    """PostgreSQL's jsonb holds no NUL: the fetched answer is kept (for replays) with U+FFFD instead
    of failing the delivery on the database's refusal."""
    answers = copy.deepcopy(SUBMISSION["answers"])
    answers[3]["answer"] = "Checkout\u0000 was slow"
    vendor_api.answer("/v3/responses/123123001", (200, {"data": submission(answers=answers)}))
    post_through_door(client, source, json.dumps({"id": "123123001"}).encode(), token(source), JSON)
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    assert SurveyResponse.objects.get().comment == "Checkout\ufffd was slow"
    assert delivery.fetched["response"]["data"]["answers"][3]["answer"] == "Checkout\ufffd was slow"


def test_a_partial_submission_is_normalized_as_partial(client, source):
    body = json.dumps(submission(state="PARTIAL")).encode()
    post_through_door(client, source, body, token(source), JSON)
    delivery = only_delivery()
    assert delivery.status == "processed" and delivery_normalize(delivery).partial is True


@pytest.mark.parametrize("status, error, expected", [
    (401, {"message": "Invalid access token"}, "answered 401: Invalid access token; check the source's API token"),
    (404, {"error": {"message": "Response not found"}}, "answered 404: Response not found"),
])
def test_a_refusal_fails_the_delivery_with_the_vendor_message(client, source, vendor_api, status, error, expected):  # noqa: F811
    vendor_api.answer("/v3/responses/123123001", (status, error))
    post_through_door(client, source, json.dumps({"id": "123123001"}).encode(), token(source), JSON)
    delivery = only_delivery()
    assert delivery.status == "failed" and expected in delivery.error
    assert not SurveyResponse.objects.exists()


def test_an_outage_is_retried_with_backoff(client, source, vendor_api):  # noqa: F811
    vendor_api.answer("/v3/responses/123123001", (502, {"message": "Bad gateway"}), (200, {"data": submission()}))
    post_through_door(client, source, json.dumps({"id": "123123001"}).encode(), token(source), JSON)
    delivery = only_delivery()
    assert delivery.status == "pending" and delivery.not_before > timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=None)
    assert delivery_process(delivery_pk=delivery.pk) == "processed"
    assert SurveyResponse.objects.get().nps == 0


def test_the_sample_delivery_opens_a_case(client, source):
    content_type, body, headers = surveysparrow.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, r.customer.email) == (2, "TEST-1", "test.customer@example.com")
    assert cases_for(r) == 1


def test_the_connect_page_examples_work(client, source, vendor_api):  # noqa: F811
    examples = doc_examples("surveysparrow.md")
    post_through_door(client, source, examples["submission"].encode(), token(source), JSON)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.email) == (3, "mia@example.com")
    thin = json.loads(examples["thin-payload"].replace("{submission_id}", "555").replace("{survey_id}", "777"))
    vendor_api.answer("/v3/responses/555", (200, {"data": submission(id=555, survey_id=777)}))
    post_through_door(client, source, json.dumps(thin).encode(), token(source), JSON)
    assert SurveyResponse.objects.get(external_id="555").nps == 0
