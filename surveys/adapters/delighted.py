"""Delighted webhooks (https://app.delighted.com/docs/api/webhooks).

Events `survey_response.created` / `survey_response.updated` (the same response again, e.g. once the
comment is added); `X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(API key, raw body)>`.
The survey type decides the metric and scale: nps/enps 0-10, csat/smileys/five_star 1-5, ces 1-7
(7 = very easy), thumbs 0-1, pmf 1-3. Unsubscribe and bounce events carry no response.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import ScoreSpec, assemble
from surveys.adapters.common import (
    Ignored, SignatureError, body_hash, decode_signature, first, header, hmac_digest, is_json_type, matches_any,
)

CONTENT_TYPES = ("application/json",)
SIGNATURE_HEADER = "x-delighted-webhook-signature"
AUTH_OPTIONS: dict[str, str] = {}  # the source's secret is the Delighted API key that signs the webhook
IDENTITY = gettext_lazy("Person property \"Customer ID\" (or user_id / external_id), then the person's e-mail, then "
                        "their phone number.")
SURVEY_TYPES = {
    "nps": ("nps", (0, 10)), "csat": ("csat", (1, 5)), "smileys": ("csat", (1, 5)), "five_star": ("csat", (1, 5)),
    "ces": ("ces", (1, 7)), "enps": ("custom", (0, 10)), "thumbs": ("custom", (0, 1)), "pmf": ("custom", (1, 3)),
}
PROPERTY_KEYS = {
    "external_id": ("customer_id", "customer id", "user_id", "external_id"), "tier": ("tier", "customer tier", "plan"),
    "segment": ("segment",), "account_value": ("account value", "account_value", "arr", "mrr"),
    "touchpoint": ("touchpoint",), "channel": ("channel", "delighted source"), "location": ("location", "store"),
    "region": ("region",),
}


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    value = header(headers, SIGNATURE_HEADER)
    _, _, digest = value.rpartition("=") if value.startswith("sha256=") else ("", "", value)
    received = decode_signature(digest, "hex") if digest else None
    expected = [hmac_digest(s.encode(), body) for s in source.secrets]
    if received is None or not matches_any(expected, [received]):
        raise SignatureError("X-Delighted-Webhook-Signature missing or does not match")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    # Delighted sends no delivery id: a retry repeats the same bytes, so their hash is one.
    return body_hash(body)


def fetch_request(source, payload):
    return None


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict):
        return Ignored("not a Delighted event")
    event = payload.get("event_type", "")
    if not str(event).startswith("survey_response"):
        return Ignored(f"Delighted event {event!r} carries no response")
    data = payload.get("event_data") or {}
    metric, scale = SURVEY_TYPES.get(data.get("survey_type") or "nps", ("custom", (0, 10)))
    key = metric if metric != "custom" else data.get("survey_type", "score")
    scores = [ScoreSpec(metric, key, data.get("score"), scale)]
    for extra in data.get("additional_answers") or []:
        question = (extra or {}).get("question") or {}
        value = (extra or {}).get("value") or {}
        if question.get("type") in ("scale", "select_rating") and isinstance(value, dict) and "scale" in value:
            scores.append(ScoreSpec("custom", f"q{question.get('id')}", value["scale"],
                                    (question.get("scale_min", 1), question.get("scale_max", 5))))
    person = data.get("person") or {}
    properties = {str(k).lower(): v for k, v in (data.get("person_properties") or {}).items()}
    defaults = {f: first(properties, *keys) for f, keys in PROPERTY_KEYS.items()}
    defaults.update({
        "response_id": data.get("id"),
        "survey_id": f"delighted-{data.get('survey_type') or 'nps'}",
        "survey_name": f"Delighted {str(data.get('survey_type') or 'nps').upper()}",
        "answered_at": data.get("created_at"),
        "comment": data.get("comment"),
        "email": person.get("email"),
        "name": person.get("name"),
        "phone": person.get("phone_number"),
    })
    attributes = {k: v for k, v in {"permalink": data.get("permalink"), "tags": data.get("tags")}.items() if v}
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at,
                    answers=properties, attributes=attributes,
                    customer_attributes=dict(data.get("person_properties") or {}))


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A survey_response.created event for an NPS 2 with a comment, signed with the source's secret
    (https://app.delighted.com/docs/api/webhooks)."""
    body = json.dumps({
        "event_type": "survey_response.created",
        "event_data": {
            "id": "closeloop-test-1", "person": {"id": "1", "email": "test.customer@example.com",
                                                 "name": "Test Customer", "phone_number": None},
            "survey_type": "nps", "score": 2,
            "comment": "Test delivery from Closeloop: the order arrived a week late.",
            "permalink": "https://app.delighted.com/r/closeloop-test", "created_at": 1740823200,
            "updated_at": 1740823200, "person_properties": {"Customer ID": "TEST-1"},
            "notes": [], "tags": [], "additional_answers": [],
        },
    }).encode()
    return "application/json", body, {SIGNATURE_HEADER: sign(source.secret, body)}
