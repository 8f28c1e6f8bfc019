"""Tally webhooks (https://tally.so/help/webhooks).

Event `FORM_RESPONSE`: `{"eventId", "eventType", "createdAt", "data": {"responseId", "submissionId",
"respondentId", "formId", "formName", "createdAt", "fields": [{"key", "label", "type", "value",
"options"?}]}}`. Choice questions (MULTIPLE_CHOICE, DROPDOWN, CHECKBOXES, MULTI_SELECT, RANKING)
send option ids as their value and the options as `[{"id", "text"}]`: the ids are mapped to the
options' text. Hidden fields are fields of type HIDDEN_FIELDS whose label is the hidden field's name.

Signature: with a signing secret set on the webhook, `Tally-Signature: <base64 HMAC-SHA256(secret,
raw body)>` (no prefix, no timestamp). The delivery id is `eventId`.

Metrics: a question whose label names its metric ("How likely are you to recommend...", "How
satisfied...", "How easy..." / "effort"; surveys.adapters.answers), else the first LINEAR_SCALE
answer is the NPS question; an unnamed RATING (stars) is CSAT on 1-5. Tally's payload carries no
scale bounds: NPS is 0-10, CSAT 1-5 and CES 1-7 unless the source's mapping says `csat_scale` /
`ces_scale` / `ces_direction`. Tally sends no partial submissions by webhook.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.answers import (
    documented_shape,
    IDENTITY_NAMES, IDENTITY_SKIP, Answer, by_name, identity_from, metric_of, pick_comment, pick_scores,
)
from surveys.adapters.assembly import assemble
from surveys.adapters.common import (
    Ignored, SignatureError, decode_signature, first, header, hmac_digest, is_json_type, matches_any, text,
)

AUTH_OPTIONS: dict[str, str] = {}
IDENTITY = gettext_lazy("Hidden field customer_id (or user_id / external_id), then e-mail (hidden field or e-mail "
                        "question), then phone.")
CONTENT_TYPES = ("application/json",)
SIGNATURE_HEADER = "tally-signature"
CHOICE_TYPES = ("MULTIPLE_CHOICE", "DROPDOWN", "CHECKBOXES", "MULTI_SELECT", "RANKING")
TYPE_KINDS = {"LINEAR_SCALE": "linear_scale", "RATING": "rating", "TEXTAREA": "textarea", "INPUT_TEXT": "input_text",
              "INPUT_NUMBER": "number", "INPUT_EMAIL": "email", "INPUT_PHONE_NUMBER": "phone",
              "HIDDEN_FIELDS": "hidden", "CALCULATED_FIELDS": "calculated"}


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac_digest(secret.encode(), body)).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    received = decode_signature(header(headers, SIGNATURE_HEADER), "base64")
    if not received:
        raise SignatureError("missing or malformed Tally-Signature header")
    if not matches_any([hmac_digest(s.encode(), body) for s in source.secrets], [received]):
        raise SignatureError("Tally-Signature does not match")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    return str(payload.get("eventId") or "") if isinstance(payload, dict) else ""


def fetch_request(source, payload):
    return None


def _value(field: dict):
    value = field.get("value")
    options = {o.get("id"): o.get("text") for o in field.get("options") or [] if isinstance(o, dict)}
    if field.get("type") in CHOICE_TYPES and options:
        if isinstance(value, list):
            labels = [options.get(v, v) for v in value]
            return labels[0] if len(labels) == 1 else labels
        return options.get(value, value)
    return value


def answers_of(fields: list) -> list[Answer]:
    answers = []
    for field in fields:
        if not isinstance(field, dict):
            continue
        kind = TYPE_KINDS.get(str(field.get("type", "")), str(field.get("type", "")).lower())
        answer = Answer(key=text(field.get("key")), title=text(field.get("label")), kind=kind, value=_value(field))
        if kind == "rating" and metric_of(answer) is None:
            answer.kind = "csat"  # stars with no metric in their label: satisfaction
        answers.append(answer)
    return answers


@documented_shape("Tally")
def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return Ignored("not a Tally event")
    if payload.get("eventType", "FORM_RESPONSE") != "FORM_RESPONSE":
        return Ignored(f"Tally event {payload.get('eventType')!r} carries no response")
    data = payload["data"]
    answers = answers_of(data.get("fields") if isinstance(data.get("fields"), list) else [])
    named = by_name(answers)
    for answer in answers:  # the e-mail and phone questions by their type, whatever their label
        if answer.kind in ("email", "phone") and isinstance(answer.value, str):
            named.setdefault(answer.kind, answer.value)
    defaults = {
        "response_id": first(data, "responseId", "submissionId"),
        "survey_id": data.get("formId"), "survey_name": data.get("formName"),
        "answered_at": first(data, "createdAt") or payload.get("createdAt"),
        "comment": pick_comment([a for a in answers if a.kind not in ("hidden", "email", "phone")], IDENTITY_SKIP),
        **identity_from(named, IDENTITY_NAMES),
    }
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=pick_scores(answers),
                    received_at=received_at, answers=named,
                    attributes={"respondent_id": data["respondentId"]} if data.get("respondentId") else {})


def sample_body(*, response_id: str = "2wgx4n", score: int = 3, event_id: str = "a4cb511e-d513-4fa5-baee-b815d718dfd1",
                comment: str = "The invoice was wrong again.") -> bytes:
    """A FORM_RESPONSE as Tally's webhook documentation shows it (https://tally.so/help/webhooks)."""
    return json.dumps({
        "eventId": event_id, "eventType": "FORM_RESPONSE", "createdAt": "2025-03-01T10:00:01.889Z",
        "data": {
            "responseId": response_id, "submissionId": response_id, "respondentId": "dwQKYm", "formId": "VwbNEw",
            "formName": "Customer feedback", "createdAt": "2025-03-01T10:00:00.000Z",
            "fields": [
                {"key": "question_3EKz4n", "label": "How likely are you to recommend us to a friend?",
                 "type": "LINEAR_SCALE", "value": score},
                {"key": "question_w4Q7Wk", "label": "Why did you give this score?", "type": "TEXTAREA",
                 "value": comment},
                {"key": "question_mVGEg3", "label": "How did you contact us?", "type": "MULTIPLE_CHOICE",
                 "value": ["5c1f3f2a-0a6e-4d5b-9a4e-1f0d2b3c4d5e"],
                 "options": [{"id": "5c1f3f2a-0a6e-4d5b-9a4e-1f0d2b3c4d5e", "text": "Phone"},
                             {"id": "8e2b6c1d-7f3a-4b9e-8c2d-6a5f4e3d2c1b", "text": "E-mail"}]},
                {"key": "question_nPx0QR", "label": "Your e-mail", "type": "INPUT_EMAIL", "value": "ann@example.com"},
                {"key": "question_3jQ8Ab_customer_id", "label": "customer_id", "type": "HIDDEN_FIELDS",
                 "value": "C-1001"},
            ],
        },
    }).encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    body = sample_body()
    return "application/json", body, {"tally-signature": sign(source.secret, body)}
