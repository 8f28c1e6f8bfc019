"""Qualtrics: event subscriptions (completed and partial responses), or JSON posted by a workflow.

- Event subscriptions (https://api.qualtrics.com/ZG9jOjg0MDYxNg-event-subscriptions-api, topics
  and fields in https://api.qualtrics.com/ZG9jOjg0MDYxOQ-response-events) post a thin,
  form-encoded notification: `Topic=<brand>.surveyengine.completedResponse.SV_...` (or
  `.partialResponse.`), `MSG=<a JSON string: {"Status": "Complete"|"Partial", "SurveyID",
  "ResponseID", "RecipientID", "DistributionID", "CompletedDate", "BrandID", ...}>` and, when the
  subscription was created with a `sharedKey`, `HMAC=<hex HMAC-SHA512(sharedKey, MSG)>` (128 hex
  characters; the scheme Qualtrics' own receivers verify, e.g. kyma-incubator/connector-tools
  qualtrics-event-gw/pkg/hmac). The source's secret is that sharedKey.
  The worker fetches the response, `GET {api_base}/surveys/{SurveyID}/responses/{ResponseID}`,
  and the survey's definition, `GET {api_base}/survey-definitions/{SurveyID}` (cached per survey:
  which question is NPS, Selector "NPS", 0-10; CSAT/CES and their scales), with
  `X-API-TOKEN: {api_token}`. A partialResponse (or `finished` 0) is recorded as partial.
- A workflow's "Web service" task (https://www.qualtrics.com/support/survey-platform/actions-page/
  workflows/tasks/web-service-task/) posts the JSON body the admin writes with piped text
  (e.g. {"responseId": "${e://Field/ResponseID}", "nps": "${q://QID1/SelectedChoicesRecode}"}).
  It signs nothing: the source's secret goes in a header (auth.token_header, default
  X-Closeloop-Token). A subscription created without a sharedKey can put it as ?token= in its
  publication URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext_lazy

from surveys.adapters.assembly import ScoreSpec, assemble, guess_metric
from surveys.adapters.common import (
    FORM_TYPE, MISSING, FetchRequest, Ignored, MappingError, SignatureError, api_settings, decode_signature,
    definition_cache_key, first, is_json_type, matches_any, present, shared_token_matches,
)

CONTENT_TYPES = (FORM_TYPE, "application/json")
DEFAULT_API_BASE = "https://iad1.qualtrics.com/API/v3"
DEFAULT_TOKEN_HEADER = "x-closeloop-token"
AUTH_OPTIONS = {
    "api_base": "Qualtrics API base URL of your data centre, e.g. https://fra1.qualtrics.com/API/v3 "
                f"(Account Settings > Qualtrics IDs > Datacenter ID; default {DEFAULT_API_BASE}).",
    "api_token": "A Qualtrics API token (Account Settings > Qualtrics IDs > Generate token), sent as X-API-TOKEN.",
    "token_header": "Header the Workflows web-service task puts the source's secret in (default X-Closeloop-Token).",
}
IDENTITY = gettext_lazy("The response's externalDataReference (the contact's External Data Reference, or embedded data "
                        "customer_id), then recipientEmail; the phone from embedded data phone.")
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


def sign(shared_key: str, msg: str) -> str:
    """The HMAC field of an event notification: hex HMAC-SHA512(sharedKey, MSG)."""
    return hmac.new(shared_key.encode(), msg.encode(), hashlib.sha512).hexdigest()


def verify(source, body: bytes, headers: dict, now: datetime) -> None:
    fields = _form_fields(body) if not body.lstrip().startswith(b"{") else {}
    if "HMAC" in fields:
        received = decode_signature(fields["HMAC"], "hex")
        expected = [hmac.new(s.encode(), fields.get("MSG", "").encode(), hashlib.sha512).digest()
                    for s in source.secrets]
        if received is None or not matches_any(expected, [received]):
            raise SignatureError("Qualtrics HMAC (HMAC-SHA512 of MSG with the subscription's sharedKey) does not match")
        return
    name = (source.auth or {}).get("token_header") or DEFAULT_TOKEN_HEADER
    if not shared_token_matches(source, headers, name):
        raise SignatureError(f"no HMAC field, and missing or wrong shared token ({name} header or ?token=)")


def _form_fields(body: bytes) -> dict:
    from urllib.parse import parse_qsl

    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


def notification(payload) -> dict | None:
    """An event notification's fields (MSG decoded; the older flat form as it comes), or None
    when the payload is a workflow's JSON."""
    if not isinstance(payload, dict) or "Topic" not in payload:
        return None
    msg = payload.get("MSG")
    if isinstance(msg, str) and msg.strip():
        try:
            decoded = json.loads(msg)
        except ValueError:
            raise MappingError("The Qualtrics notification's MSG is not JSON.") from None
        if not isinstance(decoded, dict):
            raise MappingError("The Qualtrics notification's MSG is not a JSON object.")
        return {**decoded, "Topic": payload["Topic"]}
    return {k: v for k, v in payload.items() if k not in ("HMAC",)}


def delivery_id(source, body: bytes, headers: dict, payload) -> str:
    try:
        event = notification(payload)
    except MappingError:
        return ""
    if event is not None and present(event.get("ResponseID")):
        return f"{_kind(event)}:{event['ResponseID']}"[:255]
    if isinstance(payload, dict):
        response_id = first(payload, "ResponseID", "responseId", "response_id", "ResponseId")
        if present(response_id):
            return f"workflow:{response_id}"[:255]
    return ""


def _kind(event: dict) -> str:
    topic = str(event.get("Topic", ""))
    if "partialResponse" in topic or str(event.get("Status", "")).lower() == "partial":
        return "partialResponse"
    return "completedResponse"


def fetch_request(source, payload):
    event = notification(payload)
    if event is None or not _carries_response(event):
        return None
    base, token = api_settings(source, settings.QUALTRICS_API_BASE or DEFAULT_API_BASE, "Qualtrics")
    survey_id, response_id = str(event.get("SurveyID", "")), str(event.get("ResponseID", ""))
    if not re.fullmatch(r"SV_\w+", survey_id) or not re.fullmatch(r"R_\w+", response_id):
        raise MappingError(f"SurveyID {survey_id!r} / ResponseID {response_id!r} are not Qualtrics ids.")
    headers = {"X-API-TOKEN": token, "Accept": "application/json"}
    return (
        FetchRequest(url=f"{base}/surveys/{survey_id}/responses/{response_id}", headers=headers),
        FetchRequest(url=f"{base}/survey-definitions/{survey_id}", headers=headers, key="survey",
                     cache_key=definition_cache_key(source, "qualtrics", survey_id)),
    )


def _carries_response(event: dict) -> bool:
    topic = str(event.get("Topic", ""))
    return ("completedResponse" in topic or "partialResponse" in topic) and present(event.get("ResponseID"))


def normalize(payload, mapping: dict, received_at: datetime, fetched=None, source_name: str = "", **_):
    if not isinstance(payload, dict):
        return Ignored("not a Qualtrics notification")
    event = notification(payload)
    if event is not None:
        if not _carries_response(event):
            return Ignored(f"Qualtrics topic {event.get('Topic')!r} carries no response")
        if not fetched:
            raise MappingError("The response was not fetched from the Qualtrics API yet; replay the delivery.")
        response = fetched.get("response") or {}
        result = response.get("result", response) if isinstance(response, dict) else {}
        survey = fetched.get("survey") or {}
        definition = survey.get("result", survey) if isinstance(survey, dict) else {}
        return _from_values(result, event, definition or {}, mapping, received_at, source_name)
    if isinstance(payload.get("values"), dict) or isinstance((payload.get("result") or {}).get("values"), dict):
        return _from_values(payload.get("result") or payload, payload, {}, mapping, received_at, source_name)
    return _from_workflow(payload, mapping, received_at, source_name)


def question_scores(definition: dict, values: dict) -> tuple[list[ScoreSpec], list[str]]:
    """Scores and comments of a response, read with its survey's definition: the NPS question is
    the one whose Selector is NPS (0-10); a CSAT or CES question is a single-answer question whose
    text names it, on the scale of its choices' recode values. Without a definition, the NPS
    question is the QIDn that has a QIDn_NPS_GROUP."""
    questions = definition.get("Questions") or {}
    scores: list[ScoreSpec] = []
    comments: list[str] = []
    used: set[str] = set()
    for qid, question in sorted(questions.items(), key=lambda item: _qid_order(item[0])):
        if not isinstance(question, dict):
            continue
        value = values.get(qid)
        if question.get("QuestionType") == "TE":
            text = values.get(f"{qid}_TEXT")
            if present(text) and str(text).strip():
                comments.append(str(text))
            continue
        if not present(value):
            continue
        if question.get("Selector") == "NPS":
            metric, scale = "nps", (0, 10)
        else:
            metric = guess_metric(_plain(question.get("QuestionText", ""))) if question.get("QuestionType") in (
                "MC", "Slider") else None
            scale = _choice_scale(question)
            if metric not in ("csat", "ces") or scale is None:
                continue
        if metric in used:
            scores.append(ScoreSpec("custom", question.get("DataExportTag") or qid, value, scale))
        else:
            used.add(metric)
            scores.append(ScoreSpec(metric, metric, value, scale))
    if not questions:
        for qid in sorted({k[: -len("_NPS_GROUP")] for k in values if k.endswith("_NPS_GROUP")}, key=_qid_order):
            scores.append(ScoreSpec("nps" if not scores else "custom", "nps" if not scores else qid, values.get(qid)))
        comments = [str(v) for k, v in values.items() if re.fullmatch(r"QID\d+(_\d+)?_TEXT", k) and str(v).strip()]
    return scores, comments


def _qid_order(qid: str):
    match = re.match(r"QID(\d+)", qid)
    return (int(match.group(1)) if match else 10**9, qid)


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", str(html or ""))


def _choice_scale(question: dict) -> tuple[int, int] | None:
    recodes = question.get("RecodeValues") or {}
    choices = question.get("Choices") or {}
    numbers = []
    for key in (choices if isinstance(choices, dict) else range(len(choices))):
        raw = recodes.get(str(key), key) if isinstance(recodes, dict) else key
        try:
            numbers.append(int(str(raw)))
        except ValueError:
            return None
    if len(numbers) < 2:
        return None
    return min(numbers), max(numbers)


def _from_values(result: dict, event: dict, definition: dict, mapping, received_at, source_name):
    values = result.get("values") or {}
    labels = result.get("labels") or {}
    scores, comments = question_scores(definition, values)
    for key in ("csat", "ces"):
        if key not in {s.metric for s in scores} and (key in values or key.upper() in values):
            scores.append(ScoreSpec(key, key, values.get(key, values.get(key.upper()))))
    name = " ".join(str(values.get(k) or "") for k in ("recipientFirstName", "recipientLastName")).strip()
    defaults = {f: first(values, *keys) for f, keys in VALUE_IDENTITY.items()}
    survey_name = first(definition, "SurveyName") if present(first(definition, "SurveyName")) else first(
        result, "surveyName")
    defaults.update({
        "response_id": result.get("responseId") or event.get("ResponseID"),
        "survey_id": event.get("SurveyID") or first(result, "surveyId") or definition.get("SurveyID"),
        "survey_name": survey_name if present(survey_name) else (event.get("SurveyID") or source_name),
        "answered_at": first(values, "endDate", "recordedDate") if present(first(values, "endDate", "recordedDate"))
        else event.get("CompletedDate"),
        "comment": max(comments, key=len) if comments else MISSING,
        "name": name or MISSING,
    })
    answers = {**values, **{f"label.{k}": v for k, v in labels.items()}}
    attributes = {k: event[k] for k in ("DistributionID", "RecipientID", "ResponseEventContext") if event.get(k)}
    normalized = assemble(payload={"values": values, "labels": labels, "notification": event}, mapping=mapping,
                          defaults=defaults, scores=scores, received_at=received_at, answers=answers,
                          attributes=attributes)
    finished = values.get("finished")
    partial = _kind(event) == "partialResponse" if event.get("Topic") else False
    if finished is not None and str(finished).lower() in ("0", "false"):
        partial = True
    return _with_partial(normalized, partial)


def _with_partial(normalized, partial: bool):
    from dataclasses import replace

    return replace(normalized, partial=partial) if partial else normalized


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


# --- test deliveries ----------------------------------------------------------------------------

SAMPLE_MSG = {"Status": "Complete", "SurveyID": "SV_closeloopTest1", "ResponseID": "R_closeloopTest1",
              "RecipientID": "", "ResponseEventContext": "", "DistributionID": "",
              "CompletedDate": "2025-03-01 10:00:00", "BrandID": "closeloop"}


def event_body(shared_key: str, msg: dict, topic: str | None = None) -> bytes:
    """A form-encoded event notification as Qualtrics posts it, signed with `shared_key`."""
    text = json.dumps(msg, separators=(",", ":"))
    kind = "partialResponse" if msg.get("Status") == "Partial" else "completedResponse"
    topic = topic or f"{msg.get('BrandID', 'brand')}.surveyengine.{kind}.{msg.get('SurveyID')}"
    return urlencode({"Topic": topic, "MSG": text, "HMAC": sign(shared_key, text)}).encode()


def sample_delivery(source) -> tuple[str, bytes, dict]:
    """A Workflows web-service task's JSON with a detractor score and the shared token header (the
    event subscription is thin: its response would be fetched from Qualtrics, which has no test
    response to give)."""
    body = json.dumps({
        "responseId": "R_closeloopTest1", "surveyId": "SV_closeloopTest1", "surveyName": "Closeloop test delivery",
        "nps": "2", "comment": "Test delivery from Closeloop: the checkout kept failing.",
        "email": "test.customer@example.com", "customer_id": "TEST-1", "endDate": "2025-03-01T10:00:00Z",
    }).encode()
    name = (source.auth or {}).get("token_header") or DEFAULT_TOKEN_HEADER
    return "application/json", body, {name.lower(): source.secret}
