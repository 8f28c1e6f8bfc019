"""Webhook ingest: every decision of `POST|HEAD /webhooks/<slug>/`, free of any web framework.

`receive()` takes what a request carries (method, slug, lower-case headers, the query string and
a way to read the body) and returns an `Answer` (status, JSON body, extra headers). Two front
doors call it and add nothing to the decisions:

- `surveys.webhooks.webhook_receive`, the Django view: the test client, and any deployment whose
  WSGI/ASGI entry point is Django's own;
- `wsgi_receive()` below, which config.wsgi calls for POST/HEAD /webhooks/<slug>/ before Django's
  handler and middleware (about 60 % of a request's CPU under gunicorn went there; see
  docs/benchmarks_webhooks.md). It does itself what the handler and middleware did that matters
  here: the request id (header, log context), the request metrics, the database connection's
  hygiene, the static security headers, and never a 500.

Order of checks: unknown/inactive source 404; body over the limit 413; content type the vendor
never sends 415; signature over the raw bytes 401 (re-checked against the row as it is now when
a cached copy fails: a rotated secret works at once); unparseable body 400; per-source rate
limit 429; then the delivery is committed (202, or 200 with the original for a repeated delivery
id). PostgreSQL unreachable answers 503 so the sender retries. Never a redirect, never a 500.

The delivery is one statement, `INSERT ... ON CONFLICT (source_id, delivery_id) DO NOTHING
RETURNING id`, autocommitted (committed when it returns; synchronous_commit stays on); only a
repeated delivery id costs a second statement (the SELECT of the original).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from config.logging import request_id_var
from surveys import stats
from surveys.adapters import PayloadError, SignatureError, get_adapter, parse_body
from surveys.adapters.common import body_hash, media_type
from surveys.models import WebhookDelivery
from surveys.selectors import active_webhook_source, fresh_webhook_source
from surveys.services import KEPT_HEADERS, _source_headers, delivery_enqueue

logger = logging.getLogger("surveys.webhooks")

JSON = "application/json"
NOT_FOUND = "No active webhook source with this address."
INSECURE = "Webhooks are accepted over HTTPS only: change this webhook's URL to start with https://."


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict | None = None  # None: no body (HEAD)
    headers: tuple[tuple[str, str], ...] = ()


def receive(method: str, slug: str, headers: dict[str, str], query_string: str,
            read_body: Callable[[int], bytes | None], secure: bool = True) -> Answer:
    """The answer to one request. `headers` has lower-case names (content-type and content-length
    included, as `headers_from_environ` builds them); `read_body(declared_length)` returns the raw
    bytes, or None when the front door refused to read that many. `secure`: it came over HTTPS.

    Where HTTPS is required (SECURE_SSL_REDIRECT), a plain-HTTP delivery is refused with a 403
    that says to change the URL, never redirected: senders do not follow a redirect with their
    POST, and a secret in a query string or header must not travel in clear text."""
    if settings.SECURE_SSL_REDIRECT and not secure:
        return _reject(slug, "insecure", 403, INSECURE)
    if method == "HEAD":
        # SurveyMonkey checks a subscription URL with a HEAD request before it saves the webhook.
        try:
            found, _cached = active_webhook_source(slug)
        except DatabaseError as exc:
            return _unavailable(exc)
        return Answer(200 if found is not None else 404)
    if method != "POST":
        return Answer(405, {"error": "Only POST is accepted here."}, (("Allow", "POST, HEAD"),))
    try:
        return _receive(slug, headers, query_string, read_body)
    except DatabaseError as exc:  # OperationalError, InterfaceError: the database is unreachable
        return _unavailable(exc)
    except Exception as exc:  # never a 500 to a sender: it retries and the delivery is not lost
        logger.exception("webhook receive failed")
        return _unavailable(exc)


def _receive(slug: str, headers: dict[str, str], query_string: str, read_body) -> Answer:
    source, cached = active_webhook_source(slug)  # no query once this process has served the slug
    if source is None:
        return _reject(stats.UNKNOWN_SOURCE, "not_found", 404, NOT_FOUND)
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    body = read_body(max(declared, 0))  # the raw bytes, read before anything looks at the content type
    if body is None or len(body) > limit:
        return _reject(slug, "too_large", 413, f"Body over {limit} bytes.")
    adapter = get_adapter(source.vendor)
    content_type = headers.get("content-type", "") or JSON
    if not adapter.accepts(media_type(content_type)):
        return _reject(slug, "content_type", 415, f"Unsupported content type {media_type(content_type)!r}.")
    token = query_token(query_string)
    if token is not None:
        headers = {**headers, "x-query-token": token}
    try:
        source = _verified_source(adapter, source, cached, slug, body, headers)
    except SignatureError as exc:
        logger.warning("webhook signature rejected", extra={"source": slug, "why": str(exc)})
        return _reject(slug, "signature", 401, "Missing or invalid signature.")
    if source is None:  # deactivated or deleted since this process cached it
        return _reject(stats.UNKNOWN_SOURCE, "not_found", 404, NOT_FOUND)
    headers.pop("x-query-token", None)
    try:
        payload = parse_body(body, content_type)
    except PayloadError as exc:
        return _reject(slug, "malformed", 400, str(exc))
    delivery_id = adapter.delivery_id(source, body, headers, payload) or body_hash(body)
    if stats.rate_limited(slug, source.rate_limit_per_second, time.time()):
        return _reject(slug, "rate_limited", 429, "Too many deliveries for this source; retry shortly.",
                       (("Retry-After", "1"),))
    pk, delivery_id, created = store_delivery(source, delivery_id, content_type, headers, body)
    body_out = {"status": "accepted" if created else "duplicate", "id": pk, "delivery_id": delivery_id}
    return Answer(202 if created else 200, body_out)


def _verified_source(adapter, source, cached: bool, slug: str, body: bytes, headers: dict):
    """Verify against the source; when that fails against a cached copy, against the row as it
    is now (its secret may have been rotated a moment ago in another process). Returns the
    source that verified, None if it is gone, or raises SignatureError."""
    try:
        adapter.verify(source, body, headers, timezone.now())
        return source
    except SignatureError:
        if not cached:
            raise
    fresh = fresh_webhook_source(slug)
    if fresh is None:
        return None
    if fresh.vendor != source.vendor:
        adapter = get_adapter(fresh.vendor)
    adapter.verify(fresh, body, headers, timezone.now())
    return fresh


def _reject(slug: str, reason: str, status: int, message: str, headers: tuple = ()) -> Answer:
    stats.record_rejection(slug, reason)
    return Answer(status, {"error": message}, headers)


def _unavailable(exc: Exception) -> Answer:
    logger.error("webhook store unavailable: %s", exc.__class__.__name__)
    return Answer(503, {"error": "Temporarily unavailable; please retry."}, (("Retry-After", "30"),))


def query_token(query_string: str) -> str | None:
    """`?token=` (the last one, as Django's QueryDict answers), for tools that can only sign the URL."""
    if "token" not in query_string:
        return None
    values = [v for k, v in parse_qsl(query_string, keep_blank_values=True, errors="replace") if k == "token"]
    return values[-1] if values else None


def headers_from_environ(environ) -> dict[str, str]:
    """Request headers with lower-case names, as Django's `request.headers` has them (HTTP_* plus
    CONTENT_TYPE and CONTENT_LENGTH). Works on a WSGI environ and on `request.META` alike."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key[:5] == "HTTP_"}
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in environ:
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


# --- the delivery row -----------------------------------------------------------------------


@functools.cache
def _insert_statement(vendor: str) -> tuple[str, str, tuple, tuple]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id for WebhookDelivery, with the columns the
    request fills and every other column at its model default (prepared once per backend)."""
    connection = connections["default"]
    quote = connection.ops.quote_name
    fields = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = quote(WebhookDelivery._meta.db_table)
    insert = (f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
              f"ON CONFLICT ({quote('source_id')}, {quote('delivery_id')}) DO NOTHING RETURNING {quote('id')}")
    select = f"SELECT {quote('id')} FROM {table} WHERE {quote('source_id')} = %s AND {quote('delivery_id')} = %s"
    filled = ("source", "delivery_id", "received_at", "content_type", "headers", "body")
    defaults = tuple(None if f.name in filled else f.get_db_prep_save(f.get_default(), connection) for f in fields)
    return insert, select, tuple(f if f.name in filled else None for f in fields), defaults


def store_delivery(source, delivery_id: str, content_type: str, headers: dict, body: bytes) -> tuple[int, str, bool]:
    """Store a verified delivery (committed when this returns, unless the caller holds a
    transaction) or find the one with the same (source, delivery id): (id, delivery id, created).

    Published to the workers once committed: in the background in batches (surveys.publisher),
    or after the caller's transaction commits when there is one (imports, tests)."""
    connection = connections["default"]
    insert, select, filled, defaults = _insert_statement(connection.vendor)
    delivery_id = delivery_id[:255]
    kept_names = _source_headers(source)
    values = {
        "source": source.pk, "delivery_id": delivery_id, "received_at": timezone.now(),
        "content_type": content_type[:255], "body": body,
        "headers": {k: v for k, v in headers.items() if k in KEPT_HEADERS or k in kept_names},
    }
    params = [default if field is None else field.get_db_prep_save(values[field.name], connection)
              for field, default in zip(filled, defaults)]
    row = _fetch_one(connection, insert, params)
    if row is None:  # a repeated delivery id: nothing inserted, answer with the original
        row = _fetch_one(connection, select, [source.pk, delivery_id])
        if row is None:
            raise DatabaseError(f"delivery {delivery_id!r} conflicted but cannot be found")
        return row[0], delivery_id, False
    pk = row[0]
    if connection.in_atomic_block:
        transaction.on_commit(lambda: delivery_enqueue(pk), using=connection.alias)
    elif settings.WEBHOOK_PUBLISH_IN_BACKGROUND:
        from surveys.publisher import publisher

        publisher.submit(pk)  # batched, off the request (surveys.publisher)
    else:
        delivery_enqueue(pk)
    return pk, delivery_id, True


def _fetch_one(connection, sql: str, params: list):
    """One statement. A connection kept from an earlier request that turns out to be dead (the
    server restarted, a proxy dropped it) is closed and the statement runs once more on a new
    one: the INSERT is idempotent (ON CONFLICT), so a retry never stores a delivery twice. This
    is what lets the fast path skip CONN_HEALTH_CHECKS' `SELECT 1` before every request."""
    reused = connection.connection is not None and not connection.in_atomic_block
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    except (OperationalError, InterfaceError):
        if not reused:
            raise
        logger.warning("webhook store: database connection lost; retrying once on a new one")
        connection.close()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


# --- the WSGI front door --------------------------------------------------------------------

_hosts: dict[str, bool] = {}


def wsgi_direct(environ) -> bool:
    """Whether the fast path may answer this request itself: the Host is allowed (otherwise Django
    answers with its 400, exactly as before)."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    allowed = _hosts.get(host)
    if allowed is None:
        domain, _port = split_domain_port(host)
        hosts = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
        allowed = bool(domain) and validate_host(domain, hosts)
        if len(_hosts) < 256:
            _hosts[host] = allowed
    return allowed


def _is_secure(environ) -> bool:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        header, secure_value = proxy
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


@functools.cache
def _static_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """What Django's security and clickjacking middleware put on this answer."""
    headers = []
    if secure and settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        value += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        value += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append(("Referrer-Policy", settings.SECURE_REFERRER_POLICY))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    return tuple(headers)


_REASONS = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 401: "401 Unauthorized",
            403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed", 413: "413 Request Entity Too Large",
            415: "415 Unsupported Media Type", 429: "429 Too Many Requests", 503: "503 Service Unavailable"}


def wsgi_receive(environ, start_response, slug: str):
    """POST|HEAD /webhooks/<slug>/ as a WSGI application (config.wsgi routes it here)."""
    from config.metrics import LATENCY, REQUESTS
    from config.middleware import HEADER, VALID, new_request_id

    started = time.perf_counter()
    incoming = environ.get(HEADER, "")
    request_id = incoming if VALID.match(incoming) else new_request_id()
    token = request_id_var.set(request_id)
    method = environ["REQUEST_METHOD"]
    try:
        # Django's request_started/request_finished do this around every request: drop a
        # connection past CONN_MAX_AGE, broken, or left outside autocommit.
        close_old_connections()
        # ... and arm CONN_HEALTH_CHECKS' `SELECT 1` before the first query, a second round trip
        # for a one-statement request. Skipped here: `_fetch_one` retries once on a new
        # connection instead when a kept one has died.
        connections["default"].health_check_done = True
        stream = environ["wsgi.input"]
        answer = receive(method, slug, headers_from_environ(environ), environ.get("QUERY_STRING", ""),
                         lambda length: stream.read(length) if length else b"", secure=_is_secure(environ))
    except Exception as exc:  # not even the front door may answer 500
        logger.exception("webhook receive failed")
        answer = _unavailable(exc)
    finally:
        try:
            close_old_connections()
        finally:
            request_id_var.reset(token)
    content = b"" if answer.body is None else json.dumps(answer.body).encode()
    headers = [("Content-Type", JSON if answer.body is not None else "text/html; charset=utf-8"),
               ("Content-Length", str(len(content))), *answer.headers, ("X-Request-ID", request_id),
               *_static_headers(_is_secure(environ))]
    start_response(_REASONS.get(answer.status) or str(answer.status), headers)
    route = "webhooks/<str:slug>/" if environ.get("PATH_INFO", "").endswith("/") else "webhooks/<str:slug>"
    LATENCY.labels(method, route).observe(time.perf_counter() - started)
    REQUESTS.labels(method, route, str(answer.status)).inc()
    return [content] if method != "HEAD" else [b""]
