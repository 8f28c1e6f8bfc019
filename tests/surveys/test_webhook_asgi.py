"""What is the ingest server's own (config.asgi -> surveys.ingest.asgi): checks in the event loop
or in a thread, group commit on its asyncio connection, its connection's life, its lifespan, and
everything that is not a webhook handed to Django. What both doors share (every status as the
Django view answers it, committed before the 202, repeats, the rate limit, request ids, HTTPS)
is in test_webhook_doors.py, run through both.

Requests go through `config.asgi.application` on one event loop that lives for the module, as
in a uvicorn worker, outside any test transaction (transaction=True)."""

from __future__ import annotations

import asyncio
import json
from unittest import mock

import pytest
from django.db import connections
from django.test import override_settings

from config import asgi
from surveys.ingest import asgi as ingest_asgi
from surveys.ingest.publish import publisher
from surveys.ingest.store import delivery_row
from surveys.models import WebhookDelivery
from tests.surveys.doors import asgi_request, scope_for, signed_deliveries, terminate_backend
from tests.surveys.payloads import closeloop_body, make_source, signed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def call(event_loop_thread):
    return event_loop_thread.call


@pytest.fixture
def run(event_loop_thread):
    return event_loop_thread.run


def test_a_cached_source_is_checked_without_leaving_the_event_loop(call):
    source = make_source("standard")
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=60):
        body = closeloop_body(response_id="warm")
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
        real = ingest_asgi._in_thread

        async def publish_only(function, *args):  # tests publish eagerly, in a thread; nothing else may block
            assert function is ingest_asgi.publish, function
            return await real(function, *args)

        with mock.patch.object(ingest_asgi, "_in_thread", publish_only):
            body = closeloop_body(response_id="inline")
            assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
        # A rotated secret is picked up at once: the failed check is redone in a thread against the row.
        source.secret = "rotated-" + source.secret
        WebhookSource = type(source)
        WebhookSource.objects.filter(pk=source.pk).update(secret=source.secret)  # no signal: the cache is stale
        body = closeloop_body(response_id="rotated")
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert WebhookDelivery.objects.count() == 3


def test_concurrent_requests_share_statements_and_each_gets_its_own_answer(run):
    """60 requests at once, five of them the same delivery: fewer INSERTs than requests, one row
    per delivery id, every 202 names its own row and every repeat the original."""
    source = make_source("standard")
    requests = signed_deliveries(source, unique=55, repeats=5)
    same, same_headers = requests[-1]
    path = f"/webhooks/{source.slug}/"

    async def all_at_once():
        return await asyncio.gather(*(asgi_request(scope_for("POST", path, body, headers, "", "application/json"), body)
                                      for body, headers in requests))

    # The database holds the first statement until every request is waiting for its row, as a
    # busy server would: how many requests one statement carries must not hang on how fast this
    # machine checks signatures (on a loaded one, requests arriving one by one each got their own).
    submitted, all_waiting = 0, asyncio.Event()
    real_submit, real_run = ingest_asgi.GroupWriter.submit, ingest_asgi._run

    async def counted_submit(self, row):
        nonlocal submitted
        submitted += 1
        if submitted == len(requests):
            all_waiting.set()
        return await real_submit(self, row)

    async def slow_database(connection, statement, params):
        await asyncio.wait_for(all_waiting.wait(), timeout=30)
        return await real_run(connection, statement, params)

    # Queued for the publishing thread as in production, not processed inline (eager): this is
    # about storing; 55 deliveries processed at once in request threads would only test the set-up.
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=60, CELERY_TASK_ALWAYS_EAGER=False), \
            mock.patch.object(publisher, "submit") as queued:
        run(asgi_request(scope_for("POST", path, same, same_headers, "", "application/json"), same))  # warm
        with mock.patch.object(ingest_asgi.GroupWriter, "submit", counted_submit), \
                mock.patch.object(ingest_asgi, "_run", side_effect=slow_database) as statements:
            answers = run(all_at_once())
    assert [status for status, _h, _c in answers[:55]] == [202] * 55
    assert [status for status, _h, _c in answers[55:]] == [200] * 5
    # At most two INSERTs (what came before the database answered, then all the rest), then one
    # look-up per repeat for the original's id.
    assert statements.call_count <= 2 + 5
    stored = dict(WebhookDelivery.objects.values_list("delivery_id", "id"))
    assert len(stored) == 56
    for i, (_status, _headers, content) in enumerate(answers):
        answer = json.loads(content)
        assert stored[answer["delivery_id"]] == answer["id"]
        assert answer["delivery_id"] == (f"msg_{i}" if i < 55 else "msg_same")
    # Each new delivery published once, after its commit; the repeats not at all.
    assert sorted(call.args[0] for call in queued.call_args_list) == sorted(stored.values())


def test_a_row_that_cannot_be_stored_fails_alone(run):
    """A source deleted between the check and the INSERT (a foreign key violation) fails only its
    own request; the batch's other deliveries are stored."""
    source = make_source("standard")
    gone = make_source("standard", slug="gone")
    rows = [delivery_row(source, f"ok-{i}", "application/json", {}, b"{}") for i in range(5)]
    orphan = delivery_row(gone, "orphan", "application/json", {}, b"{}")
    gone.delete()

    async def together():
        writer = ingest_asgi.writer()
        return await asyncio.gather(*(writer.submit(row) for row in rows[:2] + [orphan] + rows[2:]),
                                    return_exceptions=True)

    outcomes = run(together())
    assert isinstance(outcomes[2], Exception)
    assert [o[1] for i, o in enumerate(outcomes) if i != 2] == [True] * 5
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [f"ok-{i}" for i in range(5)]


def test_the_database_unreachable_answers_503_and_a_dead_connection_is_replaced(call, run):
    source = make_source("standard")
    body = closeloop_body(response_id="r-1")
    assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    # A kept connection that died (a PostgreSQL restart, a proxy): replaced, no 503.
    writer = run(_writer())
    pid = writer._connection.info.backend_pid
    terminate_backend(pid)
    body = closeloop_body(response_id="r-2")
    assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert writer._connection.info.backend_pid != pid
    # PostgreSQL unreachable: 503 with Retry-After; the next request after it is back reconnects.
    run(writer.close())
    with mock.patch.dict(connections["default"].settings_dict, {"PORT": "1"}):
        body = closeloop_body(response_id="r-3")
        status, headers, content = call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
    assert (status, headers["Retry-After"]) == (503, "30")
    assert json.loads(content) == {"error": "Temporarily unavailable; please retry."}
    assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert WebhookDelivery.objects.count() == 3


async def _writer():
    return ingest_asgi.writer()


def test_on_sqlite_the_store_is_the_django_views(call):
    """SQLite (the embedded setup) has no multi-row statement of this shape: each delivery is the
    Django view's one INSERT, run in a thread."""
    source = make_source("standard")
    body = closeloop_body()
    with mock.patch.object(ingest_asgi, "_on_postgresql", return_value=False), \
            mock.patch.object(ingest_asgi.GroupWriter, "submit", side_effect=AssertionError("group commit")):
        status, _headers, content = call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
    assert status == 202
    assert WebhookDelivery.objects.get().pk == json.loads(content)["id"]


def test_a_body_over_the_limit_is_not_read_past_it(call):
    source = make_source("standard")
    body = closeloop_body(comment="x" * 5000)
    with override_settings(WEBHOOK_MAX_BODY_BYTES=1000):
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 413
    assert not WebhookDelivery.objects.exists()


def test_lifespan_starts_and_shuts_down(run):
    async def lifespan():
        incoming = asyncio.Queue()
        sent = []
        for message in ("lifespan.startup", "lifespan.shutdown"):
            incoming.put_nowait({"type": message})

        async def send(message):
            sent.append(message["type"])

        await asgi.application({"type": "lifespan", "asgi": {"version": "3.0"}}, incoming.get, send)
        return sent

    assert run(lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_other_paths_methods_and_hosts_go_through_django(call):
    source = make_source("standard")
    body = closeloop_body()
    with mock.patch.object(asgi, "django_application", wraps=asgi.django_application) as django_app:
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
        assert call("HEAD", f"/webhooks/{source.slug}/")[0] == 200
        assert django_app.call_count == 0
        assert call("GET", f"/webhooks/{source.slug}/")[0] == 405
        assert call("GET", "/healthz")[0] == 200
        assert call("POST", "/webhooks/a/b/", body)[0] == 404  # not a webhook address
        # A Host outside ALLOWED_HOSTS: Django's own 400, as for any page.
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body), host="evil.test")[0] == 400
        assert django_app.call_count == 4
