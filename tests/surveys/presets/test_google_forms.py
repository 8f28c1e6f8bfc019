"""Google Forms preset: the Apps Script Closeloop ships (surveys/adapters/google_forms.gs) is the
format. The script itself is run (in Node, with FormApp, Utilities and UrlFetchApp standing in as
Apps Script documents them: https://developers.google.com/apps-script/reference/forms,
.../utilities/utilities#computeHmacSha256Signature(String,String,Charset), .../url-fetch) and what
it posts goes through the Django view to the stored response and its case."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import time

import pytest

from surveys.adapters import google_forms
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.helpers import cases_of, judge_by_default_scales, post, process, run_curl_example

pytestmark = pytest.mark.django_db

SECRET = "google-forms-secret-for-tests"

# Apps Script's objects as its reference documents them, enough for onFormSubmit(e).
NODE_HARNESS = r"""
const crypto = require('crypto'), fs = require('fs'), vm = require('vm');
const [script, items] = [fs.readFileSync(process.argv[2], 'utf8'), JSON.parse(process.argv[3])];
const ItemType = {SCALE: 'SCALE', RATING: 'RATING', TEXT: 'TEXT', PARAGRAPH_TEXT: 'PARAGRAPH_TEXT',
                  MULTIPLE_CHOICE: 'MULTIPLE_CHOICE'};
let sent = null;
const sandbox = {
  FormApp: {ItemType},
  Utilities: {Charset: {UTF_8: 'UTF-8'},
    // Apps Script returns Java's signed bytes (-128..127).
    computeHmacSha256Signature: (value, key) => Array.from(
      crypto.createHmac('sha256', Buffer.from(key, 'utf8')).update(Buffer.from(value, 'utf8')).digest()
    ).map(b => (b > 127 ? b - 256 : b))},
  UrlFetchApp: {fetch: (url, options) => { sent = {url, options};
    return {getResponseCode: () => 202, getContentText: () => ''}; }},
  Date, Math, String, JSON, Error,
};
const event = {
  source: {getId: () => '1FAIpQLSeFormId', getTitle: () => 'Repair feedback'},
  response: {
    getId: () => '2_ABaOnud8ResponseId', getTimestamp: () => new Date('2025-03-01T10:00:00.000Z'),
    getRespondentEmail: () => 'dana@example.com',
    getItemResponses: () => items.map(it => ({
      getItem: () => ({getId: () => it.id, getTitle: () => it.title, getType: () => it.type,
        asScaleItem: () => ({getLowerBound: () => it.min, getUpperBound: () => it.max}),
        asRatingItem: () => ({getRatingScaleLevel: () => it.max})}),
      getResponse: () => it.value})),
  },
};
vm.runInNewContext(script + '\nonFormSubmit(event);', {...sandbox, event});
process.stdout.write(JSON.stringify(sent));
"""

ITEMS = [
    {"id": 1402938476, "title": "How likely are you to recommend our repair service?", "type": "SCALE",
     "value": "1", "min": 0, "max": 10},
    {"id": 1402938477, "title": "How satisfied are you with the repair?", "type": "RATING", "value": "2", "max": 5},
    {"id": 2039485761, "title": "What should we have done better?", "type": "PARAGRAPH_TEXT",
     "value": "It broke again after two days. Zażółć gęślą jaźń."},
    {"id": 993847561, "title": "Customer ID", "type": "TEXT", "value": "C-6021"},
    {"id": 993847562, "title": "Which store?", "type": "MULTIPLE_CHOICE", "value": "Leeds"},
]


def run_script(tmp_path, url: str, items=ITEMS) -> dict:
    script = tmp_path / "closeloop.gs"
    script.write_text(google_forms.apps_script(url, SECRET))
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    done = subprocess.run(["node", str(harness), str(script), json.dumps(items)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Closeloop-Timestamp": str(timestamp), "X-Closeloop-Signature": f"sha256={digest}"}


@pytest.fixture
def source():
    judge_by_default_scales()
    return make_source("google_forms", secret=SECRET)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js runs the shipped Apps Script")
def test_what_the_shipped_apps_script_posts_is_accepted_and_recorded_with_a_case(client, source, tmp_path):
    sent = run_script(tmp_path, f"https://closeloop.example.com/webhooks/{source.slug}/")
    options = sent["options"]
    assert (sent["url"], options["method"], options["contentType"]) == (
        f"https://closeloop.example.com/webhooks/{source.slug}/", "post", "application/json")
    answered = post(client, source, "application/json", options["payload"].encode(), options["headers"])
    assert answered.status_code == 202, answered.content
    assert list(process(source).values()) == ["processed"]
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.survey.external_id, r.survey.name) == ("2_ABaOnud8ResponseId", "1FAIpQLSeFormId",
                                                                    "Repair feedback")
    assert (r.nps, r.csat, r.csat_scale_min, r.csat_scale_max) == (1, 2, 1, 5)
    assert r.comment == "It broke again after two days. Zażółć gęślą jaźń."
    assert (r.customer.external_id, r.customer.email) == ("C-6021", "dana@example.com")
    assert r.answered_at.isoformat() == "2025-03-01T10:00:00+00:00"
    assert cases_of(r) == 1


def body(items, response_id="2_ABaOnud8Other", submitted_at="2025-03-01T10:00:00.000Z") -> bytes:
    return json.dumps({"type": "google_forms.response", "form_id": "1FAIpQLSeFormId", "form_title": "Repair feedback",
                       "response_id": response_id, "submitted_at": submitted_at, "respondent_email": "",
                       "items": items}).encode()


def test_a_ces_scale_about_effort_runs_high_is_more_effort(client, source):
    sent = body([{"id": "1", "title": "How much effort did the repair take you?", "type": "SCALE", "value": "5",
                  "min": 1, "max": 5}])
    assert post(client, source, "application/json", sent, signed(sent)).status_code == 202
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.ces, r.ces_scale_min, r.ces_scale_max, r.ces_high_is_easy, cases_of(r)) == (5, 1, 5, False, 1)


def test_an_unnamed_0_to_10_scale_is_the_nps_question_and_a_promoter_opens_no_case(client, source):
    sent = body([{"id": "1", "title": "Your score", "type": "SCALE", "value": "9", "min": 0, "max": 10},
                 {"id": "2", "title": "Email", "type": "TEXT", "value": "eve@example.com"}])
    assert post(client, source, "application/json", sent, signed(sent)).status_code == 202
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.email, cases_of(r)) == (9, "eve@example.com", 0)


def test_an_edited_response_is_a_new_delivery_of_the_same_response(client, source):
    first = body([{"id": "1", "title": "Recommend?", "type": "SCALE", "value": "3", "min": 0, "max": 10}])
    again = body([{"id": "1", "title": "Recommend?", "type": "SCALE", "value": "3", "min": 0, "max": 10},
                  {"id": "2", "title": "Why?", "type": "PARAGRAPH_TEXT", "value": "Late"}],
                 submitted_at="2025-03-01T10:05:00.000Z")
    for sent in (first, again):
        assert post(client, source, "application/json", sent, signed(sent)).status_code == 202
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.comment, cases_of(r)) == ("Late", 1)


@pytest.mark.parametrize("tamper", ["body", "secret", "old", "missing"])
def test_a_delivery_the_script_did_not_sign_is_refused_with_401(client, source, tamper):
    sent = body(ITEMS)
    headers = signed(sent)
    if tamper == "body":
        sent = sent.replace(b'"value": "1"', b'"value": "9"')
    elif tamper == "secret":
        headers = signed(sent, "other")
    elif tamper == "old":
        headers = signed(sent, timestamp=int(time.time()) - 600)
    else:
        headers = {}
    assert post(client, source, "application/json", sent, headers).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_the_sample_delivery_is_signed_and_opens_a_case(client, source):
    content_type, sent, headers = google_forms.sample_delivery(source)
    assert post(client, source, content_type, sent, headers).status_code == 202
    process(source)
    assert cases_of(SurveyResponse.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("google_forms", secret=SECRET)
    out = run_curl_example("google_forms", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.nps, r.customer.external_id, cases_of(r)) == (3, "C-1001", 1)
