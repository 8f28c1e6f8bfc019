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
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from psycopg.sql import Literal

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connections, transaction
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from core.logging import request_id_var
from surveys import stats
from surveys.adapters import PayloadError, SignatureError, get_adapter, parse_body
from surveys.adapters.common import body_hash, media_type
from surveys.group_commit import GroupCommit
from surveys.models import WebhookDelivery
from surveys.selectors import active_webhook_source, cached_webhook_source, fresh_webhook_source
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
    rejected: tuple[str, str] | None = None  # (source slug or "_unknown", reason): a rejected attempt to count


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery that passed every check: what to store."""

    source: object
    delivery_id: str
    content_type: str
    headers: dict
    body: bytes


class NeedsIO(Exception):
    """`check(blocking=False)` would have to read the database: run it again with blocking=True
    where that may block (the ASGI front door does so in a thread)."""


RATE_LIMITED = Answer(429, {"error": "Too many deliveries for this source; retry shortly."}, (("Retry-After", "1"),))


def receive(method: str, slug: str, headers: dict[str, str], query_string: str,
            read_body: Callable[[int], bytes | None], secure: bool = True) -> Answer:
    """The answer to one request, for the synchronous front doors (the Django view and the WSGI
    fast path): `check()`, then the per-source rate limit, then the delivery is committed."""
    try:
        outcome = check(method, slug, headers, query_string, read_body, secure)
        if isinstance(outcome, Answer):
            if outcome.rejected is not None:
                stats.record_rejection(*outcome.rejected)
            return outcome
        if stats.rate_limited(slug, outcome.source.rate_limit_per_second, time.time()):
            stats.record_rejection(slug, "rate_limited")
            return RATE_LIMITED
        pk, delivery_id, created = store_delivery(outcome.source, outcome.delivery_id, outcome.content_type,
                                                  outcome.headers, outcome.body)
        return stored(pk, delivery_id, created)
    except DatabaseError as exc:  # OperationalError, InterfaceError: the database is unreachable
        return unavailable(exc)
    except Exception as exc:  # never a 500 to a sender: it retries and the delivery is not lost
        logger.exception("webhook receive failed")
        return unavailable(exc)


def stored(pk: int, delivery_id: str, created: bool) -> Answer:
    """202 for a new delivery, 200 with the original's id for a repeated one."""
    body = {"status": "accepted" if created else "duplicate", "id": pk, "delivery_id": delivery_id}
    return Answer(202 if created else 200, body)


def check(method: str, slug: str, headers: dict[str, str], query_string: str,
          read_body: Callable[[int], bytes | None], secure: bool = True, *, blocking: bool = True) -> Answer | Verified:
    """Every decision before the delivery is stored: an `Answer` (a refusal, or HEAD's answer), or
    the `Verified` delivery to store. `headers` has lower-case names (content-type and
    content-length included, as `headers_from_environ` builds them); `read_body(declared_length)`
    returns the raw bytes, or None when the front door refused to read that many. `secure`: it
    came over HTTPS. With `blocking=False` it raises NeedsIO instead of reading the database
    (a source not cached, a cache due for its version check, a secret to reload).

    Where HTTPS is required (SECURE_SSL_REDIRECT), a plain-HTTP delivery is refused with a 403
    that says to change the URL, never redirected: senders do not follow a redirect with their
    POST, and a secret in a query string or header must not travel in clear text."""
    if settings.SECURE_SSL_REDIRECT and not secure:
        return _reject(slug, "insecure", 403, INSECURE)
    if method == "HEAD":
        # SurveyMonkey checks a subscription URL with a HEAD request before it saves the webhook.
        found, _cached = _source(slug, blocking)
        return Answer(200 if found is not None else 404)
    if method != "POST":
        return Answer(405, {"error": "Only POST is accepted here."}, (("Allow", "POST, HEAD"),))
    source, cached = _source(slug, blocking)  # no query once this process has served the slug
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
        source = _verified_source(adapter, source, cached, slug, body, headers, blocking)
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
    return Verified(source, delivery_id, content_type, headers, body)


def _source(slug: str, blocking: bool):
    if blocking:
        return active_webhook_source(slug)
    source = cached_webhook_source(slug)
    if source is None:
        raise NeedsIO(slug)
    return source, True


def _verified_source(adapter, source, cached: bool, slug: str, body: bytes, headers: dict, blocking: bool = True):
    """Verify against the source; when that fails against a cached copy, against the row as it
    is now (its secret may have been rotated a moment ago in another process). Returns the
    source that verified, None if it is gone, or raises SignatureError."""
    try:
        adapter.verify(source, body, headers, timezone.now())
        return source
    except SignatureError:
        if not cached:
            raise
    if not blocking:
        raise NeedsIO(slug)
    fresh = fresh_webhook_source(slug)
    if fresh is None:
        return None
    if fresh.vendor != source.vendor:
        adapter = get_adapter(fresh.vendor)
    adapter.verify(fresh, body, headers, timezone.now())
    return fresh


def _reject(slug: str, reason: str, status: int, message: str, headers: tuple = ()) -> Answer:
    return Answer(status, {"error": message}, headers, rejected=(slug, reason))


def unavailable(exc: Exception) -> Answer:
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
def _insert_statement(vendor: str) -> tuple[str, tuple, tuple]:
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
    defaults = tuple(None if f.name in FILLED else f.get_db_prep_save(f.get_default(), connection) for f in fields)
    return insert, tuple(f if f.name in FILLED else None for f in fields), defaults


@functools.cache
def original_select() -> str:
    """The id of the delivery already stored with a (source id, delivery id): a repeat's answer."""
    quote = connections["default"].ops.quote_name
    return (f"SELECT {quote('id')} FROM {quote(WebhookDelivery._meta.db_table)} "
            f"WHERE {quote('source_id')} = %s AND {quote('delivery_id')} = %s")


FILLED = ("source", "delivery_id", "received_at", "content_type", "headers", "body")


@functools.cache
def _group_insert() -> str:
    """The INSERT for any number of deliveries at once (PostgreSQL). The rows travel as one JSON
    array (one parameter: encoded by the json module's C code, where a parameter per value or an
    array per column cost the driver far more), each row `[source id, delivery id, received at,
    content type, headers, body in base64]`; every other column is its default written out as a
    literal; each inserted row comes back as (id, source id, delivery id). One statement text for
    every batch size: parsed once by the driver, prepared once by the server. Needs no open
    connection (the ASGI door builds it in its event loop)."""
    connection = connections["default"]
    quote = connection.ops.quote_name
    fields = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
    filled = [next(f for f in fields if f.name == name) for name in FILLED]
    others = [f for f in fields if f.name not in FILLED]
    columns = ", ".join(quote(f.column) for f in filled + others)
    types = [f.db_type(connection) for f in filled]
    values = [f"(r->>{i})::{types[i]}" for i in (0, 1, 2, 3)] + ["r->4", "decode(r->>5, 'base64')"]
    values += [Literal(f.get_db_prep_save(f.get_default(), connection)).as_string(None) for f in others]
    return (f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} ({columns}) SELECT {', '.join(values)} "
            f"FROM jsonb_array_elements(%s::jsonb) AS r "
            f"ON CONFLICT ({quote('source_id')}, {quote('delivery_id')}) DO NOTHING "
            f"RETURNING {quote('id')}, {quote('source_id')}, {quote('delivery_id')}")


def group_statement(rows: list[tuple]) -> tuple[str, list]:
    """The multi-row INSERT for these rows (each in FILLED order) and its one parameter."""
    return _group_insert(), [json.dumps([
        (source_id, delivery_id, received_at.isoformat(), content_type, headers, b64encode(body).decode("ascii"))
        for source_id, delivery_id, received_at, content_type, headers, body in rows
    ])]


def group_outcomes(rows: list[tuple], returned: list[tuple]) -> list[int | None]:
    """Each row's new id, from what the multi-row INSERT returned; None for a row that was already
    stored (by an earlier request, or by an earlier row of the same batch): look up the original."""
    inserted = {(source_id, delivery_id): pk for pk, source_id, delivery_id in returned}
    return [inserted.pop((row[0], row[1]), None) for row in rows]


def _write_group(slots) -> None:
    """surveys.group_commit's writer: one statement (autocommitted) for every waiting delivery.
    Each row gets (id, created). When the statement fails for something in the data rather than
    the connection, each row is written on its own, so one bad row fails alone."""
    connection = connections["default"]
    rows = [slot.row for slot in slots]
    try:
        returned = _fetch_all(connection, *group_statement(rows))
    except (OperationalError, InterfaceError):
        raise  # the database is unreachable: every waiting request answers 503
    except DatabaseError:
        for slot in slots:
            try:
                slot.succeed(_store_one(connection, *slot.row))
            except Exception as exc:  # noqa: BLE001 - this row's own outcome
                slot.fail(exc)
        return
    for slot, pk in zip(slots, group_outcomes(rows, returned)):
        try:
            slot.succeed((pk, True) if pk is not None else (_original(connection, *slot.row[:2]), False))
        except Exception as exc:  # noqa: BLE001 - this row's own outcome
            slot.fail(exc)


_group = GroupCommit(_write_group)


def store_delivery(source, delivery_id: str, content_type: str, headers: dict, body: bytes) -> tuple[int, str, bool]:
    """Store a verified delivery (committed when this returns, unless the caller holds a
    transaction) or find the one with the same (source, delivery id): (id, delivery id, created).

    Outside a transaction on PostgreSQL, concurrent requests share one statement and one commit
    (surveys.group_commit, WEBHOOK_GROUP_COMMIT). Published to the workers once committed: in the
    background in batches (surveys.publisher), or after the caller's transaction commits when
    there is one (imports, tests)."""
    connection = connections["default"]
    row = delivery_row(source, delivery_id, content_type, headers, body)
    if settings.WEBHOOK_GROUP_COMMIT and connection.vendor == "postgresql" and not connection.in_atomic_block:
        pk, created = _group.submit(row)
    else:
        pk, created = _store_one(connection, *row)
    if created:
        if connection.in_atomic_block:
            transaction.on_commit(lambda: delivery_enqueue(pk), using=connection.alias)
        else:
            publish(pk)
    return pk, row[1], created


def delivery_row(source, delivery_id: str, content_type: str, headers: dict, body: bytes) -> tuple:
    """The values of a new WebhookDelivery, in FILLED order. PostgreSQL text holds no NUL
    character and no lone surrogate: such a character in a delivery id (taken from a body by the
    mapping) or a header is dropped or replaced, so the delivery is stored, and its retries still
    find it."""
    kept_names = _source_headers(source)
    kept = {k: _storable(v) for k, v in headers.items() if k in KEPT_HEADERS or k in kept_names}
    return (source.pk, _storable(delivery_id)[:255], timezone.now(), _storable(content_type)[:255], kept, body)


def _storable(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", "")
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def publish(pk: int) -> None:
    """Hand a committed delivery to the workers."""
    if settings.WEBHOOK_PUBLISH_IN_BACKGROUND:
        from surveys.publisher import publisher

        publisher.submit(pk)  # batched, off the request (surveys.publisher)
    else:
        delivery_enqueue(pk)


def _store_one(connection, source_pk, delivery_id, received_at, content_type, headers, body) -> tuple[int, bool]:
    """One delivery, one statement: (id, created)."""
    insert, filled, defaults = _insert_statement(connection.vendor)
    values = dict(zip(FILLED, (source_pk, delivery_id, received_at, content_type, headers, body)))
    params = [default if field is None else field.get_db_prep_save(values[field.name], connection)
              for field, default in zip(filled, defaults)]
    row = _fetch_one(connection, insert, params)
    if row is None:  # a repeated delivery id: nothing inserted, answer with the original
        return _original(connection, source_pk, delivery_id), False
    return row[0], True


def _original(connection, source_pk: int, delivery_id: str) -> int:
    row = _fetch_one(connection, original_select(), [source_pk, delivery_id])
    if row is None:
        raise DatabaseError(f"delivery {delivery_id!r} conflicted but cannot be found")
    return row[0]


def _fetch_one(connection, sql: str, params: list):
    """One statement, its first row."""
    rows = _fetch_all(connection, sql, params)
    return rows[0] if rows else None


def _fetch_all(connection, sql: str, params: list) -> list:
    """One statement. A connection kept from an earlier request that turns out to be dead (the
    server restarted, a proxy dropped it) is closed and the statement runs once more on a new
    one: the INSERT is idempotent (ON CONFLICT), so a retry never stores a delivery twice. This
    is what lets the fast path skip CONN_HEALTH_CHECKS' `SELECT 1` before every request."""
    reused = connection.connection is not None and not connection.in_atomic_block
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    except (OperationalError, InterfaceError):
        if not reused:
            raise
        logger.warning("webhook store: database connection lost; retrying once on a new one")
        connection.close()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- what both front doors (WSGI here, ASGI in surveys.ingest_async) share -------------------

_hosts: dict[str, bool] = {}


def host_allowed(host: str) -> bool:
    """Whether a fast path may answer for this Host (X-Forwarded-Host when trusted): it is in
    ALLOWED_HOSTS. Otherwise Django answers with its 400, exactly as for any other page."""
    allowed = _hosts.get(host)
    if allowed is None:
        domain, _port = split_domain_port(host)
        hosts = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
        allowed = bool(domain) and validate_host(domain, hosts)
        if len(_hosts) < 256:
            _hosts[host] = allowed
    return allowed


def secure_from_proxy(proxy_value: str | None, scheme: str) -> bool:
    """HTTPS as Django's request.is_secure() decides it: the trusted proxy header
    (SECURE_PROXY_SSL_HEADER) when present, else the connection's own scheme."""
    if settings.SECURE_PROXY_SSL_HEADER and proxy_value is not None:
        return proxy_value.split(",", 1)[0].strip() == settings.SECURE_PROXY_SSL_HEADER[1]
    return scheme == "https"


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


def request_id(incoming: str) -> str:
    """The caller's X-Request-ID when it is sane, a new one otherwise (core.middleware's rule)."""
    from core.middleware import VALID, new_request_id

    return incoming if VALID.match(incoming) else new_request_id()


def rendered(answer: Answer, rid: str, secure: bool) -> tuple[bytes, list[tuple[str, str]]]:
    """The answer's body bytes and response headers."""
    content = b"" if answer.body is None else json.dumps(answer.body).encode()
    headers = [("Content-Type", JSON if answer.body is not None else "text/html; charset=utf-8"),
               ("Content-Length", str(len(content))), *answer.headers, ("X-Request-ID", rid),
               *_static_headers(secure)]
    return content, headers


def observe(method: str, path: str, status: int, started: float) -> None:
    """The request metrics Django's middleware records for every other page."""
    from core.metrics import LATENCY, REQUESTS

    route = "webhooks/<str:slug>/" if path.endswith("/") else "webhooks/<str:slug>"
    LATENCY.labels(method, route).observe(time.perf_counter() - started)
    REQUESTS.labels(method, route, str(status)).inc()


# --- the WSGI front door --------------------------------------------------------------------


def wsgi_direct(environ) -> bool:
    """Whether the WSGI fast path may answer this request itself (see `host_allowed`)."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    return host_allowed(host)


def _is_secure(environ) -> bool:
    proxy = settings.SECURE_PROXY_SSL_HEADER
    return secure_from_proxy(environ.get(proxy[0]) if proxy else None, environ.get("wsgi.url_scheme", "http"))


_REASONS = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 401: "401 Unauthorized",
            403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed", 413: "413 Request Entity Too Large",
            415: "415 Unsupported Media Type", 429: "429 Too Many Requests", 503: "503 Service Unavailable"}


def wsgi_receive(environ, start_response, slug: str):
    """POST|HEAD /webhooks/<slug>/ as a WSGI application (config.wsgi routes it here)."""
    from core.middleware import HEADER

    started = time.perf_counter()
    rid = request_id(environ.get(HEADER, ""))
    token = request_id_var.set(rid)
    method = environ["REQUEST_METHOD"]
    secure = _is_secure(environ)
    try:
        # Django's request_started/request_finished do this around every request: drop a
        # connection past CONN_MAX_AGE, broken, or left outside autocommit.
        close_old_connections()
        # ... and arm CONN_HEALTH_CHECKS' `SELECT 1` before the first query, a second round trip
        # for a one-statement request. Skipped here: `_fetch_all` retries once on a new
        # connection instead when a kept one has died.
        connections["default"].health_check_done = True
        stream = environ["wsgi.input"]
        answer = receive(method, slug, headers_from_environ(environ), environ.get("QUERY_STRING", ""),
                         lambda length: stream.read(length) if length else b"", secure=secure)
    except Exception as exc:  # not even the front door may answer 500
        logger.exception("webhook receive failed")
        answer = unavailable(exc)
    finally:
        try:
            close_old_connections()
        finally:
            request_id_var.reset(token)
    content, headers = rendered(answer, rid, secure)
    start_response(_REASONS.get(answer.status) or str(answer.status), headers)
    observe(method, environ.get("PATH_INFO", ""), answer.status, started)
    return [content] if method != "HEAD" else [b""]
