"""Tally preset, through the Django view to the stored response and its case.

Fixtures follow Tally's webhook docs (https://tally.so/help/webhooks: the FORM_RESPONSE event with
eventId, eventType, createdAt and data.fields of {key, label, type, value, options}; "Signing
secret": `Tally-Signature` is the base64 HMAC-SHA256 of the body with the secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from surveys.adapters import tally
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.helpers import cases_of, judge_by_default_scales, post, process, run_curl_example

pytestmark = pytest.mark.django_db

SECRET = "tally-signing-secret"
CHANNEL_OPTIONS = [{"id": "0b7c3d1e-5f2a-4c8b-9d6e-1a2b3c4d5e6f", "text": "In store"},
                   {"id": "7e6d5c4b-3a2f-4e1d-8c9b-6a5f4e3d2c1b", "text": "Online"}]


def form_response(fields: list, *, response_id: str = "mOz0dq", event_id: str = "458b4ae0-4e7a-4d3b-9a2f-5b1c0e8d7f6a"):
    return json.dumps({
        "eventId": event_id, "eventType": "FORM_RESPONSE", "createdAt": "2025-03-01T10:00:01.889Z",
        "data": {"responseId": response_id, "submissionId": response_id, "respondentId": "2Ejz9B",
                 "formId": "nGzYoa", "formName": "Store visit survey", "createdAt": "2025-03-01T10:00:00.000Z",
                 "fields": fields},
    }).encode()


FIELDS = [
    {"key": "question_3X4QKq", "label": "How likely are you to recommend our store to a friend?",
     "type": "LINEAR_SCALE", "value": 4},
    {"key": "question_w4e5Ja", "label": "Rate your checkout experience", "type": "RATING", "value": 2},
    {"key": "question_nW1xpA", "label": "Where did you shop?", "type": "MULTIPLE_CHOICE",
     "value": ["0b7c3d1e-5f2a-4c8b-9d6e-1a2b3c4d5e6f"], "options": CHANNEL_OPTIONS},
    {"key": "question_mR2KPb", "label": "Anything we should improve?", "type": "TEXTAREA",
     "value": "The queue at the till took twenty minutes."},
    {"key": "question_3jQ8Ab", "label": "Your email", "type": "INPUT_EMAIL", "value": "sam@example.com"},
    {"key": "question_wMxkPd", "label": "How many items did you buy?", "type": "INPUT_NUMBER", "value": 12},
    {"key": "question_nPq5Kr_7c1e", "label": "customer_id", "type": "HIDDEN_FIELDS", "value": "C-3141"},
    {"key": "question_nPq5Kr_9a2b", "label": "location", "type": "HIDDEN_FIELDS", "value": "Leeds"},
]


def signature(body: bytes, secret: str = SECRET) -> dict:
    return {"Tally-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()}


@pytest.fixture
def source():
    judge_by_default_scales()
    return make_source("tally", secret=SECRET)


def deliver(client, source, body: bytes):
    answered = post(client, source, "application/json", body, signature(body))
    assert answered.status_code == 202, answered.content
    return answered


def test_a_response_is_recorded_with_its_scores_identity_and_a_case(client, source):
    deliver(client, source, form_response(FIELDS))
    assert list(process(source).values()) == ["processed"]
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.survey.name, r.nps, r.csat, r.csat_scale_max) == ("mOz0dq", "Store visit survey", 4, 2, 5)
    assert (r.comment, r.location) == ("The queue at the till took twenty minutes.", "Leeds")
    assert (r.customer.external_id, r.customer.email) == ("C-3141", "sam@example.com")
    assert "how_many_items_did_you_buy" not in r.scores  # a plain number is not a score
    assert cases_of(r) == 1


def test_choice_answers_are_their_options_text_and_a_mapping_can_pick_them_by_label(client):
    judge_by_default_scales()
    source = make_source("tally", secret=SECRET, mapping={"channel": "Where did you shop?"})
    deliver(client, source, form_response(FIELDS))
    process(source)
    assert SurveyResponse.objects.get().channel == "In store"


def test_a_promoter_opens_no_case(client, source):
    deliver(client, source, form_response([
        {"key": "question_3X4QKq", "label": "How likely are you to recommend us?", "type": "LINEAR_SCALE",
         "value": 10}]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, cases_of(r)) == (10, 0)


def test_a_satisfaction_scale_is_csat_and_a_low_one_opens_a_case(client, source):
    deliver(client, source, form_response([
        {"key": "question_s1", "label": "How satisfied were you with our support?", "type": "LINEAR_SCALE",
         "value": 1}]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.csat, r.csat_scale_min, r.csat_scale_max, cases_of(r)) == (None, 1, 1, 5, 1)


def test_a_form_without_a_score_fails_the_delivery_with_a_reason(client, source):
    deliver(client, source, form_response([FIELDS[3], FIELDS[5]]))
    assert list(process(source).values()) == ["failed"]
    assert WebhookDelivery.objects.get().error.startswith("No score found")


def test_a_signed_delivery_not_in_tallys_format_fails_with_a_reason(client, source):
    deliver(client, source, form_response([{"key": "q1", "label": "Pick", "type": "MULTIPLE_CHOICE",
                                            "value": [{"id": "x"}], "options": [{"id": {"x": 1}, "text": "X"}]}]))
    assert list(process(source).values()) == ["failed"]
    assert WebhookDelivery.objects.get().error.startswith("This delivery is not in Tally's documented format (TypeError")


@pytest.mark.parametrize("tamper", ["body", "secret", "missing", "hex"])
def test_a_delivery_tally_did_not_sign_is_refused_with_401(client, source, tamper):
    body = form_response(FIELDS)
    sent = signature(body)
    if tamper == "body":
        body = body.replace(b'"value": 4', b'"value": 9')
    elif tamper == "secret":
        sent = signature(body, "other-secret")
    elif tamper == "missing":
        sent = {}
    else:
        sent = {"Tally-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    assert post(client, source, "application/json", body, sent).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_a_repeated_event_is_stored_once(client, source):
    body = form_response(FIELDS)
    deliver(client, source, body)
    assert post(client, source, "application/json", body, signature(body)).status_code == 200
    assert WebhookDelivery.objects.get().delivery_id == "458b4ae0-4e7a-4d3b-9a2f-5b1c0e8d7f6a"


def test_the_sample_delivery_is_signed_and_opens_a_case(client, source):
    content_type, body, sent = tally.sample_delivery(source)
    assert post(client, source, content_type, body, sent).status_code == 202
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("tally", secret=SECRET)
    out = run_curl_example("tally", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, cases_of(r)) == (3, "C-1001", 1)
