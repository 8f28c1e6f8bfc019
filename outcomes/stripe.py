"""What a Stripe event becomes: one outcome event (or nothing, with the reason), for the Stripe
preset of the webhook door (surveys/adapters/stripe.py authenticates; this turns the stored event
into an `OutcomeRow` and records it with outcome_events_upsert).

    customer.subscription.deleted   churn, amount = the subscription's recurring amount per period
    customer.subscription.updated   its recurring amount went down: downgrade (by the difference);
                                    up: expansion (by the difference); unchanged: nothing
    invoice.paid                    billing_reason subscription_cycle: renewal; any other: purchase;
                                    amount = amount_paid (an invoice paid with 0 records nothing)
    charge.refunded                 refund, amount = what this event refunded (amount_refunded
                                    minus its previous value; the whole amount_refunded without one)

Amounts arrive in the currency's minor unit: cents for EUR, yen for JPY (Stripe's zero-decimal
currencies), thousandths for BHD, JOD, KWD, OMR and TND; they are stored in the major unit.

The customer: metadata `closeloop_customer_id` (a Closeloop id) on the object, else metadata
`customer_external_id`, else the Stripe customer id (cus_...) as an external id, else the e-mail
on the invoice (customer_email) or the charge (billing_details.email, receipt_email). An account
by metadata `closeloop_account_id` or `account_external_id`. Idempotent on the event id."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from outcomes.rows import OutcomeRow, RowInvalid, outcome_row_parse
from outcomes.services import outcome_events_upsert
from surveys.adapters import MappingError, parse_body

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


class NotAnOutcome(Exception):
    """A genuine event that records nothing (its reason is kept as the delivery's note)."""


class StripeEventInvalid(ValueError):
    """The event cannot be read as an outcome: what to fix."""


def major_amount(minor: int, currency: str) -> Decimal:
    """Stripe's integer amount in the currency's minor unit -> the amount in its major unit."""
    code = currency.upper()
    places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return Decimal(int(minor)).scaleb(-places)


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StripeEventInvalid(f"{what} is not an integer amount in the currency's minor unit.")
    return value


def _recurring_amount(subscription: dict) -> tuple[int, str]:
    """The subscription's amount per billing period in minor units: sum of unit_amount x quantity
    over its items (a legacy `plan` when it has no items)."""
    items = ((subscription.get("items") or {}).get("data")) if isinstance(subscription.get("items"), dict) else None
    currency = str(subscription.get("currency") or "")
    total = 0
    if items:
        for item in items:
            price = item.get("price") or item.get("plan") or {}
            total += _int(price.get("unit_amount", price.get("amount", 0)) or 0, "items.price.unit_amount") * int(
                item.get("quantity") or 1)
            currency = currency or str(price.get("currency") or "")
    elif isinstance(subscription.get("plan"), dict):
        plan = subscription["plan"]
        total = _int(plan.get("amount") or 0, "plan.amount") * int(subscription.get("quantity") or 1)
        currency = currency or str(plan.get("currency") or "")
    return total, currency


def _identity(obj: dict) -> dict:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    customer = obj.get("customer")
    customer = customer.get("id") if isinstance(customer, dict) else customer
    email = obj.get("customer_email") or (obj.get("billing_details") or {}).get("email") or obj.get("receipt_email")
    fields = {
        "customer": metadata.get("closeloop_customer_id") or None,
        "customer_external_id": metadata.get("customer_external_id") or customer or "",
        "customer_email": email or "",
        "account": metadata.get("closeloop_account_id") or None,
        "account_external_id": metadata.get("account_external_id") or "",
    }
    return {k: v for k, v in fields.items() if v}


def outcome_row_from_stripe(event: dict, *, source: str) -> OutcomeRow:
    """The outcome an event records; NotAnOutcome for one that records nothing; StripeEventInvalid
    or RowInvalid for one that cannot be read."""
    if not isinstance(event, dict) or event.get("object") != "event" or not isinstance(event.get("data"), dict):
        raise StripeEventInvalid("Not a Stripe event (an object with object: event and data.object).")
    kind_of = event.get("type")
    obj = event["data"].get("object")
    previous = event["data"].get("previous_attributes") or {}
    if not isinstance(obj, dict):
        raise StripeEventInvalid("The event has no data.object.")
    created = event.get("created")
    when = dt.datetime.fromtimestamp(created, dt.UTC) if isinstance(created, int) and not isinstance(created, bool) \
        else None
    attributes = {"stripe_event": event.get("id"), "stripe_object": obj.get("id"), "livemode": event.get("livemode")}
    if kind_of == "customer.subscription.deleted":
        minor, currency = _recurring_amount(obj)
        kind = "churn"
        ended = obj.get("ended_at") or obj.get("canceled_at")
        when = dt.datetime.fromtimestamp(ended, dt.UTC) if isinstance(ended, int) else when
    elif kind_of == "customer.subscription.updated":
        if "items" not in previous and "plan" not in previous and "quantity" not in previous:
            raise NotAnOutcome("Subscription updated without a change of its items or plan: no outcome.")
        now_minor, currency = _recurring_amount(obj)
        before_minor, _c = _recurring_amount({**obj, **previous})
        if now_minor == before_minor:
            raise NotAnOutcome("Subscription updated, its recurring amount unchanged: no outcome.")
        kind = "expansion" if now_minor > before_minor else "downgrade"
        minor = abs(now_minor - before_minor)
        attributes |= {"amount_before": str(major_amount(before_minor, currency or "EUR")),
                       "amount_after": str(major_amount(now_minor, currency or "EUR"))}
    elif kind_of == "invoice.paid":
        minor, currency = _int(obj.get("amount_paid"), "amount_paid"), str(obj.get("currency") or "")
        if minor == 0:
            raise NotAnOutcome("Invoice paid with nothing to pay (a trial or a credit): no outcome.")
        reason = obj.get("billing_reason") or ""
        kind = "renewal" if reason == "subscription_cycle" else "purchase"
        attributes["billing_reason"] = reason
        paid = (obj.get("status_transitions") or {}).get("paid_at")
        when = dt.datetime.fromtimestamp(paid, dt.UTC) if isinstance(paid, int) else when
    elif kind_of == "charge.refunded":
        total = _int(obj.get("amount_refunded"), "amount_refunded")
        before = previous.get("amount_refunded")
        minor = total - _int(before, "previous amount_refunded") if before is not None else total
        currency = str(obj.get("currency") or "")
        kind = "refund"
        if minor <= 0:
            raise NotAnOutcome("Charge refunded event with no new refunded amount: no outcome.")
    else:
        raise NotAnOutcome(f"Stripe event {str(kind_of)[:80]!r} is not one Closeloop records (it records "
                           "customer.subscription.deleted/updated, invoice.paid and charge.refunded).")
    if not currency:
        raise StripeEventInvalid("The event's object names no currency.")
    if when is None:
        raise StripeEventInvalid("The event has no created time.")
    return outcome_row_parse({
        "kind": kind, "amount": major_amount(minor, currency), "currency": currency, "external_id": event.get("id"),
        "occurred_at": when.isoformat(), "source": source, "attributes": attributes, **_identity(obj),
    }, default_source=source)


def stripe_delivery_record(delivery) -> str:
    """The handler of Stripe deliveries (registered in outcomes.receivers): record the event's
    outcome, or say why there is none. A customer that cannot be matched fails the delivery with
    what to do (record the customer, or set its metadata in Stripe), to be replayed after."""
    event = parse_body(bytes(delivery.body), delivery.content_type)
    source = f"stripe:{delivery.source.slug}"
    try:
        row = outcome_row_from_stripe(event, source=source)
    except NotAnOutcome as exc:
        return str(exc)
    except (StripeEventInvalid, RowInvalid) as exc:
        raise MappingError(f"This Stripe event cannot be recorded as an outcome: {exc}") from None
    [result] = outcome_events_upsert([row])
    if result.status == "error":
        messages = " ".join(m for ms in result.errors.values() for m in ms)
        raise MappingError(f"{messages} In Stripe, the customer's metadata closeloop_customer_id or "
                           "customer_external_id names them too (docs/connect/stripe.md).")
    return f"Outcome {row.kind} {row.amount} {row.currency} {result.status} (event {result.id})."[:255] \
        if result.status == "unchanged" else ""

