"""Standard Webhooks (https://www.standardwebhooks.com/, spec: github.com/standard-webhooks/
standard-webhooks/blob/main/spec/standard-webhooks.md): any compliant sender.

Signature: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`,
several space-separated (any one matching is enough; `v1a` asymmetric signatures are not used);
key = base64-decoded part of the `whsec_...` secret (a secret without the prefix that is not
base64 is used as it is); timestamps more than 5 minutes away from now are refused (replay
protection). The delivery id is `webhook-id`.

Body: the spec's envelope `{"type", "timestamp", "data"}`. Any event about a response or a
submission is read (`response.completed`, Closeloop's own format documented in the README;
`survey_response.completed`, `form_response.submitted`, `response.partial`...); other events are
ignored. `data` may carry `scores` (Closeloop's format) or a list of answers (`answers`,
`questions`, `fields`...: question id, title, type, value, optional min/max) read by
surveys.adapters.answers; the customer from `customer` / `respondent` / `contact` / `person` /
`user`. A `*.partial` / `*.started` event, `finished: false`, `completed: false` or a status of
partial / in_progress is a partial response (completed later by the same response id).
Formbricks payloads sent to a source set up as `standard` are read by surveys.adapters.formbricks.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.answers import (
    documented_shape,
    IDENTITY_NAMES, IDENTITY_SKIP, Answer, by_name, identity_from, is_number, pick_comment, pick_scores,
)
from surveys.adapters import formbricks
from surveys.adapters.assembly import ScoreSpec, assemble
from surveys.adapters.common import MISSING, Ignored, first, header, is_json_type, present, text
from surveys.adapters.standard_signature import (  # noqa: F401  (re-exported: tests, docs and the demo sign with it)
    SECRET_PREFIX, TOLERANCE_SECONDS, secret_key, sign, verify,
)

AUTH_OPTIONS: dict[str, str] = {}
IDENTITY = gettext_lazy("The customer's id (data.customer / respondent / contact: external_id, customer_id, user_id or id, "
                        "or an answer or hidden field named customer_id), then e-mail.")
CONTENT_TYPES = ("application/json",)


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    return header(headers, "webhook-id")


def fetch_request(source, payload):
    return None


@documented_shape("a Standard Webhooks survey event")
def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if formbricks.is_formbricks(payload):  # sources set up before Formbricks had its own preset
        return formbricks.normalize(payload, mapping, received_at)
    if not isinstance(payload, dict):
        return Ignored("not a Standard Webhooks event object ({type, timestamp, data})")
    kind = str(payload.get("type") or "")
    if kind and not RESPONSE_EVENT.search(kind):
        return Ignored(f"event type {kind!r} carries no response")
    data = payload.get("data", payload)
    if not isinstance(data, dict):  # "data": null, a list, a string: nothing to read a response from
        data = {}
    result = _normalize_response(payload, data, mapping, received_at)
    if isinstance(result, Ignored):
        return result
    return dataclasses.replace(result, partial=is_partial(kind, data))


# `response.completed` (Closeloop's own), `survey_response.completed`, `form_response.submitted`,
# `response.partial`, `submission.created`...: any event about a response or a submission.
RESPONSE_EVENT = re.compile(r"response|submission|submitted", re.I)
PARTIAL_EVENT = re.compile(r"\.(partial|started|in_progress|inprogress)$", re.I)
PARTIAL_STATUS = ("partial", "in_progress", "inprogress", "incomplete", "started", "unfinished")


def is_partial(kind: str, data: dict) -> bool:
    """An unfinished answer: the event says so (`*.partial`, `*.started`), or the response does
    (`finished: false`, `completed: false`, `status: partial / in_progress`)."""
    if PARTIAL_EVENT.search(kind):
        return True
    if data.get("finished") is False or data.get("completed") is False:
        return True
    return str(data.get("status", "")).lower() in PARTIAL_STATUS


# --- A response: Closeloop's format, or any sender's survey event -------------------------

CUSTOMER_OBJECTS = ("customer", "respondent", "contact", "person", "user")
CUSTOMER_KEYS = {
    "external_id": ("external_id", "customer_id", "user_id", "externalId", "customerId", "userId", "id"),
    "email": ("email",), "name": ("name", "full_name"), "phone": ("phone", "phone_number"), "tier": ("tier",),
    "segment": ("segment",), "account_value": ("account_value", "accountValue"),
}
ANSWER_LISTS = ("answers", "questions", "responses", "fields", "items")


def _normalize_response(payload, data: dict, mapping, received_at):
    scores = []
    for key, value in (data.get("scores") or {}).items() if isinstance(data.get("scores"), dict) else []:
        metric = key if key in ("nps", "csat", "ces") else "custom"
        if isinstance(value, dict):
            scale = (int(value["min"]), int(value["max"])) if "min" in value and "max" in value else None
            scores.append(ScoreSpec(metric, key, value.get("value"), scale, bool(value.get("higher_is_better", True))))
        else:
            scores.append(ScoreSpec(metric, key, value))
    answers = _answers(data)
    if not scores:
        scores = pick_scores(answers)
    if not scores and _is_score(data.get("score")):  # {"score": 3, "survey_type": "csat"}
        metric = str(data.get("survey_type") or data.get("metric") or "nps").lower()
        metric = metric if metric in ("nps", "csat", "ces") else "nps"
        scores = [ScoreSpec(metric, metric, data["score"])]
    customer = next((data[k] for k in CUSTOMER_OBJECTS if isinstance(data.get(k), dict)), {})
    named = by_name(answers)
    extra = data.get("hidden") or data.get("metadata") or {}
    hidden = {**named, **({str(k).lower(): v for k, v in extra.items()} if isinstance(extra, dict) else {})}
    from_answers = identity_from(hidden, IDENTITY_NAMES)
    defaults = {
        "response_id": first(data, "response_id", "responseId", "id"),
        "survey_id": first(data, "survey.id", "survey_id", "surveyId", "form.id", "form_id", "formId"),
        "survey_name": first(data, "survey.name", "survey.title", "survey_name", "form.title", "form.name",
                             "form_name"),
        "answered_at": first(data, "answered_at", "submitted_at", "completed_at", "submittedAt", "completedAt",
                             "created_at", "createdAt"),
        "comment": first(data, "comment") if present(first(data, "comment")) else pick_comment(answers, IDENTITY_SKIP),
        **{f: first(data, f) for f in ("touchpoint", "channel", "location", "region")},
        **{f: first(customer, *keys) for f, keys in CUSTOMER_KEYS.items()},
    }
    for field, value in from_answers.items():
        if not present(defaults.get(field)) and present(value):
            defaults[field] = value
    attributes = data.get("attributes") if isinstance(data.get("attributes"), dict) else {}
    return assemble(
        payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at,
        answers=named or None, attributes=attributes,
        customer_attributes=customer.get("attributes") if isinstance(customer.get("attributes"), dict) else {},
    )


def _answers(data: dict) -> list[Answer]:
    items = next((data[k] for k in ANSWER_LISTS if isinstance(data.get(k), list)), [])
    answers = []
    for item in items:
        if not isinstance(item, dict):
            continue
        question = item.get("question") if isinstance(item.get("question"), dict) else {}
        key = text(first(item, "question_id", "questionId", "ref", "key", "id") or first(question, "id", "ref"))
        title = text(first(item, "title", "label", "text", "heading") or first(question, "title", "text", "label")
                     or (item.get("question") if isinstance(item.get("question"), str) else ""))
        value = first(item, "value", "answer", "score", "rating", "number")
        low, high = first(item, "min", "scale.min", "scale_min"), first(item, "max", "scale.max", "scale_max")
        scale = (int(low), int(high)) if _is_score(low) and _is_score(high) and int(low) < int(high) else None
        direction = item.get("higher_is_better") if isinstance(item.get("higher_is_better"), bool) else None
        answers.append(Answer(key=key or title, title=title, kind=text(first(item, "type", "question_type")),
                              value=None if value is MISSING else value, scale=scale, higher_is_better=direction))
    return answers


def _is_score(value) -> bool:
    return is_number(value)


def sample_body(*, response_id: str = "resp_sample_1", nps: int = 3) -> bytes:
    """A `survey_response.completed` event from any compliant sender (the envelope of the spec:
    type, timestamp, data), with answers by question as many survey tools send them."""
    return json.dumps({
        "type": "survey_response.completed", "timestamp": "2025-03-01T10:00:01Z",
        "data": {
            "id": response_id, "survey": {"id": "relationship-nps", "title": "Relationship NPS"},
            "completed_at": "2025-03-01T10:00:00Z", "status": "completed",
            "respondent": {"id": "C-1001", "email": "ann@example.com", "name": "Ann Lee"},
            "answers": [
                {"question_id": "q1", "type": "nps", "title": "How likely are you to recommend us to a friend?",
                 "value": nps},
                {"question_id": "q2", "type": "text", "title": "What is the main reason for your score?",
                 "value": "Support took three days to answer."},
            ],
        },
    }).encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    body = sample_body()
    msg_id, timestamp = f"msg_sample_{time.time_ns()}", int(time.time())
    return "application/json", body, {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                                      "webhook-signature": sign(source.secret, msg_id, timestamp, body)}
