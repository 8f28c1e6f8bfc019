"""What an operator on call relies on: request ids, JSON logs, /metrics and /readyz."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.logging import ContextFilter, RedactingFilter, request_id_var


@pytest.fixture
def json_log():
    """The production handler (JSON formatter + context and redaction filters) on a buffer."""
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_it_honours_or_generates_a_request_id(client, db):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123-def-456")
    assert given["X-Request-ID"] == "abc-123-def-456"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces\n")
    assert len(generated["X-Request-ID"]) == 32 and " " not in generated["X-Request-ID"]


def test_every_log_line_of_a_request_carries_its_id(client, db, json_log):
    from config.celery import app

    @app.task(name="tests.reliability.log_something")
    def log_something(delivery_id):
        logging.getLogger("surveys.tasks").info("delivery processed", extra={"delivery_id": delivery_id})

    def view_like(request_id):
        token = request_id_var.set(request_id)
        try:
            logging.getLogger("surveys.webhooks").info("delivery stored", extra={"delivery_id": 7})
            log_something.delay(7)  # eager in tests: runs in the request's context
        finally:
            request_id_var.reset(token)

    view_like("req-0123456789")
    lines = [line for line in json_log() if line.get("delivery_id") == 7]
    assert [line["message"] for line in lines] == ["delivery stored", "delivery processed"]
    assert {line["request_id"] for line in lines} == {"req-0123456789"}
    assert lines[1]["task_id"]
    assert {"time", "level", "logger"} <= set(lines[0])


def test_the_request_id_travels_in_the_task_message_headers():
    """What a real worker sees: before_task_publish puts the id in the headers, task_prerun
    takes it back out (checked end to end with a worker process in bench/faults)."""
    from core.celery_context import HEADER, add_request_id

    headers: dict = {}
    token = request_id_var.set("req-abcdef012345")
    try:
        add_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {HEADER: "req-abcdef012345"}


def test_redaction_masks_secrets_and_personal_data(json_log):
    log = logging.getLogger("anything")
    log.info("customer %s called from %s", "ada@example.org", "+44 20 7946 0958")
    log.info("auth", extra={"password": "hunter2", "headers": {"Authorization": "Token abcdef0123456789", "X-Id": "1"}})
    log.warning("sent Token abcdef0123456789abcdef to upstream")
    try:
        raise ValueError("no customer ada@example.org")
    except ValueError:
        log.exception("failed")
    text = "\n".join(json.dumps(line) for line in json_log())
    for value in ("ada@example.org", "+44 20 7946 0958", "hunter2", "abcdef0123456789"):
        assert value not in text
    assert "[email]" in text and "[redacted]" in text and "ValueError" in text


def test_timestamps_and_ids_are_not_mistaken_for_phone_numbers(json_log):
    logging.getLogger("x").info("at 2026-11-24 15:02:43 delivery 1234567890123", extra={"delivery_id": 1234567890})
    line = json_log()[-1]
    assert line["message"] == "at 2026-11-24 15:02:43 delivery 1234567890123"
    assert line["delivery_id"] == 1234567890


def _scrape(client, **extra):
    response = client.get("/metrics", **extra)
    return response.status_code, response.content.decode()


def test_metrics_are_loopback_only_without_a_token(client, db):
    assert _scrape(client)[0] == 200
    assert _scrape(client, REMOTE_ADDR="203.0.113.9")[0] == 404
    assert _scrape(client, HTTP_X_FORWARDED_FOR="203.0.113.9")[0] == 404, "a proxy on loopback forwards outsiders"


@override_settings(METRICS_TOKEN="s3cret-metrics-token")
def test_metrics_need_the_bearer_token_when_one_is_set(client, db):
    assert _scrape(client)[0] == 404
    assert _scrape(client, HTTP_AUTHORIZATION="Bearer wrong")[0] == 404
    assert _scrape(client, REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")[0] == 200


def test_metrics_report_requests_and_the_domain(client, personas):
    from cases.models import CaseEvent
    from surveys.models import WebhookDelivery
    from tests.security.data import make_customer_story

    story = make_customer_story(personas.north, closed=False)
    WebhookDelivery.objects.create(source=story.source, delivery_id="p1", body=b"{}")
    old = WebhookDelivery.objects.create(source=story.source, delivery_id="p2", body=b"{}")
    WebhookDelivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(seconds=600))
    WebhookDelivery.objects.create(source=story.source, delivery_id="f1", body=b"{}", status="failed")
    type(story.case).objects.filter(pk=story.case.pk).update(resolution_due=timezone.now() - timedelta(hours=1))
    CaseEvent.objects.create(case=story.case, kind=CaseEvent.Kind.ESCALATED)
    client.get("/healthz")
    status, text = _scrape(client)
    assert status == 200
    assert 'closeloop_http_requests_total{method="GET",route="healthz",status="200"}' in text
    assert 'closeloop_http_request_duration_seconds_bucket{le="0.5",method="GET",route="healthz"}' in text
    assert 'closeloop_webhook_deliveries_received_total{source="typeform"} 4.0' in text
    assert 'closeloop_webhook_deliveries{source="typeform",status="pending"} 2.0' in text
    assert 'closeloop_webhook_deliveries{source="typeform",status="failed"} 1.0' in text
    age = float(text.split("\ncloseloop_webhook_oldest_pending_age_seconds ")[1].split()[0])
    assert 600 <= age < 700
    assert 'closeloop_celery_queue_depth{queue="celery"}' in text and "closeloop_broker_up 1.0" in text
    assert 'closeloop_cases_opened_total{team="north"} 1.0' in text
    assert 'closeloop_cases_overdue{team="north"} 1.0' in text
    assert 'closeloop_case_escalations_total{team="north"} 1.0' in text
    assert "closeloop_webhook_deliveries_rejected_total" in text or "closeloop_webhook_deliveries_rejected" in text


def test_readyz_reports_the_oldest_pending_delivery_and_fails_past_the_limit(client, personas, settings):
    from surveys.models import WebhookDelivery
    from tests.security.data import make_customer_story

    story = make_customer_story(personas.north)
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["oldest_pending_delivery_age_seconds"] == 0
    stuck = WebhookDelivery.objects.create(source=story.source, delivery_id="stuck", body=b"{}")
    WebhookDelivery.objects.filter(pk=stuck.pk).update(received_at=timezone.now() - timedelta(seconds=900))
    settings.READYZ_MAX_PENDING_AGE_SECONDS = 300
    body = client.get("/readyz")
    assert body.status_code == 503
    assert body.json()["failed"] == ["deliveries"] and body.json()["oldest_pending_delivery_age_seconds"] >= 900


def test_healthz_stays_cheap(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert client.get("/healthz").status_code == 200
