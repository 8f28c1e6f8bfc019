"""Zendesk CSAT: a trigger ("Satisfaction | Changed to | Good/Bad") that notifies an active webhook
with a JSON body of placeholders (https://support.zendesk.com/hc/en-us/articles/203662156,
satisfaction.current_rating / satisfaction.current_comment, ticket.requester.*).

Signature (https://developer.zendesk.com/documentation/webhooks/verifying/):
`X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(signing secret, timestamp + raw body))` and
`X-Zendesk-Webhook-Signature-Timestamp: <the timestamp>`; the source's secret is the webhook's
signing secret (Webhooks > the webhook > Reveal secret). A timestamp more than five minutes from
the receiver's clock is refused (replays). Delivery id: X-Zendesk-Webhook-Invocation-Id.

The body Closeloop's set-up page gives to paste in the trigger's "Notify active webhook" action:

    {"ticket_id": "{{ticket.id}}", "rating": "{{satisfaction.current_rating}}",
     "comment": "{{satisfaction.current_comment}}", "reason": "{{satisfaction.reason}}",
     "ticket_subject": "{{ticket.title}}", "updated_at": "{{ticket.updated_at_with_timestamp}}",
     "requester": {"id": "{{ticket.requester.id}}", "external_id": "{{ticket.requester.external_id}}",
                   "email": "{{ticket.requester.email}}", "name": "{{ticket.requester.name}}",
                   "phone": "{{ticket.requester.phone}}"},
     "organization": "{{ticket.organization.name}}", "group": "{{ticket.group.name}}",
     "brand": "{{ticket.brand.name}}", "via": "{{ticket.via}}"}

The rating is text: "Good, I'm satisfied" -> CSAT 1, "Bad, I'm unsatisfied" -> CSAT 0 on the
binary 0-1 scale (also the bare values good / bad, and the translated rating's first word when it
is one of them). "Offered" and "Unoffered" (the survey was sent, or not yet) carry no answer and
are acknowledged without a response. A customer who changes a bad rating to a good one posts a
second delivery: it is recorded as its own answer (response id <ticket id>:good).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import ScoreSpec, assemble
from surveys.adapters.common import (
    MISSING, Ignored, MappingError, SignatureError, body_hash, decode_signature, first, header, is_json_type,
    matches_any, present, to_datetime,
)

CONTENT_TYPES = ("application/json",)
SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"
INVOCATION_HEADER = "x-zendesk-webhook-invocation-id"
TOLERANCE_SECONDS = 300
AUTH_OPTIONS: dict[str, str] = {}  # the source's secret is the webhook's signing secret; nothing else to set
IDENTITY = gettext_lazy("The ticket requester's external_id, then their e-mail, then their phone (the requester is the "
                        "customer).")
RATINGS = {"good": 1, "bad": 0}
NO_ANSWER = ("offered", "unoffered")


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    timestamp = header(headers, TIMESTAMP_HEADER)
    value = header(headers, SIGNATURE_HEADER)
    received = decode_signature(value, "base64") if value else None
    if not timestamp or received is None:
        raise SignatureError("missing X-Zendesk-Webhook-Signature or -Signature-Timestamp header")
    sent_at = _parse_timestamp(timestamp)
    if sent_at is None or abs((now - sent_at).total_seconds()) > TOLERANCE_SECONDS:
        raise SignatureError(f"X-Zendesk-Webhook-Signature-Timestamp {timestamp!r} is not within "
                             f"{TOLERANCE_SECONDS} s of now")
    expected = [hmac.new(s.encode(), timestamp.encode() + body, hashlib.sha256).digest() for s in source.secrets]
    if not matches_any(expected, [received]):
        raise SignatureError("X-Zendesk-Webhook-Signature does not match")


def _parse_timestamp(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    return header(headers, INVOCATION_HEADER)[:255] or body_hash(body)


def fetch_request(source, payload):
    return None


def rating_value(text) -> int | None:
    """1 for a good rating, 0 for a bad one, None for offered/unoffered; MappingError otherwise."""
    word = str(text or "").strip().lower().split(",", 1)[0].split(" ", 1)[0]
    if word in RATINGS:
        return RATINGS[word]
    if word in NO_ANSWER or not word:
        return None
    raise MappingError(f"Zendesk rating {str(text)[:60]!r} is neither good nor bad: put "
                       "{{satisfaction.current_rating}} in the webhook body's \"rating\".")


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict):
        return Ignored("not a Zendesk satisfaction rating")
    raw = first(payload, "rating", "satisfaction.current_rating", "satisfaction_rating.score", "score")
    value = rating_value(raw if present(raw) else "")
    if value is None and "csat" not in (mapping or {}):
        return Ignored(f"Zendesk rating {str(raw) if present(raw) else ''!r}: the survey was offered, not answered")
    ticket = first(payload, "ticket_id", "ticket.id")
    if not present(ticket):
        raise MappingError("No ticket id: put {{ticket.id}} in the webhook body's \"ticket_id\".")
    requester = payload.get("requester") if isinstance(payload.get("requester"), dict) else {}
    word = "good" if value == 1 else "bad"
    defaults = {
        "response_id": f"{ticket}:{word}",
        "survey_id": "zendesk-csat",
        "survey_name": "Zendesk customer satisfaction",
        "answered_at": _when(first(payload, "updated_at", "rated_at")),
        "comment": first(payload, "comment", "satisfaction.current_comment"),
        "external_id": first(requester, "external_id"),
        "email": first(requester, "email"),
        "name": first(requester, "name"),
        "phone": first(requester, "phone"),
        "touchpoint": first(payload, "group", "touchpoint"),
        "channel": first(payload, "via", "channel"),
        "segment": first(payload, "organization"),
    }
    attributes = {k: payload[k] for k in ("ticket_id", "ticket_subject", "reason", "brand", "organization")
                  if present(payload.get(k))}
    if present(first(requester, "id")):
        attributes["zendesk_user_id"] = first(requester, "id")
    return assemble(payload=payload, mapping=mapping, defaults=defaults,
                    scores=[ScoreSpec("csat", "csat", value, (0, 1))], received_at=received_at,
                    answers={"rating": raw}, attributes=attributes)


def _when(value):
    """The rating's time when the placeholder gave a date-time we can read (else the receipt time)."""
    try:
        parsed = to_datetime(value)
    except MappingError:
        return MISSING
    return parsed.isoformat() if parsed else MISSING


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A bad rating (CSAT 0) with a comment, signed as Zendesk signs it, timestamped now."""
    body = json.dumps({
        "ticket_id": "900001", "rating": "Bad, I'm unsatisfied",
        "comment": "Test delivery from Closeloop: my issue was closed without an answer.",
        "reason": "The issue was not resolved", "ticket_subject": "Test delivery",
        "updated_at": "2025-03-01T10:00:00Z",
        "requester": {"id": "1", "external_id": "TEST-1", "email": "test.customer@example.com",
                      "name": "Test Customer", "phone": ""},
        "organization": "", "group": "Support", "brand": "", "via": "Web form",
    }).encode()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "application/json", body, {
        TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(source.secret, timestamp, body),
        INVOCATION_HEADER: "closeloop-test-" + body_hash(body)[7:23],
    }
