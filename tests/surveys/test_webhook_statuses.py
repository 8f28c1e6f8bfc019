"""Every answer a sender can get, and that a rejected attempt stores nothing."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings

from surveys import stats
from surveys.models import SurveyResponse, WebhookDelivery
from tests.surveys.payloads import closeloop_body, make_source, post, signed, standard_headers

pytestmark = pytest.mark.django_db


def test_it_answers_202_with_the_delivery_id_and_records_the_response(client, django_capture_on_commit_callbacks):
    source = make_source("standard")
    body = closeloop_body()
    headers = standard_headers(source.secret, body, msg_id="msg_abc")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, source, body, headers)
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert response.json() == {"status": "accepted", "id": delivery.pk, "delivery_id": "msg_abc"}
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert bytes(delivery.body) == body
    assert delivery.headers["webhook-id"] == "msg_abc"
    recorded = SurveyResponse.objects.get()
    assert (recorded.nps, recorded.comment, recorded.customer.email) == (3, "Slow delivery", "ann@example.com")


def test_a_repeated_delivery_id_answers_200_with_the_original(client):
    source = make_source("standard")
    body = closeloop_body()
    first = post(client, source, body, standard_headers(source.secret, body, msg_id="msg_same"))
    again = post(client, source, body, standard_headers(source.secret, body, msg_id="msg_same"))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.count() == 1


def test_without_trailing_slash_it_answers_the_same_and_never_redirects(client):
    source = make_source("standard")
    body = closeloop_body()
    response = post(client, source, body, signed("standard", source, body), path=f"/webhooks/{source.slug}")
    assert response.status_code == 202


def test_unknown_and_inactive_sources_404(client):
    source = make_source("standard")
    body = closeloop_body()
    assert post(client, source, body, signed("standard", source, body), path="/webhooks/nope/").status_code == 404
    source.active = False
    source.save()
    assert post(client, source, body, signed("standard", source, body)).status_code == 404
    assert not WebhookDelivery.objects.exists()
    assert stats.rejection_counts()[(stats.UNKNOWN_SOURCE, "not_found")] == 2


def test_bad_signature_401_is_counted(client):
    source = make_source("standard")
    body = closeloop_body()
    assert post(client, source, body, {"HTTP_WEBHOOK_ID": "x"}).status_code == 401
    assert stats.rejection_counts()[(source.slug, "signature")] == 1
    assert not WebhookDelivery.objects.exists()


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_body_over_the_limit_413(client):
    source = make_source("standard")
    body = closeloop_body(comment="x" * 2000)
    assert post(client, source, body, signed("standard", source, body)).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_body_over_one_megabyte_413(client):
    source = make_source("standard")
    body = closeloop_body(comment="x" * (1024 * 1024 + 10))
    assert post(client, source, body, signed("standard", source, body)).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_unsupported_content_type_415(client):
    source = make_source("standard")
    body = closeloop_body()
    assert post(client, source, body, signed("standard", source, body), "text/xml").status_code == 415
    assert not WebhookDelivery.objects.exists()


def test_signed_but_malformed_json_400_with_the_reason(client):
    source = make_source("standard")
    body = b'{"type": "response.completed", "data": {'
    response = post(client, source, body, signed("standard", source, body))
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["error"] and "line 1" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_database_unreachable_503(client):
    source = make_source("standard")
    body = closeloop_body()
    with mock.patch("surveys.ingest.store._fetch_one", side_effect=OperationalError("connection refused")):
        response = post(client, source, body, signed("standard", source, body))
    assert response.status_code == 503
    assert response["Retry-After"]
    assert not WebhookDelivery.objects.exists()


def test_get_is_405_not_a_redirect(client):
    source = make_source("standard")
    assert client.get(f"/webhooks/{source.slug}/").status_code == 405
    assert client.get(f"/webhooks/{source.slug}").status_code == 405


def test_head_answers_200_for_an_active_source_as_surveymonkey_expects(client):
    source = make_source("surveymonkey", auth={"api_key": "k"})
    assert client.head(f"/webhooks/{source.slug}").status_code == 200
    assert client.head("/webhooks/nope/").status_code == 404


def test_rate_limit_answers_429_with_retry_after(client, monkeypatch):
    """Three per one-second window: the clock is held inside one window, then moved to the next,
    so the count does not depend on how fast the machine sends."""
    import types

    from surveys.ingest import django_view

    clock = types.SimpleNamespace(now=1_900_000_000.25)
    monkeypatch.setattr(django_view, "time", types.SimpleNamespace(time=lambda: clock.now))
    source = make_source("generic", rate_limit_per_second=3, auth={"mode": "token"})
    statuses = []
    for i in range(6):
        body = json.dumps({"id": f"r{i}", "nps": 5}).encode()
        statuses.append(post(client, source, body, {"HTTP_X_WEBHOOK_TOKEN": source.secret}).status_code)
    assert statuses == [202, 202, 202, 429, 429, 429]
    limited = post(client, source, b'{"id": "x", "nps": 1}', {"HTTP_X_WEBHOOK_TOKEN": source.secret})
    assert (limited.status_code, limited["Retry-After"]) == (429, "1")
    clock.now += 1
    assert post(client, source, b'{"id": "y", "nps": 1}', {"HTTP_X_WEBHOOK_TOKEN": source.secret}).status_code == 202
    assert WebhookDelivery.objects.count() == 4  # the three in the first window and the one in the next


def test_generic_multipart_body_is_verified_and_parsed(client, django_capture_on_commit_callbacks):
    from django.test.client import BOUNDARY, encode_multipart

    source = make_source("generic", auth={"mode": "hmac", "header": "X-Signature"},
                         mapping={"nps": "answers.nps", "response_id": "submission", "comment": "answers.why"})
    body = encode_multipart(BOUNDARY, {"submission": "sub-1", "answers": json.dumps({"nps": 1, "why": "Cold food"})})
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, source, body, signed("generic", source, body), f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 202
    r = SurveyResponse.objects.get()
    assert (r.external_id, r.nps, r.comment) == ("sub-1", 1, "Cold food")


@pytest.mark.django_db(transaction=True)
def test_rate_limit_holds_under_concurrent_senders():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    source = make_source("generic", rate_limit_per_second=5, auth={"mode": "token"})
    barrier = threading.Barrier(8)

    def send(i):
        barrier.wait(timeout=10)
        try:
            c = Client()
            return [c.post(f"/webhooks/{source.slug}/", data=json.dumps({"id": f"{i}-{j}", "nps": 5}),
                           content_type="application/json", HTTP_X_WEBHOOK_TOKEN=source.secret).status_code
                    for j in range(3)]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(send, range(8), timeout=60) for s in batch]
    accepted = statuses.count(202)
    assert statuses.count(429) == 24 - accepted
    assert 5 <= accepted <= 15  # 5 per one-second window; the burst may straddle a couple of windows
    assert WebhookDelivery.objects.count() == accepted
