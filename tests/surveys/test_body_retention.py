"""Raw webhook bodies past WEBHOOK_BODY_RETENTION_DAYS (privacy.tasks.delivery_bodies_forget_task):
processed deliveries lose their body, headers and fetched payload and keep their row, key and
response; failed and unfinished ones keep everything; a forgotten body is never replayed, and a
delivery sent again is still recognised by its key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from privacy.tasks import delivery_bodies_forget_task
from surveys.ingest.store import store_delivery
from surveys.models import WebhookDelivery
from surveys.services import delivery_replay
from tests.security.data import make_customer_story

pytestmark = pytest.mark.django_db

BODY = b'{"answers": {"nps": 3, "comment": "The courier never came"}}'


@pytest.fixture
def deliveries(personas):
    source = make_customer_story(personas.north, closed=False).source
    made = {}
    for name, status, age_days in zip(NAMES, ["processed", "processed", "failed", "pending"], [40, 5, 40, 40],
                                      strict=True):
        delivery = WebhookDelivery.objects.create(source=source, delivery_id=name, body=BODY, status=status,
                                                  headers={"user-agent": "Typeform"}, fetched={"raw": 1})
        WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=timezone.now() - timedelta(days=age_days))
        made[name] = delivery
    return source, made


NAMES = ["old_processed", "new_processed", "old_failed", "old_pending"]


def _bodies():
    return {d.delivery_id: (bytes(d.body), d.headers, d.fetched)
            for d in WebhookDelivery.objects.filter(delivery_id__in=NAMES)}


@override_settings(WEBHOOK_BODY_RETENTION_DAYS=30)
def test_processed_bodies_past_retention_are_forgotten_and_the_rest_kept(deliveries):
    assert delivery_bodies_forget_task() == 1
    kept = (BODY, {"user-agent": "Typeform"}, {"raw": 1})
    assert _bodies() == {"old_processed": (b"", {}, None), "new_processed": kept, "old_failed": kept,
                         "old_pending": kept}
    assert delivery_bodies_forget_task() == 0  # twice changes nothing


@override_settings(WEBHOOK_BODY_RETENTION_DAYS=30)
def test_a_forgotten_delivery_keeps_its_key_and_is_not_replayed(deliveries):
    source, made = deliveries
    delivery_bodies_forget_task()
    assert delivery_replay(delivery=made["old_processed"]) is False
    assert WebhookDelivery.objects.get(pk=made["old_processed"].pk).status == "processed"
    # Sent again, it is answered as the delivery already stored, and nothing new is kept.
    assert store_delivery(source, "old_processed", "application/json", {}, BODY)[0::2] == (made["old_processed"].pk, False)
    assert WebhookDelivery.objects.filter(delivery_id="old_processed").count() == 1


def test_without_retention_nothing_is_forgotten(deliveries):
    assert delivery_bodies_forget_task() == 0
    assert {body for body, _h, _f in _bodies().values()} == {BODY}
