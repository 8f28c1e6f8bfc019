"""Duplicates under concurrency end with one response and at most one case; a delivery that
always fails ends failed after its retries, visibly, and stays out of the re-drive."""

from __future__ import annotations

from functools import partial

import pytest
from django.test import Client

from tests.concurrency import run_concurrently
from tests.surveys.payloads import closeloop_body, make_source, signed

THREADS = 8


def _in_threads(fn, n=THREADS):
    return run_concurrently(*[partial(fn, i) for i in range(n)])


def _detractor_setup():
    """A default team and the detractor rule (a transactional test starts from empty tables)."""
    from decimal import Decimal

    from alerts.models import AlertRule
    from tests.factories import make_team

    make_team("North", is_default=True)
    AlertRule.objects.get_or_create(
        metric="nps", operator="lte", action="open_case",
        defaults={"name": "Detractor", "threshold": Decimal("6"), "order": 10},
    )


def _cases_for(response):
    from cases.models import Case

    return Case.objects.filter(responses=response) | Case.objects.filter(response=response)


@pytest.mark.django_db(transaction=True)
def test_one_delivery_posted_by_many_clients_at_once_makes_one_case():
    from surveys.models import SurveyResponse

    _detractor_setup()
    source = make_source("standard")
    body = closeloop_body(response_id="dup-1", nps=1)
    headers = signed("standard", source, body)
    statuses = _in_threads(
        lambda i: Client().post(f"/webhooks/{source.slug}/", data=body, content_type="application/json", **headers).status_code
    )
    assert sorted(statuses) == [200] * (THREADS - 1) + [202]
    assert _one_of_each_recorded() == (1, 1, 1, 1)
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
    assert _one_of_each_recorded() == (THREADS, 1, 1, 1)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    response = SurveyResponse.objects.get()
    assert _cases_for(response).distinct().count() == 1


def _one_of_each_recorded():
    """(deliveries, responses, alerts, cases) in the database: what 'processed once' means."""
    from alerts.models import Alert
    from cases.models import Case
    from surveys.models import SurveyResponse, WebhookDelivery

    return (WebhookDelivery.objects.count(), SurveyResponse.objects.count(), Alert.objects.count(),
            Case.objects.count())


@pytest.mark.django_db(transaction=True)
def test_a_repeated_delivery_is_processed_once():
    """The vendor retries the same delivery (same webhook id), and then sends the same response
    again under a new id: one response, one alert, one case, whatever the status codes say."""
    from surveys.models import WebhookDelivery

    _detractor_setup()
    source = make_source("standard")
    body = closeloop_body(response_id="again-1", nps=1)
    headers = signed("standard", source, body)
    first = Client().post(f"/webhooks/{source.slug}/", data=body, content_type="application/json", **headers)
    assert first.status_code == 202
    assert _one_of_each_recorded() == (1, 1, 1, 1)
    retried = Client().post(f"/webhooks/{source.slug}/", data=body, content_type="application/json", **headers)
    assert retried.status_code == 200 and retried.json()["id"] == first.json()["id"]
    assert _one_of_each_recorded() == (1, 1, 1, 1)
    resent = Client().post(f"/webhooks/{source.slug}/", data=body, content_type="application/json",
                           **signed("standard", source, body))  # a fresh webhook id
    assert resent.status_code == 202
    assert _one_of_each_recorded() == (2, 1, 1, 1)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}


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
