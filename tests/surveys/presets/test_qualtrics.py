"""Qualtrics: event subscriptions as Qualtrics sends them (form-encoded Topic, MSG as a JSON string,
HMAC = hex HMAC-SHA512(sharedKey, MSG)), completed through its API against a local stub, and the
Workflows web-service task's JSON.

Fixtures follow the published formats:
- notification fields: https://api.qualtrics.com/ZG9jOjg0MDYxOQ-response-events
- a single response: https://api.qualtrics.com/1179a68b7183c-retrieve-a-survey-response
  ({"result": {"responseId", "values": {... "QID1", "QID1_NPS_GROUP", "QID2_TEXT" ...}, "labels"}, "meta"})
- a survey definition: https://api.qualtrics.com/9d0928392673d-get-survey ({"result": {"SurveyID",
  "SurveyName", "Questions": {"QID1": {"QuestionType": "MC", "Selector": "NPS", ...}}}})
- the HMAC scheme and its published test vector: kyma-incubator/connector-tools,
  qualtrics-event-gw/pkg/hmac/hmac.go and hmac_test.go.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.utils import timezone

from surveys.adapters import SignatureError, qualtrics
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import delivery_normalize, delivery_process
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.vendor_stub import case_rules, post_through_door, vendor_api  # noqa: F401

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
SURVEY = "SV_cVn9uBwheR9hz01"


def msg(response_id="R_suq806jn8LGzhx7", status="Complete", survey=SURVEY) -> dict:
    return {"Status": status, "SurveyID": survey, "RecipientID": "CGC_GiMUyLkGpEZsVF3", "ResponseEventContext": "",
            "DistributionID": "EMD_96woxYS85Cg5Lqx", "ResponseID": response_id,
            "CompletedDate": "2025-03-01 10:00:00", "BrandID": "acme"}


def response_json(response_id="R_suq806jn8LGzhx7", nps=3, finished=1) -> dict:
    return {"result": {"responseId": response_id, "values": {
        "startDate": "2025-03-01T09:58:10Z", "endDate": "2025-03-01T10:00:00Z", "status": 0, "progress": 100,
        "duration": 110, "finished": finished, "recordedDate": "2025-03-01T10:00:01.234Z", "_recordId": response_id,
        "recipientLastName": "Lee", "recipientFirstName": "Ann", "recipientEmail": "ann@example.com",
        "externalDataReference": "C-42", "distributionChannel": "email", "userLanguage": "EN",
        "QID1": nps, "QID1_NPS_GROUP": 1 if nps <= 6 else 3, "QID2_TEXT": "Nobody at the counter for ten minutes.",
        "QID3": 2,
    }, "labels": {"status": "IP Address", "finished": "True", "QID1": str(nps), "QID3": "Dissatisfied"}},
        "meta": {"requestId": "3c8e2a54-5c25-4a6c-9c3c-1c5e1b3f2e11", "httpStatus": "200 - OK"}}


DEFINITION = {"result": {
    "SurveyID": SURVEY, "SurveyName": "Store visit", "SurveyStatus": "Active",
    "Questions": {
        "QID1": {"QuestionID": "QID1", "QuestionText": "How likely are you to recommend us to a friend?",
                 "DataExportTag": "Q1", "QuestionType": "MC", "Selector": "NPS",
                 "Choices": {str(i): {"Display": str(i)} for i in range(11)},
                 "ChoiceOrder": [str(i) for i in range(11)]},
        "QID2": {"QuestionID": "QID2", "QuestionText": "What is the main reason for your score?",
                 "DataExportTag": "Q2", "QuestionType": "TE", "Selector": "ML"},
        "QID3": {"QuestionID": "QID3", "QuestionText": "How satisfied are you with our staff?",
                 "DataExportTag": "Q3", "QuestionType": "MC", "Selector": "SAVR",
                 "Choices": {"1": {"Display": "Very dissatisfied"}, "2": {"Display": "Dissatisfied"},
                             "3": {"Display": "Neutral"}, "4": {"Display": "Satisfied"},
                             "5": {"Display": "Very satisfied"}},
                 "RecodeValues": {"1": "1", "2": "2", "3": "3", "4": "4", "5": "5"}},
    },
}, "meta": {"requestId": "0d7b5ad4-8d33-4d5a-9c1e-6a3f2b7c8d90", "httpStatus": "200 - OK"}}


@pytest.fixture
def source(vendor_api):  # noqa: F811
    case_rules()
    return make_source("qualtrics", secret="qualtrics-shared-key",
                       auth={"api_base": vendor_api.base + "/API/v3", "api_token": "q-token"})


def answer_survey(stub, response_id="R_suq806jn8LGzhx7", **kwargs):
    stub.answer(f"/API/v3/surveys/{SURVEY}/responses/{response_id}", (200, response_json(response_id, **kwargs)))
    stub.answer(f"/API/v3/survey-definitions/{SURVEY}", (200, DEFINITION))


def test_the_hmac_is_hex_hmac_sha512_of_msg_as_published():
    """The test vector of a receiver Qualtrics customers run (kyma-incubator/connector-tools)."""
    text = ('{"Status":"Complete","SurveyID":"SV_1AmkKSDmoZ4XlQx","ResponseID":"R_0B7IcnXszjEUHLP",'
            '"CompletedDate":"2019-06-25 07:58:25","BrandID":"sapdevelopment"}')
    assert qualtrics.sign("kyma4ever", text) == (
        "c2c585a404c239aa3063b462cc33551d3ed3ed2de0899f58d456fc0ef7ebef6f"
        "3c3af44957989bd0592603e41edde9528f7d9ed09ee128bf719aa12f46e5c598")
    body = qualtrics.event_body("kyma4ever", json.loads(text), topic="sapdevelopment.surveyengine.completedResponse.x")
    assert json.loads(json.dumps(text))  # MSG travels as the same string
    qualtrics.verify(SimpleNamespace(secrets=["kyma4ever"], auth={}), body, {}, timezone.now())
    with pytest.raises(SignatureError):
        qualtrics.verify(SimpleNamespace(secrets=["another-key"], auth={}), body, {}, timezone.now())


def test_completed_response_is_fetched_and_recorded_with_its_definition(client, source, vendor_api):  # noqa: F811
    answer_survey(vendor_api)
    body = qualtrics.event_body(source.secret, msg())
    assert post_through_door(client, source, body, {}, FORM).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    assert delivery.delivery_id == "completedResponse:R_suq806jn8LGzhx7"
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps, r.csat, r.csat_scale_min, r.csat_scale_max) == ("R_suq806jn8LGzhx7", 3, 2, 1, 5)
    assert r.comment == "Nobody at the counter for ten minutes."
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-42", "ann@example.com", "Ann Lee")
    assert r.survey.name == "Store visit" and r.partial is False
    assert cases_for(r) == 1
    calls = [(c["path"], c["headers"].get("x-api-token")) for c in vendor_api.requests]
    assert calls == [(f"/API/v3/surveys/{SURVEY}/responses/R_suq806jn8LGzhx7", "q-token"),
                     (f"/API/v3/survey-definitions/{SURVEY}", "q-token")]


def test_a_promoter_opens_no_case(client, source, vendor_api):  # noqa: F811
    answer_survey(vendor_api, nps=10)
    post_through_door(client, source, qualtrics.event_body(source.secret, msg()), {}, FORM)
    r = SurveyResponse.objects.get()
    assert r.nps == 10 and cases_for(r) == 0


def test_the_definition_is_fetched_once_per_survey(client, source, vendor_api):  # noqa: F811
    answer_survey(vendor_api, "R_first000000001")
    answer_survey(vendor_api, "R_second00000002")
    post_through_door(client, source, qualtrics.event_body(source.secret, msg("R_first000000001")), {}, FORM)
    post_through_door(client, source, qualtrics.event_body(source.secret, msg("R_second00000002")), {}, FORM)
    assert SurveyResponse.objects.count() == 2
    assert len(vendor_api.calls(f"/API/v3/survey-definitions/{SURVEY}")) == 1
    assert len(vendor_api.calls(f"/API/v3/surveys/{SURVEY}/responses/R_second00000002")) == 1


def test_a_partial_response_is_recorded_as_partial(client, source, vendor_api):  # noqa: F811
    answer_survey(vendor_api, finished=0)
    body = qualtrics.event_body(source.secret, msg(status="Partial"))
    assert b"surveyengine.partialResponse" in body
    post_through_door(client, source, body, {}, FORM)
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    assert delivery.delivery_id == "partialResponse:R_suq806jn8LGzhx7"
    # The adapter's side of the contract: the normalized response says partial (the recording
    # side, surveys.services.recording, stores it and lets the finished version update the row).
    assert delivery_normalize(delivery).partial is True
    r = SurveyResponse.objects.get()
    assert r.nps == 3
    assert cases_for(r) == 1  # judged by its score at once


@pytest.mark.parametrize("status, error, expected", [
    (401, {"meta": {"httpStatus": "401 - Unauthorized",
                    "error": {"errorMessage": "Invalid credentials", "errorCode": "AUTH_1.1"}}},
     "answered 401: Invalid credentials; check the source's API token (auth.api_token)"),
    (404, {"meta": {"httpStatus": "404 - Not Found",
                    "error": {"errorMessage": "Response not found", "errorCode": "RCE_1"}}},
     "answered 404: Response not found; check the source's api_base"),
])
def test_a_refusal_from_qualtrics_fails_the_delivery_with_its_message(client, source, vendor_api, status, error,  # noqa: F811
                                                                        expected):
    vendor_api.answer(f"/API/v3/surveys/{SURVEY}/responses/R_suq806jn8LGzhx7", (status, error))
    assert post_through_door(client, source, qualtrics.event_body(source.secret, msg()), {}, FORM).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "failed"
    assert expected in delivery.error
    assert not SurveyResponse.objects.exists()


def test_a_qualtrics_outage_is_retried_with_backoff(client, source, vendor_api):  # noqa: F811
    path = f"/API/v3/surveys/{SURVEY}/responses/R_suq806jn8LGzhx7"
    vendor_api.answer(path, (503, {"meta": {"httpStatus": "503 - Service Unavailable",
                                            "error": {"errorMessage": "Temporarily unavailable"}}}),
                      (200, response_json()))
    vendor_api.answer(f"/API/v3/survey-definitions/{SURVEY}", (200, DEFINITION))
    post_through_door(client, source, qualtrics.event_body(source.secret, msg()), {}, FORM)
    delivery = only_delivery()
    assert delivery.status == "pending" and delivery.not_before > timezone.now()
    assert "answered 503 (Temporarily unavailable)" in delivery.error
    WebhookDelivery.objects.filter(pk=delivery.pk).update(not_before=None)  # the backoff has passed
    assert delivery_process(delivery_pk=delivery.pk) == "processed"
    assert SurveyResponse.objects.get().nps == 3
    assert len(vendor_api.calls(path)) == 2


def test_a_tampered_msg_is_refused_at_the_door(client, source, vendor_api):  # noqa: F811
    body = qualtrics.event_body(source.secret, msg()).replace(b"R_suq806jn8LGzhx7", b"R_xxxxxxxxxxxxxxx", 1)
    assert post_through_door(client, source, body, {}, FORM).status_code == 401
    assert not WebhookDelivery.objects.exists() and vendor_api.requests == []


def test_a_topic_without_a_response_is_acknowledged_and_fetches_nothing(client, source, vendor_api):  # noqa: F811
    event = {"Status": "Started", "SurveyID": SURVEY, "RecipientID": "CGC_1", "StartedDate": "2025-03-01 09:58:00",
             "BrandID": "acme"}
    body = qualtrics.event_body(source.secret, event, topic=f"acme.surveyengine.startedRecipientSession.{SURVEY}")
    post_through_door(client, source, body, {}, FORM)
    delivery = only_delivery()
    assert delivery.status == "processed" and "carries no response" in delivery.note
    assert vendor_api.requests == [] and not SurveyResponse.objects.exists()


def test_workflow_web_service_json_with_the_shared_token(client, source):
    body = json.dumps({"responseId": "R_wf0000000001", "surveyId": SURVEY, "surveyName": "Store visit",
                       "nps": "4", "comment": "Queue too long", "recipientEmail": "bo@example.com"}).encode()
    assert post_through_door(client, source, body, {"x-closeloop-token": "wrong"}, "application/json").status_code == 401
    assert post_through_door(client, source, body, {"x-closeloop-token": source.secret},
                             "application/json").status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.nps, r.comment, r.customer.email) == (4, "Queue too long", "bo@example.com")
    assert cases_for(r) == 1


def test_the_sample_delivery_opens_a_case(client, source):
    content_type, body, headers = qualtrics.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id) == (2, "TEST-1") and cases_for(r) == 1


def test_the_connect_page_examples_work(client, source, vendor_api):  # noqa: F811
    examples = doc_examples("qualtrics.md")
    answer_survey(vendor_api)
    event = json.loads(examples["msg"])
    assert set(event) == set(msg())
    body = qualtrics.event_body(source.secret, {**event, "SurveyID": SURVEY, "ResponseID": "R_suq806jn8LGzhx7"})
    post_through_door(client, source, body, {}, FORM)
    assert SurveyResponse.objects.get().nps == 3
    workflow = examples["workflow-body"].replace("${e://Field/ResponseID}", "R_doc000000001").replace(
        "${q://QID1/SelectedChoicesRecode}", "5").replace("${q://QID2/ChoiceTextEntryValue}", "Slow").replace(
        "${e://Field/RecipientEmail}", "doc@example.com").replace("${e://Field/ExternalDataReference}", "C-DOC")
    assert "${" not in workflow
    post_through_door(client, source, workflow.encode(), {"x-closeloop-token": source.secret}, "application/json")
    r = SurveyResponse.objects.get(external_id="R_doc000000001")
    assert (r.nps, r.comment, r.customer.external_id) == (5, "Slow", "C-DOC")
