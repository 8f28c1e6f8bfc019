"""Typeform webhooks (https://www.typeform.com/developers/webhooks/example-payload/ and
https://www.typeform.com/developers/webhooks/secure-your-webhooks/).

`form_response` events; `Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>`.
Answers are matched to metrics by field type (nps, rating, opinion_scale), field ref or title;
hidden fields carry the customer identity and context (customer_id, email, name, tier, touchpoint...).

Partials: a webhook subscribed to `form_response_partial` (event_types in
https://www.typeform.com/developers/webhooks/reference/create-or-update-webhook/; "Partial
responses" in the form's settings) posts the answers given so far with event_type
`form_response_partial` and the response's token. It is recorded at once with partial=True and
judged by its score; the `form_response` for the same token completes that response. A partial
with no score yet is ignored.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.answers import EFFORT_LOW_IS_BETTER, documented_shape
from surveys.adapters.assembly import ScoreSpec, assemble, guess_metric
from surveys.adapters.common import (
    MISSING, Ignored, SignatureError, decode_signature, first, header, hmac_digest, is_json_type, matches_any, present,
)

AUTH_OPTIONS: dict[str, str] = {}
IDENTITY = gettext_lazy("Hidden field customer_id (or user_id / external_id), then e-mail (hidden field email, "
                        "else the form's e-mail question), then phone.")
CONTENT_TYPES = ("application/json",)
RESPONSE_EVENTS = ("form_response", "form_response_partial")
SIGNATURE_HEADER = "typeform-signature"
TEXT_TYPES = ("long_text", "short_text")
HIDDEN_KEYS = {
    "external_id": ("customer_id", "user_id", "external_id", "customerid", "userid", "uid"),
    "email": ("email", "customer_email"), "name": ("name", "customer_name", "full_name"),
    "phone": ("phone", "phone_number"), "tier": ("tier", "customer_tier"), "segment": ("segment",),
    "account_value": ("account_value", "accountvalue", "arr", "mrr"),
    "touchpoint": ("touchpoint",), "channel": ("channel",), "location": ("location", "store"), "region": ("region",),
}


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac_digest(secret.encode(), body)).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    value = header(headers, SIGNATURE_HEADER)
    if not value.startswith("sha256="):
        raise SignatureError("missing or malformed Typeform-Signature header")
    received = decode_signature(value[len("sha256="):], "base64")
    expected = [hmac_digest(s.encode(), body) for s in source.secrets]
    if received is None or not matches_any(expected, [received]):
        raise SignatureError("Typeform-Signature does not match")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    if isinstance(payload, dict):
        return str(payload.get("event_id") or first(payload, "form_response.token") or "")
    return ""


def fetch_request(source, payload):
    return None


def ces_high_is_easy(field: dict) -> bool:
    """A CES opinion scale's direction, from its end labels (properties.labels: {"left", "right"},
    e.g. "Very difficult" ... "Very easy"), else from its title ("How much effort..." runs the other
    way: a high number is more effort)."""
    labels = (field.get("properties") or {}).get("labels") or {}
    left, right = str(labels.get("left", "")).lower(), str(labels.get("right", "")).lower()
    if "easy" in left or any(w in right for w in ("difficult", "hard", "effort")):
        return False
    if "easy" in right or any(w in left for w in ("difficult", "hard", "effort")):
        return True
    return not EFFORT_LOW_IS_BETTER.search(str(field.get("title", "")))


def _answer_value(answer: dict):
    kind = answer.get("type")
    value = answer.get(kind) if kind else None
    if kind == "choice" and isinstance(value, dict):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, dict):
        return value.get("labels")
    return value


@documented_shape("Typeform")
def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict):
        return Ignored("not a Typeform event")
    event = payload.get("event_type", "form_response")
    if event not in RESPONSE_EVENTS:
        return Ignored(f"Typeform event {event!r} carries no response")
    response = payload.get("form_response") or {}
    definition = response.get("definition") or {}
    fields = {f.get("id"): f for f in definition.get("fields") or [] if isinstance(f, dict)}
    answers: dict = {}
    scores: list[ScoreSpec] = []
    comments = []
    used = set()
    for answer in response.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        field = answer.get("field") or {}
        full = {**fields.get(field.get("id"), {}), **field}
        value = _answer_value(answer)
        for key in (full.get("ref"), full.get("id")):
            if key:
                answers[key] = value
        ftype = full.get("type", "")
        hint = guess_metric(f"{full.get('ref', '')} {full.get('title', '')}")
        if answer.get("type") == "number" and ftype in ("nps", "rating", "opinion_scale", "number"):
            steps = (full.get("properties") or {}).get("steps")
            metric = "nps" if ftype == "nps" else hint
            one = bool((full.get("properties") or {}).get("start_at_one"))
            if metric is None and ftype == "opinion_scale" and (not steps or (steps == 11 and not one)):
                metric = "nps" if "nps" not in used else None
            if metric == "csat" or (metric is None and ftype == "rating"):
                metric = "csat" if "csat" not in used else None
                scale = (1, int(steps or 5))
            elif metric == "ces":
                scale = (1, int(steps or 7))
            elif metric == "nps":
                scale = (0, 10)
            else:
                start = 1 if ftype == "rating" or (full.get("properties") or {}).get("start_at_one") else 0
                scale = (start, int(steps - (1 - start)) if steps else 10)
            if metric and metric not in used:
                used.add(metric)
                higher = ces_high_is_easy(full) if metric == "ces" else True
                scores.append(ScoreSpec(metric, metric, value, scale, higher))
            else:
                scores.append(ScoreSpec("custom", full.get("ref") or full.get("id") or "score", value, scale))
        elif answer.get("type") == "text" and ftype in TEXT_TYPES:
            comments.append((ftype != "long_text", str(value or "")))
        elif answer.get("type") == "email":
            answers.setdefault("__email", value)
        elif answer.get("type") == "phone_number":
            answers.setdefault("__phone", value)
    hidden = {str(k).lower(): v for k, v in (response.get("hidden") or {}).items()}
    defaults = {f: first(hidden, *keys) for f, keys in HIDDEN_KEYS.items()}
    if not present(defaults["email"]):
        defaults["email"] = answers.get("__email", MISSING)
    if not present(defaults["phone"]):
        defaults["phone"] = answers.get("__phone", MISSING)
    defaults.update({
        "response_id": response.get("token") or response.get("response_id"),
        "survey_id": response.get("form_id") or definition.get("id"),
        "survey_name": definition.get("title"),
        "answered_at": response.get("submitted_at") or response.get("landed_at"),
        "comment": sorted(comments)[0][1] if comments else MISSING,
    })
    attributes = {}
    if isinstance(response.get("calculated"), dict) and "score" in response["calculated"]:
        attributes["typeform_score"] = response["calculated"]["score"]
    partial = event == "form_response_partial"
    if partial and not scores and not any(k in mapping for k in ("nps", "csat", "ces")):
        return Ignored("Typeform partial response with no score yet")
    result = assemble(payload=payload, mapping=mapping, defaults=defaults, scores=scores,
                      received_at=received_at, answers=answers, attributes=attributes)
    return dataclasses.replace(result, partial=partial)


def sample_body(*, token: str = "sample-token-1", nps: int = 3, event_type: str = "form_response",
                event_id: str = "01SAMPLE0EVENT", comment: str = "Checkout asked for my address twice.") -> bytes:
    """A delivery as Typeform documents it (https://www.typeform.com/developers/webhooks/example-payload/)."""
    answers = [{"type": "number", "number": nps, "field": {"id": "nps1", "type": "nps", "ref": "nps"}}]
    if comment:
        answers.append({"type": "text", "text": comment, "field": {"id": "why1", "type": "long_text", "ref": "why"}})
    return json.dumps({
        "event_id": event_id, "event_type": event_type,
        "form_response": {
            "form_id": "lT4Z3j", "token": token, "landed_at": "2025-03-01T09:58:00Z",
            "submitted_at": "2025-03-01T10:00:00Z",
            "hidden": {"customer_id": "C-1001", "email": "ann@example.com", "tier": "Gold"},
            "definition": {"id": "lT4Z3j", "title": "Checkout feedback", "fields": [
                {"id": "nps1", "ref": "nps", "type": "nps",
                 "title": "How likely are you to recommend us to a friend or colleague?", "properties": {}},
                {"id": "why1", "ref": "why", "type": "long_text", "title": "What is the main reason for your score?",
                 "properties": {}},
            ]},
            "answers": answers,
        },
    }).encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    body = sample_body()
    return "application/json", body, {"typeform-signature": sign(source.secret, body)}
