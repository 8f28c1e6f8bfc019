"""Help Scout satisfaction ratings: the `satisfaction.ratings` webhook event ("Rating Received"),
whose body is Help Scout's Rating object built as documented
(https://developer.helpscout.com/webhooks/objects/rating: rating Great / Okay / Bad, comments,
customer with emails, ticketId, mailbox), signed as Help Scout signs webhooks:
X-HelpScout-Signature = base64(HMAC-SHA1(secret key, raw body)), with X-HelpScout-Event naming the
event (https://developer.helpscout.com/webhooks/, "Verifying"). Every delivery goes through the
webhook door with the worker run at commit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from alerts.services import rule_create
from surveys.adapters import SignatureError, helpscout
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import secret_generate
from tests.factories import ThemeFactory
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.helpers import judge_by_default_scales, process, run_curl_example
from tests.surveys.presets.vendor_stub import post_through_door

pytestmark = pytest.mark.django_db

JSON = "application/json"
SECRET = "mZ9XbGHodXq3Lr7Tt2Vw8Yy1Aa4Cc6Ee0Gg5Ii9K"  # a Help Scout secret key: 40 characters at most


def rating(word="Bad", comments="Three replies and my invoice is still wrong.", **changes) -> dict:
    """The example on docs/connect/helpscout.md, with another rating or comment if asked."""
    payload = json.loads(doc_examples("helpscout.md")["rating"])
    payload.update(rating=word, comments=comments, **changes)
    return payload


def signed(body: bytes, secret: str = SECRET, event: str = "satisfaction.ratings") -> dict:
    return {"x-helpscout-signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode(),
            "x-helpscout-event": event}


def deliver(client, source, payload, secret: str = SECRET, event: str = "satisfaction.ratings"):
    body = json.dumps(payload).encode()
    return post_through_door(client, source, body, signed(body, secret, event), JSON)


@pytest.fixture
def source():
    judge_by_default_scales()  # CSAT 1-2 of 5 opens a case
    return make_source("helpscout", secret=SECRET)


def test_the_signature_is_base64_hmac_sha1_of_the_body_keyed_with_the_secret_key():
    body = b'{"id": 5434}'
    expected = base64.b64encode(hmac.new(b"my-secret-key", body, hashlib.sha1).digest()).decode()
    assert helpscout.sign("my-secret-key", body) == expected
    mine = SimpleNamespace(secrets=["my-secret-key"])
    helpscout.verify(mine, body, {"x-helpscout-signature": expected}, timezone.now())
    for headers in ({}, {"x-helpscout-signature": hmac.new(b"my-secret-key", body, hashlib.sha1).hexdigest()},
                    {"x-helpscout-signature": "not base64!"}):
        with pytest.raises(SignatureError):
            helpscout.verify(mine, body, headers, timezone.now())
    with pytest.raises(SignatureError):
        helpscout.verify(SimpleNamespace(secrets=["another"]), body, {"x-helpscout-signature": expected},
                         timezone.now())


def test_a_generated_secret_fits_help_scouts_40_characters():
    assert len(secret_generate("helpscout")) == 40
    assert len(make_source("helpscout", slug="generated", secret="").secret) == 40


def test_the_documented_bad_rating_is_csat_1_of_5_marked_support_and_opens_a_case(client, source):
    answer = deliver(client, source, rating())
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat, r.csat_scale_min, r.csat_scale_max, r.nps) == ("5434:bad", 1, 1, 5, None)
    assert r.feedback_kind == "support"
    assert r.comment == "Three replies and my invoice is still wrong."
    assert (r.customer.email, r.customer.name, r.customer.external_id) == ("john.doe@example.com", "John Doe", None)
    assert r.touchpoint == "Billing"
    assert r.answered_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert r.attributes == {"helpscout_rating_id": 5434, "helpscout_conversation_id": 1560011,
                            "helpscout_thread_id": 3002084, "helpscout_customer_id": 449379, "rating": "Bad"}
    assert cases_for(r) == 1


@pytest.mark.parametrize(("word", "csat", "cases"), [("Great", 5, 0), ("Okay", 3, 0), ("Bad", 1, 1),
                                                     ("Not Good", 1, 1)])
def test_each_face_is_its_place_on_a_five_point_csat(client, source, word, csat, cases):
    deliver(client, source, rating(word, "A comment."))
    r = SurveyResponse.objects.get()
    assert (r.csat, cases_for(r)) == (csat, cases)


def test_a_negative_comment_about_a_theme_opens_a_case_through_a_rule_on_sentiment_and_themes(client, source):
    invoices = ThemeFactory(name="invoices", keywords=["invoice"])
    rule_create(data={"name": "Unhappy about invoices", "metric": "csat", "operator": "lte", "threshold": Decimal("5"),
                      "scale_min": 1, "scale_max": 5, "sentiment": "negative"}, themes=[invoices])
    deliver(client, source, rating("Okay", "The invoice is wrong again and it is awful."))
    r = SurveyResponse.objects.get()
    assert r.csat == 3 and r.sentiment < 0
    assert [t.name for t in r.themes.all()] == ["invoices"]
    assert cases_for(r) == 1


def test_a_retried_delivery_is_one_delivery_and_a_changed_rating_is_recorded_again(client, source):
    assert deliver(client, source, rating()).status_code == 202
    again = deliver(client, source, rating())
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    deliver(client, source, rating("Great", "Sorted the next day.", modifiedAt="2025-03-02T09:00:00Z"))
    assert WebhookDelivery.objects.count() == 2
    assert sorted(SurveyResponse.objects.values_list("external_id", "csat")) == [("5434:bad", 1), ("5434:great", 5)]


def test_the_test_event_is_acknowledged_without_a_response(client, source):
    assert deliver(client, source, {"id": 123}, event="helpscout.test").status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed" and "satisfaction.ratings" in delivery.note
    assert not SurveyResponse.objects.exists()


def test_a_rating_that_is_no_face_fails_naming_the_three(client, source):
    deliver(client, source, rating("Superb"))
    delivery = only_delivery()
    assert delivery.status == "failed" and "is not Great, Okay or Bad" in delivery.error
    assert not SurveyResponse.objects.exists()


def test_a_bad_signature_is_refused_with_401_and_a_signed_body_that_is_not_json_with_400(client, source):
    body = json.dumps(rating()).encode()
    tampered = body.replace(b'"Bad"', b'"Great"')
    assert post_through_door(client, source, tampered, signed(body), JSON).status_code == 401
    assert post_through_door(client, source, body, signed(body, "another-secret-key"), JSON).status_code == 401
    assert post_through_door(client, source, body, {"x-helpscout-event": "satisfaction.ratings"}, JSON).status_code == 401
    broken = b'{"id": 5434, "rating": '
    refused = post_through_door(client, source, broken, signed(broken), JSON)
    assert refused.status_code == 400 and "JSON" in refused.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_the_sample_delivery_opens_a_case(client, source):
    content_type, body, headers = helpscout.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.csat, r.customer.email, r.feedback_kind) == (1, "test.customer@example.com", "support")
    assert cases_for(r) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("helpscout", secret=SECRET)
    out = run_curl_example("helpscout", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.csat, r.customer.email, cases_for(r)) == (1, "john.doe@example.com", 1)
