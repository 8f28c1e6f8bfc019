"""The outcome events' idempotency key lives in OutcomeEventKey (the events table is partitioned
by month on occurred_at, and PostgreSQL keeps no uniqueness there that leaves occurred_at out):
sent twice, an event is stored once; its key follows it; the key is unique in the database
itself; a key whose event is gone passes to the next event it names."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from core import partitions
from outcomes.models import OutcomeEvent, OutcomeEventKey
from outcomes.rows import OutcomeRow
from outcomes.services import outcome_events_upsert
from tests.inbox.helpers import make_customer

pytestmark = pytest.mark.django_db


def _row(customer, **fields) -> OutcomeRow:
    values = {"kind": "renewal", "amount": Decimal("1200.00"), "currency": "EUR",
              "occurred_at": dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), "external_id": "inv-1", "source": "api",
              "customer_id": customer.pk, **fields}
    return OutcomeRow(**values)


def _keys():
    return list(OutcomeEventKey.objects.order_by("id").values_list("source", "external_id", "event_id", "occurred_at"))


def test_an_event_sent_twice_is_stored_once_with_one_key():
    ann = make_customer("Ann Lee", external_id="C-1")
    first = outcome_events_upsert([_row(ann)])
    again = outcome_events_upsert([_row(ann)])
    event = OutcomeEvent.objects.get()
    assert [(r.status, r.id) for r in first + again] == [("created", event.pk), ("unchanged", event.pk)]
    assert _keys() == [("api", "inv-1", event.pk, dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))]


def test_a_changed_date_moves_the_event_and_its_key_along():
    ann = make_customer("Ann Lee", external_id="C-1")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for month in (dt.date(2026, 3, 1), dt.date(2026, 5, 1)):
                partitions.create_partition(cursor, "outcomes_outcomeevent", "occurred_at", month)
    outcome_events_upsert([_row(ann)])
    later = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
    [result] = outcome_events_upsert([_row(ann, occurred_at=later)])
    assert result.status == "updated"
    assert OutcomeEvent.objects.get().occurred_at == later
    assert _keys() == [("api", "inv-1", result.id, later)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT tableoid::regclass::text FROM outcomes_outcomeevent WHERE id = %s", [result.id])
            assert cursor.fetchone() == ("outcomes_outcomeevent_p202605",)


def test_the_key_is_unique_in_the_database():
    ann = make_customer("Ann Lee", external_id="C-1")
    [result] = outcome_events_upsert([_row(ann)])
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeEventKey.objects.create(source="api", external_id="inv-1", event_id=result.id + 1,
                                       occurred_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    assert OutcomeEventKey.objects.count() == 1


def test_the_same_external_id_from_another_source_is_another_event():
    ann = make_customer("Ann Lee", external_id="C-1")
    outcome_events_upsert([_row(ann), _row(ann, source="stripe:billing")])
    assert OutcomeEvent.objects.count() == 2
    assert sorted(k[0] for k in _keys()) == ["api", "stripe:billing"]


def test_a_key_whose_event_is_gone_passes_to_the_next_event_it_names():
    ann = make_customer("Ann Lee", external_id="C-1")
    [first] = outcome_events_upsert([_row(ann)])
    OutcomeEvent.objects.filter(pk=first.id).delete()  # erased with its customer's data, or dropped past retention
    [again] = outcome_events_upsert([_row(ann, amount=Decimal(900))])
    assert again.status == "created" and again.id != first.id
    assert _keys() == [("api", "inv-1", again.id, dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))]
    assert OutcomeEvent.objects.get().amount == Decimal(900)


def test_a_key_held_by_another_event_refuses_a_second_event_for_it():
    """What a concurrent writer that committed the same key first looks like to the INSERT: the
    batch is read and written again once, then the error is raised, never a duplicate stored."""
    ann = make_customer("Ann Lee", external_id="C-1")
    [other] = outcome_events_upsert([_row(ann, external_id="inv-9")])
    OutcomeEventKey.objects.create(source="api", external_id="inv-1", event_id=other.id,
                                   occurred_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    with pytest.raises(IntegrityError):
        outcome_events_upsert([_row(ann)])
    assert OutcomeEvent.objects.count() == 1
