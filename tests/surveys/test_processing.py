"""From a stored delivery to a recorded response: idempotent, failing visibly, retrying transient errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.models import Customer, SurveyResponse, WebhookDelivery
from surveys.ingest import delivery_store
from surveys.services import delivery_process, delivery_replay, deliveries_redrive
from surveys.signals import response_recorded
from tests.surveys.payloads import closeloop_body, make_source, typeform_body, delighted_body

pytestmark = pytest.mark.django_db


def _store(source, body, delivery_id="d-1", content_type="application/json"):
    delivery, _ = delivery_store(source=source, delivery_id=delivery_id, content_type=content_type, headers={}, body=body)
    return delivery


def test_running_the_task_twice_records_one_response_and_one_signal():
    from surveys.tasks import process_delivery_task

    source = make_source("standard")
    delivery = _store(source, closeloop_body())
    seen = []
    response_recorded.connect(lambda sender, recorded, **kw: seen.append(recorded.response.pk), weak=False,
                              dispatch_uid="t1")
    try:
        process_delivery_task(delivery.pk)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending")  # as if delivered twice
        process_delivery_task(delivery.pk)
    finally:
        response_recorded.disconnect(dispatch_uid="t1")
    assert SurveyResponse.objects.count() == 1
    assert len(seen) == 1
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.response_id == seen[0]


def test_it_stores_every_metric_with_its_scale():
    source = make_source("standard")
    body = json.dumps({"data": {"response_id": "m-1", "scores": {
        "nps": 9, "csat": {"value": 4, "min": 1, "max": 5},
        "ces": {"value": 2, "min": 1, "max": 7, "higher_is_better": False}, "delivery_speed": {"value": 7, "min": 0, "max": 10},
    }}}).encode()
    delivery_process(delivery_pk=_store(source, body).pk)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.csat, r.csat_scale_max, r.ces, r.ces_scale_max, r.ces_high_is_easy) == (9, 4, 5, 2, 7, False)
    assert r.scores["delivery_speed"] == {"metric": "custom", "value": 7.0, "min": 0, "max": 10, "higher_is_better": True}


@pytest.mark.parametrize("scores, reason", [
    ({}, "No score found"),
    ({"nps": 11}, "outside its 0–10 scale"),
    ({"nps": "ten"}, "not a number"),
])
def test_unusable_payloads_fail_with_a_reason_a_person_can_act_on(scores, reason):
    source = make_source("standard")
    delivery = _store(source, json.dumps({"data": {"response_id": "x", "scores": scores, "comment": "hi"}}).encode())
    assert delivery_process(delivery_pk=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == "failed" and reason in delivery.error
    assert not SurveyResponse.objects.exists()


def test_a_failed_delivery_replays_after_the_mapping_is_fixed(django_capture_on_commit_callbacks):
    source = make_source("generic", auth={"mode": "token"})
    delivery = _store(source, json.dumps({"ticket": {"id": 7, "rating": {"score": 2}}}).encode())
    assert delivery_process(delivery_pk=delivery.pk) == "failed"
    source.mapping = {"nps": "ticket.rating.score", "response_id": "ticket.id"}
    source.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_replay(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert SurveyResponse.objects.get().nps == 2


def test_transient_errors_retry_with_backoff_then_fail_visibly(settings, monkeypatch):
    from surveys import vendor_api

    settings.WEBHOOK_MAX_ATTEMPTS = 3
    source = make_source("surveymonkey", auth={"api_key": "k", "api_token": "t"})
    from tests.surveys.payloads import surveymonkey_event

    delivery = _store(source, surveymonkey_event())

    def down(request):
        raise vendor_api.TransientError("SurveyMonkey answered 503")

    monkeypatch.setattr(vendor_api, "fetch", down)
    outcomes = []
    for _ in range(3):
        outcomes.append(delivery_process(delivery_pk=delivery.pk))
        delivery.refresh_from_db()
        if delivery.status == "pending":
            assert delivery.not_before > timezone.now() and "retrying" in delivery.error
            WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=None)
    assert outcomes == ["retrying", "retrying", "failed"]
    assert "Gave up after 3 attempts" in delivery.error


def test_redrive_returns_stuck_deliveries_and_enqueues_old_pending_ones(settings):
    source = make_source("standard")
    stuck = _store(source, closeloop_body(response_id="s-1"), "d-stuck")
    waiting = _store(source, closeloop_body(response_id="s-2"), "d-wait")
    _store(source, closeloop_body(response_id="s-3"), "d-fresh")  # recent: left pending
    old = timezone.now() - timedelta(seconds=settings.WEBHOOK_REDRIVE_AFTER_SECONDS + 5)
    WebhookDelivery.objects.filter(pk=stuck.pk).update(
        status="processing", received_at=old, claimed_at=timezone.now() - timedelta(hours=1))
    WebhookDelivery.objects.filter(pk=waiting.pk).update(received_at=old)
    result = deliveries_redrive()  # eager: the enqueued tasks run now
    assert result == {"returned_to_pending": 1, "enqueued": 2}
    statuses = dict(WebhookDelivery.objects.values_list("delivery_id", "status"))
    assert statuses == {"d-stuck": "processed", "d-wait": "processed", "d-fresh": "pending"}


def test_customer_is_matched_by_external_id_then_email_case_insensitively():
    source = make_source("standard")
    Customer.objects.create(email="Ann@Example.com", name="Ann")
    delivery_process(delivery_pk=_store(source, closeloop_body(response_id="c-1", email="ann@example.COM"), "a").pk)
    delivery_process(delivery_pk=_store(source, closeloop_body(response_id="c-2", email="other@example.com"), "b").pk)
    customer = Customer.objects.get()
    assert customer.external_id == "C-1" and customer.tier == "Tier I"
    assert customer.responses.count() == 2


def test_typeform_defaults_need_no_mapping():
    source = make_source("typeform")
    delivery_process(delivery_pk=_store(source, typeform_body()).pk)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.comment, r.survey.name, r.customer.external_id, r.customer.email, r.customer.tier) == (
        2, "Too expensive", "Checkout feedback", "C-9", "tom@example.com", "Gold")


def test_delighted_update_fills_the_comment_without_a_second_response():
    source = make_source("delighted")
    delivery_process(delivery_pk=_store(source, delighted_body(comment=None), "d1").pk)
    delivery_process(delivery_pk=_store(source, delighted_body(event="survey_response.updated"), "d2").pk)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.comment, r.customer.external_id, r.location) == (4, "Rude staff", "C-77", "Leeds")
    assert r.sentiment is not None and r.sentiment < 0


HOSTILE = [
    '<script>alert("x")</script>',
    "<b>bold</b> & <i>it</i>",
    "'; DROP TABLE surveys_surveyresponse; --",
    "Terrible 😡🔥 service",
    "الخدمة كانت سيئة جدا",
]


@pytest.mark.parametrize("comment", HOSTILE)
def test_hostile_comments_are_stored_exactly_as_sent(comment):
    source = make_source("standard")
    delivery_process(delivery_pk=_store(source, closeloop_body(response_id="h", comment=comment)).pk)
    assert SurveyResponse.objects.get().comment == comment


def test_a_response_is_inserted_with_its_routed_team():
    """cases routes the response before its INSERT (surveys.signals.response_recording): no
    UPDATE of the response follows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Team

    team = Team.objects.create(name="Front", slug="front", is_default=True)
    source = make_source("standard")
    delivery = _store(source, closeloop_body(nps=9, comment="Fine"))
    with CaptureQueriesContext(connection) as queries:
        delivery_process(delivery_pk=delivery.pk)
    assert SurveyResponse.objects.get().team == team
    assert not [q["sql"] for q in queries if q["sql"].startswith('UPDATE "surveys_surveyresponse"')]
