"""Duplicates under concurrency end with one response and at most one case; a delivery that
always fails ends failed after its retries, visibly, and stays out of the re-drive."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from tests.surveys.payloads import closeloop_body, make_source, signed

THREADS = 8


def _in_threads(fn, n=THREADS):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=10)
        try:
            return fn(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n), timeout=60))


def _detractor_setup():
    """A default team and the detractor rule (a transactional test starts from empty tables)."""
    from decimal import Decimal

    from accounts.models import Team
    from alerts.models import AlertRule

    Team.objects.create(name="North", slug="north", is_default=True)
    AlertRule.objects.get_or_create(
        metric="nps", operator="lte", action="open_case",
        defaults={"name": "Detractor", "threshold": Decimal("6"), "order": 10},
    )


def _cases_for(response):
    from cases.models import Case

    return Case.objects.filter(responses=response) | Case.objects.filter(response=response)


@pytest.mark.django_db(transaction=True)
def test_one_delivery_posted_by_many_clients_at_once_makes_one_case():
    from surveys.models import SurveyResponse, WebhookDelivery

    _detractor_setup()
    source = make_source("standard")
    body = closeloop_body(response_id="dup-1", nps=1)
    headers = signed("standard", source, body)
    statuses = _in_threads(
        lambda i: Client().post(f"/webhooks/{source.slug}/", data=body, content_type="application/json", **headers).status_code
    )
    assert sorted(statuses) == [200] * (THREADS - 1) + [202]
    assert WebhookDelivery.objects.count() == 1
    response = SurveyResponse.objects.get()
    assert _cases_for(response).distinct().count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_response_under_many_delivery_ids_at_once_makes_one_case():
    from surveys.models import SurveyResponse, WebhookDelivery

    _detractor_setup()
    source = make_source("standard")
    body = closeloop_body(response_id="dup-2", nps=2)

    def post(i):
        headers = signed("standard", source, body)  # a fresh webhook-id each time
        return Client().post(f"/webhooks/{source.slug}/", data=body, content_type="application/json", **headers).status_code

    statuses = _in_threads(post)
    assert statuses == [202] * THREADS
    assert WebhookDelivery.objects.count() == THREADS
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    response = SurveyResponse.objects.get()
    assert _cases_for(response).distinct().count() == 1


def test_a_delivery_that_always_fails_ends_failed_after_its_retries(db, monkeypatch, settings):
    from surveys import services
    from surveys.models import WebhookDelivery
    from surveys.tasks import process_delivery_task
    from surveys.vendor_api import TransientError

    def always_down(*args, **kwargs):
        raise TransientError("vendor API timed out")

    monkeypatch.setattr(services.deliveries, "delivery_normalize", always_down)  # what delivery_prepare calls
    source = make_source("standard")
    delivery = WebhookDelivery.objects.create(source=source, delivery_id="doomed", body=closeloop_body(), content_type="application/json")
    runs = 0
    for _ in range(settings.WEBHOOK_MAX_ATTEMPTS + 5):  # bounded: more runs than retries allowed
        WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=None)  # the backoff has passed
        process_delivery_task(delivery.pk)
        runs += 1
        delivery.refresh_from_db()
        if delivery.status == WebhookDelivery.Status.FAILED:
            break
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == settings.WEBHOOK_MAX_ATTEMPTS == runs
    assert "Gave up after" in delivery.error and "vendor API timed out" in delivery.error
    assert services.deliveries_redrive() == {"returned_to_pending": 0, "enqueued": 0}
    process_delivery_task(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED and delivery.attempts == runs, "no loop"
