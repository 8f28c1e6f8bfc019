"""Jotform preset, through the Django view to the stored response and its case.

Fixtures follow Jotform's webhook posts (https://www.jotform.com/help/245-how-to-setup-a-webhook-with-jotform/
and the webhook section of https://api.jotform.com/docs/): multipart/form-data with formID,
submissionID, formTitle, pretty ("Label:Answer, ...") and rawRequest, a JSON string of the answers
by q<N>_<uniqueName>. Jotform signs nothing: the source's secret is the `?token=` of the webhook URL."""

from __future__ import annotations

import json
import uuid

import pytest

from surveys.adapters import jotform
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.helpers import cases_of, judge_by_default_scales, post, process, run_curl_example

pytestmark = pytest.mark.django_db

SECRET = "jotform-url-token-for-tests"
FORM_ID = "241234567890123"


def multipart(fields: dict) -> tuple[str, bytes]:
    boundary = f"------------------------{uuid.uuid4().hex[:16]}"
    parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items())
    return f"multipart/form-data; boundary={boundary}", (parts + f"--{boundary}--\r\n").encode()


def submission(raw: dict, pretty: str, *, submission_id: str = "5912345678901234567", form_id: str = FORM_ID):
    return multipart({
        "action": "", "webhookURL": "", "username": "acme_cx", "formID": form_id, "type": "WEB",
        "customParams": "", "product": "false", "formTitle": "After your visit", "customTitle": "",
        "submissionID": submission_id, "event": "", "documentID": "", "teamID": "", "subject": "",
        "isSilent": "false", "customBody": "", "rawRequest": json.dumps({"slug": f"submit/{form_id}", **raw}),
        "fromTable": "", "appID": "", "pretty": pretty, "unread": "", "parent": "", "ip": "198.51.100.23",
    })


RAW = {"q3_howLikely": "2", "q4_howSatisfied": "4", "q5_anythingElse": "Rude staff at the front desk.",
       "q6_email": "pat@example.com", "q7_name": {"first": "Pat", "last": "Kim"}, "q8_customerId": "C-2718",
       "q9_touchpoint": "front desk"}
PRETTY = ("How likely are you to recommend us to a friend?:2, How satisfied are you with your visit?:4, "
          "Anything else?:Rude staff at the front desk., E-mail:pat@example.com, Name:Pat Kim, "
          "customerId:C-2718, touchpoint:front desk")


@pytest.fixture
def source():
    judge_by_default_scales()
    return make_source("jotform", secret=SECRET)


def deliver(client, source, content_type: str, body: bytes, query: str = f"token={SECRET}"):
    answered = post(client, source, content_type, body, {}, query=query)
    assert answered.status_code == 202, answered.content
    return answered


def test_a_submission_is_recorded_with_its_scores_identity_and_a_case(client, source):
    deliver(client, source, *submission(RAW, PRETTY))
    assert list(process(source).values()) == ["processed"]
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.survey.external_id, r.survey.name) == ("5912345678901234567", FORM_ID, "After your visit")
    assert (r.nps, r.csat, r.comment, r.touchpoint) == (2, 4, "Rude staff at the front desk.", "front desk")
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-2718", "pat@example.com", "Pat Kim")
    assert cases_of(r) == 1
    assert WebhookDelivery.objects.get().delivery_id == "5912345678901234567"


def test_unique_names_say_the_metric_and_a_low_csat_opens_a_case(client, source):
    deliver(client, source, *submission({"q3_csat": "1", "q4_email": "lee@example.com"},
                                        "Overall, how was it?:1, Email:lee@example.com"))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.csat, r.csat_scale_max, cases_of(r)) == (None, 1, 5, 1)


def test_a_promoter_opens_no_case(client, source):
    deliver(client, source, *submission({"q3_nps": "10"}, "How likely are you to recommend us?:10"))
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, cases_of(r)) == (10, 0)


def test_several_unnamed_numbers_fail_the_delivery_naming_what_to_map(client, source):
    deliver(client, source, *submission({"q3_score": "4", "q4_quantity": "3"}, "Score:4, Quantity:3"))
    assert list(process(source).values()) == ["failed"]
    error = WebhookDelivery.objects.get().error
    assert error.startswith("No score found") and "q4_quantity" not in error and "quantity" in error


@pytest.mark.parametrize("query, extra", [
    ("", {}), ("token=wrong", {}), ("token=", {}), ("tok=" + SECRET, {}),
    ("", {"Authorization": f"Bearer {SECRET}"}),
])
def test_a_delivery_without_the_url_token_is_refused_with_401(client, source, query, extra):
    content_type, body = submission(RAW, PRETTY)
    assert post(client, source, content_type, body, extra, query=query).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_the_token_may_come_as_a_header_from_a_sender_that_sets_headers(client, source):
    content_type, body = submission(RAW, PRETTY)
    assert post(client, source, content_type, body, {"X-Closeloop-Token": SECRET}).status_code == 202


def test_with_a_form_id_set_another_forms_submission_is_refused(client):
    source = make_source("jotform", secret=SECRET, auth={"form_id": FORM_ID})
    assert post(client, source, *submission(RAW, PRETTY, form_id="999"), {}, query=f"token={SECRET}").status_code == 401
    assert post(client, source, *submission(RAW, PRETTY), {}, query=f"token={SECRET}").status_code == 202


def test_the_sample_delivery_is_accepted_and_opens_a_case(client, source):
    content_type, body, sent = jotform.sample_delivery(source)
    assert post(client, source, content_type, body, sent).status_code == 202
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("jotform", secret=SECRET)
    out = run_curl_example("jotform", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, cases_of(r)) == (3, "C-1001", 1)
