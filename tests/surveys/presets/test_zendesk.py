"""Zendesk CSAT: a trigger's webhook (satisfaction rating changed), signed as Zendesk signs
webhooks: X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + body)) with
X-Zendesk-Webhook-Signature-Timestamp (https://developer.zendesk.com/documentation/webhooks/verifying/);
the body is the placeholders the Connect page gives (satisfaction.current_rating renders as
"Good, I'm satisfied" / "Bad, I'm unsatisfied", https://support.zendesk.com/hc/en-us/articles/203662256).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from surveys.adapters import SignatureError, zendesk
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import make_source
from tests.surveys.presets.fetching import cases_for, doc_examples, only_delivery
from tests.surveys.presets.vendor_stub import case_rules, post_through_door

pytestmark = pytest.mark.django_db

JSON = "application/json"


def rating_body(rating="Bad, I'm unsatisfied", ticket="4123", comment="Nobody read my ticket.") -> bytes:
    return json.dumps({
        "ticket_id": ticket, "rating": rating, "comment": comment, "reason": "The issue was not resolved",
        "ticket_subject": "Refund not received", "updated_at": "2025-03-01T10:00:00Z",
        "requester": {"id": "90210", "external_id": "C-31", "email": "lee@example.com", "name": "Lee Park",
                      "phone": "+44 20 7946 0000"},
        "organization": "Acme Ltd", "group": "Billing", "brand": "Acme", "via": "Mail",
    }).encode()


def signed(secret: str, body: bytes, when: datetime | None = None, invocation="8350205582") -> dict:
    timestamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"x-zendesk-webhook-signature-timestamp": timestamp,
            "x-zendesk-webhook-signature": zendesk.sign(secret, timestamp, body),
            "x-zendesk-webhook-id": "01GBC2P5FGVM8TZ6TZEH7DN7V8", "x-zendesk-webhook-invocation-id": invocation}


@pytest.fixture
def source():
    case_rules()
    return make_source("zendesk", secret="dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==")


def test_the_signature_is_base64_hmac_sha256_of_timestamp_and_body():
    secret, timestamp, body = "s3cret", "2025-03-01T10:00:00Z", b'{"ticket_id": "1"}'
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"s3cret", b"2025-03-01T10:00:00Z" + body, hashlib.sha256).digest()).decode()
    assert zendesk.sign(secret, timestamp, body) == expected
    now = datetime(2025, 3, 1, 10, 2, tzinfo=UTC)
    headers = {"x-zendesk-webhook-signature-timestamp": timestamp, "x-zendesk-webhook-signature": expected}
    zendesk.verify(SimpleNamespace(secrets=["s3cret"]), body, headers, now)
    with pytest.raises(SignatureError):
        zendesk.verify(SimpleNamespace(secrets=["s3cret"]), body, headers, now + timedelta(minutes=10))


def test_a_bad_rating_is_a_binary_csat_0_and_opens_a_case(client, source):
    body = rating_body()
    assert post_through_door(client, source, body, signed(source.secret, body), JSON).status_code == 202
    delivery = only_delivery()
    assert delivery.status == "processed", delivery.error
    assert delivery.delivery_id == "8350205582"
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat, r.csat_scale_min, r.csat_scale_max, r.nps) == ("4123:bad", 0, 0, 1, None)
    assert r.comment == "Nobody read my ticket."
    assert (r.customer.external_id, r.customer.email, r.customer.name) == ("C-31", "lee@example.com", "Lee Park")
    assert (r.touchpoint, r.channel) == ("Billing", "Mail")
    assert r.answered_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert cases_for(r) == 1


def test_a_good_rating_is_a_binary_csat_1_and_opens_no_case(client, source):
    body = rating_body("Good, I'm satisfied", comment="Quick and kind.")
    post_through_door(client, source, body, signed(source.secret, body), JSON)
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat) == ("4123:good", 1) and cases_for(r) == 0


@pytest.mark.parametrize("rating", ["Offered", "Unoffered"])
def test_an_offered_survey_is_acknowledged_without_a_response(client, source, rating):
    body = rating_body(rating, comment="")
    post_through_door(client, source, body, signed(source.secret, body), JSON)
    delivery = only_delivery()
    assert delivery.status == "processed" and "offered, not answered" in delivery.note
    assert not SurveyResponse.objects.exists()


def test_an_unknown_rating_fails_saying_which_placeholder_to_use(client, source):
    body = rating_body("{{satisfaction.score}}")
    post_through_door(client, source, body, signed(source.secret, body), JSON)
    delivery = only_delivery()
    assert delivery.status == "failed" and "{{satisfaction.current_rating}}" in delivery.error


def test_tampering_a_stale_timestamp_or_the_wrong_secret_is_refused(client, source):
    body = rating_body()
    headers = signed(source.secret, body)
    assert post_through_door(client, source, body.replace(b"4123", b"4124"), headers, JSON).status_code == 401
    old = signed(source.secret, body, when=datetime.now(UTC) - timedelta(minutes=6))
    assert post_through_door(client, source, body, old, JSON).status_code == 401
    assert post_through_door(client, source, body, signed("another-secret", body), JSON).status_code == 401
    assert post_through_door(client, source, body, {}, JSON).status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_a_retried_invocation_is_one_delivery(client, source):
    body = rating_body()
    assert post_through_door(client, source, body, signed(source.secret, body), JSON).status_code == 202
    assert post_through_door(client, source, body, signed(source.secret, body), JSON).status_code == 200
    assert WebhookDelivery.objects.count() == 1 and SurveyResponse.objects.count() == 1


def test_the_sample_delivery_opens_a_case(client, source):
    content_type, body, headers = zendesk.sample_delivery(source)
    assert post_through_door(client, source, body, headers, content_type).status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.csat, r.customer.external_id) == (0, "TEST-1") and cases_for(r) == 1


def test_the_connect_page_body_renders_to_a_recorded_rating(client, source):
    template = doc_examples("zendesk.md")["webhook-body"]
    rendered = {
        "{{ticket.id}}": "777", "{{satisfaction.current_rating}}": "Bad, I'm unsatisfied",
        "{{satisfaction.current_comment}}": "Still broken", "{{satisfaction.reason}}": "Other",
        "{{ticket.title}}": "Router", "{{ticket.updated_at_with_timestamp}}": "2025-03-01T10:00:00Z",
        "{{ticket.requester.id}}": "5", "{{ticket.requester.external_id}}": "C-77",
        "{{ticket.requester.email}}": "kim@example.com", "{{ticket.requester.name}}": "Kim",
        "{{ticket.requester.phone}}": "", "{{ticket.organization.name}}": "", "{{ticket.group.name}}": "Support",
        "{{ticket.brand.name}}": "Acme", "{{ticket.via}}": "Web form",
    }
    for placeholder, value in rendered.items():
        template = template.replace(placeholder, value)
    assert "{{" not in template
    body = template.encode()
    post_through_door(client, source, body, signed(source.secret, body), JSON)
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.csat, r.comment, r.customer.external_id) == ("777:bad", 0, "Still broken", "C-77")
