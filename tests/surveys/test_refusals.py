"""Refused deliveries are visible (issue #17 item 6): every refusal (401, 403, 404, 413, 415, 429,
400) is counted per source and reason (Redis, /metrics) and a sample is kept (RefusedDelivery)
with the reason, time, size and sender address, listed in the delivery console; an unsigned body
is kept only as a short excerpt; a flood of refusals writes a handful of rows, not one each."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from surveys import stats
from surveys.ingest import refusals
from surveys.ingest.refusals import EXCERPT_CHARS, MAX_ROWS_PER_SECOND, refusals_prune, sampler
from surveys.models import RefusedDelivery, WebhookDelivery
from surveys.tasks import redrive_pending_deliveries_task
from tests.factories import PASSWORD
from tests.surveys.payloads import closeloop_body, make_source, standard_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_sampling():
    sampler.forget()
    yield


@pytest.fixture
def source():
    return make_source("standard")


def _post(door, slug, body, headers=None, content_type="application/json"):
    return door("POST", f"/webhooks/{slug}/", body, headers or {}, "", content_type)[0]


def _refusal() -> RefusedDelivery:
    return RefusedDelivery.objects.get()


def test_a_bad_signature_is_a_401_counted_and_kept_with_reason_size_sender_and_a_short_excerpt(door, source):
    body = closeloop_body(comment="x" * 800)
    assert _post(door, source.slug, body, {"HTTP_WEBHOOK_ID": "msg_1", "HTTP_USER_AGENT": "Svix-Webhooks/1.0"}) == 401
    refusal = _refusal()
    assert (refusal.source, refusal.slug, refusal.status, refusal.reason) == (source, source.slug, 401, "signature")
    assert (refusal.message, refusal.size, refusal.sender) == ("Missing or invalid signature.", len(body), "127.0.0.1")
    assert refusal.detail == "missing webhook-id, webhook-timestamp or webhook-signature header"
    assert (refusal.user_agent, refusal.content_type) == ("Svix-Webhooks/1.0", "application/json")
    assert refusal.excerpt == body[:EXCERPT_CHARS].decode() and len(refusal.excerpt) == 200
    assert stats.rejection_counts() == {(source.slug, "signature"): 1}
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_address_is_a_404_kept_under_the_address_it_was_sent_to(door, source):
    assert _post(door, "no-such-source", closeloop_body()) == 404
    refusal = _refusal()
    assert (refusal.source, refusal.slug, refusal.status, refusal.reason) == (None, "no-such-source", 404, "not_found")
    assert stats.rejection_counts() == {(stats.UNKNOWN_SOURCE, "not_found"): 1}


def test_an_inactive_source_is_a_404_kept_with_its_source(door, source):
    source.active = False
    source.save()
    assert _post(door, source.slug, closeloop_body()) == 404
    assert (_refusal().source, _refusal().reason) == (source, "not_found")


@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_a_body_over_the_limit_is_a_413_kept_with_its_size(door, source):
    body = closeloop_body(comment="x" * 2000)
    assert _post(door, source.slug, body, standard_headers(source.secret, body)) == 413
    refusal = _refusal()
    assert (refusal.status, refusal.reason, refusal.size, refusal.message) == (
        413, "too_large", len(body), "Body over 1000 bytes.")


def test_a_content_type_the_tool_never_sends_is_a_415_kept_with_it(door, source):
    body = closeloop_body()
    assert _post(door, source.slug, body, standard_headers(source.secret, body), "text/xml") == 415
    assert (_refusal().status, _refusal().reason, _refusal().content_type) == (415, "content_type", "text/xml")


def test_a_signed_unreadable_body_is_a_400_kept_with_a_longer_excerpt(door, source):
    body = b'{"type": "response.completed", "data": {"comment": "' + b"y" * 3000
    assert _post(door, source.slug, body, standard_headers(source.secret, body)) == 400
    refusal = _refusal()
    assert (refusal.status, refusal.reason) == (400, "malformed")
    assert refusal.message.startswith("Malformed JSON: Unterminated string")
    assert len(refusal.excerpt) == 2000 and refusal.excerpt == body[:2000].decode()


def test_over_the_rate_limit_is_a_429_kept(door):
    limited = make_source("standard", slug="limited", rate_limit_per_second=1)
    statuses = []
    for i in range(3):
        body = closeloop_body(response_id=f"r{i}")
        statuses.append(_post(door, limited.slug, body, standard_headers(limited.secret, body)))
    assert statuses.count(202) >= 1 and 429 in statuses
    assert (_refusal().status, _refusal().reason, _refusal().source) == (429, "rate_limited", limited)
    assert stats.rejection_counts()[(limited.slug, "rate_limited")] == statuses.count(429)


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_where_https_is_required_is_a_403_kept(door, source):
    body = closeloop_body()
    assert _post(door, source.slug, body, standard_headers(source.secret, body)) == 403
    assert (_refusal().status, _refusal().reason) == (403, "insecure")


def test_a_flood_of_401s_is_counted_in_full_and_kept_as_one_row(door, source):
    for _ in range(40):
        assert _post(door, source.slug, closeloop_body(), {"HTTP_WEBHOOK_ID": "x"}) == 401
    assert stats.rejection_counts() == {(source.slug, "signature"): 40}
    assert RefusedDelivery.objects.count() == 1
    sampler.forget()  # another process: the window is shared through Redis
    assert _post(door, source.slug, closeloop_body(), {"HTTP_WEBHOOK_ID": "x"}) == 401
    assert RefusedDelivery.objects.count() == 1


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_a_flood_from_many_senders_keeps_a_few_rows_a_second(door, source):
    for i in range(30):
        headers = {"HTTP_WEBHOOK_ID": "x", "HTTP_X_FORWARDED_FOR": f"203.0.113.{i}", "HTTP_X_FORWARDED_PROTO": "https"}
        assert _post(door, source.slug, closeloop_body(), headers) == 401
    assert stats.rejection_counts() == {(source.slug, "signature"): 30}
    kept = RefusedDelivery.objects.count()
    assert 1 <= kept <= 2 * MAX_ROWS_PER_SECOND  # the budget is per second: the burst may straddle two
    assert RefusedDelivery.objects.filter(sender__startswith="203.0.113.").count() == kept


def test_refusals_are_pruned_to_the_newest_per_address_by_the_beat_task(source):
    from datetime import timedelta

    now = timezone.now()
    RefusedDelivery.objects.bulk_create([
        RefusedDelivery(source=source, slug=source.slug, reason="signature", status=401, message="m",
                        received_at=now - timedelta(seconds=i), size=1) for i in range(RefusedDelivery.KEEP_PER_SOURCE + 7)
    ] + [RefusedDelivery(slug="other", reason="not_found", status=404, message="m", received_at=now, size=1)])
    result = redrive_pending_deliveries_task()
    assert result["refusals_pruned"] == 7
    assert RefusedDelivery.objects.filter(slug=source.slug).count() == RefusedDelivery.KEEP_PER_SOURCE
    oldest_kept = now - timedelta(seconds=RefusedDelivery.KEEP_PER_SOURCE - 1)
    assert RefusedDelivery.objects.filter(slug=source.slug).earliest("received_at").received_at == oldest_kept
    assert RefusedDelivery.objects.filter(slug="other").count() == 1
    assert refusals_prune() == 0


def test_a_refusal_is_answered_even_when_it_cannot_be_kept(door, source, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(refusals, "refusal_fields", broken)
    assert _post(door, source.slug, closeloop_body(), {"HTTP_WEBHOOK_ID": "x"}) == 401
    assert not RefusedDelivery.objects.exists()
    assert stats.rejection_counts() == {(source.slug, "signature"): 1}


def test_the_console_lists_refusals_with_reason_time_size_and_sender(door, source, personas):
    _post(door, source.slug, b'{"hostile": "<script>alert(1)</script>"}', {"HTTP_WEBHOOK_ID": "x"})
    _post(door, "typo-slug", closeloop_body())
    client = Client()
    assert client.login(username=personas.adam.username, password=PASSWORD)
    index = client.get("/surveys/deliveries/").content.decode()
    assert "Deliveries to addresses with no active source" in index and "/webhooks/typo-slug/" in index
    page = client.get(f"/surveys/deliveries/{source.slug}/").content.decode()
    refusal = RefusedDelivery.objects.get(slug=source.slug)
    assert "Refused deliveries" in page and "Missing or invalid signature (401)" in page
    assert "missing webhook-id, webhook-timestamp or webhook-signature header" in page
    when = timezone.localtime(refusal.received_at).strftime("%Y-%m-%d %H:%M:%S")
    assert when in page and "<code>127.0.0.1</code>" in page and "40\xa0bytes" in page and refusal.size == 40
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert client.login(username=personas.alice.username, password=PASSWORD)
    assert client.get(f"/surveys/deliveries/{source.slug}/").status_code == 404


def test_refusals_are_on_metrics_per_source_and_reason(door, source):
    for _ in range(3):
        _post(door, source.slug, closeloop_body(), {"HTTP_WEBHOOK_ID": "x"})
    text = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert f'closeloop_webhook_deliveries_rejected_total{{reason="signature",source="{source.slug}"}} 3.0' in text
