"""Deliveries as the vendors document them, and helpers to sign and post them."""

from __future__ import annotations

import json
import time
import uuid

from surveys.adapters import delighted, generic, standard, surveymonkey, typeform
from surveys.services import source_create

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def closeloop_body(response_id="r-1", nps=3, comment="Slow delivery", email="ann@example.com", external_id="C-1",
                   **extra) -> bytes:
    data = {
        "response_id": response_id, "survey": {"id": "onboarding", "name": "Onboarding NPS"},
        "answered_at": "2025-03-01T10:00:00Z", "scores": {"nps": nps}, "comment": comment,
        "customer": {"external_id": external_id, "email": email, "name": "Ann Lee", "tier": "Tier I"},
        "touchpoint": "delivery", "location": "Leeds", **extra,
    }
    return json.dumps({"type": "response.completed", "timestamp": "2025-03-01T10:00:01Z", "data": data}).encode()


def typeform_body(token="tf-token-1", nps=2, comment="Too expensive", event_id="01HXYZ") -> bytes:
    return json.dumps({
        "event_id": event_id, "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j", "token": token, "landed_at": "2025-03-01T09:59:00Z",
            "submitted_at": "2025-03-01T10:00:00Z", "hidden": {"customer_id": "C-9", "tier": "Gold"},
            "definition": {"id": "lT4Z3j", "title": "Checkout feedback", "fields": [
                {"id": "nps1", "ref": "nps_ref", "type": "opinion_scale", "title": "How likely are you to recommend us?"},
                {"id": "txt1", "ref": "why", "type": "long_text", "title": "Why?"},
                {"id": "em1", "ref": "email", "type": "email", "title": "Email"},
            ]},
            "answers": [
                {"type": "number", "number": nps, "field": {"id": "nps1", "type": "opinion_scale", "ref": "nps_ref"}},
                {"type": "text", "text": comment, "field": {"id": "txt1", "type": "long_text", "ref": "why"}},
                {"type": "email", "email": "tom@example.com", "field": {"id": "em1", "type": "email", "ref": "email"}},
            ],
        },
    }).encode()


def delighted_body(response_id="5435", score=4, comment="Rude staff", event="survey_response.created") -> bytes:
    return json.dumps({
        "event_type": event,
        "event_data": {
            "id": response_id, "person": {"id": "420", "email": "jo@example.com", "name": "Jo Doe"},
            "survey_type": "nps", "score": score, "comment": comment, "permalink": "https://delighted.com/r/x",
            "created_at": 1740823200, "updated_at": 1740823200,
            "person_properties": {"Customer ID": "C-77", "Tier": "Silver", "Location": "Leeds"},
            "notes": [], "tags": [], "additional_answers": [],
        },
    }).encode()


def surveymonkey_event(response_id="118", survey_id="4321", event_id="10001") -> bytes:
    return json.dumps({
        "name": "My webhook", "filter_type": "survey", "filter_id": survey_id, "event_type": "response_completed",
        "event_id": event_id, "object_type": "response", "object_id": response_id,
        "event_datetime": "2025-03-01T10:00:00+00:00",
        "resources": {"respondent_id": response_id, "recipient_id": "0", "user_id": "77", "collector_id": "55",
                      "survey_id": survey_id},
    }).encode()


def surveymonkey_details(response_id="118", survey_id="4321", nps="3") -> dict:
    return {
        "id": response_id, "survey_id": survey_id, "collector_id": "55", "response_status": "completed",
        "date_created": "2025-03-01T09:58:00+00:00", "date_modified": "2025-03-01T10:00:00+00:00",
        "custom_variables": {"customer_id": "C-5"}, "first_name": "Sam", "last_name": "Ray",
        "email_address": "sam@example.com",
        "pages": [{"id": "1", "questions": [
            {"id": "q1", "family": "matrix", "subtype": "rating", "heading": "How likely is it that you would recommend us?",
             "answers": [{"choice_id": "c9", "row_id": "r1", "simple_text": nps}]},
            {"id": "q2", "family": "open_ended", "subtype": "essay", "heading": "Why?",
             "answers": [{"text": "Waited 40 minutes"}]},
        ]}],
    }


def make_source(vendor: str, slug: str | None = None, **kwargs):
    secret = kwargs.pop("secret", WHSEC if vendor == "standard" else "s3cret-for-tests")
    return source_create(name=f"{vendor} test", slug=slug or f"{vendor}-test", vendor=vendor, secret=secret,
                         rate_limit_per_second=kwargs.pop("rate_limit_per_second", 1000), **kwargs)


def standard_headers(secret: str, body: bytes, msg_id: str | None = None, timestamp: int | None = None) -> dict:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"HTTP_WEBHOOK_ID": msg_id, "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
            "HTTP_WEBHOOK_SIGNATURE": standard.sign(secret, msg_id, timestamp, body)}


def signed(vendor: str, source, body: bytes) -> dict:
    """Django test-client extra headers that make `body` authentic for `source`."""
    if vendor == "standard":
        return standard_headers(source.secret, body)
    if vendor == "typeform":
        return {"HTTP_TYPEFORM_SIGNATURE": typeform.sign(source.secret, body)}
    if vendor == "delighted":
        return {"HTTP_X_DELIGHTED_WEBHOOK_SIGNATURE": delighted.sign(source.secret, body)}
    if vendor == "surveymonkey":
        key = source.auth["api_key"]
        return {"HTTP_SM_APIKEY": key, "HTTP_SM_SIGNATURE": surveymonkey.sign(key, source.secret, body)}
    if vendor == "qualtrics":
        return {"HTTP_X_CLOSELOOP_TOKEN": source.secret}
    if vendor == "generic":
        return {"HTTP_X_SIGNATURE": generic.sign(source.auth, source.secret, body)}
    raise ValueError(vendor)


def post(client, source, body: bytes, headers: dict, content_type="application/json", path=None):
    return client.post(path or f"/webhooks/{source.slug}/", data=body, content_type=content_type, **headers)
