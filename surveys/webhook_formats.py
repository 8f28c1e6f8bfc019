"""The webhook formats, as data: shown by GET /api/v1/webhook-formats/ and in the OpenAPI schema.

The entries written out below carry a hand-made example; every other preset's entry is made from
its adapter (its docstring, CONTENT_TYPES, IDENTITY and sample_delivery), so each of the
presets is listed and none can drift from what its adapter accepts."""

from __future__ import annotations

import json
from types import SimpleNamespace

from surveys.adapters import EVENT_VENDORS, VENDORS, get_adapter
from surveys.adapters.common import media_type
from surveys.models import Vendor

FORMATS = {
    "standard": {
        "title": "Standard Webhooks carrying Closeloop's response format (Formbricks has its own preset)",
        "docs": ["https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
                 "https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks"],
        "content_types": ["application/json"],
        "headers": ["webhook-id: <unique message id, the delivery id>", "webhook-timestamp: <unix seconds>",
                    "webhook-signature: v1,<base64 HMAC-SHA256(base64-decoded whsec_ secret, '<id>.<timestamp>.<body>')>"],
        "description": "Several space-separated signatures are allowed; timestamps more than 5 minutes from now "
                       "are refused. `scores` values are a number (NPS, or the metric's default scale: CSAT 1-5, "
                       "CES 1-7) or {value, min, max, higher_is_better}; any other key is a custom numeric question. "
                       "A Formbricks payload ({webhookId, event, data: <response>}) is recognised automatically.",
        "example_body": {
            "type": "response.completed",
            "timestamp": "2025-03-01T10:00:01Z",
            "data": {
                "response_id": "resp_123", "survey": {"id": "onboarding", "name": "Onboarding NPS"},
                "answered_at": "2025-03-01T10:00:00Z",
                "scores": {"nps": 3, "csat": {"value": 2, "min": 1, "max": 5},
                           "ces": {"value": 6, "min": 1, "max": 7, "higher_is_better": False}},
                "comment": "Delivery was two days late.",
                "customer": {"external_id": "C-1001", "email": "ann@example.com", "name": "Ann Lee",
                             "phone": "+44 20 7946 0000", "tier": "Tier I", "segment": "SMB", "account_value": 12000},
                "touchpoint": "delivery", "channel": "email", "location": "Leeds", "region": "North",
                "attributes": {"order_id": "O-77"},
            },
        },
    },
    "typeform": {
        "title": "Typeform form_response",
        "docs": ["https://www.typeform.com/developers/webhooks/example-payload/",
                 "https://www.typeform.com/developers/webhooks/secure-your-webhooks/"],
        "content_types": ["application/json"],
        "headers": ["Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>"],
        "description": "Delivery id: event_id. Metrics by field type (nps / opinion_scale 0-10 -> NPS, rating -> "
                       "CSAT 1-steps), or by ref/title (csat, ces, effort...). Comment: the first long_text answer. "
                       "Identity and context from hidden fields (customer_id, email, name, tier, touchpoint, ...).",
        "example_body": {
            "event_id": "01HQ7XJ2", "event_type": "form_response",
            "form_response": {
                "form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15",
                "submitted_at": "2025-03-01T10:00:00Z", "hidden": {"customer_id": "C-1001", "tier": "Tier I"},
                "definition": {"id": "lT4Z3j", "title": "Checkout feedback", "fields": [
                    {"id": "Q1", "ref": "nps", "type": "opinion_scale", "title": "How likely are you to recommend us?"},
                    {"id": "Q2", "ref": "why", "type": "long_text", "title": "Why?"}]},
                "answers": [
                    {"type": "number", "number": 4, "field": {"id": "Q1", "type": "opinion_scale", "ref": "nps"}},
                    {"type": "text", "text": "Card declined twice.", "field": {"id": "Q2", "type": "long_text", "ref": "why"}},
                ],
            },
        },
    },
    "delighted": {
        "title": "Delighted survey_response.created / survey_response.updated",
        "docs": ["https://app.delighted.com/docs/api/webhooks"],
        "content_types": ["application/json"],
        "headers": ["X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(API key, raw body)>"],
        "description": "survey_type decides metric and scale (nps 0-10, csat/smileys/five_star 1-5, ces 1-7). "
                       "An `updated` event for a known response only fills in a comment it lacked. "
                       "person_properties carry identity and context (Customer ID, Tier, Location...).",
        "example_body": {
            "event_type": "survey_response.created",
            "event_data": {
                "id": "5435", "survey_type": "nps", "score": 3, "comment": "Rude staff at the counter.",
                "created_at": 1740823200, "updated_at": 1740823200,
                "person": {"id": "420", "email": "jo@example.com", "name": "Jo Doe"},
                "person_properties": {"Customer ID": "C-77", "Tier": "Silver", "Location": "Leeds"},
                "permalink": "https://app.delighted.com/r/x", "tags": [], "notes": [], "additional_answers": [],
            },
        },
    },
    "qualtrics": {
        "title": "Qualtrics completedResponse event (thin) or workflow web service JSON",
        "docs": ["https://api.qualtrics.com/ZG9jOjg0MDYxNg-event-subscriptions-api",
                 "https://api.qualtrics.com/ZG9jOjg0MDYxOQ-response-events",
                 "https://www.qualtrics.com/support/survey-platform/actions-page/workflows/tasks/web-service-task/"],
        "content_types": ["application/x-www-form-urlencoded", "application/json"],
        "headers": ["(event subscriptions) form field HMAC=<hex HMAC-SHA512(sharedKey = source secret, MSG)>",
                    "(workflow task) X-Closeloop-Token: <source secret> (or ?token=<source secret> in the URL)"],
        "description": "Event notifications (Topic, MSG as a JSON string, HMAC) carry only ids; the worker fetches "
                       "GET {auth.api_base}/surveys/{SurveyID}/responses/{ResponseID} and the cached "
                       "GET {auth.api_base}/survey-definitions/{SurveyID} with X-API-TOKEN: {auth.api_token}. "
                       "The NPS question is the one with Selector NPS; partialResponse events are partial.",
        "example_body": "Topic=surveyengine.completedResponse.SV_abc&Status=Complete&SurveyID=SV_abc"
                        "&ResponseID=R_1&CompletedDate=2025-03-01+10%3A00%3A00&BrandID=acme",
    },
    "surveymonkey": {
        "title": "SurveyMonkey response_completed (thin)",
        "docs": ["https://api.surveymonkey.com/v3/docs#webhooks",
                 "https://api.surveymonkey.com/v3/docs#webhook-callbacks"],
        "content_types": ["application/json", "application/vnd.surveymonkey.response.v1+json"],
        "headers": ["Sm-Apikey: <app client id>",
                    "Sm-Signature: <base64 HMAC-SHA1('<client id>&<client secret>', raw body)>"],
        "description": "Delivery id: event_id. The worker fetches GET {auth.api_base}/surveys/{survey_id}/"
                       "responses/{object_id}/details?simple=true and the cached GET {auth.api_base}/surveys/"
                       "{survey_id}/details with Authorization: Bearer {auth.api_token}.",
        "example_body": {
            "name": "Closeloop", "filter_type": "survey", "filter_id": "4321", "event_type": "response_completed",
            "event_id": "10001", "object_type": "response", "object_id": "118",
            "event_datetime": "2025-03-01T10:00:00+00:00",
            "resources": {"respondent_id": "118", "recipient_id": "0", "user_id": "77", "collector_id": "55",
                          "survey_id": "4321"},
        },
    },
    "generic": {
        "title": "Any other tool: JSON, form or multipart body, fields by path",
        "docs": [],
        "content_types": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
        "headers": ["<auth.header>: <auth.prefix><hex|base64 HMAC-SHA1/256/512(secret, [timestamp + '.'] + body)>",
                    "or <auth.token_header>: <source secret>"],
        "description": "Without a mapping, common names are found at the top level or under data/response/answers/"
                       "fields: nps, csat, ces (or score as NPS), comment, email, customer_id, id... A mapping names "
                       "paths such as nps=data.answers[0].value, comment=answers.comment, csat_scale=1-5.",
        "example_body": {"id": "ticket-991", "nps": 6, "comment": "Fixed, but slowly.", "email": "pat@example.com"},
    },
}


EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _from_adapter(vendor: str) -> dict:
    adapter = get_adapter(vendor)
    source = SimpleNamespace(
        pk=1, slug="example", name="Example", vendor=vendor, secret=EXAMPLE_SECRET, previous_secret="",
        secrets=[EXAMPLE_SECRET], auth={"api_key": "API-KEY", "api_token": "API-TOKEN"}, mapping={},
    )
    content_type, body, headers = adapter.sample_delivery(source)
    text = body.decode("utf-8", "replace")
    try:
        example = json.loads(text) if media_type(content_type) == "application/json" else text
    except ValueError:
        example = text
    intro = " ".join((adapter.__doc__ or "").strip().split("\n\n")[0].split())
    return {
        "title": Vendor(vendor).label,
        "docs": [f"docs/connect/{vendor}.md"],
        "content_types": list(adapter.CONTENT_TYPES),
        "headers": [f"{name}: <as in docs/connect/{vendor}.md>" for name in headers],
        "description": f"{intro} Customer identity: {adapter.IDENTITY}",
        "example_body": example,
    }


FORMATS = {vendor: FORMATS.get(vendor) or _from_adapter(vendor) for vendor in VENDORS + EVENT_VENDORS}
