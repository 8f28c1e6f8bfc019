"""Typeform preset, through the Django view to the stored response and its case.

Fixtures follow Typeform's example payload (https://www.typeform.com/developers/webhooks/example-payload/:
event_id, event_type, form_response with form_id, token, landed_at, submitted_at, hidden,
definition.fields and answers typed number/text/email/choice), signed as "Secure your webhooks"
says (https://www.typeform.com/developers/webhooks/secure-your-webhooks/: `Typeform-Signature:
sha256=` + base64 HMAC-SHA256 of the raw body); partials are the `form_response_partial` event type
(https://www.typeform.com/developers/webhooks/reference/create-or-update-webhook/)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from surveys.adapters import typeform
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.helpers import case_alerts, cases_of, judge_by_default_scales, post, process, run_curl_example

pytestmark = pytest.mark.django_db

SECRET = "typeform-secret-for-tests"
FIELDS = [
    {"id": "Kc2xMfEw8Ldn", "ref": "nps_question", "type": "nps",
     "title": "How likely are you to recommend Acme to a friend or colleague?", "properties": {}},
    {"id": "SMEUb7VJz92Q", "ref": "satisfaction", "type": "rating", "title": "How satisfied are you with the delivery?",
     "properties": {"steps": 5, "shape": "star"}},
    {"id": "Ces5Scale001", "ref": "effort", "type": "opinion_scale", "title": "How was returning your order?",
     "properties": {"steps": 5, "start_at_one": True, "labels": {"left": "Very easy", "right": "Very difficult"}}},
    {"id": "DlXFaesGBpoF", "ref": "why", "type": "long_text", "title": "What could we do better?", "properties": {}},
    {"id": "SBAZ5Ux3Ecfs", "ref": "email_q", "type": "email", "title": "Your e-mail", "properties": {}},
    {"id": "k6TP9oLGgHjl", "ref": "channel_q", "type": "multiple_choice", "title": "How did you order?",
     "properties": {}, "choices": [{"id": "c1", "label": "App"}, {"id": "c2", "label": "Web"}]},
]


def answer(field_id: str, kind: str, value) -> dict:
    field = next(f for f in FIELDS if f["id"] == field_id)
    return {"type": kind, kind: value, "field": {"id": field_id, "type": field["type"], "ref": field["ref"]}}


def delivery(*, token="a3a12ec67a1365927098a606107fac15", event_type="form_response", event_id="01GZ7QX0XQ8N",
             answers=None) -> bytes:
    answers = answers if answers is not None else [
        answer("Kc2xMfEw8Ldn", "number", 2), answer("SMEUb7VJz92Q", "number", 4),
        answer("Ces5Scale001", "number", 4), answer("DlXFaesGBpoF", "text", "The courier left it in the rain."),
        answer("SBAZ5Ux3Ecfs", "email", "laura@example.com"), answer("k6TP9oLGgHjl", "choice", {"id": "c1", "label": "App"}),
    ]
    return json.dumps({
        "event_id": event_id, "event_type": event_type,
        "form_response": {
            "form_id": "lT4Z3j", "token": token, "landed_at": "2025-03-01T09:58:00Z",
            "submitted_at": "2025-03-01T10:00:00Z",
            "hidden": {"customer_id": "C-7788", "tier": "Platinum", "touchpoint": "delivery"},
            "calculated": {"score": 0},
            "definition": {"id": "lT4Z3j", "title": "Delivery feedback", "fields": FIELDS},
            "answers": answers,
        },
    }).encode()


def signature(body: bytes, secret: str = SECRET) -> dict:
    return {"Typeform-Signature": "sha256=" + base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()}


@pytest.fixture
def source():
    judge_by_default_scales()
    return make_source("typeform", secret=SECRET)


def deliver(client, source, body: bytes):
    answered = post(client, source, "application/json", body, signature(body))
    assert answered.status_code == 202, answered.content
    return answered


def test_a_response_is_recorded_with_every_metric_its_identity_and_a_case(client, source):
    deliver(client, source, delivery())
    assert list(process(source).values()) == ["processed"]
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.survey.name, r.nps, r.partial) == ("a3a12ec67a1365927098a606107fac15", "Delivery feedback", 2,
                                                                False)
    assert (r.csat, r.csat_scale_min, r.csat_scale_max) == (4, 1, 5)
    # CES 1-5 whose labels run "Very easy" -> "Very difficult": a 4 is high effort.
    assert (r.ces, r.ces_scale_min, r.ces_scale_max, r.ces_high_is_easy) == (4, 1, 5, False)
    assert (r.comment, r.touchpoint) == ("The courier left it in the rain.", "delivery")
    assert (r.customer.external_id, r.customer.email, r.customer.tier) == ("C-7788", "laura@example.com", "Platinum")
    assert cases_of(r) == 1


def test_a_promoter_opens_no_case(client, source):
    deliver(client, source, delivery(answers=[answer("Kc2xMfEw8Ldn", "number", 9)]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, cases_of(r)) == (9, 0)


def test_a_partial_response_is_judged_at_once_and_completed_by_the_submission(client, source):
    deliver(client, source, delivery(event_type="form_response_partial", event_id="01PARTIAL",
                                     answers=[answer("Kc2xMfEw8Ldn", "number", 3)]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.nps, r.csat, cases_of(r)) == (True, 3, None, 1)
    deliver(client, source, delivery(event_id="01COMPLETE", answers=[
        answer("Kc2xMfEw8Ldn", "number", 3), answer("SMEUb7VJz92Q", "number", 1),
        answer("DlXFaesGBpoF", "text", "Nobody told me it would be late.")]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.nps, r.csat, r.comment) == (False, 3, 1, "Nobody told me it would be late.")
    assert (cases_of(r), case_alerts(r)) == (1, 2)
    assert WebhookDelivery.objects.filter(response=r).count() == 2


def test_a_partial_with_no_score_yet_is_acknowledged_and_ignored(client, source):
    deliver(client, source, delivery(event_type="form_response_partial",
                                     answers=[answer("DlXFaesGBpoF", "text", "Hi")]))
    process(source)
    assert SurveyResponse.objects.count() == 0
    assert WebhookDelivery.objects.get().note == "Typeform partial response with no score yet"


@pytest.mark.parametrize("tamper", ["body", "secret", "missing", "hex instead of base64"])
def test_a_delivery_typeform_did_not_sign_is_refused_with_401(client, source, tamper):
    body = delivery()
    headers = signature(body)
    if tamper == "body":
        body = body.replace(b'"number": 2', b'"number": 9')
    elif tamper == "secret":
        headers = signature(body, "another-secret")
    elif tamper == "missing":
        headers = {}
    else:
        headers = {"Typeform-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    assert post(client, source, "application/json", body, headers).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_the_sample_delivery_is_signed_and_opens_a_case(client, source):
    content_type, body, headers = typeform.sample_delivery(source)
    assert post(client, source, content_type, body, headers).status_code == 202
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("typeform", secret=SECRET)
    out = run_curl_example("typeform", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, cases_of(r)) == (2, "C-1001", 1)
