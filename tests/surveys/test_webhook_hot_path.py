"""The accepting path stays lean: the source comes from the per-process cache (no query), the
delivery is one autocommitted INSERT (surveys.ingest.store), a changed source is honoured at
once, and committed deliveries are published in batches (surveys.ingest.publish)."""

from __future__ import annotations

import queue
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connections
from django.test import override_settings

from surveys.ingest import store
from surveys.ingest.publish import BatchPublisher, publisher
from alerts.models import Alert, AlertRule
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery, WebhookSource
from surveys.selectors import SOURCE_VERSION_KEY
from tests.alerts.helpers import defaults_off, rule
from tests.surveys.payloads import closeloop_body, make_source, post, signed, standard_headers

pytestmark = pytest.mark.django_db

# Between version checks a process trusts its cached sources; the production default is 2 s.
SLOW_CHECKS = override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=3600)


def _accept(client, source, response_id: str, secret: str | None = None):
    body = closeloop_body(response_id=response_id)
    return post(client, source, body, standard_headers(secret or source.secret, body))


@pytest.mark.django_db(transaction=True)
def test_an_accepted_delivery_costs_one_query_once_the_source_is_cached(client, django_assert_num_queries):
    source = make_source("standard")
    with SLOW_CHECKS, override_settings(CELERY_TASK_ALWAYS_EAGER=False), mock.patch.object(publisher, "submit") as queued:
        assert _accept(client, source, "warm-up").status_code == 202  # caches the source
        with django_assert_num_queries(1) as captured:  # INSERT ... RETURNING, committed by itself
            response = _accept(client, source, "r-2")
    assert response.status_code == 202
    assert queued.call_args_list[-1].args == (response.json()["id"],)  # queued for the publishing thread
    assert captured.captured_queries[0]["sql"].startswith('INSERT INTO "surveys_webhookdelivery"')
    # Committed before the answer: another connection sees the row.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM surveys_webhookdelivery WHERE id = %s", [response.json()["id"]])
            assert cursor.fetchone()[0] == 1
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_accepted_outside_a_transaction_is_processed(client):
    defaults_off()  # the seeded rules may be gone (an earlier test's flush): this test's own rule
    rule(name="Detractor", action=AlertRule.Action.OPEN_CASE)
    source = make_source("standard")
    response = _accept(client, source, "r-eager")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert delivery.status == "processed"  # published after the INSERT committed (eager in tests)
    again = _accept(client, source, "r-eager")  # a new delivery id, same response: processed once
    assert again.status_code == 202
    repeat = WebhookDelivery.objects.get(pk=again.json()["id"])
    assert (repeat.status, repeat.response_id) == ("processed", delivery.response_id)
    assert SurveyResponse.objects.filter(source=source, external_id="r-eager").count() == 1
    # NPS 3 breaches the detractor rule once: one alert, one case, however often it arrives.
    assert Alert.objects.filter(response_id=delivery.response_id).count() == 1
    assert Case.objects.filter(responses__id=delivery.response_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_outside_a_transaction_answers_200_with_the_original(client):
    source = make_source("standard")
    body = closeloop_body()
    headers = standard_headers(source.secret, body, msg_id="msg_dup")
    first = post(client, source, body, headers)
    again = post(client, source, body, headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert WebhookDelivery.objects.count() == 1


def test_a_secret_rotated_elsewhere_verifies_at_once(client):
    """Another process rotates the secret (no signal reaches this one, the version check is far
    off): the first delivery signed with the new secret still verifies, and is stored."""
    source = make_source("standard")
    with SLOW_CHECKS:
        assert _accept(client, source, "r-1").status_code == 202
        new_secret = "whsec_" + "bmV3LXNlY3JldC1mb3ItdGVzdHMtMTIzNDU2"
        WebhookSource.objects.filter(pk=source.pk).update(secret=new_secret, previous_secret="")
        assert _accept(client, source, "r-2", secret=new_secret).status_code == 202
        # ... and the retired one no longer does.
        assert _accept(client, source, "r-3", secret=source.secret).status_code == 401
    assert WebhookDelivery.objects.count() == 2


def test_a_change_saved_in_this_process_applies_to_the_next_request(client):
    source = make_source("generic", auth={"header": "X-Signature"})
    body = closeloop_body()
    with SLOW_CHECKS:
        assert post(client, source, body, signed("generic", source, body)).status_code == 202
        source.secret = "another-secret"
        source.save()
        old = post(client, source, body, {"HTTP_X_SIGNATURE": "0" * 64})
        assert old.status_code == 401
        fresh = WebhookSource.objects.get(pk=source.pk)
        assert post(client, fresh, closeloop_body(response_id="r-9"), signed("generic", fresh, closeloop_body(response_id="r-9"))).status_code == 202
        source.active = False
        source.save()
        assert _accept(client, source, "r-4").status_code == 404


def test_a_source_deactivated_elsewhere_stops_at_the_next_version_check(client):
    source = make_source("standard")
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=0):  # check the shared version every request
        assert _accept(client, source, "r-1").status_code == 202
        WebhookSource.objects.filter(pk=source.pk).update(active=False)  # another process, no signal here
        cache.set(SOURCE_VERSION_KEY, "changed-by-another-process", timeout=None)  # what its receiver publishes
        assert _accept(client, source, "r-2").status_code == 404
    assert WebhookDelivery.objects.count() == 1


def test_a_deleted_source_answers_404_and_head_agrees(client):
    source = make_source("standard")
    assert _accept(client, source, "r-1").status_code == 202
    assert client.head(f"/webhooks/{source.slug}/").status_code == 200
    WebhookDelivery.objects.all().delete()
    source.delete()
    assert _accept(client, source, "r-2").status_code == 404
    assert client.head(f"/webhooks/{source.slug}/").status_code == 404


def test_the_publisher_batches_what_queued_up_and_survives_a_broker_error():
    sent, failures = [], [ConnectionError("redis down")]

    def publish(ids):
        if failures:
            raise failures.pop()
        sent.append(ids)

    batches = BatchPublisher(publish=publish, batch_size=3)
    for pk in range(1, 8):
        batches._queue.put(pk)  # queued while the thread was busy
    batches.flush()
    assert sent == [[4, 5, 6], [7]]  # the first batch met the broker error: left to the re-drive


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_publishing_thread_sends_the_committed_delivery(client):
    """Outside eager mode the request only queues the id; the publisher's own thread sends it
    (one `process_deliveries_task` message per batch)."""
    messages = queue.SimpleQueue()
    source = make_source("standard")
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False), mock.patch.object(publisher, "_publish", messages.put):
        response = _accept(client, source, "r-bg")
        assert response.status_code == 202
        sent = messages.get(timeout=10)
    assert sent == [response.json()["id"]]
    assert WebhookDelivery.objects.get(pk=sent[0]).status == "pending"  # for a worker to take


@pytest.mark.django_db(transaction=True)
def test_a_nul_character_in_a_delivery_id_is_dropped_and_the_delivery_stored():
    source = make_source("standard")
    pk, delivery_id, created = store.store_delivery(source, "abc\x00def", "application/json",
                                                    {"webhook-id": "abc\x00def"}, b"{}")
    assert (delivery_id, created) == ("abcdef", True)
    assert WebhookDelivery.objects.get(pk=pk).headers == {"webhook-id": "abcdef"}
    # A lone surrogate (from a JSON body's "\\ud800") cannot be stored as such: replaced.
    pk, delivery_id, created = store.store_delivery(source, "x\ud800y", "application/json", {}, b"{}")
    assert (delivery_id, created) == ("x?y", True)
    assert WebhookDelivery.objects.get(pk=pk).delivery_id == "x?y"
