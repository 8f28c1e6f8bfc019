"""Intercom conversation ratings: the `conversation.rating.added` webhook topic ("Conversations
getting a rating", https://developers.intercom.com/docs/references/webhooks/webhook-models), whose
notification carries the rated conversation with its `conversation_rating` (rating 1-5, remark,
contact, teammate: https://developers.intercom.com/docs/references/rest-api/api.intercom.io/models/conversation_rating).

The envelope is Intercom's notification object: `{"type": "notification_event", "id": "notif_...",
"topic": ..., "app_id": ..., "created_at": <unix seconds>, "delivery_attempts": n, "data":
{"type": "notification_event_data", "item": <the conversation>}}`. Its `id` is the delivery id: a
retry repeats it (with a higher delivery_attempts, so other bytes).

Signature (Signed notifications, https://developers.intercom.com/docs/webhooks/setting-up-webhooks):
`X-Hub-Signature: sha1=<hex HMAC-SHA1(the app's client secret, raw body)>`. The source's secret is
the app's Client secret (Developer Hub > the app > Basic information). Intercom signs no timestamp,
so there is no replay window to hold a delivery to: a replayed notification has the id of the
original and is answered 200 as the duplicate it is (and a rating is recorded once per
conversation and rating value in any case).

The rating is Intercom's 1-5 (1 = terrible, 5 = amazing) and is recorded as CSAT 1-5, so the
default rule "Unhappy (CSAT 1-2 of 5)" opens a case for a 1 or a 2; the remark is the comment.
The `ping` Intercom sends when the webhook is saved, and any other topic, are acknowledged
without a response.
"""

from __future__ import annotations

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
SIGNATURE_HEADER = "x-hub-signature"
TOPIC = "conversation.rating.added"
AUTH_OPTIONS: dict[str, str] = {}  # the source's secret is the Intercom app's client secret; nothing else to set
IDENTITY = gettext_lazy("The rating contact's external_id (the user_id your product gives Intercom), then the e-mail "
                        "of the person who started the conversation.")
PERSON_TYPES = ("user", "lead", "contact")


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature value Intercom sends for `body` signed with `secret`."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    value = header(headers, SIGNATURE_HEADER).strip()
    if not value.startswith("sha1="):
        raise SignatureError("X-Hub-Signature missing or not sha1=<hex>")
    received = decode_signature(value[len("sha1="):], "hex")
    expected = [hmac_digest(s.encode(), body, "sha1") for s in source.secrets]
    if received is None or not matches_any(expected, [received]):
        raise SignatureError("X-Hub-Signature does not match (the secret is the Intercom app's client secret)")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    notification = payload.get("id") if isinstance(payload, dict) else None
    return str(notification)[:255] if present(notification) else body_hash(body)


def fetch_request(source, payload):
    return None


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "",
              unsolicited: bool = False, **_):
    if not isinstance(payload, dict) or payload.get("type") != "notification_event":
        return Ignored("not an Intercom notification (its type is not notification_event)")
    topic = str(payload.get("topic") or "")
    if topic != TOPIC:
        return Ignored(f"Intercom topic {topic!r} carries no rating: subscribe the webhook to {TOPIC} only")
    item = (payload.get("data") or {}).get("item")
    if not isinstance(item, dict) or not present(item.get("id")):
        raise MappingError("This conversation.rating.added notification has no conversation (data.item.id): "
                           "check the webhook's API version in Intercom's Developer Hub (2.x sends it).")
    rating = item.get("conversation_rating") if isinstance(item.get("conversation_rating"), dict) else {}
    value = rating.get("rating")
    contact = rating.get("contact") if isinstance(rating.get("contact"), dict) else {}
    listed = first(item, "contacts.contacts[0]")
    listed = listed if isinstance(listed, dict) else {}
    author = first(item, "source.author")
    author = author if isinstance(author, dict) and author.get("type") in PERSON_TYPES else {}
    defaults = {
        "response_id": f"{item['id']}:{text(value) if present(value) else 'remark'}",
        "survey_id": "intercom-conversation-rating",
        "survey_name": "Intercom conversation ratings",
        "answered_at": first_datetime(rating.get("updated_at"), payload.get("created_at"), rating.get("created_at")),
        "comment": rating.get("remark"),
        "external_id": _either(first(contact, "external_id"), first(listed, "external_id")),
        "email": author.get("email", MISSING),
        "name": author.get("name", MISSING),
        "channel": first(item, "source.type"),
    }
    attributes = {key: value for key, value in {
        "intercom_conversation_id": item.get("id"),
        "intercom_contact_id": _either(first(contact, "id"), first(listed, "id")),
        "intercom_teammate_id": first(rating, "teammate.id"),
        "intercom_app_id": payload.get("app_id"),
    }.items() if present(value)}
    return assemble(payload=payload, mapping=mapping, defaults=defaults,
                    scores=[ScoreSpec("csat", "csat", value, (1, 5))], received_at=received_at,
                    answers={"rating": value}, attributes=attributes, scores_required=not unsolicited)


def _either(value, otherwise):
    return value if present(value) else otherwise



def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A conversation.rating.added notification for a rating of 1 with a remark, signed as Intercom
    signs it."""
    body = json.dumps({
        "type": "notification_event", "app_id": "closeloop-test", "id": "notif_closeloop-test-1",
        "topic": TOPIC, "delivery_status": "pending", "delivery_attempts": 1, "delivered_at": 0,
        "first_sent_at": 1740823201, "created_at": 1740823200, "self": None, "links": {},
        "data": {"type": "notification_event_data", "item": {
            "type": "conversation", "id": "900001", "created_at": 1740822000, "updated_at": 1740823200,
            "state": "closed", "open": False,
            "source": {"type": "conversation", "id": "1", "delivered_as": "customer_initiated", "subject": "",
                       "body": "<p>Where is my refund?</p>",
                       "author": {"type": "user", "id": "test-contact", "name": "Test Customer",
                                  "email": "test.customer@example.com"}},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "test-contact",
                                                               "external_id": "TEST-1"}]},
            "conversation_rating": {
                "rating": 1, "remark": "Test delivery from Closeloop: nobody answered my question.",
                "created_at": 1740823100, "contact": {"type": "contact", "id": "test-contact", "external_id": "TEST-1"},
                "teammate": {"type": "admin", "id": "1"}},
        }},
    }).encode()
    return "application/json", body, {SIGNATURE_HEADER: sign(source.secret, body)}
