"""The Stripe preset: Stripe's signature scheme at the door, then each event type as an outcome,
amounts in the currency's minor unit, idempotent on the event id, unmatched customers failed with
what to do and recorded on replay."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import pytest

from outcomes.models import OutcomeEvent
from outcomes.stripe import major_amount
from surveys.adapters import stripe as adapter
from surveys.models import WebhookDelivery
from surveys.services import delivery_process
from surveys.services.deliveries import delivery_replay
from tests.inbox.helpers import make_customer
from tests.surveys.payloads import make_source

pytestmark = pytest.mark.django_db
SECRET = "whsec_test_5Yb3xQ"
PAID_AT = 1772360000  # 2026-03-01 10:13:20 UTC


def _event(type_, obj, *, event_id="evt_1", previous=None, created=PAID_AT):
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {"id": event_id, "object": "event", "type": type_, "created": created, "livemode": True, "data": data}


def _post(client, source, event, *, secret=SECRET, timestamp=None, signatures=None):
    body = json.dumps(event).encode()
    t = int(time.time()) if timestamp is None else timestamp
    v1 = signatures if signatures is not None else [adapter.sign(secret, t, body)]
    header = ",".join([f"t={t}", *(f"v1={s}" for s in v1), "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"])
    return client.post(f"/webhooks/{source.slug}/", data=body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=header)


@pytest.fixture
def source():
    return make_source("stripe", slug="billing", secret=SECRET)


@pytest.fixture
def ann():
    return make_customer("Ann Lee", email="ann@example.com", external_id="cus_ANN")


def _invoice(**fields):
    return {"id": "in_1", "object": "invoice", "customer": "cus_ANN", "customer_email": "ann@example.com",
            "amount_paid": 4900, "currency": "eur", "billing_reason": "subscription_cycle",
            "status_transitions": {"paid_at": PAID_AT}, "metadata": {}, **fields}


def _processed(source):
    delivery = WebhookDelivery.objects.get(source=source)
    delivery_process(delivery_pk=delivery.pk)  # a no-op when the test settings processed it already
    delivery.refresh_from_db()
    return delivery


# --- the signature: Stripe's scheme exactly -------------------------------------------------------

def test_a_genuine_event_is_stored_then_recorded_as_an_outcome(client, source, ann):
    response = _post(client, source, _event("invoice.paid", _invoice()))
    assert response.status_code == 202, response.content
    assert response.json()["delivery_id"] == "evt_1"
    delivery = _processed(source)
    assert (delivery.status, delivery.error, delivery.note) == ("processed", "", "")
    event = OutcomeEvent.objects.get()
    assert (event.kind, event.amount, event.currency, event.customer_id, event.source, event.external_id) == (
        "renewal", Decimal("49.00"), "EUR", ann.pk, "stripe:billing", "evt_1")
    assert event.occurred_at == dt.datetime(2026, 3, 1, 10, 13, 20, tzinfo=dt.UTC)
    assert event.attributes == {"stripe_event": "evt_1", "stripe_object": "in_1", "livemode": True,
                                "billing_reason": "subscription_cycle"}


def test_a_stale_timestamp_is_refused(client, source, ann):
    response = _post(client, source, _event("invoice.paid", _invoice()), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()
    assert _post(client, source, _event("invoice.paid", _invoice()), timestamp=int(time.time()) - 290).status_code == 202


def test_a_tampered_body_and_a_wrong_secret_are_refused(client, source, ann):
    body = json.dumps(_event("invoice.paid", _invoice())).encode()
    t = int(time.time())
    tampered = body.replace(b"4900", b"9900")
    response = client.post(f"/webhooks/{source.slug}/", data=tampered, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=f"t={t},v1={adapter.sign(SECRET, t, body)}")
    assert response.status_code == 401
    assert _post(client, source, _event("invoice.paid", _invoice()), secret="whsec_other").status_code == 401
    # the signature of another timestamp does not cover this one
    response = client.post(f"/webhooks/{source.slug}/", data=body, content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=f"t={t},v1={adapter.sign(SECRET, t - 1, body)}")
    assert response.status_code == 401
    assert client.post(f"/webhooks/{source.slug}/", data=body, content_type="application/json").status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_any_of_several_v1_signatures_may_match(client, source, ann):
    event = _event("invoice.paid", _invoice())
    body = json.dumps(event).encode()
    t = int(time.time())
    good = adapter.sign(SECRET, t, body)
    assert _post(client, source, event, timestamp=t, signatures=["0" * 64, good]).status_code == 202
    assert _post(client, source, _event("invoice.paid", _invoice(), event_id="evt_2"), timestamp=t,
                 signatures=["0" * 64, "f" * 64]).status_code == 401


def test_a_retried_event_is_a_duplicate_and_records_one_outcome(client, source, ann):
    assert _post(client, source, _event("invoice.paid", _invoice())).status_code == 202
    again = _post(client, source, _event("invoice.paid", _invoice()))
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    _processed(source)
    assert OutcomeEvent.objects.count() == 1


# --- what each event becomes ------------------------------------------------------------------------

def _subscription(unit_amount, quantity=1, currency="usd"):
    return {"id": "sub_1", "object": "subscription", "customer": "cus_ANN", "currency": currency,
            "items": {"object": "list", "data": [{"price": {"unit_amount": unit_amount, "currency": currency},
                                                  "quantity": quantity}]},
            "canceled_at": PAID_AT, "ended_at": PAID_AT + 60, "metadata": {}}


@pytest.mark.parametrize("event, expected", [
    (_event("customer.subscription.deleted", _subscription(2500, quantity=3)), ("churn", Decimal("75.00"), "USD")),
    (_event("customer.subscription.updated", _subscription(1000),
            previous={"items": {"object": "list", "data": [{"price": {"unit_amount": 2500}, "quantity": 1}]}}),
     ("downgrade", Decimal("15.00"), "USD")),
    (_event("customer.subscription.updated", _subscription(5000, quantity=2),
            previous={"quantity": 1, "items": {"data": [{"price": {"unit_amount": 5000}, "quantity": 1}]}}),
     ("expansion", Decimal("50.00"), "USD")),
    (_event("invoice.paid", _invoice(billing_reason="subscription_create", amount_paid=120000, currency="jpy")),
     ("purchase", Decimal("120000"), "JPY")),
    (_event("invoice.paid", _invoice(amount_paid=12345, currency="kwd")), ("renewal", Decimal("12.345"), "KWD")),
    (_event("charge.refunded", {"id": "ch_1", "object": "charge", "customer": None, "amount_refunded": 3000,
                                "currency": "gbp", "billing_details": {"email": "ANN@example.com"}},
            previous={"amount_refunded": 1000, "refunded": False}), ("refund", Decimal("20.00"), "GBP")),
])
def test_each_event_type_becomes_its_outcome(client, source, ann, event, expected):
    assert _post(client, source, event).status_code == 202
    delivery = _processed(source)
    assert (delivery.status, delivery.error) == ("processed", "")
    stored = OutcomeEvent.objects.get()
    assert (stored.kind, stored.amount, stored.currency, stored.customer_id) == (*expected, ann.pk)


@pytest.mark.parametrize("event, note", [
    (_event("customer.created", {"id": "cus_ANN", "object": "customer"}),
     "Stripe event 'customer.created' is not one Closeloop records (it records customer.subscription.deleted/updated, "
     "invoice.paid and charge.refunded)."),
    (_event("customer.subscription.updated", _subscription(1000), previous={"cancel_at_period_end": False}),
     "Subscription updated without a change of its items or plan: no outcome."),
    (_event("invoice.paid", _invoice(amount_paid=0)), "Invoice paid with nothing to pay (a trial or a credit): no outcome."),
])
def test_other_events_are_kept_with_the_reason_they_record_nothing(client, source, ann, event, note):
    assert _post(client, source, event).status_code == 202
    delivery = _processed(source)
    assert (delivery.status, delivery.note) == ("processed", note)
    assert not OutcomeEvent.objects.exists()


def test_an_unknown_customer_fails_with_what_to_do_and_a_replay_records_it(client, source):
    event = _event("invoice.paid", _invoice(customer="cus_NEW", customer_email="new@example.com",
                                            metadata={"closeloop_customer_id": ""}))
    assert _post(client, source, event).status_code == 202
    delivery = _processed(source)
    assert delivery.status == "failed"
    assert delivery.error == (
        "No customer matches external id 'cus_NEW' or e-mail 'new@example.com': record the customer first (a survey "
        "response, or an identity on the customer's page), then send the event again. In Stripe, the customer's "
        "metadata closeloop_customer_id or customer_external_id names them too (docs/connect/stripe.md).")
    new = make_customer("Nia New", email="new@example.com", external_id="C-9")
    assert delivery_replay(delivery=delivery)
    delivery = _processed(source)
    assert delivery.status == "processed"
    assert OutcomeEvent.objects.get().customer_id == new.pk


def test_metadata_names_the_closeloop_customer(client, source, ann):
    other = make_customer("Bo Lane", email="bo@example.com", external_id="C-2")
    event = _event("invoice.paid", _invoice(metadata={"closeloop_customer_id": str(other.pk)}))
    _post(client, source, event)
    _processed(source)
    assert OutcomeEvent.objects.get().customer_id == other.pk


def test_minor_units_follow_stripes_currency_rules():
    assert [major_amount(1234, c) for c in ("eur", "JPY", "krw", "KWD", "usd", "isk")] == [
        Decimal("12.34"), Decimal("1234"), Decimal("1234"), Decimal("1.234"), Decimal("12.34"), Decimal("12.34")]
