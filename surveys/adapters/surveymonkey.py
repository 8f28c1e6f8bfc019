"""SurveyMonkey webhooks (https://api.surveymonkey.com/v3/docs#webhooks and
https://api.surveymonkey.com/v3/docs#webhook-callbacks).

Response events are thin: {"name", "filter_type", "filter_id", "event_type": "response_completed",
"event_id", "object_type": "response", "object_id", "event_datetime", "resources": {"respondent_id",
"recipient_id", "user_id", "collector_id", "survey_id"}}. The callback carries `Sm-Apikey` (the
app's API key, its client id) and `Sm-Signature: base64(HMAC-SHA1("<api key>&<api secret>", raw
body))`; the source's secret is the app's secret, auth.api_key its API key.

The worker fetches `GET {api_base}/surveys/{survey_id}/responses/{id}/details?simple=true` and
the survey's definition `GET {api_base}/surveys/{survey_id}/details` (cached per survey: question
families, the NPS question and each scale's choices and weights) with `Authorization: Bearer
{api_token}`. api_base defaults to https://api.surveymonkey.com/v3; accounts in SurveyMonkey's
EU or Canadian data centres use https://api.eu.surveymonkey.com/v3 or https://api.surveymonkey.ca/v3.
A response that is not `completed` (response_status partial) is recorded as partial.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import ScoreSpec, assemble, guess_metric
from surveys.adapters.common import (
    MISSING, FetchRequest, Ignored, MappingError, SignatureError, api_settings, decode_signature, definition_cache_key,
    first, header, hmac_digest, is_json_type, matches_any, present,
)

CONTENT_TYPES = ("application/json", "application/vnd.surveymonkey.response.v1+json")
RESPONSE_EVENTS = ("response_completed", "response_updated")
DEFAULT_API_BASE = "https://api.surveymonkey.com/v3"
AUTH_OPTIONS = {
    "api_key": "Your SurveyMonkey app's API key (client id): it and the app's secret (the source's secret) "
               "key the Sm-Signature HMAC.",
    "api_base": f"SurveyMonkey API base URL (default {DEFAULT_API_BASE}; EU https://api.eu.surveymonkey.com/v3, "
                "Canada https://api.surveymonkey.ca/v3).",
    "api_token": "The app's access token, sent as Authorization: Bearer (scopes responses_read_detail, surveys_read).",
}
IDENTITY = gettext_lazy("Custom variable customer_id (or user_id / external_id), then the response's e-mail address "
                        "(email_address, or the contact's e-mail for e-mail collectors).")


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
    base, token = api_settings(source, settings.SURVEYMONKEY_API_BASE or DEFAULT_API_BASE, "SurveyMonkey")
    survey_id, response_id = _ids(payload)
    if not re.fullmatch(r"\d+", survey_id) or not re.fullmatch(r"\d+", response_id):
        raise MappingError(f"survey id {survey_id!r} / response id {response_id!r} are not SurveyMonkey ids.")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return (
        FetchRequest(url=f"{base}/surveys/{survey_id}/responses/{response_id}/details", headers=headers,
                     params={"simple": "true"}),
        FetchRequest(url=f"{base}/surveys/{survey_id}/details", headers=headers, key="survey",
                     cache_key=definition_cache_key(source, "surveymonkey", survey_id)),
    )


def _number(text: str):
    match = re.match(r"\s*(-?\d+(?:\.\d+)?)", str(text or ""))
    return match.group(1) if match else text


def definition_questions(survey: dict) -> dict:
    """Question id -> {family, subtype, heading, choices: {choice id: number}, scale} from the
    survey's details: a choice's number is its weight when the question is scored, else the
    number its text starts with, else its position."""
    questions = {}
    for page in survey.get("pages") or []:
        for question in page.get("questions") or []:
            choices = {}
            offered = question.get("answers")
            for position, choice in enumerate((offered.get("choices") if isinstance(offered, dict) else None) or [],
                                              start=1):
                number = choice.get("weight")
                if number is None:
                    text = _number(choice.get("text", ""))
                    number = text if re.fullmatch(r"-?\d+(\.\d+)?", str(text)) else choice.get("position", position)
                choices[str(choice.get("id"))] = number
            numbers = [float(n) for n in choices.values() if re.fullmatch(r"-?\d+(\.\d+)?", str(n))]
            headings = question.get("headings") or [{}]
            questions[str(question.get("id"))] = {
                "family": question.get("family", ""), "subtype": question.get("subtype", ""),
                "heading": re.sub(r"<[^>]+>", " ", str(headings[0].get("heading") or "")), "choices": choices,
                "scale": (int(min(numbers)), int(max(numbers))) if len(numbers) > 1 else None,
            }
    return questions


def _metric(question: dict) -> str | None:
    hint = guess_metric(question["heading"])
    if question["subtype"] == "nps" or (hint == "nps" and question["scale"] in (None, (0, 10))):
        return "nps"
    if hint in ("csat", "ces"):
        return hint
    if question["subtype"] in ("rating", "star"):
        return "csat"
    return None


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict) or payload.get("event_type") not in RESPONSE_EVENTS:
        return Ignored(f"SurveyMonkey event {payload.get('event_type') if isinstance(payload, dict) else ''!r} "
                       "carries no response")
    if not fetched:
        raise MappingError("The response was not fetched from the SurveyMonkey API yet; replay the delivery.")
    details = fetched.get("response") or {}
    survey = fetched.get("survey") or {}
    known = definition_questions(survey)
    answers: dict = {}
    scores: list[ScoreSpec] = []
    comments = []
    used = set()
    for page in details.get("pages") or []:
        for answered in page.get("questions") or []:
            qid = str(answered.get("id"))
            question = {"family": answered.get("family", ""), "subtype": answered.get("subtype", ""),
                        "heading": answered.get("heading", ""), "choices": {}, "scale": None}
            question.update({k: v for k, v in (known.get(qid) or {}).items() if v})
            for answer in answered.get("answers") or []:
                if answer.get("choice_id"):
                    choice = str(answer["choice_id"])
                    value = question["choices"].get(choice, _number(answer.get("simple_text") or ""))
                    answers[qid] = value
                    metric = _metric(question)
                    if metric and present(value):
                        scale = (0, 10) if metric == "nps" else question["scale"]
                        if metric in used or scale is None:
                            scores.append(ScoreSpec("custom", qid, value, scale or (0, 10)))
                        else:
                            used.add(metric)
                            scores.append(ScoreSpec(metric, metric, value, scale))
                elif answer.get("text"):
                    answers.setdefault(qid, answer["text"])
                    if question["family"] == "open_ended" or answered.get("family") == "open_ended" or not answer.get(
                            "row_id"):
                        comments.append(answer["text"])
    contact = (details.get("metadata") or {}).get("contact") or {}

    def contact_value(key):
        value = contact.get(key)
        return value.get("value") if isinstance(value, dict) else value

    custom = {str(k).lower(): v for k, v in (details.get("custom_variables") or {}).items()}
    name = " ".join(filter(None, [details.get("first_name") or contact_value("first_name"),
                                  details.get("last_name") or contact_value("last_name")])).strip()
    survey_id, response_id = _ids(payload)
    title = survey.get("title") or first(fetched, "survey.title")
    defaults = {
        "response_id": details.get("id") or response_id,
        "survey_id": details.get("survey_id") or survey_id,
        "survey_name": title if present(title) else f"SurveyMonkey survey {details.get('survey_id') or survey_id}",
        "answered_at": details.get("date_modified") or details.get("date_created") or payload.get("event_datetime"),
        "comment": max(comments, key=len) if comments else MISSING,
        "email": details.get("email_address") or contact_value("email") or MISSING,
        "name": name or MISSING,
        "external_id": first(custom, "customer_id", "user_id", "external_id") if custom else (
            details.get("custom_value") or MISSING),
        **{f: first(custom, f) for f in ("tier", "segment", "account_value", "touchpoint", "channel", "location",
                                          "region", "phone")},
    }
    normalized = assemble(payload={"event": payload, "response": details}, mapping=mapping, defaults=defaults,
                          scores=scores, received_at=received_at, answers=answers,
                          attributes={"collector_id": details.get("collector_id")} if details.get("collector_id")
                          else {})
    if details.get("response_status") not in (None, "completed"):
        from dataclasses import replace

        normalized = replace(normalized, partial=True)
    return normalized


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A response_completed event signed as SurveyMonkey signs it. The event is thin: the worker
    fetches response 1 of survey 1 with the source's token, so the test shows whether the
    signature and the token are right (SurveyMonkey answers its own 404 for the made-up ids)."""
    body = json.dumps({
        "name": "Closeloop test delivery", "filter_type": "survey", "filter_id": "1",
        "event_type": "response_completed", "event_id": "closeloop-test-1", "object_type": "response",
        "object_id": "1", "event_datetime": "2025-03-01T10:00:00.000000+00:00",
        "resources": {"respondent_id": "1", "recipient_id": "0", "user_id": "1", "collector_id": "1",
                      "survey_id": "1"},
    }).encode()
    api_key = (source.auth or {}).get("api_key", "")
    return ("application/vnd.surveymonkey.response.v1+json", body,
            {"sm-apikey": api_key, "sm-signature": sign(api_key, source.secret, body)})
