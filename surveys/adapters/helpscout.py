"""Help Scout satisfaction ratings: the webhook event `satisfaction.ratings` ("Rating Received",
https://developer.helpscout.com/webhooks/), whose body is Help Scout's Rating object
(https://developer.helpscout.com/webhooks/objects/rating): `id`, `customer` (id, firstName,
lastName, emails[{value}]), `ticketId` (the conversation), `threadId`, `mailbox` {id, name},
`rating` ("Great", "Okay" or "Bad"), `comments`, `createdAt`, `modifiedAt`.

Signature (https://developer.helpscout.com/webhooks/, "Verifying"): `X-HelpScout-Signature:
base64(HMAC-SHA1(secret key, raw body))`, with the event name in `X-HelpScout-Event`. The secret
key is one you choose when you create the webhook (40 characters at most): Closeloop generates
one of 40. Help Scout signs no timestamp, so there is no replay window to hold a delivery to: a
replayed body is the same bytes, whose hash is the delivery id, and is answered 200 as the
duplicate it is. The test event (`helpscout.test`) carries no rating and is acknowledged.

The three faces become CSAT on 1-5 so that the product's CSAT rules and reports read them like
any five-point answer: Great 5, Okay 3, Bad 1 (Help Scout's reports call Bad "Not Good", taken
too). The default rule "Unhappy (CSAT 1-2 of 5)" opens a case for a Bad rating. A customer who
changes a rating posts it again: it is recorded as its own answer (response id <rating id>:<word>).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import ScoreSpec, assemble
from surveys.adapters.common import (
    MISSING, Ignored, MappingError, SignatureError, body_hash, decode_signature, first, first_datetime, header,
    hmac_digest, is_json_type, matches_any, present, text,
)

CONTENT_TYPES = ("application/json",)
SIGNATURE_HEADER = "x-helpscout-signature"
EVENT_HEADER = "x-helpscout-event"
EVENT = "satisfaction.ratings"
SECRET_MAX_LENGTH = 40  # Help Scout's limit on a webhook's secret key
AUTH_OPTIONS: dict[str, str] = {}  # the source's secret is the webhook's secret key; nothing else to set
IDENTITY = gettext_lazy("The customer's first e-mail address (Help Scout sends no id of yours); Help Scout's own "
                        "customer id is kept as an attribute.")
RATINGS = {"great": 5, "okay": 3, "bad": 1, "not good": 1}


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, body: bytes) -> str:
    """The X-HelpScout-Signature value Help Scout sends for `body` signed with `secret`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    value = header(headers, SIGNATURE_HEADER)
    received = decode_signature(value, "base64") if value else None
    expected = [hmac_digest(s.encode(), body, "sha1") for s in source.secrets]
    if received is None or not matches_any(expected, [received]):
        raise SignatureError("X-HelpScout-Signature missing or does not match (the secret is the webhook's secret key)")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    # Help Scout sends no delivery id: a retry repeats the same bytes, so their hash is one.
    return body_hash(body)


def fetch_request(source, payload):
    return None


def rating_value(word) -> int:
    """Great 5, Okay 3, Bad (or Not Good) 1; MappingError naming the words Help Scout sends otherwise."""
    value = RATINGS.get(" ".join(str(word or "").lower().split()))
    if value is None:
        raise MappingError(f"Help Scout rating {str(word)[:60]!r} is not Great, Okay or Bad: subscribe the webhook "
                           f"to the event {EVENT} (Rating Received), whose body is the Rating object.")
    return value


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "",
              unsolicited: bool = False, **_):
    if not isinstance(payload, dict) or "rating" not in payload:
        return Ignored(f"not a Help Scout satisfaction rating (no \"rating\": a test event, or an event other than "
                       f"{EVENT})")
    if not present(payload.get("id")):
        raise MappingError("This Help Scout rating has no \"id\": send the Rating object of the satisfaction.ratings "
                           "event unchanged.")
    word = payload.get("rating")
    value = rating_value(word) if present(word) or not unsolicited else None
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    name = " ".join(text(customer.get(k)) for k in ("firstName", "lastName") if present(customer.get(k)))
    mailbox = payload.get("mailbox") if isinstance(payload.get("mailbox"), dict) else {}
    defaults = {
        "response_id": f"{payload['id']}:{'-'.join(str(word or 'none').lower().split())}",
        "survey_id": "helpscout-satisfaction",
        "survey_name": "Help Scout satisfaction ratings",
        "answered_at": first_datetime(payload.get("modifiedAt"), payload.get("createdAt")),
        "comment": payload.get("comments"),
        "email": first(customer, "emails[0].value", "email"),
        "name": name or MISSING,
        "touchpoint": mailbox.get("name", MISSING),
    }
    attributes = {key: value for key, value in {
        "helpscout_rating_id": payload.get("id"),
        "helpscout_conversation_id": first(payload, "ticketId", "conversationId"),
        "helpscout_thread_id": payload.get("threadId"),
        "helpscout_customer_id": customer.get("id"),
        "rating": word,
    }.items() if present(value)}
    return assemble(payload=payload, mapping=mapping, defaults=defaults,
                    scores=[ScoreSpec("csat", "csat", value, (1, 5))], received_at=received_at,
                    answers={"rating": word}, attributes=attributes, scores_required=not unsolicited)



def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A Bad rating with a comment, in the Rating object's shape, signed as Help Scout signs it."""
    body = json.dumps({
        "id": 900001,
        "customer": {"id": 1, "firstName": "Test", "lastName": "Customer",
                     "emails": [{"id": 1, "value": "test.customer@example.com", "location": "work"}]},
        "ticketId": 900002, "threadId": 900003, "mailbox": {"id": 1, "name": "Support"},
        "rating": "Bad", "comments": "Test delivery from Closeloop: my question was never answered.",
        "createdAt": "2025-03-01T10:00:00Z", "modifiedAt": "2025-03-01T10:00:00Z",
    }).encode()
    return "application/json", body, {SIGNATURE_HEADER: sign(source.secret, body), EVENT_HEADER: EVENT}
