"""What an operator on call relies on: request ids, JSON logs, /metrics and /readyz."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.logging import ContextFilter, RedactingFilter, request_id_var, task_id_var


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


@pytest.fixture
def probe(settings):
    """The probe page (logs, then enqueues a task that logs) behind the project's middleware."""
    from tests.reliability import request_probe

    settings.ROOT_URLCONF = "tests.reliability.request_probe"
    request_probe.seen_by_task.clear()
    return request_probe


def _lines_of(json_log, marker):
    return [line for line in json_log() if line.get("marker") == marker]


def test_a_sane_incoming_request_id_is_echoed_and_on_every_log_line_of_the_request(client, db, json_log, probe):
    response = client.get("/probe/", {"marker": "m1"}, HTTP_X_REQUEST_ID="abc-123-def-456")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "abc-123-def-456"
    lines = _lines_of(json_log, "m1")
    assert [line["message"] for line in lines] == ["view ran", "task ran"]
    assert [line["request_id"] for line in lines] == ["abc-123-def-456", "abc-123-def-456"]
    assert {"time", "level", "logger"} <= set(lines[0])


@pytest.mark.parametrize("incoming", [None, "bad id with spaces\n", "short"])
def test_without_a_sane_request_id_one_is_generated_and_used_for_the_whole_request(
        client, db, json_log, probe, incoming):
    extra = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = client.get("/probe/", {"marker": "m2"}, **extra)
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and all(c in "0123456789abcdef" for c in generated)
    assert [line["request_id"] for line in _lines_of(json_log, "m2")] == [generated, generated]
    again = client.get("/probe/", {"marker": "m3"}, **extra)["X-Request-ID"]
    assert again != generated, "each request gets its own id"


def test_a_task_enqueued_by_a_request_runs_with_its_request_id_and_its_own_task_id(client, db, json_log, probe):
    client.get("/probe/", {"marker": "m4"}, HTTP_X_REQUEST_ID="req-0123456789")
    [seen] = probe.seen_by_task
    assert seen["request_id"] == "req-0123456789"
    assert seen["task_id"], "task_prerun put the task id in the log context"
    task_line = _lines_of(json_log, "m4")[1]
    assert (task_line["request_id"], task_line["task_id"]) == ("req-0123456789", seen["task_id"])
    # After the request and the task, nothing is left behind for the next log line.
    assert (request_id_var.get(), task_id_var.get()) == (None, None)


@pytest.fixture
def memory_broker(settings):
    """Tasks really published (to kombu's in-memory transport), as from a web process to a worker."""
    from config.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    with app.connection_for_write("memory://") as connection:
        yield connection
    app.conf.task_always_eager = eager


def _publish_from_a_request(connection, request_id):
    """Publish the probe task while `request_id` is the current request's (as the middleware sets it)."""
    from tests.reliability.request_probe import probe_task

    token = request_id_var.set(request_id)
    try:
        probe_task.apply_async(("m5",), connection=connection, queue="tests-probe")
    finally:
        request_id_var.reset(token)
    return connection.SimpleQueue("tests-probe").get(timeout=5)


def test_before_task_publish_puts_the_request_id_in_the_message_headers(memory_broker):
    from core.celery_context import HEADER

    message = _publish_from_a_request(memory_broker, "req-abcdef012345")
    assert message.headers[HEADER] == "req-abcdef012345"
    assert request_id_var.get() is None


def test_a_worker_restores_the_request_id_from_the_message_headers(memory_broker, probe):
    """What a worker process does with a message: celery's own Request runs the task, and
    task_prerun takes the id from the headers (nothing sets it in this process)."""
    from celery.worker.request import Request

    from config.celery import app
    from tests.reliability.request_probe import probe_task

    message = _publish_from_a_request(memory_broker, "req-fedcba987654")
    assert request_id_var.get() is None
    Request(message, app=app, task=probe_task).execute()
    assert probe.seen_by_task == [{"marker": "m5", "request_id": "req-fedcba987654", "task_id": message.headers["id"]}]
    assert (request_id_var.get(), task_id_var.get()) == (None, None), "task_postrun clears the context"


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
