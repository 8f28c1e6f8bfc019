"""Standard Webhooks (https://www.standardwebhooks.com/, spec: github.com/standard-webhooks/
standard-webhooks/blob/main/spec/standard-webhooks.md) carrying Closeloop's response format,
or Formbricks' response payload (Formbricks signs its webhooks the same way).

Signature: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`,
several space-separated; key = base64-decoded part of the `whsec_...` secret; timestamps more
than 5 minutes away from now are refused (replay protection).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from surveys.adapters.common import (
    MISSING, Ignored, ScoreSpec, SignatureError, assemble, decode_signature, first, guess_metric, header,
    hmac_digest, is_json_type, matches_any, present, text,
)

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw.encode()


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The header value a Standard Webhooks sender would put (used by tests, docs and the demo)."""
    digest = hmac_digest(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body)
    return "v1," + base64.b64encode(digest).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    msg_id, timestamp, signatures = (header(headers, h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a whole number of seconds") from None
    if abs(now.timestamp() - sent) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is outside the 5-minute tolerance")
    received = []
    for item in signatures.split(" "):
        version, _, value = item.partition(",")
        if version == "v1" and (decoded := decode_signature(value, "base64")):
            received.append(decoded)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [hmac_digest(secret_key(s), signed) for s in source.secrets]
    if not matches_any(expected, received):
        raise SignatureError("no v1 signature matches")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    return header(headers, "webhook-id")


def fetch_request(source, payload):
    return None


def is_formbricks(payload) -> bool:
    return isinstance(payload, dict) and "webhookId" in payload and isinstance(payload.get("data"), dict) \
        and "surveyId" in payload["data"]


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if is_formbricks(payload):
        return _normalize_formbricks(payload, mapping, received_at)
    return _normalize_closeloop(payload, mapping, received_at)


# --- Closeloop's own format (documented in the README and the OpenAPI schema) -----------------


def _normalize_closeloop(payload, mapping, received_at):
    if isinstance(payload, dict) and payload.get("type") and not str(payload["type"]).startswith("response."):
        return Ignored(f"event type {payload['type']!r} carries no response")
    data = payload.get("data", payload) if isinstance(payload, dict) else {}
    if not isinstance(data, dict):  # "data": null, a list, a string: nothing to read a response from
        data = {}
    scores = []
    for key, value in (data.get("scores") or {}).items() if isinstance(data, dict) else []:
        metric = key if key in ("nps", "csat", "ces") else "custom"
        if isinstance(value, dict):
            scale = (int(value["min"]), int(value["max"])) if "min" in value and "max" in value else None
            scores.append(ScoreSpec(metric, key, value.get("value"), scale, bool(value.get("higher_is_better", True))))
        else:
            scores.append(ScoreSpec(metric, key, value))
    customer = data.get("customer") or {} if isinstance(data, dict) else {}
    defaults = {
        "response_id": first(data, "response_id", "id"),
        "survey_id": first(data, "survey.id", "survey_id"),
        "survey_name": first(data, "survey.name", "survey_name"),
        "answered_at": first(data, "answered_at", "submitted_at"),
        "comment": first(data, "comment"),
        "touchpoint": first(data, "touchpoint"),
        "channel": first(data, "channel"),
        "location": first(data, "location"),
        "region": first(data, "region"),
        **{f: first(customer, f) for f in ("external_id", "email", "name", "phone", "tier", "segment", "account_value")},
    }
    return assemble(
        payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at,
        attributes=data.get("attributes") if isinstance(data.get("attributes"), dict) else {},
        customer_attributes=customer.get("attributes") if isinstance(customer.get("attributes"), dict) else {},
    )


# --- Formbricks (https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks) ---

IDENTITY_KEYS = {
    "external_id": ("userId", "externalId", "customer_id", "customerId"),
    "email": ("email",), "name": ("name", "fullName"), "phone": ("phone",),
    "tier": ("tier",), "segment": ("segment",), "account_value": ("accountValue", "account_value"),
}
CONTEXT_KEYS = ("touchpoint", "channel", "location", "region")


def _normalize_formbricks(payload, mapping, received_at):
    event = payload.get("event", "")
    response = payload["data"]
    if event != "responseFinished" and not response.get("finished"):
        return Ignored(f"Formbricks {event or 'event'} for an unfinished response (waiting for responseFinished)")
    answers = response.get("data") or {}
    answers = answers if isinstance(answers, dict) else {}
    scores: list[ScoreSpec] = []
    comment = MISSING
    numeric = [(k, v) for k, v in answers.items() if _is_number(v)]
    for key, value in numeric:
        metric = guess_metric(key)
        if metric and metric not in {s.metric for s in scores}:
            scores.append(ScoreSpec(metric, metric, value))
        else:
            scores.append(ScoreSpec("custom", key, value))
    if not any(s.metric != "custom" for s in scores) and len(numeric) >= 1:
        # No question named after its metric: the first 0-10 answer is the NPS question.
        for spec in scores:
            if 0 <= float(spec.raw) <= 10:
                spec.metric, spec.key = "nps", "nps"
                break
    skip = {k.lower() for k in (*sum(IDENTITY_KEYS.values(), ()), *CONTEXT_KEYS)}
    texts = [
        v for k, v in answers.items()
        if isinstance(v, str) and v.strip() and not _is_number(v) and k.lower() not in skip
        and not ("@" in v and " " not in v.strip())
    ]
    if texts:
        comment = max(texts, key=len)
    attributes = response.get("contactAttributes") or response.get("personAttributes") or {}
    contact = response.get("contact") or response.get("person") or {}
    hidden = {**(attributes if isinstance(attributes, dict) else {}), **_hidden(response)}
    defaults = {
        "response_id": response.get("id"),
        "survey_id": response.get("surveyId"),
        "survey_name": first(response, "survey.title", "survey.name"),
        "answered_at": first(response, "updatedAt", "createdAt"),
        "comment": comment,
        **{f: first(hidden, *keys) for f, keys in IDENTITY_KEYS.items()},
        **{f: first(hidden, f) for f in CONTEXT_KEYS},
    }
    if not present(defaults["external_id"]):
        defaults["external_id"] = first(contact, "userId")
    meta = response.get("meta") or {}
    return assemble(
        payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at,
        answers=answers, attributes={k: v for k, v in {
            "country": first(meta, "country"), "source": first(meta, "source"), "url": first(meta, "url"),
            "language": response.get("language"), "tags": response.get("tags"),
        }.items() if present(v)},
    )


def _hidden(response: dict) -> dict:
    hidden = {}
    for key in ("hiddenFields", "variables"):
        if isinstance(response.get(key), dict):
            hidden.update(response[key])
    data = response.get("data") or {}
    for key in (*sum(IDENTITY_KEYS.values(), ()), *CONTEXT_KEYS):
        if isinstance(data, dict) and isinstance(data.get(key), str):
            hidden.setdefault(key, data[key])
    return hidden


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and text(value).strip().lstrip("-").replace(".", "", 1).isdigit()
