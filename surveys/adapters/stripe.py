"""Stripe: billing events, not survey responses. The door is the survey webhooks' (stored first,
committed before the 2xx, then processed by the worker); what a Stripe event becomes is decided by
the outcomes app, which registers itself as the handler of this vendor's deliveries
(surveys.services.handlers, outcomes.stripe). This module only authenticates and names deliveries.

Signature (https://docs.stripe.com/webhooks#verify-manually):
`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(endpoint secret, "<t>.<raw body>")>[,v1=...][,v0=...]`.
Every `v1` is compared, in constant time, with the HMAC under each of the source's secrets (the
endpoint's signing secret `whsec_...`, used as it is; after a roll, the previous one during its
grace period): one match authenticates. Other schemes (`v0`, test-mode only) are ignored. A `t`
more than 300 seconds from the receiver's clock is refused (Stripe's default tolerance), so a
captured delivery cannot be replayed later. Delivery id: the event's `id` (evt_...): Stripe sends
the same id when it retries, so a retry is a duplicate, never a second outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

from surveys.adapters.common import SignatureError, header, is_json_type

CONTENT_TYPES = ("application/json",)
SIGNATURE_HEADER = "stripe-signature"
TOLERANCE_SECONDS = 300
SCHEME = "v1"
AUTH_OPTIONS: dict[str, str] = {}  # the source's secret is the endpoint's signing secret (whsec_...)
IDENTITY = ("The object's metadata closeloop_customer_id, then metadata customer_external_id or the Stripe customer "
            "id (cus_...) as an external id, then the e-mail on the invoice or charge.")
EVENT_TYPES = ("customer.subscription.deleted", "customer.subscription.updated", "invoice.paid", "charge.refunded")


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The v1 signature Stripe computes (hex HMAC-SHA256 of "<timestamp>.<body>")."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def parse_signature_header(value: str) -> tuple[str, list[str]]:
    """(timestamp text, [v1 signatures]) from a Stripe-Signature header; other schemes are dropped."""
    timestamp, signatures = "", []
    for part in value.split(","):
        key, _, item = part.strip().partition("=")
        if key == "t":
            timestamp = item.strip()
        elif key == SCHEME and item.strip():
            signatures.append(item.strip())
    return timestamp, signatures


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    value = header(headers, SIGNATURE_HEADER)
    if not value:
        raise SignatureError("missing Stripe-Signature header")
    timestamp, signatures = parse_signature_header(value)
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("Stripe-Signature has no timestamp (t=)")
    if not signatures:
        raise SignatureError("Stripe-Signature has no v1 signature")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureError(f"Stripe-Signature timestamp {timestamp} is not within {TOLERANCE_SECONDS} s of now")
    expected = [sign(secret, int(timestamp), body).encode() for secret in source.secrets]
    received = [s.lower().encode("ascii", "replace") for s in signatures]
    found = False
    for e in expected:  # every pair compared in constant time, no early exit
        for r in received:
            found |= hmac.compare_digest(e, r)
    if not found:
        raise SignatureError("Stripe-Signature does not match (no v1 signature is the HMAC of this body)")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    event_id = payload.get("id") if isinstance(payload, dict) else None
    return str(event_id)[:255] if event_id else ""


def fetch_request(source, payload):
    return None  # Stripe events carry their object


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A signed invoice.paid event (a renewal of 49.00 EUR) for the set-up page's test button."""
    now = int(time.time())
    event = {
        "id": f"evt_test_{now}", "object": "event", "type": "invoice.paid", "created": now, "livemode": False,
        "data": {"object": {
            "id": f"in_test_{now}", "object": "invoice", "customer": "cus_test", "customer_email": "ann@example.com",
            "amount_paid": 4900, "currency": "eur", "billing_reason": "subscription_cycle",
            "status_transitions": {"paid_at": now}, "metadata": {},
        }},
    }
    body = json.dumps(event).encode()
    secret = source.secrets[0] if source.secrets else ""
    return "application/json", body, {SIGNATURE_HEADER: f"t={now},{SCHEME}={sign(secret, now, body)}"}


def normalize(payload, mapping, received_at, fetched=None, **_context):
    """Never a survey response: the worker hands Stripe deliveries to their registered handler
    (outcomes.stripe). A preview of one (the delivery console, the set-up page) says so."""
    from surveys.adapters.common import MappingError

    raise MappingError("Stripe events are recorded as business outcomes, not survey responses: there is no response "
                       "mapping to preview. The delivery's note or error says what it became (docs/connect/stripe.md).")
