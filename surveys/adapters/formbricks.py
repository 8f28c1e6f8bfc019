"""Formbricks webhooks (https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks).

Triggers `responseCreated`, `responseUpdated`, `responseFinished`; the body is
`{"webhookId", "event", "data": <response>}` where the response has `id`, `surveyId`, `finished`,
`data` (answers by question id, hidden fields by their id), `variables`, `contact`
(`{"id", "userId"}`), `contactAttributes`, `meta`, `tags`, `language` and, in recent versions,
`survey` (`{"title", ...}`).

Signature: Formbricks implements Standard Webhooks (same page, "Webhook Security with Standard
Webhooks"): `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` with
the `whsec_...` signing secret Formbricks generates for the webhook (surveys.adapters.standard).

Partials: a response that is not `finished` (responseCreated / responseUpdated) is recorded at
once with partial=True and judged by its score; `responseFinished` updates that same response.
A partial with no score yet (e.g. only a first text question answered) is ignored.

Metrics: a question id (set in the question's advanced settings before publishing) or hidden
field that names its metric (`nps`, `csat`, `ces`, `effort`...); else the first 0-10 answer is
NPS. Scales are not in the payload: CSAT 1-5 and CES 1-7 (7 = easiest) unless the source's
mapping says `csat_scale` / `ces_scale` / `ces_direction`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.standard_signature import sign, verify  # noqa: F401  (Formbricks signs the Standard way)
from surveys.adapters.answers import documented_shape
from surveys.adapters.assembly import ScoreSpec, assemble, guess_metric
from surveys.adapters.common import MISSING, Ignored, MappingError, first, header, is_json_type, present, text

AUTH_OPTIONS: dict[str, str] = {}
IDENTITY = gettext_lazy("Contact userId (or the contact attribute / hidden field userId or customer_id), "
                        "then e-mail (contact attribute or hidden field email).")
IDENTITY_KEYS = {
    "external_id": ("userId", "externalId", "customer_id", "customerId"),
    "email": ("email",), "name": ("name", "fullName"), "phone": ("phone",),
    "tier": ("tier",), "segment": ("segment",), "account_value": ("accountValue", "account_value"),
}
CONTEXT_KEYS = ("touchpoint", "channel", "location", "region")
CONTENT_TYPES = ("application/json",)

def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    return header(headers, "webhook-id")


def fetch_request(source, payload):
    return None


def is_formbricks(payload) -> bool:
    return isinstance(payload, dict) and "webhookId" in payload and isinstance(payload.get("data"), dict) \
        and "surveyId" in payload["data"]


@documented_shape("Formbricks")
def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if isinstance(payload, list) and len(payload) == 1:  # the docs show the body inside a list
        payload = payload[0]
    if not is_formbricks(payload):
        return Ignored("not a Formbricks response event (no webhookId and data.surveyId)")
    event = payload.get("event", "")
    response = payload["data"]
    partial = event != "responseFinished" and not response.get("finished")
    answers = response.get("data") if isinstance(response.get("data"), dict) else {}
    scores: list[ScoreSpec] = []
    numeric = [(k, v) for k, v in answers.items() if _is_number(v)]
    for key, value in numeric:
        metric = guess_metric(key)
        if metric and metric not in {s.metric for s in scores}:
            scores.append(ScoreSpec(metric, metric, value))
        elif 0 <= float(value) <= 10:
            scores.append(ScoreSpec("custom", key, value, (0, 10)))
    if not any(s.metric != "custom" for s in scores):
        # No question named after its metric: the first 0-10 answer is the NPS question.
        for spec in scores:
            if float(spec.raw) == int(float(spec.raw)):
                spec.metric, spec.key = "nps", "nps"
                break
    skip = {k.lower() for k in (*sum(IDENTITY_KEYS.values(), ()), *CONTEXT_KEYS)}
    texts = [
        v for k, v in answers.items()
        if isinstance(v, str) and v.strip() and not _is_number(v) and k.lower() not in skip
        and not ("@" in v and " " not in v.strip()) and v != "clicked" and v != "dismissed"
    ]
    attributes = response.get("contactAttributes") or response.get("personAttributes") or {}
    contact = response.get("contact") or response.get("person") or {}
    hidden = {**(attributes if isinstance(attributes, dict) else {}), **_hidden(response)}
    defaults = {
        "response_id": response.get("id"),
        "survey_id": response.get("surveyId"),
        "survey_name": first(response, "survey.title", "survey.name"),
        "answered_at": first(response, "updatedAt", "createdAt"),
        "comment": max(texts, key=len) if texts else MISSING,
        **{f: first(hidden, *keys) for f, keys in IDENTITY_KEYS.items()},
        **{f: first(hidden, f) for f in CONTEXT_KEYS},
    }
    if isinstance(contact, dict) and present(contact.get("userId")):
        defaults["external_id"] = contact["userId"]
    meta = response.get("meta") or {}
    try:
        result = assemble(
            payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at,
            answers=answers, attributes={k: v for k, v in {
                "country": first(meta, "country"), "source": first(meta, "source"), "url": first(meta, "url"),
                "language": response.get("language"), "tags": response.get("tags"),
            }.items() if present(v)},
        )
    except MappingError:
        if partial and not numeric:
            return Ignored(f"Formbricks {event or 'event'}: an unfinished response with no score yet")
        raise
    return dataclasses.replace(result, partial=partial)


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


def sample_body(*, response_id: str = "resp_sample_1", event: str = "responseFinished", finished: bool = True,
                nps=3, comment: str = "The export kept failing.", user_id: str = "U-1001",
                email: str = "ann@example.com") -> bytes:
    """A Formbricks delivery as its docs show it (the page above, "Example Webhook Payloads")."""
    answers = {"nps": nps} if nps is not None else {}
    if comment:
        answers["whatCouldWeImprove"] = comment
    return json.dumps({
        "webhookId": "cm_webhook_sample", "event": event,
        "data": {
            "id": response_id, "createdAt": "2025-07-24T07:47:29.507Z", "updatedAt": "2025-07-24T07:48:01.112Z",
            "surveyId": "cm_survey_sample", "displayId": "cm_display_sample",
            "contact": {"id": "cm_contact_sample", "userId": user_id},
            "contactAttributes": {"userId": user_id, "email": email, "tier": "Gold"},
            "finished": finished, "endingId": "cm_ending" if finished else None, "data": answers,
            "variables": {}, "ttc": {"nps": 2154.7}, "notes": [], "tags": [],
            "meta": {"url": "https://app.example.com/settings", "source": "app", "country": "GB",
                     "userAgent": {"os": "Mac OS", "browser": "Chrome", "device": "desktop"}},
            "singleUseId": None, "language": "default",
            "survey": {"title": "Product NPS", "type": "app", "status": "inProgress"},
        },
    }).encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    body = sample_body()
    msg_id, timestamp = f"msg_sample_{time.time_ns()}", int(time.time())
    return "application/json", body, {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                                      "webhook-signature": sign(source.secret, msg_id, timestamp, body)}
