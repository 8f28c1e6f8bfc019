"""Deliveries processed as a batch (what the publisher sends one worker task): the batch shares its
reads and records exactly what one-at-a-time processing records. On PostgreSQL a batch is
recorded in one transaction (tests/surveys/test_batch_transaction.py); when that meets an error,
or on SQLite, each delivery has a transaction of its own, as below where it matters."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Team
from alerts.models import Alert, AlertRule
from cases.models import Case
from surveys.models import Customer, Survey, SurveyResponse, WebhookDelivery
from surveys.ingest import delivery_store
from surveys.services import deliveries_process
from tests.surveys.payloads import closeloop_body, delighted_body, make_source

pytestmark = pytest.mark.django_db


def _store(source, body, delivery_id):
    delivery, _ = delivery_store(source=source, delivery_id=delivery_id, content_type="application/json",
                                 headers={}, body=body)
    return delivery


def _statuses(pks):
    return dict(WebhookDelivery.objects.filter(pk__in=pks).values_list("pk", "status"))


def test_a_batch_finds_a_customer_and_survey_created_earlier_in_the_same_batch():
    source = make_source("standard")
    pks = [_store(source, closeloop_body(response_id=f"b-{i}", external_id="C-9", email="same@example.com"),
                  f"d-{i}").pk for i in range(3)]
    outcomes = deliveries_process(delivery_pks=pks)
    assert set(outcomes.values()) == {"processed"}
    assert Customer.objects.count() == 1 and Survey.objects.count() == 1
    assert SurveyResponse.objects.filter(customer__external_id="C-9").count() == 3


def test_one_bad_delivery_fails_alone_and_the_rest_of_the_batch_is_recorded():
    source = make_source("standard")
    good = _store(source, closeloop_body(response_id="ok-1"), "d-ok-1")
    bad = _store(source, json.dumps({"data": {"response_id": "bad", "scores": {"nps": 14}}}).encode(), "d-bad")
    good2 = _store(source, closeloop_body(response_id="ok-2", external_id="C-2", email="b@example.com"), "d-ok-2")
    outcomes = deliveries_process(delivery_pks=[good.pk, bad.pk, good2.pk])
    assert outcomes == {good.pk: "processed", bad.pk: "failed", good2.pk: "processed"}
    bad.refresh_from_db()
    assert "outside its 0–10 scale" in bad.error
    assert set(SurveyResponse.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2"}


def test_a_later_delivery_of_the_same_response_in_the_batch_fills_its_comment():
    source = make_source("delighted")
    first = _store(source, delighted_body(comment=None), "d-created")
    update = _store(source, delighted_body(event="survey_response.updated", comment="Rude staff"), "d-updated")
    outcomes = deliveries_process(delivery_pks=[first.pk, update.pk])
    assert list(outcomes.values()) == ["processed", "processed"]
    response = SurveyResponse.objects.get()
    assert response.comment == "Rude staff"


def test_rows_another_worker_holds_or_already_did_are_skipped():
    source = make_source("standard")
    pending = _store(source, closeloop_body(response_id="p"), "d-p")
    taken = _store(source, closeloop_body(response_id="t", external_id="C-t", email="t@example.com"), "d-t")
    WebhookDelivery.objects.filter(pk=taken.pk).update(status="processing")
    outcomes = deliveries_process(delivery_pks=[pending.pk, taken.pk, 987654])
    assert outcomes == {pending.pk: "processed", taken.pk: "skipped", 987654: "skipped"}
    assert deliveries_process(delivery_pks=[pending.pk]) == {pending.pk: "skipped"}  # done already
    assert SurveyResponse.objects.count() == 1


def test_a_response_recorded_before_the_batch_is_a_duplicate_not_a_second_row():
    source = make_source("standard")
    first = _store(source, closeloop_body(response_id="dup"), "d-1")
    deliveries_process(delivery_pks=[first.pk])
    again = _store(source, closeloop_body(response_id="dup"), "d-2")  # same response, new delivery id
    assert deliveries_process(delivery_pks=[again.pk]) == {again.pk: "processed"}
    again.refresh_from_db()
    assert SurveyResponse.objects.count() == 1 and again.response_id == first.__class__.objects.get(
        pk=first.pk).response_id
    assert Alert.objects.count() == Alert.objects.values("rule", "response").distinct().count()


def test_a_batch_of_promoters_costs_a_handful_of_queries_each(settings):
    """The reads are shared: 20 promoters (each a new customer, a praise alert and its routing)
    must not cost the ~30 queries each that one-at-a-time processing made."""
    source = make_source("standard")
    Team.objects.create(name="North", slug="north", is_default=True)
    pks = [_store(source, closeloop_body(response_id=f"q-{i}", nps=10, comment="Lovely, thanks", external_id=f"C-{i}",
                                         email=f"c{i}@example.com"), f"d-q-{i}").pk for i in range(20)]
    deliveries_process(delivery_pks=pks[:1])  # warms the per-process caches (rules, routing, themes)
    with CaptureQueriesContext(connection) as queries:
        outcomes = deliveries_process(delivery_pks=pks[1:])
    assert set(outcomes.values()) == {"processed"}
    assert Alert.objects.filter(rule__action=AlertRule.Action.PRAISE).count() == 20
    # The bound is what recording each delivery in a transaction of its own once cost (7 statements
    # each, plus 6 shared reads); the batch, recorded in one transaction, stays well under it.
    assert len(queries.captured_queries) <= 19 * 7 + 6, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_an_anonymous_response_two_case_rules_match_opens_one_case():
    source = make_source("standard")
    AlertRule.objects.create(name="Any detractor again", metric="nps", operator="lte", threshold=6, order=99)
    body = json.dumps({"data": {"response_id": "anon", "scores": {"nps": 1}, "comment": "Awful"}}).encode()
    delivery = _store(source, body, "d-anon")
    assert deliveries_process(delivery_pks=[delivery.pk]) == {delivery.pk: "processed"}
    response = SurveyResponse.objects.get()
    assert response.customer_id is None
    assert Alert.objects.filter(response=response, action="open_case").count() >= 2
    assert Case.objects.filter(case_responses__response=response).count() == 1



@pytest.mark.django_db(transaction=True)  # the e-mails are enqueued after each delivery's commit
def test_a_batchs_praise_emails_go_out_as_one_message_and_all_arrive(mailoutbox, monkeypatch):
    """process_deliveries_task: 3 promoters raise 3 praise alerts; their e-mails are sent by one
    batched task (not three), and every one of them is sent."""
    from accounts.models import Membership
    from alerts import tasks as alert_tasks
    from surveys.tasks import process_deliveries_task
    from tests.factories import make_user

    source = make_source("standard")
    north = Team.objects.create(name="North", slug="north", is_default=True)
    Membership.objects.create(team=north, user=make_user("nina"))
    # Its own rules: an earlier transactional test may have flushed the seeded ones.
    AlertRule.objects.all().delete()
    AlertRule.objects.create(name="Promoter praise", metric="nps", operator="gte", threshold=9, action="praise")
    batches = []
    real_apply_async = alert_tasks.alert_emails_send_task.apply_async
    monkeypatch.setattr(alert_tasks.alert_emails_send_task, "apply_async",
                        lambda args, *rest, **options: (batches.append(list(args[0])),
                                                         real_apply_async(args, *rest, **options))[1])
    # Stored without being enqueued (eager in tests): the batch below is their first processing.
    pks = [WebhookDelivery.objects.create(
        source=source, delivery_id=f"d-pr-{i}", content_type="application/json", headers={},
        body=closeloop_body(response_id=f"pr-{i}", nps=10, comment="Lovely", external_id=f"P-{i}",
                            email=f"p{i}@example.com")).pk for i in range(3)]
    process_deliveries_task(pks)
    praise = Alert.objects.filter(action="praise")
    assert praise.count() == 3
    assert len(batches) == 1 and sorted(batches[0]) == sorted(praise.values_list("pk", flat=True))
    assert set(praise.values_list("email_status", flat=True)) == {"sent"}
    assert len([m for m in mailoutbox if m.subject.startswith("[Closeloop] Praise")]) == 3


def test_a_worker_tops_its_batch_up_with_other_pending_deliveries_oldest_first(settings):
    """Under a backlog of one-id messages the worker still works in full batches: it takes other
    due pending rows (not ones waiting for a retry), and their own messages then find them done."""
    from datetime import timedelta

    from django.utils import timezone

    from surveys.tasks import process_deliveries_task

    settings.WEBHOOK_PROCESS_BATCH_SIZE = 3
    source = make_source("standard")
    rows = [WebhookDelivery.objects.create(
        source=source, delivery_id=f"d-top-{i}", content_type="application/json", headers={},
        body=closeloop_body(response_id=f"top-{i}", external_id=f"T-{i}", email=f"t{i}@example.com")) for i in range(5)]
    waiting = rows[1]
    WebhookDelivery.objects.filter(pk=waiting.pk).update(not_before=timezone.now() + timedelta(minutes=5))
    assert process_deliveries_task([rows[4].pk]) == {"processed": 3}
    statuses = _statuses([r.pk for r in rows])
    # rows[4] (its own message) plus the two oldest due ones; the row waiting for its retry stays.
    assert [statuses[r.pk] for r in rows] == ["processed", "pending", "processed", "pending", "processed"]
    assert process_deliveries_task([rows[0].pk]) == {"skipped": 1, "processed": 1}  # done already; tops up with rows[3]
    assert _statuses([rows[3].pk]) == {rows[3].pk: "processed"}


def test_the_publisher_waits_a_moment_for_more_ids_before_publishing():
    """Ids that arrive within the linger join the first one's batch; alone, an id waits no longer
    than the linger. (Generous times: the machine may be busy.)"""
    import threading
    import time as clock

    from surveys.ingest.publish import BatchPublisher

    publisher = BatchPublisher(publish=lambda ids: None, batch_size=100, linger=2.0)
    publisher._queue.put(1)
    threading.Timer(0.05, lambda: [publisher._queue.put(pk) for pk in (2, 3)]).start()
    started = clock.monotonic()
    assert publisher._take(timeout=1, linger=2.0) == [1, 2, 3]
    assert clock.monotonic() - started < 10
    publisher._queue.put(4)
    started = clock.monotonic()
    assert publisher._take(timeout=1, linger=0.05) == [4]
    assert clock.monotonic() - started < 2


@pytest.mark.parametrize("created_meanwhile", ["customer", "response"])
def test_a_row_another_worker_creates_after_the_batch_read_is_found_not_duplicated(monkeypatch, created_meanwhile):
    """The batch inserts what its reads did not find without a savepoint; when another worker
    created that customer or response in between, the delivery is recorded again carefully."""
    from surveys import services

    source = make_source("standard")
    delivery = _store_unqueued(source, closeloop_body(response_id="race", external_id="C-race", email="race@example.com"))
    real_load = services.RecordLookups.load

    def load_then_lose_the_race(items):
        lookups = real_load(items)
        customer = Customer.objects.create(external_id="C-race", email="race@example.com", name="Ann")
        if created_meanwhile == "response":
            SurveyResponse.objects.create(source=source, survey=Survey.objects.create(source=source, external_id="x"),
                                          customer=customer, external_id="race", answered_at=delivery.received_at, nps=3)
        return lookups

    monkeypatch.setattr(services.RecordLookups, "load", load_then_lose_the_race)
    assert deliveries_process(delivery_pks=[delivery.pk]) == {delivery.pk: "processed"}
    assert Customer.objects.filter(external_id="C-race").count() == 1
    response = SurveyResponse.objects.get(external_id="race")
    assert response.customer.external_id == "C-race"
    delivery.refresh_from_db()
    assert delivery.response_id == response.pk


def _store_unqueued(source, body, delivery_id="d-unqueued"):
    return WebhookDelivery.objects.create(source=source, delivery_id=delivery_id, content_type="application/json",
                                          headers={}, body=body)
