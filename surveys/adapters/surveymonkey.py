"""SurveyMonkey webhooks (https://api.surveymonkey.com/v3/docs#webhooks and
https://api.surveymonkey.com/v3/docs#webhook-callbacks).

`response_completed` events are thin: {"event_type", "event_id", "object_type": "response",
"object_id", "resources": {"survey_id", "collector_id", "respondent_id", ...}}. The callback
carries `Sm-Apikey` and `Sm-Signature: base64(HMAC-SHA1("<api key>&<api secret>", raw body))`.
The worker fetches `GET {SURVEYMONKEY_API_BASE}/surveys/{survey_id}/responses/{id}/details?simple=true`
with the source's access token (Authorization: Bearer). The source's secret is the app's
client secret; auth.api_key is its client id (API key) and auth.access_token the token.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime

from django.conf import settings

from surveys.adapters.common import (
    MISSING, FetchRequest, Ignored, MappingError, ScoreSpec, SignatureError, assemble, decode_signature, first,
    guess_metric, header, hmac_digest, is_json_type, matches_any, present,
)

RESPONSE_EVENTS = ("response_completed", "response_updated")


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def signing_key(api_key: str, api_secret: str) -> bytes:
    return f"{api_key}&{api_secret}".encode()


def sign(api_key: str, api_secret: str, body: bytes) -> str:
    return base64.b64encode(hmac_digest(signing_key(api_key, api_secret), body, "sha1")).decode()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    api_key = (source.auth or {}).get("api_key", "")
    received = decode_signature(header(headers, "sm-signature"), "base64") if header(headers, "sm-signature") else None
    if not api_key:
        raise SignatureError("source has no auth.api_key (the SurveyMonkey app's client id)")
    if received is None:
        raise SignatureError("missing or malformed Sm-Signature header")
    sent_key = header(headers, "sm-apikey")
    if sent_key and sent_key != api_key:
        raise SignatureError("Sm-Apikey is not this source's API key")
    expected = [hmac_digest(signing_key(api_key, s), body, "sha1") for s in source.secrets]
    if not matches_any(expected, [received]):
        raise SignatureError("Sm-Signature does not match")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    if isinstance(payload, dict):
        return str(payload.get("event_id") or "")
    return ""


def _ids(payload: dict) -> tuple[str, str]:
    resources = payload.get("resources") or {}
    return str(resources.get("survey_id") or payload.get("filter_id") or ""), str(payload.get("object_id") or "")


def fetch_request(source, payload):
    if not isinstance(payload, dict) or payload.get("event_type") not in RESPONSE_EVENTS:
        return None
    token = (source.auth or {}).get("access_token", "")
    if not token:
        raise MappingError("Set auth.access_token on this SurveyMonkey source so responses can be fetched.")
    survey_id, response_id = _ids(payload)
    if not re.fullmatch(r"\d+", survey_id) or not re.fullmatch(r"\d+", response_id):
        raise MappingError(f"survey id {survey_id!r} / response id {response_id!r} are not SurveyMonkey ids.")
    base = settings.SURVEYMONKEY_API_BASE.rstrip("/")
    return FetchRequest(url=f"{base}/surveys/{survey_id}/responses/{response_id}/details",
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                        params={"simple": "true"})


def _number(text: str):
    match = re.match(r"\s*(-?\d+(?:\.\d+)?)", text or "")
    return match.group(1) if match else text


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict) or payload.get("event_type") not in RESPONSE_EVENTS:
        return Ignored(f"SurveyMonkey event {payload.get('event_type') if isinstance(payload, dict) else ''!r} "
                       "carries no response")
    if not fetched:
        raise MappingError("The response was not fetched from the SurveyMonkey API yet; replay the delivery.")
    details = fetched.get("response") or {}
    answers: dict = {}
    scores: list[ScoreSpec] = []
    comments = []
    used = set()
    for page in details.get("pages") or []:
        for question in page.get("questions") or []:
            qid = str(question.get("id"))
            heading = question.get("heading") or ""
            family, subtype = question.get("family", ""), question.get("subtype", "")
            for answer in question.get("answers") or []:
                simple = answer.get("simple_text") or answer.get("text") or ""
                if answer.get("choice_id") and not answer.get("text"):
                    value = _number(simple)
                    answers[qid] = value
                    metric = guess_metric(heading) or ("nps" if subtype == "nps" else None)
                    if family == "matrix" or subtype in ("nps", "rating", "star") or metric:
                        if subtype == "nps" or metric == "nps":
                            metric, scale = "nps", (0, 10)
                        elif metric == "ces":
                            scale = (1, 7)
                        elif metric == "csat" or subtype in ("rating", "star"):
                            metric, scale = "csat", (1, 5)
                        else:
                            scale = (0, 10)
                        if metric and metric not in used and present(value) and str(value).lstrip("-").replace(".", "", 1).isdigit():
                            used.add(metric)
                            scores.append(ScoreSpec(metric, metric, value, scale))
                elif answer.get("text"):
                    answers.setdefault(qid, answer["text"])
                    if family == "open_ended":
                        comments.append(answer["text"])
    contact = (details.get("metadata") or {}).get("contact") or {}

    def contact_value(key):
        value = contact.get(key)
        return value.get("value") if isinstance(value, dict) else value

    custom = {str(k).lower(): v for k, v in (details.get("custom_variables") or {}).items()}
    name = " ".join(filter(None, [details.get("first_name") or contact_value("first_name"),
                                  details.get("last_name") or contact_value("last_name")])).strip()
    survey_id, response_id = _ids(payload)
    defaults = {
        "response_id": details.get("id") or response_id,
        "survey_id": details.get("survey_id") or survey_id,
        "survey_name": first(fetched, "survey.title") if present(first(fetched, "survey.title")) else (
            f"SurveyMonkey survey {details.get('survey_id') or survey_id}"),
        "answered_at": details.get("date_modified") or details.get("date_created") or payload.get("event_datetime"),
        "comment": max(comments, key=len) if comments else MISSING,
        "email": details.get("email_address") or contact_value("email") or MISSING,
        "name": name or MISSING,
        "external_id": first(custom, "customer_id", "user_id", "external_id") if custom else (
            details.get("custom_value") or MISSING),
        **{f: first(custom, f) for f in ("tier", "segment", "account_value", "touchpoint", "channel", "location",
                                          "region", "phone")},
    }
    return assemble(payload={"event": payload, "response": details}, mapping=mapping, defaults=defaults,
                    scores=scores, received_at=received_at, answers=answers,
                    attributes={"collector_id": details.get("collector_id")} if details.get("collector_id") else {})
