"""Standard Webhooks preset (any compliant sender), through the Django view to the response and its case.

Signatures follow the spec (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/
standard-webhooks.md, "Signature scheme"): `webhook-id`, `webhook-timestamp`, `webhook-signature:
v1,<base64 HMAC-SHA256(base64-decoded whsec_ secret, "id.timestamp.body")>`, several space-separated
signatures, a 5-minute tolerance. Bodies use the spec's envelope ("Payload structure": type,
timestamp, data) with survey events such as `survey_response.completed`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import pytest

from django.db.models import Sum

from reporting.models import ThemeRollup
from surveys.adapters import standard
from surveys.models import ResponseTheme, SurveyResponse, WebhookDelivery
from tests.factories import ThemeFactory
from tests.surveys.payloads import closeloop_body, make_source
from tests.surveys.presets.helpers import cases_of, judge_by_default_scales, post, process, run_curl_example

pytestmark = pytest.mark.django_db

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's example secret


def spec_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Written from the spec, not from the adapter: the key is the base64 part after whsec_."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    return "v1," + base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()).decode()


def headers(body: bytes, *, secret: str = SECRET, timestamp: int | None = None, extra: tuple[str, ...] = ()) -> dict:
    msg_id, timestamp = f"msg_{time.time_ns()}", int(time.time()) if timestamp is None else timestamp
    signatures = " ".join((*extra, spec_signature(secret, msg_id, timestamp, body)))
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures}


def survey_event(kind: str = "survey_response.completed", *, response_id: str = "sr_01J9", answers=None,
                 **data) -> bytes:
    answers = answers if answers is not None else [
        {"question_id": "q_nps", "type": "nps", "title": "How likely are you to recommend us?", "value": 1},
        {"question_id": "q_why", "type": "text", "title": "What is the main reason for your score?",
         "value": "Billing charged me twice."},
    ]
    return json.dumps({"type": kind, "timestamp": "2025-03-01T10:00:01Z", "data": {
        "id": response_id, "survey": {"id": "rel-2025", "title": "Relationship survey"},
        "completed_at": "2025-03-01T10:00:00Z",
        "respondent": {"id": "C-5150", "email": "joe@example.com", "name": "Joe Bloggs"}, "answers": answers, **data,
    }}).encode()


@pytest.fixture
def source():
    judge_by_default_scales()
    return make_source("standard", secret=SECRET)


def deliver(client, source, body: bytes, sent: dict | None = None):
    answered = post(client, source, "application/json", body, sent or headers(body))
    assert answered.status_code == 202, answered.content
    return answered


def test_any_senders_survey_response_completed_is_recorded_with_a_case(client, source):
    deliver(client, source, survey_event())
    assert list(process(source).values()) == ["processed"]
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.survey.name, r.nps, r.comment, r.partial) == (
        "sr_01J9", "Relationship survey", 1, "Billing charged me twice.", False)
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-5150", "joe@example.com", "Joe Bloggs")
    assert cases_of(r) == 1


def test_closeloops_own_format_still_works(client, source):
    deliver(client, source, closeloop_body(response_id="own-1", nps=2))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps, r.customer.external_id, cases_of(r)) == ("own-1", 2, "C-1", 1)


@pytest.mark.parametrize("answer, expected", [
    ({"question_id": "ces", "type": "ces", "title": "How easy was it to get help?", "value": 2, "min": 1, "max": 5},
     (2, 1, 5, True, 1)),  # easy end high: a 2 of 5 is hard
    ({"question_id": "ces", "type": "ces", "title": "How much effort did it take?", "value": 6, "min": 1, "max": 7},
     (6, 1, 7, False, 1)),  # effort: 6 of 7 is high effort, flipped before the rule compares
    ({"question_id": "ces", "type": "ces", "title": "Effort", "value": 6, "min": 1, "max": 7, "higher_is_better": True},
     (6, 1, 7, True, 0)),  # the sender says high is easy: 6 of 7 is fine
])
def test_ces_on_1_5_and_1_7_in_either_direction(client, source, answer, expected):
    deliver(client, source, survey_event(answers=[answer]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.ces, r.ces_scale_min, r.ces_scale_max, r.ces_high_is_easy, cases_of(r)) == expected


def test_csat_answer_on_its_own_scale(client, source):
    deliver(client, source, survey_event(answers=[
        {"question_id": "sat", "type": "rating", "title": "How satisfied are you?", "value": 2, "min": 1, "max": 5}]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.csat, r.csat_scale_max, cases_of(r)) == (2, 5, 1)


def test_a_partial_event_then_the_completed_one_is_one_response_and_one_case(client, source):
    deliver(client, source, survey_event("survey_response.partial", answers=[
        {"question_id": "q_nps", "type": "nps", "value": 0}]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.nps, cases_of(r)) == (True, 0, 1)
    deliver(client, source, survey_event(answers=[
        {"question_id": "q_nps", "type": "nps", "value": 0},
        {"question_id": "q_why", "type": "text", "title": "Why?", "value": "Lost my data"}]))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.comment, cases_of(r)) == (False, "Lost my data", 1)


def test_a_later_answer_time_moves_the_partial_versions_theme_tags_and_their_counts(client, source):
    """A theme tag carries a copy of its response's answer time, which the theme reports bound: the
    tags of a partial version move with the time its completed version gives, and so do the theme
    rollup's counts (reporting.ThemeRollup, kept by triggers on the tags)."""
    ThemeFactory(name="billing", keywords=["billing"])
    answers = [{"question_id": "q_nps", "type": "nps", "value": 1},
               {"question_id": "q_why", "type": "text", "value": "Billing charged me twice."}]
    deliver(client, source, survey_event("survey_response.partial", answers=answers, completed_at="2025-03-01T10:00:00Z"))
    process(source)
    assert list(ResponseTheme.objects.values_list("theme__name", "answered_at")) == [
        ("billing", dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC))]
    deliver(client, source, survey_event(answers=answers, completed_at="2025-03-04T09:30:00Z"))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.answered_at) == (False, dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC))
    assert list(ResponseTheme.objects.values_list("theme__name", "answered_at")) == [
        ("billing", dt.datetime(2025, 3, 4, 9, 30, tzinfo=dt.UTC))]
    days = ThemeRollup.objects.values("day").annotate(tags=Sum("tags")).filter(tags__gt=0)
    assert [(d["day"], d["tags"]) for d in days] == [(dt.date(2025, 3, 4), 1)]


def test_a_status_in_progress_is_partial(client, source):
    deliver(client, source, survey_event("survey_response.updated", status="in_progress"))
    process(source)
    assert SurveyResponse.objects.get().partial is True


def test_an_event_about_something_else_is_acknowledged_and_ignored(client, source):
    body = json.dumps({"type": "invoice.paid", "timestamp": "2025-03-01T10:00:01Z", "data": {"id": "in_1"}}).encode()
    deliver(client, source, body)
    process(source)
    assert SurveyResponse.objects.count() == 0
    assert WebhookDelivery.objects.get().note == "event type 'invoice.paid' carries no response"


def test_any_one_of_several_signatures_is_enough(client, source):
    body = survey_event()
    deliver(client, source, body, headers(body, extra=("v1,bm90LWEtc2lnbmF0dXJl", "v1a,c29tZXRoaW5nLWVsc2U=")))


@pytest.mark.parametrize("tamper", ["body", "secret", "timestamp too old", "timestamp in the future", "no signature"])
def test_anything_not_signed_by_the_spec_is_refused_with_401(client, source, tamper):
    body = survey_event()
    sent = headers(body)
    if tamper == "body":
        body = body.replace(b'"value": 1', b'"value": 9')
    elif tamper == "secret":
        sent = headers(body, secret="whsec_" + base64.b64encode(b"x" * 24).decode())
    elif tamper == "timestamp too old":
        sent = headers(body, timestamp=int(time.time()) - 330)
    elif tamper == "timestamp in the future":
        sent = headers(body, timestamp=int(time.time()) + 330)
    else:
        sent = {k: v for k, v in sent.items() if k != "webhook-signature"}
    assert post(client, source, "application/json", body, sent).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_the_sample_delivery_is_signed_and_opens_a_case(client, source):
    content_type, body, sent = standard.sample_delivery(source)
    assert post(client, source, content_type, body, sent).status_code == 202
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("standard", secret=SECRET)
    out = run_curl_example("standard", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.email, cases_of(r)) == (2, "ann@example.com", 1)
