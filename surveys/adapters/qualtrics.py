"""Qualtrics: completed-response event subscriptions, or JSON posted by a workflow.

- Event subscriptions (https://api.qualtrics.com/ZG9jOjg0MDYxNg-event-subscriptions-api and
  https://api.qualtrics.com/ZG9jOjg0MDYxOQ-response-events) post a thin, form-encoded
  notification: `Topic=surveyengine.completedResponse.SV_...&Status=Complete&SurveyID=SV_...&
  ResponseID=R_...&CompletedDate=...&BrandID=...`. The response itself is fetched in the worker
  from `GET {api_base}/surveys/{SurveyID}/responses/{ResponseID}` with the source's API token.
- A workflow's "Web service" task (https://www.qualtrics.com/support/survey-platform/actions-page/
  workflows/tasks/web-service-task/) posts the JSON body the admin writes with piped text
  (e.g. {"responseId": "${e://Field/ResponseID}", "nps": "${q://QID1/SelectedChoicesRecode}"}).

Qualtrics signs neither, so authenticity is a shared token: the source's secret, sent in the
header the admin names (auth.token_header, default X-Closeloop-Token; the web service task can set
headers) or as `?token=` in the publication URL (event subscriptions cannot set headers).
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from django.conf import settings

from surveys.adapters.common import (
    FORM_TYPE, MISSING, FetchRequest, Ignored, MappingError, ScoreSpec, SignatureError, assemble, first, header,
    is_json_type, present,
)

DEFAULT_TOKEN_HEADER = "x-closeloop-token"
VALUE_IDENTITY = {
    "external_id": ("externalDataReference", "customer_id", "CustomerID", "ExternalDataReference"),
    "email": ("recipientEmail", "email", "Email", "RecipientEmail"),
    "phone": ("phone", "Phone"), "tier": ("tier", "Tier"), "segment": ("segment", "Segment"),
    "account_value": ("account_value", "AccountValue"), "touchpoint": ("touchpoint", "Touchpoint"),
    "channel": ("channel", "distributionChannel"), "location": ("location", "Location", "store"),
    "region": ("region", "Region"),
}


def accepts(media_type: str) -> bool:
    return media_type == FORM_TYPE or is_json_type(media_type)


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    name = (source.auth or {}).get("token_header") or DEFAULT_TOKEN_HEADER
    token = header(headers, name) or header(headers, "x-query-token")
    if not token or not any(hmac.compare_digest(token.encode(), s.encode()) for s in source.secrets):
        raise SignatureError(f"missing or wrong shared token ({name} header or ?token=)")


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    if isinstance(payload, dict):
        response_id = first(payload, "ResponseID", "responseId", "response_id", "ResponseId")
        if present(response_id):
            topic = payload.get("Topic", "workflow")
            return f"{topic}:{response_id}"[:255]
    return ""


def is_thin(payload) -> bool:
    return isinstance(payload, dict) and "Topic" in payload and "ResponseID" in payload and "values" not in payload


def fetch_request(source, payload):
    if not is_thin(payload):
        return None
    auth = source.auth or {}
    base = (auth.get("api_base") or settings.QUALTRICS_API_BASE or "").rstrip("/")
    token = auth.get("api_token", "")
    if not base or not token:
        raise MappingError("This Qualtrics source receives thin event notifications: set auth.api_base "
                           "(e.g. https://fra1.qualtrics.com/API/v3) and auth.api_token to fetch the responses.")
    survey_id, response_id = payload.get("SurveyID", ""), payload.get("ResponseID", "")
    if not re.fullmatch(r"[\w-]+", survey_id) or not re.fullmatch(r"[\w-]+", response_id):
        raise MappingError(f"SurveyID {survey_id!r} / ResponseID {response_id!r} are not Qualtrics ids.")
    return FetchRequest(url=f"{base}/surveys/{survey_id}/responses/{response_id}",
                        headers={"X-API-TOKEN": token, "Accept": "application/json"})


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict):
        return Ignored("not a Qualtrics notification")
    topic = str(payload.get("Topic", ""))
    if topic and "completedResponse" not in topic and "partialResponse" not in topic:
        return Ignored(f"Qualtrics topic {topic!r} carries no response")
    if is_thin(payload):
        if not fetched:
            raise MappingError("The response was not fetched from the Qualtrics API yet; replay the delivery.")
        result = fetched.get("response", {}).get("result", fetched.get("response", {}))
        return _from_values(result, payload, mapping, received_at, source_name)
    if isinstance(payload.get("values"), dict) or isinstance((payload.get("result") or {}).get("values"), dict):
        return _from_values(payload.get("result") or payload, payload, mapping, received_at, source_name)
    return _from_workflow(payload, mapping, received_at, source_name)


def _from_values(result: dict, notification: dict, mapping, received_at, source_name):
    values = result.get("values") or {}
    labels = result.get("labels") or {}
    scores: list[ScoreSpec] = []
    nps_questions = {k[: -len("_NPS_GROUP")] for k in values if k.endswith("_NPS_GROUP")}
    for qid in sorted(nps_questions):
        scores.append(ScoreSpec("nps" if not scores else "custom", "nps" if not scores else qid, values.get(qid)))
    comments = [str(v) for k, v in values.items() if re.fullmatch(r"QID\d+(_\d+)?_TEXT", k) and str(v).strip()]
    for key in ("csat", "ces"):
        if key in values or key.upper() in values:
            scores.append(ScoreSpec(key, key, values.get(key, values.get(key.upper()))))
    name = " ".join(str(values.get(k, "")) for k in ("recipientFirstName", "recipientLastName")).strip()
    defaults = {f: first(values, *keys) for f, keys in VALUE_IDENTITY.items()}
    defaults.update({
        "response_id": result.get("responseId") or notification.get("ResponseID"),
        "survey_id": notification.get("SurveyID") or first(result, "surveyId"),
        "survey_name": first(result, "surveyName") if present(first(result, "surveyName")) else (
            notification.get("SurveyID") or source_name),
        "answered_at": first(values, "endDate", "recordedDate") if present(first(values, "endDate", "recordedDate"))
        else notification.get("CompletedDate"),
        "comment": max(comments, key=len) if comments else MISSING,
        "name": name or MISSING,
    })
    answers = {**values, **{f"label.{k}": v for k, v in labels.items()}}
    return assemble(payload={"values": values, "labels": labels, "notification": notification}, mapping=mapping,
                    defaults=defaults, scores=scores, received_at=received_at, answers=answers)


WORKFLOW_KEYS = {
    "response_id": ("responseId", "ResponseID", "response_id"), "survey_id": ("surveyId", "SurveyID", "survey_id"),
    "survey_name": ("surveyName", "SurveyName", "survey_name"),
    "answered_at": ("endDate", "EndDate", "recordedDate", "answered_at"), "comment": ("comment", "Comment", "feedback"),
    "name": ("name", "Name"), **VALUE_IDENTITY,
}


def _from_workflow(payload: dict, mapping, received_at, source_name):
    scores = [ScoreSpec(m, m, first(payload, m, m.upper(), m.capitalize())) for m in ("nps", "csat", "ces")]
    defaults = {f: first(payload, *keys) for f, keys in WORKFLOW_KEYS.items()}
    if not present(defaults["survey_name"]):
        defaults["survey_name"] = defaults["survey_id"] if present(defaults["survey_id"]) else source_name
    return assemble(payload=payload, mapping=mapping, defaults=defaults, scores=scores, received_at=received_at)
