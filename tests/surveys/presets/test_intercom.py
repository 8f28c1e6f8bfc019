"""Intercom conversation ratings: the `conversation.rating.added` topic, its notification built as
Intercom documents the envelope and the conversation's `conversation_rating`
(https://developers.intercom.com/docs/references/webhooks/webhook-models,
https://developers.intercom.com/docs/references/rest-api/api.intercom.io/models/conversation_rating),
signed as Intercom signs notifications: X-Hub-Signature = "sha1=" + hex HMAC-SHA1(the app's client
secret, raw body) (https://developers.intercom.com/docs/webhooks/setting-up-webhooks, "Signed
notifications"). Every delivery goes through the webhook door with the worker run at commit."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.services import rule_create
from surveys.adapters import SignatureError, intercom
from surveys.models import SurveyResponse, WebhookDelivery, WebhookSource
from tests.factories import ThemeFactory
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.helpers import judge_by_default_scales, process, run_curl_example
from tests.surveys.presets.vendor_stub import post_through_door

pytestmark = pytest.mark.django_db

JSON = "application/json"
SECRET = "5d2c6c8a0b3e4f7a9c1d2e3f4a5b6c7d8e9f0a1b"  # an Intercom app's client secret


def notification(rating=2, remark="Nobody told me the refund takes ten days.", *, attempts=1, topic=None) -> dict:
    """The example on docs/connect/intercom.md, with another rating, remark or attempt if asked."""
    payload = json.loads(doc_examples("intercom.md")["notification"])
    payload["delivery_attempts"] = attempts
    if topic is not None:
        payload["topic"] = topic
    rated = payload["data"]["item"]["conversation_rating"]
    rated["rating"], rated["remark"] = rating, remark
    return payload


def signed(body: bytes, secret: str = SECRET) -> dict:
    return {"x-hub-signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
            "user-agent": "intercom-parrot-service-client/1.0"}


def deliver(client, source, payload, secret: str = SECRET):
    body = json.dumps(payload).encode()
    return post_through_door(client, source, body, signed(body, secret), JSON)


@pytest.fixture
def source():
    judge_by_default_scales()  # CSAT 1-2 of 5 opens a case
    return make_source("intercom", secret=SECRET)


def test_the_signature_is_sha1_hex_hmac_of_the_body_keyed_with_the_client_secret():
    body = b'{"type": "notification_event"}'
    expected = "sha1=" + hmac.new(b"client-secret", body, hashlib.sha1).hexdigest()
    assert intercom.sign("client-secret", body) == expected
    mine = SimpleNamespace(secrets=["client-secret"])
    intercom.verify(mine, body, {"x-hub-signature": expected}, timezone.now())
    for headers in ({}, {"x-hub-signature": expected.removeprefix("sha1=")},
                    {"x-hub-signature": "sha256=" + expected.removeprefix("sha1=")},
                    {"x-hub-signature": "sha1=zz"}):
        with pytest.raises(SignatureError):
            intercom.verify(mine, body, headers, timezone.now())
    with pytest.raises(SignatureError):
        intercom.verify(SimpleNamespace(secrets=["another"]), body, {"x-hub-signature": expected}, timezone.now())


def test_the_documented_rating_of_2_is_csat_2_of_5_marked_support_and_opens_a_case(client, source):
    answer = deliver(client, source, notification())
    assert (answer.status_code, answer.json()["status"]) == (202, "accepted")
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    assert delivery.delivery_id == "notif_ccd8a4d2-c9d0-4c3c-9d4e-6c1f3a2b1e01"
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat, r.csat_scale_min, r.csat_scale_max, r.nps) == ("147:2", 2, 1, 5, None)
    assert r.feedback_kind == "support"
    assert r.comment == "Nobody told me the refund takes ten days."
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-31", "lee@example.com", "Lee Park")
    assert r.answered_at == datetime(2025, 3, 1, 10, 1, tzinfo=UTC)  # the notification's created_at
    assert r.channel == "conversation"
    assert r.attributes == {"intercom_conversation_id": "147", "intercom_contact_id": "5ba682d23d7cf92bef87bfd4",
                            "intercom_teammate_id": "991267", "intercom_app_id": "a86dr8yl"}
    assert cases_for(r) == 1


def test_a_rating_of_5_is_recorded_and_opens_no_case(client, source):
    deliver(client, source, notification(5, "Quick and kind."))
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat, cases_for(r)) == ("147:5", 5, 0)


def test_a_negative_remark_about_a_theme_opens_a_case_through_a_rule_on_sentiment_and_themes(client, source):
    refunds = ThemeFactory(name="refunds", keywords=["refund"])
    rule_create(data={"name": "Unhappy about refunds", "metric": "csat", "operator": "lte", "threshold": Decimal("5"),
                      "scale_min": 1, "scale_max": 5, "sentiment": "negative"}, themes=[refunds])
    deliver(client, source, notification(4, "The refund is late again and nobody answers. Terrible."))
    r = SurveyResponse.objects.get()
    assert r.csat == 4 and r.sentiment < 0
    assert [t.name for t in r.themes.all()] == ["refunds"]
    assert cases_for(r) == 1


def test_a_remark_without_a_rating_is_taken_from_a_support_source(client, source):
    deliver(client, source, notification(None, "Still waiting for my refund."))
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat, r.comment, r.feedback_kind) == ("147:remark", None, "Still waiting for my refund.",
                                                                   "support")


def test_a_retried_notification_is_one_delivery_and_one_response(client, source):
    assert deliver(client, source, notification(attempts=1)).status_code == 202
    again = deliver(client, source, notification(attempts=2))  # other bytes, the same notification id
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert WebhookDelivery.objects.count() == 1 and SurveyResponse.objects.count() == 1


def test_the_same_rating_in_another_notification_is_recorded_once_and_a_changed_one_again(client, source):
    deliver(client, source, notification(2))
    other = notification(2)
    other["id"] = "notif_other"
    deliver(client, source, other)
    changed = notification(4, "They called me back: sorted.")
    changed["id"] = "notif_changed"
    deliver(client, source, changed)
    assert sorted(SurveyResponse.objects.values_list("external_id", "csat")) == [("147:2", 2), ("147:4", 4)]


@pytest.mark.parametrize("topic", ["ping", "conversation.user.created"])
def test_the_ping_and_other_topics_are_acknowledged_without_a_response(client, source, topic):
    assert deliver(client, source, notification(topic=topic)).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed" and "conversation.rating.added" in delivery.note
    assert not SurveyResponse.objects.exists()


def test_a_notification_without_its_conversation_fails_saying_what_is_missing(client, source):
    payload = notification()
    del payload["data"]["item"]
    assert deliver(client, source, payload).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "failed" and "data.item.id" in delivery.error
    assert not SurveyResponse.objects.exists()


def test_a_bad_signature_is_refused_with_401_and_a_signed_body_that_is_not_json_with_400(client, source):
    body = json.dumps(notification()).encode()
    headers = signed(body)
    tampered = body.replace(b'"rating": 2', b'"rating": 5')
    assert post_through_door(client, source, tampered, headers, JSON).status_code == 401
    assert post_through_door(client, source, body, signed(body, "another-app-secret"), JSON).status_code == 401
    assert post_through_door(client, source, body, {}, JSON).status_code == 401
    broken = b'{"type": "notification_event", '
    refused = post_through_door(client, source, broken, signed(broken), JSON)
    assert refused.status_code == 400 and "JSON" in refused.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_a_mapping_adds_what_the_preset_leaves_out(client, source):
    source.mapping = {"touchpoint": "data.item.team_assignee_id"}
    source.save(update_fields=["mapping"])
    deliver(client, source, notification())
    assert SurveyResponse.objects.get().touchpoint == "5017691"


def test_a_new_source_sends_support_ratings_unless_told_otherwise():
    assert make_source("intercom", slug="a").feedback_kind == "support"
    assert make_source("intercom", slug="b", feedback_kind="chat").feedback_kind == "chat"
    out = StringIO()
    call_command("add_webhook_source", "--slug", "intercom-ratings", "--vendor", "intercom", "--secret", SECRET,
                 stdout=out)
    assert "Created Intercom conversation ratings source 'intercom-ratings'." in out.getvalue()
    assert WebhookSource.objects.get(slug="intercom-ratings").feedback_kind == "support"


def test_the_sample_delivery_opens_a_case(client, source):
    content_type, body, headers = intercom.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.csat, r.customer.external_id, r.feedback_kind) == (1, "TEST-1", "support") and cases_for(r) == 1


@pytest.mark.django_db(transaction=True)
def test_the_connect_page_curl_example_is_accepted_and_recorded(live_server):
    judge_by_default_scales()
    source = make_source("intercom", secret=SECRET)
    out = run_curl_example("intercom", f"{live_server.url}/webhooks/{source.slug}/", SECRET)
    assert out.strip().endswith("202"), out
    process(source)
    r = SurveyResponse.objects.get()
    assert (r.csat, r.customer.external_id, cases_for(r)) == (2, "C-31", 1)



def test_the_api_and_the_set_up_page_start_a_source_as_support_ratings(api_client, client, personas):
    api_client.force_authenticate(personas.adam)
    created = api_client.post("/api/v1/sources/", {"name": "Ratings", "slug": "ratings", "vendor": "intercom",
                                                   "secret": SECRET}, format="json")
    assert created.status_code == 201, created.content
    assert WebhookSource.objects.get(slug="ratings").feedback_kind == "support"
    client.force_login(personas.adam)
    page = client.get("/surveys/setup/new/intercom/").content.decode()
    assert '<option value="support" selected>' in page
    assert '<option value="survey" selected>' in client.get("/surveys/setup/new/typeform/").content.decode()
