"""What both doors share: every answer as the Django view gives it through the test client,
committed before the 202, repeats, the rate limit, request ids, HTTPS. Each test runs through
both doors (`door`, tests/surveys/conftest.py): the web process (config.wsgi: Django's handler
and middleware, surveys.ingest.django_view) and the ingest server (config.asgi ->
surveys.ingest.asgi). The web process's connection handling is tested here too; the ingest
server's own (group commit, its connection, its lifespan) in test_webhook_asgi.py.

These tests call the callables gunicorn calls, outside any test transaction (transaction=True):
the doors manage their own connections, as in production."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.db import connections
from django.test import Client, override_settings

from surveys import stats
from surveys.ingest.publish import publisher
from surveys.models import WebhookDelivery
from tests.surveys.doors import signed_deliveries, terminate_backend, wsgi_call
from tests.surveys.payloads import closeloop_body, make_source, signed, standard_headers

pytestmark = pytest.mark.django_db(transaction=True)


def via_django(method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = "",
               content_type: str = "application/json"):
    client = Client()
    url = f"{path}?{query}" if query else path
    if method == "HEAD":
        response = client.head(url, **(headers or {}))
    else:
        response = client.generic(method, url, data=body, content_type=content_type, **(headers or {}))
    return response.status_code, response, response.content


def _answer(content: bytes):
    return json.loads(content) if content else None


# Each case: a request to send twice, once through the door and once through the test client;
# the answers must agree (status, JSON body, Retry-After/Allow). Deliveries get fresh ids per call.
def _unknown(source):
    body = closeloop_body()
    return "POST", "/webhooks/nope/", body, signed("standard", source, body), "", "application/json"


def _inactive(source):
    source.active = False
    source.save()
    body = closeloop_body()
    return "POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body), "", "application/json"


def _too_large(source):
    body = closeloop_body(comment="x" * 2000)
    return "POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body), "", "application/json"


def _content_type(source):
    body = closeloop_body()
    return "POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body), "", "text/xml"


def _bad_signature(source):
    return "POST", f"/webhooks/{source.slug}/", closeloop_body(), {"HTTP_WEBHOOK_ID": "x"}, "", "application/json"


def _malformed(source):
    body = b'{"type": "response.completed", "data": {'
    return "POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body), "", "application/json"


def _accepted_without_slash(source):
    body = closeloop_body()
    return "POST", f"/webhooks/{source.slug}", body, signed("standard", source, body), "", "application/json"


def _head_active(source):
    return "HEAD", f"/webhooks/{source.slug}/", b"", {}, "", "application/json"


def _head_unknown(source):
    return "HEAD", "/webhooks/nope", b"", {}, "", "application/json"


def _get(source):
    return "GET", f"/webhooks/{source.slug}/", b"", {}, "", "application/json"


CASES = {
    "unknown source 404": (_unknown, 404),
    "inactive source 404": (_inactive, 404),
    "body over the limit 413": (_too_large, 413),
    "unsupported content type 415": (_content_type, 415),
    "bad signature 401": (_bad_signature, 401),
    "signed but malformed 400": (_malformed, 400),
    "accepted without the slash 202": (_accepted_without_slash, 202),
    "HEAD active 200": (_head_active, 200),
    "HEAD unknown 404": (_head_unknown, 404),
    "GET 405 (Django answers it)": (_get, 405),
}


@pytest.mark.parametrize("cached", [False, True], ids=["source looked up", "source cached"])
@pytest.mark.parametrize("case", list(CASES))
@override_settings(WEBHOOK_MAX_BODY_BYTES=1000)
def test_both_doors_answer_as_the_django_view_does(door, case, cached):
    """With the source cached (the common request), the ingest server decides in its event loop
    without any I/O; looked up, it reads the source in a thread. The web process's answers are
    the view's under Django's full handler and middleware."""
    build, expected = CASES[case]
    source = make_source("standard")
    with override_settings(WEBHOOK_SOURCE_CHECK_SECONDS=60 if cached else 0):
        if cached:  # this process has served the slug
            warm = closeloop_body(response_id="warm")
            assert door("POST", f"/webhooks/{source.slug}/", warm, signed("standard", source, warm))[0] == 202
        method, path, body, headers, query, content_type = build(source)
        fast_status, fast_headers, fast_content = door(method, path, body, headers, query, content_type)
    if fast_status == 202:  # the same request again would be a duplicate: sign a new delivery id
        method, path, body, headers, query, content_type = build(source)
    django_status, django_response, django_content = via_django(method, path, body, headers, query, content_type)
    assert fast_status == django_status == expected
    fast_body, django_body = _answer(fast_content), _answer(django_content)
    if expected == 202:
        assert fast_body["status"] == django_body["status"] == "accepted"
        assert fast_body["id"] != django_body["id"]
    else:
        assert fast_body == django_body
    for name in ("Retry-After", "Allow", "Content-Type", "X-Content-Type-Options", "X-Frame-Options"):
        assert fast_headers.get(name) == django_response.get(name), name
    assert fast_headers["X-Request-ID"]


def test_rejections_are_counted_and_store_nothing(door):
    source = make_source("standard")
    body = closeloop_body()
    assert door("POST", f"/webhooks/{source.slug}/", body, {"HTTP_WEBHOOK_ID": "x"})[0] == 401
    assert door("POST", "/webhooks/nope/", body, signed("standard", source, body))[0] == 404
    counts = stats.rejection_counts()
    assert counts[(source.slug, "signature")] == 1
    assert counts[(stats.UNKNOWN_SOURCE, "not_found")] == 1
    assert not WebhookDelivery.objects.exists()


def test_an_accepted_delivery_is_committed_before_the_202_and_published_once(door):
    source = make_source("standard")
    body = closeloop_body()
    headers = standard_headers(source.secret, body, msg_id="msg_fast")
    with mock.patch.object(publisher, "submit") as queued, \
            override_settings(CELERY_TASK_ALWAYS_EAGER=False):  # queued for the publishing thread, as in production
        status, response_headers, content = door("POST", f"/webhooks/{source.slug}/", body, headers)
        again = door("POST", f"/webhooks/{source.slug}/", body, headers)[0]
    assert (status, again) == (202, 200)
    answer = json.loads(content)
    queued.assert_called_once_with(answer["id"])  # the repeat is not published again
    assert answer["status"] == "accepted" and answer["delivery_id"] == "msg_fast"
    other = connections.create_connection("default")  # not this thread's connection
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT delivery_id, body, headers FROM surveys_webhookdelivery WHERE id = %s", [answer["id"]])
            delivery_id, stored_body, stored_headers = cursor.fetchone()
    finally:
        other.close()
    assert (delivery_id, bytes(stored_body)) == ("msg_fast", body)
    assert json.loads(stored_headers)["webhook-id"] == "msg_fast"  # Django reads jsonb as text
    assert response_headers["Content-Type"] == "application/json"


def test_a_repeated_delivery_answers_200_with_the_original_and_stores_no_row(door):
    source = make_source("standard")
    body = closeloop_body()
    headers = standard_headers(source.secret, body, msg_id="msg_twice")
    first = door("POST", f"/webhooks/{source.slug}/", body, headers)
    again = door("POST", f"/webhooks/{source.slug}/", body, headers)
    assert (first[0], again[0]) == (202, 200)
    assert json.loads(again[2]) == {"status": "duplicate", "id": json.loads(first[2])["id"], "delivery_id": "msg_twice"}
    assert WebhookDelivery.objects.count() == 1
    # The Django view sees the same original.
    django_status, _response, content = via_django("POST", f"/webhooks/{source.slug}/", body, headers)
    assert (django_status, json.loads(content)["id"]) == (200, json.loads(first[2])["id"])


def test_the_rate_limit_answers_429_with_retry_after(door):
    source = make_source("generic", rate_limit_per_second=1, auth={"mode": "token"})
    statuses = []
    for i in range(4):
        status, headers, _ = door("POST", f"/webhooks/{source.slug}/", json.dumps({"id": f"r{i}", "nps": 5}).encode(),
                                  {"HTTP_X_WEBHOOK_TOKEN": source.secret})
        statuses.append(status)
        if status == 429:
            assert headers["Retry-After"] == "1"
    assert statuses.count(429) >= 2  # one per one-second window; the loop may straddle two
    assert WebhookDelivery.objects.count() == statuses.count(202)
    assert stats.rejection_counts()[(source.slug, "rate_limited")] == statuses.count(429)


def test_a_token_in_the_query_string_authenticates_as_through_django(door):
    source = make_source("qualtrics")
    body = b"Topic=surveyengine.completedResponse.SV_1&Status=Complete&SurveyID=SV_1&ResponseID=R_fast"
    form = "application/x-www-form-urlencoded"
    assert door("POST", f"/webhooks/{source.slug}/", body, {}, f"token={source.secret}", form)[0] == 202
    assert door("POST", f"/webhooks/{source.slug}/", body, {}, "token=wrong", form)[0] == 401
    assert via_django("POST", f"/webhooks/{source.slug}/", body, {}, "token=wrong", form)[0] == 401
    stored = WebhookDelivery.objects.get()
    assert "x-query-token" not in stored.headers  # the secret is never stored with the delivery


# --- the web process's connections (Django's handler around the Django view) ------------------


def test_the_database_unreachable_answers_503_and_the_next_request_reconnects():
    source = make_source("standard")
    connection = connections["default"]
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    connection.close()
    body = closeloop_body()
    with mock.patch.dict(connection.settings_dict, {"HOST": "127.0.0.1", "PORT": str(closed_port)}):
        status, headers, content = wsgi_call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
        head = wsgi_call("HEAD", f"/webhooks/{source.slug}/")
    assert status == 503 and headers["Retry-After"] == "30"
    assert json.loads(content) == {"error": "Temporarily unavailable; please retry."}
    assert head[0] in (200, 503)  # 200 when this process has the source cached, never a 500
    body = closeloop_body(response_id="r-after")
    assert wsgi_call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    assert WebhookDelivery.objects.count() == 1


def test_a_kept_connection_that_died_is_replaced_without_a_503():
    """A PostgreSQL restart or a proxy dropped the connection kept from the last request: Django's
    CONN_HEALTH_CHECKS finds it dead before the request's first statement and opens a new one."""
    source = make_source("standard")
    body = closeloop_body(response_id="r-1")
    assert wsgi_call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0] == 202
    connection = connections["default"]
    pid = connection.connection.info.backend_pid  # kept for the next request (CONN_MAX_AGE)
    terminate_backend(pid)
    body = closeloop_body(response_id="r-2")
    status, _headers, content = wsgi_call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
    assert status == 202, content
    assert connection.connection.info.backend_pid != pid
    assert WebhookDelivery.objects.count() == 2


def test_a_connection_is_not_kept_past_conn_max_age_in_a_request_thread():
    source = make_source("standard")
    seen = {}

    def request():
        connection = connections["default"]
        with mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 0}):
            body = closeloop_body(response_id="r-thread")
            seen["status"] = wsgi_call("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))[0]
            seen["open_after"] = connection.connection is not None

    thread = threading.Thread(target=request)
    thread.start()
    thread.join(timeout=30)
    assert seen == {"status": 202, "open_after": False}


def test_the_request_id_is_echoed_and_logged(door):
    source = make_source("standard")
    status, headers, _ = door("POST", "/webhooks/nope/", b"{}", {"HTTP_X_REQUEST_ID": "req-12345678"})
    assert (status, headers["X-Request-ID"]) == (404, "req-12345678")
    status, headers, _ = door("HEAD", f"/webhooks/{source.slug}/", headers={"HTTP_X_REQUEST_ID": "bad id"})
    assert status == 200 and headers["X-Request-ID"] != "bad id" and len(headers["X-Request-ID"]) == 32


def test_where_https_is_required_plain_http_gets_a_403_that_says_so_never_a_redirect(door):
    """With SECURE_SSL_REDIRECT a sender on http:// is told to change the URL (both entry points);
    the same delivery over HTTPS (here: behind a TLS proxy) is accepted."""
    source = make_source("standard")
    body = closeloop_body(response_id="tls")
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        status, _headers, content = door("POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
        assert status == 403 and "https://" in _answer(content)["error"]
        django_status, _response, django_content = via_django(
            "POST", f"/webhooks/{source.slug}/", body, signed("standard", source, body))
        assert (django_status, _answer(django_content)) == (403, _answer(content))
        assert not WebhookDelivery.objects.exists()
        secure = {**signed("standard", source, body), "HTTP_X_FORWARDED_PROTO": "https"}
        status, _headers, content = door("POST", f"/webhooks/{source.slug}/", body, secure)
        assert status == 202 and WebhookDelivery.objects.count() == 1
    # Django's SecurityMiddleware (built once, with the real setting) lets webhook paths through to
    # the view, and only them: pages still redirect to HTTPS.
    import re

    from django.conf import settings

    assert any(re.search(p, f"webhooks/{source.slug}/") for p in settings.SECURE_REDIRECT_EXEMPT)
    assert not any(re.search(p, "cases/") for p in settings.SECURE_REDIRECT_EXEMPT)


def test_concurrent_requests_to_the_web_process_each_get_their_own_answer():
    """40 requests from 20 threads (gunicorn's gthread worker), five of them the same delivery:
    one row per delivery id, every 202 names its own row and every repeat the original."""
    source = make_source("standard")
    requests = signed_deliveries(source, unique=35, repeats=5)

    def send(item):
        body, headers = item
        try:
            return wsgi_call("POST", f"/webhooks/{source.slug}/", body, headers)
        finally:
            connections.close_all()  # this pool thread's connection

    # Stored and published, not processed inline (eager): this is about storing.
    with ThreadPoolExecutor(max_workers=20) as pool, mock.patch.object(publisher, "submit") as queued, \
            override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        answers = list(pool.map(send, requests))
    statuses = [status for status, _h, _c in answers]
    assert statuses[:35] == [202] * 35
    assert sorted(statuses[35:]) == [200, 200, 200, 200, 202]
    stored = dict(WebhookDelivery.objects.values_list("delivery_id", "id"))
    assert len(stored) == 36
    for status, _headers, content in answers:
        answer = json.loads(content)
        assert stored[answer["delivery_id"]] == answer["id"]
    assert sorted(call.args[0] for call in queued.call_args_list) == sorted(stored.values())
