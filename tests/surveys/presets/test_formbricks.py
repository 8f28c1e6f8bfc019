"""Formbricks preset, through the Django view to the stored response and its case.

Fixtures follow Formbricks' webhook docs, "Example Webhook Payloads" and "Webhook Security with
Standard Webhooks" (https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks):
`{"webhookId", "event", "data": <response>}`, signed with the Standard Webhooks headers and the
`whsec_` secret Formbricks generates for the webhook."""

from __future__ import annotations

import json
import time

import pytest

from surveys.adapters import formbricks, standard
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.helpers import case_alerts, cases_of, judge_by_default_scales, post, process, run_curl_example

pytestmark = pytest.mark.django_db

SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"  # the shape Formbricks shows: whsec_ + base64


def event(name: str, *, finished: bool, answers: dict, response_id: str = "cm7resp000001") -> bytes:
    return json.dumps({
        "webhookId": "cm7webhook0001", "event": name,
        "data": {
            "id": response_id, "createdAt": "2025-07-24T07:47:29.507Z", "updatedAt": "2025-07-24T07:48:10.000Z",
            "surveyId": "cm7survey0001", "displayId": "cm7display0001",
            "contact": {"id": "cm7contact001", "userId": "U-42"},
            "contactAttributes": {"userId": "U-42", "email": "kim@example.com", "tier": "Gold"},
            "finished": finished, "endingId": "end1" if finished else None, "data": answers,
            "variables": {}, "ttc": {k: 1500.0 for k in answers}, "notes": [], "tags": [],
            "meta": {"url": "https://app.example.com/billing", "source": "app", "country": "DE",
                     "userAgent": {"os": "Mac OS", "browser": "Chrome"}},
            "singleUseId": None, "language": "default",
            "survey": {"title": "In-app NPS", "type": "app", "status": "inProgress"},
        },
    }).encode()


def headers(body: bytes, secret: str = SECRET, msg_id: str | None = None, timestamp: int | None = None) -> dict:
    msg_id = msg_id or f"msg_{time.time_ns()}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": standard.sign(secret, msg_id, timestamp, body)}


@pytest.fixture
def source():
    judge_by_default_scales()
    return make_source("formbricks", secret=SECRET)


def deliver(client, source, body: bytes):
    answer = post(client, source, "application/json", body, headers(body))
    assert answer.status_code == 202, answer.content
    return answer


def test_a_finished_response_becomes_a_response_with_its_customer_and_a_case(client, source):
    deliver(client, source, event("responseFinished", finished=True,
                                  answers={"nps": 4, "improve": "Exports time out every Monday."}))
    assert list(process(source).values()) == ["processed"]
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.survey.name, r.nps, r.partial, r.comment) == (
        "cm7resp000001", "In-app NPS", 4, False, "Exports time out every Monday.")
    assert (r.customer.external_id, r.customer.email, r.customer.tier) == ("U-42", "kim@example.com", "Gold")
    assert r.attributes["country"] == "DE"
    assert cases_of(r) == 1


def test_a_promoter_opens_no_case(client, source):
    deliver(client, source, event("responseFinished", finished=True, answers={"nps": 10}))
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 0


def test_partial_then_finished_updates_one_response_and_opens_one_case(client, source):
    deliver(client, source, event("responseCreated", finished=False, answers={"nps": 2}))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.nps, r.comment, cases_of(r)) == (True, 2, "", 1)  # judged at once
    deliver(client, source, event("responseUpdated", finished=False,
                                  answers={"nps": 2, "improve": "Support never answered"}))
    process(source)
    deliver(client, source, event("responseFinished", finished=True,
                                  answers={"nps": 2, "improve": "Support never answered", "csat": 1}))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.nps, r.csat, r.comment) == (False, 2, 1, "Support never answered")
    assert cases_of(r) == 1  # the CSAT rule the finished version meets attaches to the same case
    assert case_alerts(r) == 2
    assert set(WebhookDelivery.objects.values_list("status", "response_id")) == {("processed", r.pk)}


def test_partial_and_finished_in_one_batch_record_one_response_and_one_case(client, source):
    deliver(client, source, event("responseCreated", finished=False, answers={"nps": 3}))
    deliver(client, source, event("responseFinished", finished=True, answers={"nps": 3, "improve": "Too slow"}))
    assert list(process(source).values()) == ["processed", "processed"]
    r = SurveyResponse.objects.get()
    assert (r.partial, r.comment, cases_of(r)) == (False, "Too slow", 1)


def test_a_late_partial_never_undoes_the_finished_response(client, source):
    deliver(client, source, event("responseFinished", finished=True, answers={"nps": 9, "improve": "Great"}))
    process(source)
    deliver(client, source, event("responseUpdated", finished=False, answers={"nps": 3}))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.nps, cases_of(r)) == (False, 9, 0)


def test_an_anonymous_partial_gets_its_customer_from_the_finished_version(client, source):
    anonymous = json.loads(event("responseCreated", finished=False, answers={"nps": 1}))
    anonymous["data"].update(contact=None, contactAttributes=None)
    deliver(client, source, json.dumps(anonymous).encode())
    process(source)
    assert SurveyResponse.objects.get().customer_id is None
    deliver(client, source, event("responseFinished", finished=True, answers={"nps": 1, "improve": "Crashed"}))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.customer.external_id, r.customer.email, cases_of(r)) == (False, "U-42", "kim@example.com", 1)


def test_a_rating_on_another_scale_is_read_on_the_scale_the_mapping_gives(client):
    judge_by_default_scales()
    source = make_source("formbricks", secret=SECRET, mapping={"csat_scale": "1-10"})
    deliver(client, source, event("responseFinished", finished=True, answers={"csat": 7}))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.csat, r.csat_scale_min, r.csat_scale_max, cases_of(r)) == (7, 1, 10, 0)


def test_a_partial_without_a_score_yet_is_ignored(client, source):
    deliver(client, source, event("responseCreated", finished=False, answers={"improve": "Hi"}))
    process(source)
    assert SurveyResponse.objects.count() == 0
    assert "no score yet" in WebhookDelivery.objects.get().note


@pytest.mark.parametrize("change", ["body", "secret", "old timestamp", "no signature"])
def test_a_delivery_that_is_not_formbricks_own_is_refused_with_401(client, source, change):
    body = event("responseFinished", finished=True, answers={"nps": 1})
    sent = headers(body)
    if change == "body":
        body = body.replace(b'"nps": 1', b'"nps": 9')
    elif change == "secret":
        sent = headers(body, secret="whsec_" + "A" * 32)
    elif change == "old timestamp":
        sent = headers(body, timestamp=int(time.time()) - 600)
    else:
        sent.pop("webhook-signature")
    assert post(client, source, "application/json", body, sent).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_the_sample_delivery_is_signed_and_opens_a_case(client, source):
    content_type, body, sent = formbricks.sample_delivery(source)
    assert post(client, source, content_type, body, sent).status_code == 202
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("formbricks", secret=SECRET)
    out = run_curl_example("formbricks", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, cases_of(r)) == (3, "U-1001", 1)


@pytest.mark.django_db(transaction=True)
def test_versions_of_one_response_processed_by_concurrent_workers_end_finished_with_one_case():
    """Eight workers at once, each with one version of the same response (partials with more and
    more answers, and the finished one): whichever inserts first, the rest complete it under the
    row lock, and a partial never undoes the finished version."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from surveys.services import delivery_process

    judge_by_default_scales()
    source = make_source("formbricks", secret=SECRET)
    versions = [event("responseUpdated", finished=False, answers={"nps": 2, **{f"q{j}": "x" * j for j in range(i)}})
                for i in range(7)]
    versions.insert(3, event("responseFinished", finished=True, answers={"nps": 2, "improve": "Final words"}))
    pks = [WebhookDelivery.objects.create(source=source, delivery_id=f"v{i}", content_type="application/json",
                                          body=body).pk for i, body in enumerate(versions)]
    barrier = threading.Barrier(len(pks))

    def work(pk):
        barrier.wait(timeout=10)
        try:
            return delivery_process(delivery_pk=pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(len(pks)) as pool:
        outcomes = list(pool.map(work, pks, timeout=120))
    assert outcomes == ["processed"] * len(pks)
    r = SurveyResponse.objects.get()
    assert (r.partial, r.comment, cases_of(r)) == (False, "Final words", 1)
    assert set(WebhookDelivery.objects.values_list("response_id", flat=True)) == {r.pk}
