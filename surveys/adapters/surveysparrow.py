"""SurveySparrow webhooks (Integrations > Webhooks, or POST /v3/webhooks; the submission format as
SurveySparrow's own sample shows it: PipedreamHQ/pipedream components/surveysparrow/sources/
new-nps-submission-instant/test-event.mjs).

Two shapes, both handled:
- Full (the default "submission" payload): {"id", "survey_id", "state": "COMPLETED"|"PARTIAL",
  "start_time", "completed_time", "contact": {...}|null, "channel": {...}, "answers": [{"question_id",
  "question", "answer", "step" (opinion scale / NPS: its highest value) | "rating_scale" (ratings),
  "answer_sentiment" (text questions), "skipped"}, ... and metadata rows such as {"question_id":
  "submittedTime"}], "variables": [...], "tags": [...]}. Recorded as it comes.
- Thin: a custom payload that names only the submission, e.g. {"id": "{submission_id}",
  "survey_id": "{survey_id}"} (what `POST /v3/webhooks` users often send). The worker fetches
  `GET {api_base}/responses/{id}?survey_id=...` with `Authorization: Bearer {api_token}` and
  records the submission in its "data".

SurveySparrow signs nothing: its webhook settings let the admin add a header, which carries the
source's secret (auth.token_header, default X-Closeloop-Token), or the secret goes in the URL as
?token=. A submission in state PARTIAL is recorded as partial.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime

from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import ScoreSpec, assemble, guess_metric
from surveys.adapters.common import (
    MISSING, FetchRequest, Ignored, MappingError, SignatureError, api_settings, first, is_json_type, present,
    shared_token_matches,
)

CONTENT_TYPES = ("application/json",)
DEFAULT_API_BASE = "https://api.surveysparrow.com/v3"
DEFAULT_TOKEN_HEADER = "x-closeloop-token"
AUTH_OPTIONS = {
    "api_base": f"SurveySparrow API base URL (default {DEFAULT_API_BASE}); only needed for thin payloads.",
    "api_token": "A SurveySparrow access token (Settings > Apps & Integrations > Create a private app), sent as "
                 "Authorization: Bearer; only needed for thin payloads.",
    "token_header": "Header you add to the SurveySparrow webhook carrying the source's secret "
                    "(default X-Closeloop-Token).",
}
IDENTITY = gettext_lazy("Variable customer_id (or user_id / external_id), then the contact's e-mail, then its phone.")
METADATA_IDS = {"startTime", "submittedTime", "ip", "deviceType", "location", "browser", "browserLanguage", "os",
                "timeZone", "latitude", "longitude", "totalScore"}


def accepts(media_type: str) -> bool:
    return is_json_type(media_type)


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    name = (source.auth or {}).get("token_header") or DEFAULT_TOKEN_HEADER
    if not shared_token_matches(source, headers, name):
        raise SignatureError(f"missing or wrong shared token ({name} header or ?token=)")


def _submission_id(payload) -> str:
    value = first(payload, "submission_id", "id", "response_id") if isinstance(payload, dict) else MISSING
    return str(value) if present(value) else ""


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    submission = _submission_id(payload)
    if not submission:
        return ""
    state = str(payload.get("state") or "") if isinstance(payload, dict) else ""
    return f"{submission}:{state}"[:255] if state else submission[:255]


def is_thin(payload) -> bool:
    return isinstance(payload, dict) and not isinstance(payload.get("answers"), list) and bool(
        present(first(payload, "submission_id", "id", "response_id")))


def fetch_request(source, payload):
    if not is_thin(payload):
        return None
    base, token = api_settings(source, DEFAULT_API_BASE, "SurveySparrow")
    submission = str(first(payload, "submission_id", "id", "response_id"))
    survey_id = first(payload, "survey_id", "surveyId")
    if not re.fullmatch(r"\d+", submission):
        raise MappingError(f"Submission id {submission!r} is not a SurveySparrow id.")
    return FetchRequest(url=f"{base}/responses/{submission}",
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                        params={"survey_id": str(survey_id)} if present(survey_id) else {})


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict):
        return Ignored("not a SurveySparrow submission")
    if is_thin(payload):
        if not fetched:
            raise MappingError("The submission was not fetched from the SurveySparrow API yet; replay the delivery.")
        response = fetched.get("response") or {}
        submission = response.get("data", response) if isinstance(response, dict) else {}
        if not isinstance(submission, dict) or not isinstance(submission.get("answers"), list):
            raise MappingError("The SurveySparrow API returned no submission with answers for this id.")
    else:
        submission = payload
    return _from_submission(submission, mapping, received_at, source_name)


def _score(answer: dict, used: set) -> ScoreSpec | None:
    value = answer.get("answer")
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not (
            isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip())):
        return None
    text = re.sub(r"<[^>]+>", " ", str(answer.get("question") or ""))
    hint = guess_metric(text)
    key = f"q{answer.get('question_id')}"
    if "rating_scale" in answer:
        scale, metric = (1, int(answer.get("rating_scale") or 5)), (hint if hint in ("csat", "ces") else "csat")
    elif "step" in answer:
        scale = (0, int(answer.get("step") or 10))
        metric = "nps" if hint == "nps" and scale == (0, 10) else (hint if hint in ("csat", "ces") else None)
    else:
        return None
    if metric is None or metric in used:
        return ScoreSpec("custom", key, value, scale)
    used.add(metric)
    return ScoreSpec(metric, metric, value, scale)


def _from_submission(submission: dict, mapping, received_at, source_name):
    answers: dict = {}
    scores: list[ScoreSpec] = []
    comments: list[str] = []
    used: set = set()
    for answer in submission.get("answers") or []:
        if not isinstance(answer, dict) or answer.get("skipped"):
            continue
        qid = str(answer.get("question_id"))
        if qid in METADATA_IDS:
            answers[qid] = answer.get("answer")
            continue
        answers[f"q{qid}"] = answer.get("answer")
        if "answer_sentiment" in answer and isinstance(answer.get("answer"), str) and answer["answer"].strip():
            comments.append(answer["answer"])
            continue
        spec = _score(answer, used)
        if spec is not None:
            scores.append(spec)
    contact = submission.get("contact") or {}
    variables = {}
    for item in submission.get("variables") or []:
        if isinstance(item, dict) and item.get("name"):
            variables[str(item["name"]).lower()] = item.get("value")
    if isinstance(submission.get("variables"), dict):
        variables = {str(k).lower(): v for k, v in submission["variables"].items()}
    defaults = {
        "response_id": submission.get("id"),
        "survey_id": submission.get("survey_id"),
        "survey_name": first(submission, "survey_name", "survey.name") if present(
            first(submission, "survey_name", "survey.name")) else f"SurveySparrow survey {submission.get('survey_id')}",
        "answered_at": submission.get("completed_time") or answers.get("submittedTime") or submission.get("start_time"),
        "comment": comments[0] if comments else MISSING,
        "external_id": first(variables, "customer_id", "user_id", "external_id"),
        "email": first(contact, "email") if present(first(contact, "email")) else first(variables, "email"),
        "name": first(contact, "full_name", "name") if present(first(contact, "full_name", "name")) else first(
            variables, "name"),
        "phone": first(contact, "phone", "mobile") if present(first(contact, "phone", "mobile")) else first(
            variables, "phone"),
        "channel": first(submission, "channel.type"),
        **{f: first(variables, f) for f in ("tier", "segment", "account_value", "touchpoint", "location", "region")},
    }
    attributes = {"channel_name": first(submission, "channel.name")} if present(first(submission, "channel.name")) else {}
    if present(first(submission, "language")):
        attributes["language"] = first(submission, "language")  # the language it was answered in
    normalized = assemble(payload=submission, mapping=mapping, defaults=defaults, scores=scores,
                          received_at=received_at, answers=answers, attributes=attributes)
    if str(submission.get("state") or "COMPLETED").upper() not in ("COMPLETED", "COMPLETE"):
        normalized = replace(normalized, partial=True)
    return normalized


SAMPLE_SUBMISSION = {
    "id": 900000001, "survey_id": 900000002, "state": "COMPLETED", "contact_id": None, "language": None,
    "start_time": "2025-03-01T09:59:00.000Z", "completed_time": "2025-03-01T10:00:00.000Z",
    "contact": {"email": "test.customer@example.com", "full_name": "Test Customer"},
    "channel": {"name": "Closeloop test delivery", "type": "SYSTEM", "status": "ACTIVE"},
    "answers": [
        {"answer": 2, "step": 10, "question_id": 900000003, "skipped": False, "question_tags": [],
         "question": "On a scale of 0-10, how likely are you to recommend us to a friend or colleague?"},
        {"answer": "Test delivery from Closeloop: nobody answered the phone.", "answer_sentiment": None,
         "question": "What could we have done better?", "question_id": 900000004, "skipped": False,
         "question_tags": []},
        {"answer": "2025-03-01T10:00:00.000Z", "question_id": "submittedTime"},
    ],
    "device": {}, "tags": [], "variables": [{"name": "customer_id", "value": "TEST-1"}], "expressions": [],
}


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A completed submission (NPS 2) with the shared token header."""
    name = (source.auth or {}).get("token_header") or DEFAULT_TOKEN_HEADER
    return "application/json", json.dumps(SAMPLE_SUBMISSION).encode(), {name.lower(): source.secret}
