"""The ASGI ingest server (config.asgi -> surveys.ingest_async) answers exactly as the Django view
does, commits before it answers (group commit on its own asyncio connection), and leaves
everything else to Django.

Requests go through `config.asgi.application` on one event loop that lives for the module, as in
a uvicorn worker, outside any test transaction (transaction=True)."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from unittest import mock

import pytest
from django.db import connections
from django.test import override_settings
from django.utils.datastructures import CaseInsensitiveMapping

from config import asgi
from surveys import ingest_async, stats
from surveys.ingest import delivery_row
from surveys.models import WebhookDelivery
from tests.surveys.payloads import closeloop_body, make_source, signed, standard_headers
from tests.surveys.test_webhook_fast_path import CASES, _answer, via_django

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def loop():
    """One event loop in its own thread for the whole module, like a uvicorn worker's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    asyncio.run_coroutine_threadsafe(ingest_async.close_writers(), loop).result(10)
    asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()
    gc.collect()  # the executor threads' Django connections go with them


def run(loop, coroutine, timeout: float = 30):
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)


def scope_for(method: str, path: str, body: bytes, headers: dict | None, query: str, content_type: str | None,
              host: str = "testserver") -> dict:
    """An HTTP scope from the Django test client's META-style headers (HTTP_X_Y -> x-y)."""
    raw = [(b"host", host.encode()), (b"content-length", str(len(body)).encode())]
    if content_type is not None:
        raw.append((b"content-type", content_type.encode()))
    for key, value in (headers or {}).items():
        raw.append((key.removeprefix("HTTP_").replace("_", "-").lower().encode(), value.encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": raw, "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}


async def request(scope: dict, body: bytes):
    """One request through config.asgi.application: (status, headers, body bytes)."""
    sent: list[dict] = []
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected

    async def send(message):
        sent.append(message)

    await asgi.application(scope, receive, send)
    start = sent[0]
    headers = CaseInsensitiveMapping({name.decode(): value.decode() for name, value in start["headers"]})
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def call(loop):
    def call(method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = "",
             content_type: str | None = "application/json", host: str = "testserver"):
        return run(loop, request(scope_for(method, path, body, headers, query, content_type, host), body))

    return call


@pytest.mark.parametrize("cached", [False, True], ids=["source read in a thread", "source cached in the loop"])
@pytest.mark.parametrize("case", list(CASES))
@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_the_ingest_server_answers_as_the_django_view_does(call, case, cached):
    build, expected = CASES[case]
    source = make_source("standard")
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=60 if cached else 0):
        method, path, body, headers, query, content_type = build(source)
        if cached:  # this process has served the slug: the common request needs no I/O
            warm = closeloop_body()
            call("POST", f"/webhooks/{source.slug}/", warm, signed("standard", source, warm))
            method, path, body, headers, query, content_type = build(source)
        status, fast_headers, content = call(method, path, body, headers, query, content_type)
    if status == 202:
        method, path, body, headers, query, content_type = build(source)
    django_status, django_response, django_content = via_django(method, path, body, headers, query, content_type)
    assert status == django_status == expected
    if expected == 202:
        assert _answer(content)["status"] == _answer(django_content)["status"] == "accepted"
    else:
        assert _answer(content) == _answer(django_content)
    for name in ("Retry-After", "Allow", "Content-Type", "X-Content-Type-Options", "X-Frame-Options"):
        assert fast_headers.get(name) == django_response.get(name), name
    assert fast_headers["X-Request-ID"]


def test_a_cached_source_is_checked_without_leaving_the_event_loop(call):
    source = make_source("standard")
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=60):
        body = closeloop_body(response_id="warm")
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
        real = ingest_async._in_thread

        async def publish_only(function, *args):  # tests publish eagerly, in a thread; nothing else may block
            assert function is ingest_async.publish, function
            return await real(function, *args)

        with mock.patch.object(ingest_async, "_in_thread", publish_only):
            body = closeloop_body(response_id="inline")
            assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
        # A rotated secret is picked up at once: the failed check is redone in a thread against the row.
        source.secret = "rotated-" + source.secret
        WebhookSource = type(source)
        WebhookSource.objects.filter(pk=source.pk).update(secret=source.secret)  # no signal: the cache is stale
        body = closeloop_body(response_id="rotated")
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert WebhookDelivery.objects.count() == 3


def test_rejections_are_counted_and_store_nothing(call):
    source = make_source("standard")
    body = closeloop_body()
    assert call("POST", f"/webhooks/{source.slug}/", body, {"HTTP_WEBHOOK_ID": "x"})[0] == 401
    assert call("POST", "/webhooks/nope/", body, signed("standard", source, body))[0] == 404
    counts = stats.rejection_counts()
    assert counts[(source.slug, "signature")] == 1
    assert counts[(stats.UNKNOWN_SOURCE, "not_found")] == 1
    assert not WebhookDelivery.objects.exists()


def test_an_accepted_delivery_is_committed_before_the_202(call):
    source = make_source("standard")
    body = closeloop_body()
    headers = standard_headers(source.secret, body, msg_id="msg_asgi")
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):  # nothing processes it before we look
        status, response_headers, content = call("POST", f"/webhooks/{source.slug}/", body, headers)
    assert status == 202
    answer = json.loads(content)
    assert answer["status"] == "accepted" and answer["delivery_id"] == "msg_asgi"
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT delivery_id, body, headers, status FROM surveys_webhookdelivery WHERE id = %s",
                           [answer["id"]])
            delivery_id, stored_body, stored_headers, status = cursor.fetchone()
    finally:
        other.close()
    assert (delivery_id, bytes(stored_body), status) == ("msg_asgi", body, "pending")
    assert json.loads(stored_headers)["webhook-id"] == "msg_asgi"
    assert response_headers["Content-Type"] == "application/json"


def test_a_repeated_delivery_answers_200_with_the_original_and_stores_no_row(call):
    source = make_source("standard")
    body = closeloop_body()
    headers = standard_headers(source.secret, body, msg_id="msg_twice")
    first = call("POST", f"/webhooks/{source.slug}/", body, headers)
    again = call("POST", f"/webhooks/{source.slug}/", body, headers)
    assert (first[0], again[0]) == (202, 200)
    assert json.loads(again[2]) == {"status": "duplicate", "id": json.loads(first[2])["id"], "delivery_id": "msg_twice"}
    assert WebhookDelivery.objects.count() == 1


def test_concurrent_requests_share_statements_and_each_gets_its_own_answer(loop):
    """60 requests at once, five of them the same delivery: fewer INSERTs than requests, one row
    per delivery id, every 202 names its own row and every repeat the original."""
    source = make_source("standard")
    requests = []
    for i in range(55):
        body = closeloop_body(response_id=f"r{i}")
        requests.append((body, standard_headers(source.secret, body, msg_id=f"msg_{i}")))
    same = closeloop_body(response_id="same")
    requests += [(same, standard_headers(source.secret, same, msg_id="msg_same"))] * 5
    path = f"/webhooks/{source.slug}/"

    async def all_at_once():
        return await asyncio.gather(*(request(scope_for("POST", path, body, headers, "", "application/json"), body)
                                      for body, headers in requests))

    # Not processed inline (eager) here: this is about storing; 55 deliveries processed at once in
    # request threads would only test the test set-up.
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=60, CELERY_TASK_ALWAYS_EAGER=False), \
            mock.patch.object(ingest_async, "_run", wraps=ingest_async._run) as statements:
        run(loop, request(scope_for("POST", path, same, requests[-1][1], "", "application/json"), same))  # warm
        answers = run(loop, all_at_once())
    assert [status for status, _h, _c in answers[:55]] == [202] * 55
    assert [status for status, _h, _c in answers[55:]] == [200] * 5
    assert statements.call_count < 30  # the first INSERT, then batches (plus the repeats' look-ups)
    stored = dict(WebhookDelivery.objects.values_list("delivery_id", "id"))
    assert len(stored) == 56
    for i, (_status, _headers, content) in enumerate(answers):
        answer = json.loads(content)
        assert stored[answer["delivery_id"]] == answer["id"]
        assert answer["delivery_id"] == (f"msg_{i}" if i < 55 else "msg_same")


def test_a_row_that_cannot_be_stored_fails_alone(loop):
    """A source deleted between the check and the INSERT (a foreign key violation) fails only its
    own request; the batch's other deliveries are stored."""
    source = make_source("standard")
    gone = make_source("standard", slug="gone")
    rows = [delivery_row(source, f"ok-{i}", "application/json", {}, b"{}") for i in range(5)]
    orphan = delivery_row(gone, "orphan", "application/json", {}, b"{}")
    gone.delete()

    async def together():
        writer = ingest_async.writer()
        return await asyncio.gather(*(writer.submit(row) for row in rows[:2] + [orphan] + rows[2:]),
                                    return_exceptions=True)

    outcomes = run(loop, together())
    assert isinstance(outcomes[2], Exception)
    assert [o[1] for i, o in enumerate(outcomes) if i != 2] == [True] * 5
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [f"ok-{i}" for i in range(5)]


def test_the_database_unreachable_answers_503_and_a_dead_connection_is_replaced(call, loop):
    source = make_source("standard")
    body = closeloop_body(response_id="r-1")
    assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    # A kept connection that died (a PostgreSQL restart, a proxy): replaced, no 503.
    writer = run(loop, _writer())
    pid = writer._connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    body = closeloop_body(response_id="r-2")
    assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert writer._connection.info.backend_pid != pid
    # PostgreSQL unreachable: 503 with Retry-After; the next request after it is back reconnects.
    run(loop, writer.close())
    with mock.patch.dict(connections["default"].settings_dict, {"PORT": "1"}):
        body = closeloop_body(response_id="r-3")
        status, headers, content = call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
    assert (status, headers["Retry-After"]) == (503, "30")
    assert json.loads(content) == {"error": "Temporarily unavailable; please retry."}
    assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert WebhookDelivery.objects.count() == 3


async def _writer():
    return ingest_async.writer()


def test_without_group_commit_the_store_is_the_wsgi_doors(call):
    """SQLite (the embedded default) or WEBHOOK_GROUP_COMMIT off: the same statement as the WSGI
    door, run in a thread."""
    source = make_source("standard")
    body = closeloop_body()
    with override_settings(WEBHOOK_GROUP_COMMIT=False), \
            mock.patch.object(ingest_async.GroupWriter, "submit", side_effect=AssertionError("group commit")):
        status, _headers, content = call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
    assert status == 202
    assert WebhookDelivery.objects.get().pk == json.loads(content)["id"]


def test_the_rate_limit_answers_429_with_retry_after(call):
    source = make_source("generic", rate_limit_per_second=1, auth={"mode": "token"})
    statuses = []
    for i in range(4):
        status, headers, _ = call("POST", f"/webhooks/{source.slug}/", json.dumps({"id": f"r{i}", "nps": 5}).encode(),
                                  {"HTTP_X_WEBHOOK_TOKEN": source.secret})
        statuses.append(status)
        if status == 429:
            assert headers["Retry-After"] == "1"
    assert statuses.count(429) >= 2
    assert WebhookDelivery.objects.count() == statuses.count(202)
    assert stats.rejection_counts()[(source.slug, "rate_limited")] == statuses.count(429)


def test_a_body_over_the_limit_is_not_read_past_it(call):
    source = make_source("standard")
    body = closeloop_body(comment="x" * 5000)
    with override_settings(WEBHOOK_MAX_BODY_BYTES=1000):
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 413
    assert not WebhookDelivery.objects.exists()


def test_other_paths_methods_and_hosts_go_through_django(call):
    source = make_source("standard")
    body = closeloop_body()
    with mock.patch.object(asgi, "django_application", wraps=asgi.django_application) as django_app:
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
        assert call("HEAD", f"/webhooks/{source.slug}/")[0] == 200
        assert django_app.call_count == 0
        assert call("GET", f"/webhooks/{source.slug}/")[0] == 405
        assert call("GET", "/healthz")[0] == 200
        assert call("POST", "/webhooks/a/b/", body)[0] == 404
        assert call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body), host="evil.test")[0] == 400
        assert django_app.call_count == 4


def test_the_request_id_is_echoed(call):
    status, headers, _ = call("POST", "/webhooks/nope/", b"{}", {"HTTP_X_REQUEST_ID": "req-12345678"})
    assert (status, headers["X-Request-ID"]) == (404, "req-12345678")


def test_where_https_is_required_plain_http_gets_a_403(call):
    source = make_source("standard")
    body = closeloop_body(response_id="tls")
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        status, _headers, content = call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
        assert status == 403 and "https://" in _answer(content)["error"]
        secure = {**signed("standard", source, body), "HTTP_X_FORWARDED_PROTO": "https"}
        status, headers, _content = call("POST", f"/webhooks/{source.slug}/", body, secure)
    assert status == 202 and WebhookDelivery.objects.count() == 1


def test_lifespan_starts_and_shuts_down(loop):
    async def lifespan():
        incoming = asyncio.Queue()
        sent = []
        for message in ("lifespan.startup", "lifespan.shutdown"):
            incoming.put_nowait({"type": message})

        async def send(message):
            sent.append(message["type"])

        await asgi.application({"type": "lifespan", "asgi": {"version": "3.0"}}, incoming.get, send)
        return sent

    assert run(loop, lifespan()) == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
