"""Hostile input through both doors (issue #17 item 7): deep nesting, huge numbers, NUL and lone
surrogates in any string, a charset parameter, a Content-Type that does not match the body.

Each shape is sent, correctly signed, through the web process (config.wsgi: the Django view) and
the ingest server (config.asgi), `door` in tests/surveys/conftest.py. Each test asserts the answer
AND what was stored: a refusal is a 4xx with a message a person can act on, no delivery row and a
refused-delivery row; an acceptance (2xx) ends, once processed (tasks run eagerly here), as a
response with unstorable characters replaced, or as a failed delivery whose error says what to do.
Never a 5xx, never a 2xx followed by nothing."""

from __future__ import annotations

import json

import pytest

from surveys.adapters import generic
from surveys.ingest.refusals import sampler
from surveys.models import Customer, RefusedDelivery, SurveyResponse, WebhookDelivery
from tests.surveys.payloads import closeloop_body, make_source, standard_headers

pytestmark = pytest.mark.django_db(transaction=True)

FFFD = "\ufffd"


@pytest.fixture(autouse=True)
def _fresh_sampling():
    sampler.forget()  # every refusal of a test is kept (the sampling window is per process)
    yield


@pytest.fixture
def source():
    return make_source("standard")


def send(door, source, body: bytes, content_type: str = "application/json", msg_id: str = "msg_1"):
    status, _headers, content = door("POST", f"/webhooks/{source.slug}/", body,
                                     standard_headers(source.secret, body, msg_id=msg_id), "", content_type)
    return status, json.loads(content) if content else None


def with_data(**data) -> bytes:
    """Closeloop's format with these fields of `data` replaced or added."""
    document = json.loads(closeloop_body())
    document["data"].update(data)
    return json.dumps(document).encode()


def assert_refused(status_and_body, status: int, words: str, reason: str):
    """A clear 4xx, nothing stored, the refusal kept for the console."""
    got_status, answer = status_and_body
    assert (got_status, words in answer["error"]) == (status, True), answer
    assert not WebhookDelivery.objects.exists()
    refusal = RefusedDelivery.objects.get()
    assert (refusal.status, refusal.reason, refusal.message) == (status, reason, answer["error"])


def the_response() -> SurveyResponse:
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error) == ("processed", "")
    return SurveyResponse.objects.select_related("customer", "survey").get(pk=delivery.response_id)


# --- Deep nesting ------------------------------------------------------------------------------


def test_json_nested_ten_thousand_deep_is_a_400_not_a_503(door, source):
    deep = b'{"type": "response.completed", "data": {"attributes": {"x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}}}"
    assert_refused(send(door, source, deep), 400, "nested too deeply (more than 64 levels)", "malformed")


def test_json_nested_seventy_deep_is_refused_too(door, source):
    deep = json.loads(closeloop_body())
    deep["data"]["attributes"] = {"x": json.loads("[" * 70 + "]" * 70)}
    assert_refused(send(door, source, json.dumps(deep).encode()), 400, "nested too deeply", "malformed")


def test_nesting_within_the_limit_is_a_response(door, source):
    nested = json.loads("[" * 50 + '"deep"' + "]" * 50)
    assert send(door, source, with_data(attributes={"x": nested}))[0] == 202
    assert json.dumps(the_response().attributes["x"]).count("[") == 50


# --- Huge numbers ------------------------------------------------------------------------------


def test_a_number_beyond_a_float_is_a_400(door, source):
    body = closeloop_body().replace(b'"nps": 3', b'"nps": 1e400')
    assert_refused(send(door, source, body), 400, "Number 1e400 is too large to store", "malformed")


def test_a_huge_number_anywhere_is_a_400(door, source):
    body = closeloop_body().replace(b'"touchpoint": "delivery"', b'"touchpoint": -1e400')
    assert_refused(send(door, source, body), 400, "Number -1e400 is too large to store", "malformed")


def test_an_integer_of_five_thousand_digits_is_a_400(door, source):
    body = closeloop_body().replace(b'"nps": 3', b'"nps": 1' + b"0" * 5000)
    assert_refused(send(door, source, body), 400, "integer with more than 4300 digits", "malformed")


def test_nan_is_a_400(door, source):
    body = closeloop_body().replace(b'"nps": 3', b'"nps": NaN')
    assert_refused(send(door, source, body), 400, "JSON has NaN", "malformed")


def test_a_huge_score_is_accepted_and_fails_with_its_reason(door, source):
    assert send(door, source, closeloop_body(nps=10**30))[0] == 202
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.error == "NPS 1000000000000000000000000000000 is outside its 0–10 scale: check the mapped question and its scale."
    assert not SurveyResponse.objects.exists()


def test_an_account_value_its_column_cannot_hold_is_left_out_and_the_response_kept(door, source):
    body = closeloop_body().replace(b'"tier": "Tier I"', b'"tier": "Tier I", "account_value": 1e300')
    assert send(door, source, body)[0] == 202
    response = the_response()
    assert (response.nps, response.customer.account_value, response.customer.tier) == (3, None, "Tier I")


# --- NUL and lone surrogates -------------------------------------------------------------------

EVERY_STRING = {
    "response_id": "r-\x00-\ud800", "survey": {"id": "s\x00", "name": "Survey \udfff"},
    "comment": "Slow\x00delivery \ud83d", "touchpoint": "de\x00livery", "location": "Le\ud800eds",
    "customer": {"external_id": "C-\x00", "email": "ann@example.com", "name": "Ann\x00 \udc00Lee", "tier": "T\x00"},
    "attributes": {"key\x00": "value\x00", "\ud800": ["a\x00", {"b\udfff": "c"}]},
    "scores": {"nps": 3, "speed\x00": {"value": 2, "min": 1, "max": 5}},
}


def test_nul_and_lone_surrogates_in_every_string_become_a_response_with_replacements(door, source):
    status, answer = send(door, source, with_data(**EVERY_STRING))
    assert (status, answer["status"]) == (202, "accepted")
    response = the_response()
    assert (response.external_id, response.survey.external_id, response.survey.name) == (
        f"r-{FFFD}-{FFFD}", f"s{FFFD}", f"Survey {FFFD}")
    assert (response.comment, response.touchpoint, response.location) == (
        f"Slow{FFFD}delivery {FFFD}", f"de{FFFD}livery", f"Le{FFFD}eds")
    assert (response.customer.external_id, response.customer.name, response.customer.tier) == (
        f"C-{FFFD}", f"Ann{FFFD} {FFFD}Lee", f"T{FFFD}")
    assert response.attributes == {f"key{FFFD}": f"value{FFFD}", FFFD: [f"a{FFFD}", {f"b{FFFD}": "c"}]}
    assert set(response.scores) == {"nps", f"speed{FFFD}"} and response.nps == 3


def test_a_nul_comment_is_not_retried_as_if_the_database_were_down(door, source):
    """The evaluator's case: a NUL in the comment was answered 202, retried and given up."""
    assert send(door, source, closeloop_body(comment="bad\x00thing"))[0] == 202
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.not_before) == ("processed", 1, None)
    assert SurveyResponse.objects.get().comment == f"bad{FFFD}thing"


def test_a_raw_nul_byte_inside_a_json_string_is_a_400(door, source):
    body = closeloop_body().replace(b"Slow delivery", b"Slow\x00delivery")
    assert_refused(send(door, source, body), 400, "Malformed JSON: Invalid control character", "malformed")


def test_bytes_that_are_not_utf8_are_a_400(door, source):
    body = closeloop_body().replace(b"Slow delivery", b"Slow \xed\xa0\x80 delivery")  # an encoded surrogate
    assert_refused(send(door, source, body), 400, "Body is not valid UTF-8", "malformed")


# --- Charset parameter -------------------------------------------------------------------------


def test_a_utf8_charset_parameter_is_accepted(door, source):
    body = closeloop_body(comment="Très lent 😡")
    assert send(door, source, body, "application/json; charset=utf-8")[0] == 202
    assert the_response().comment == "Très lent 😡"


def test_a_latin1_body_that_says_so_is_read_as_latin1(door, source):
    body = json.dumps(json.loads(closeloop_body(comment="Très lent")), ensure_ascii=False).encode("latin-1")
    assert b"Tr\xe8s" in body
    assert send(door, source, body, 'application/json; charset="ISO-8859-1"')[0] == 202
    response = the_response()
    assert response.comment == "Très lent"
    assert WebhookDelivery.objects.get().content_type == 'application/json; charset="ISO-8859-1"'


def test_a_latin1_body_without_its_charset_is_a_400_that_says_what_to_do(door, source):
    body = json.dumps(json.loads(closeloop_body(comment="Très lent")), ensure_ascii=False).encode("latin-1")
    assert_refused(send(door, source, body), 400, "declare the body's encoding in the Content-Type", "malformed")


def test_an_unknown_charset_is_a_400(door, source):
    assert_refused(send(door, source, closeloop_body(), "application/json; charset=klingon"), 400,
                   "Unknown charset 'klingon'", "malformed")


# --- Content-Type that does not match the body -------------------------------------------------


def test_a_content_type_the_tool_never_sends_is_a_415_that_names_what_to_send(door, source):
    assert_refused(send(door, source, closeloop_body(), "text/plain"), 415,
                   "Unsupported content type 'text/plain': send JSON, with a Content-Type header that says so.",
                   "content_type")


def test_form_fields_labelled_json_are_a_400_that_says_so(door, source):
    assert_refused(send(door, source, b"nps=3&comment=slow"), 400,
                   "the Content-Type says JSON but the body looks form-encoded", "malformed")


def test_a_json_scalar_is_a_400(door, source):
    assert_refused(send(door, source, b'"hello"'), 400, "The body is a JSON string", "malformed")


def test_json_labelled_as_a_form_becomes_a_response_where_the_tool_may_send_forms(door):
    """Google Apps Script's UrlFetchApp labels a string payload x-www-form-urlencoded unless told."""
    src = make_source("generic", auth={"header": "X-Signature"},
                      mapping={"nps": "score", "response_id": "id", "comment": "why"})
    body = json.dumps({"id": "g-1", "score": 2, "why": "Too slow"}).encode()
    status, _h, _c = door("POST", f"/webhooks/{src.slug}/", body,
                          {"HTTP_X_SIGNATURE": generic.sign(src.auth, src.secret, body)}, "",
                          "application/x-www-form-urlencoded")
    assert status == 202
    response = the_response()
    assert (response.external_id, response.nps, response.comment) == ("g-1", 2, "Too slow")


# --- Long text ---------------------------------------------------------------------------------


def test_text_longer_than_its_column_is_cut_and_an_overlong_email_dropped(door, source):
    long_email = "a" * 250 + "@example.com"
    body = closeloop_body(email=long_email).replace(
        b'"touchpoint": "delivery"', b'"touchpoint": "' + b"t" * 500 + b'"')
    assert send(door, source, body)[0] == 202
    response = the_response()
    assert (len(response.touchpoint), response.customer.email) == (120, "")
    assert Customer.objects.get().external_id == "C-1"


# --- The documentation says what the doors say -------------------------------------------------

DOCUMENTED = [
    "JSON nested too deeply (more than 64 levels).",
    "Number 1e400 is too large to store (outside a 64-bit float's range).",
    "JSON has an integer with more than 4300 digits: send it as a string, or leave it out.",
    "JSON has NaN, which is not a number JSON allows: send null or a finite number.",
    "send UTF-8, or declare the body's encoding in the Content-Type (e.g. application/json; charset=latin-1).",
    "Unknown charset 'klingon' in the Content-Type: send UTF-8 (charset=utf-8).",
    "Malformed JSON (the Content-Type says JSON but the body looks form-encoded)",
    "The body is a JSON string: a survey delivery is a JSON object (or form fields).",
    "Unsupported content type 'text/plain': send JSON, with a Content-Type header that says so.",
    "NPS 1000000000000000000000000000000 is outside its 0–10 scale: check the mapped question and its scale.",
]


@pytest.mark.django_db(transaction=False)
def test_docs_webhooks_quotes_the_answers_these_tests_assert():
    from pathlib import Path

    from surveys.models import RefusedDelivery

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    assert [m for m in DOCUMENTED if m not in text] == []
    assert [label for label in RefusedDelivery.Reason.labels if f"| {label} |" not in text] == []
