"""The ingest server's door: `POST|HEAD /webhooks/<slug>/` in an asyncio event loop, with group commit.

config.asgi routes webhook requests here and everything else to Django's ASGI handler. Run it
as its own process type for webhook traffic (Procfile `ingest`: gunicorn with uvicorn workers,
one event loop per core) and route /webhooks/ to it; the web process answers webhooks the same
way through the Django view (surveys.ingest.django_view) for deployments that run only that.

The decisions are `surveys.ingest.checks.check`, the same function the Django view runs; only
the waiting differs:

- the common request (a source this process has cached and checked within
  WEBHOOK_SOURCE_CHECK_SECONDS) is checked in the event loop without any I/O; anything that
  must read the database (a new slug, the periodic version check, a secret to reload) or count
  a rejection runs the same check in a thread;
- the per-source rate limit is one pipelined Redis call on an asyncio client;
- deliveries are committed by group commit (`GroupWriter`, the one group-commit engine): while
  one multi-row INSERT is in flight, the requests that arrive wait for the next, and each is
  answered only after the statement holding its row has committed (autocommit,
  synchronous_commit on). One connection per process. On SQLite (the embedded setup, which has
  no multi-row statement of this shape) each delivery is the Django view's one INSERT, in a thread.

What Django's handler and middleware do for the Django view, this door does itself: the Host
check (`host_allowed`; otherwise Django answers its 400), HTTPS as Django decides it, the request
id (header, log context), the request metrics and the static security headers. Never a 500: an
exception becomes a 503 with Retry-After."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
from django.conf import settings
from django.db import DatabaseError, DataError, close_old_connections, connections
from django.http.request import split_domain_port, validate_host

from core.logging import request_id_var
from core.metrics import LATENCY, REQUESTS, method_label
from core.middleware import VALID, new_request_id
from surveys import stats
from surveys.ingest import refusals
from surveys.ingest.checks import JSON, RATE_LIMITED, Answer, NeedsIO, check, stored, unavailable, unstorable
from surveys.ingest.publish import publish, publisher
from surveys.ingest.store import delivery_row, group_outcomes, group_statement, original_select, store_delivery

logger = logging.getLogger("surveys.webhooks")

MAX_ROWS = 100


async def asgi_receive(scope, receive, send, slug: str) -> None:
    """One webhook request (HTTP scope; config.asgi checked the method, path and Host)."""
    started = time.perf_counter()
    headers = request_headers(scope)
    method = scope["method"]
    proxy = settings.SECURE_PROXY_SSL_HEADER
    secure = secure_from_proxy(headers.get(proxy[0][5:].replace("_", "-").lower()) if proxy else None,
                               scope.get("scheme", "http"))
    rid = request_id(headers.get("x-request-id", ""))
    token = request_id_var.set(rid)
    client = scope.get("client") or ("", 0)
    sender = refusals.sender_address(client[0] or "", headers.get("x-forwarded-for", ""))
    try:
        try:
            body = await _read_body(receive, headers) if method == "POST" else b""
        except TimeoutError:
            answer = replace(SLOW_BODY, rejected=(slug, "timeout"))
            await refusals.refused_async(answer, slug, headers, None, sender, _in_thread)
        else:
            answer = await _answer(method, slug, headers, scope.get("query_string", b"").decode("latin-1"), body,
                                   secure, sender)
    except Exception as exc:  # not even the door may answer 500
        logger.exception("webhook receive failed")
        answer = unavailable(exc)
    finally:
        request_id_var.reset(token)
    content, response_headers = rendered(answer, rid, secure)
    await send({"type": "http.response.start", "status": answer.status,
                "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in response_headers]})
    await send({"type": "http.response.body", "body": content if method != "HEAD" else b""})
    observe(method, scope.get("path", ""), answer.status, started)


def request_headers(scope) -> dict[str, str]:
    """Lower-case header names, repeated headers joined with commas (as Django's ASGI request)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def body_timeout() -> float:
    """Seconds a sender has to send the whole body once its headers are in (a slow sender's
    connection waits in the event loop and blocks no one, but is not kept forever)."""
    return settings.WEBHOOK_BODY_TIMEOUT_SECONDS


SLOW_BODY = Answer(408, {"error": "The body did not arrive in time; send it in one go."}, (("Connection", "close"),),
                   rejected=("", "timeout"), detail="Headers sent, then the body trickled in or never came.")


async def _read_body(receive, headers: dict[str, str]) -> bytes | None:
    """The raw body, or None when it is over WEBHOOK_MAX_BODY_BYTES (by its Content-Length, or
    as it streams in): `check` answers 413 then, after the source's own 404. TimeoutError when
    it has not all arrived within body_timeout()."""
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        if int(headers.get("content-length") or 0) > limit:
            return None
    except ValueError:
        pass
    task = asyncio.current_task()
    watch = _deadlines()
    watch.add(task, body_timeout())
    try:
        return await _read_chunks(receive, limit)
    except asyncio.CancelledError:
        if not watch.timed_out(task):
            raise
        task.uncancel()
        raise TimeoutError from None
    finally:
        watch.discard(task)


class BodyDeadlines:
    """The body timeout for every request of one event loop, at the cost of a dict entry each: one
    timer, armed while bodies are being read, wakes at most once per period and cancels the reads
    that are past their deadline (asyncio.timeout would arm and cancel a timer per request, over
    ten times the cost of reading a small body)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._due: dict[asyncio.Task, float] = {}
        self._expired: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._period = 1.0

    def add(self, task: asyncio.Task, seconds: float) -> None:
        self._due[task] = self._loop.time() + seconds
        if self._timer is None:
            self._period = min(1.0, max(seconds, 0.05))
            self._timer = self._loop.call_later(self._period, self._sweep)

    def discard(self, task: asyncio.Task) -> None:
        self._due.pop(task, None)
        self._expired.discard(task)

    def timed_out(self, task: asyncio.Task) -> bool:
        return task in self._expired

    def _sweep(self) -> None:
        now = self._loop.time()
        for task, due in list(self._due.items()):
            if due <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        self._timer = self._loop.call_later(self._period, self._sweep) if self._due else None


_watches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_last_watch: BodyDeadlines | None = None  # the one a worker's single loop uses: no weakref lookup per request


def _deadlines() -> BodyDeadlines:
    global _last_watch
    loop = asyncio.get_running_loop()
    found = _last_watch
    if found is None or found._loop is not loop:
        found = _watches.get(loop)
        if found is None:
            found = _watches[loop] = BodyDeadlines(loop)
        _last_watch = found
    return found


async def _read_chunks(receive, limit: int) -> bytes | None:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _answer(method: str, slug: str, headers: dict, query_string: str, body: bytes | None, secure: bool,
                  sender: str = "") -> Answer:
    answer = await _decide(method, slug, headers, query_string, body, secure)
    if answer.rejected is not None:
        await refusals.refused_async(answer, slug, headers, body, sender, _in_thread)
    return answer


async def _decide(method: str, slug: str, headers: dict, query_string: str, body: bytes | None, secure: bool) -> Answer:
    args = (method, slug, headers, query_string, lambda _length: body, secure)
    try:
        try:
            outcome = check(*args, blocking=False)
        except NeedsIO:
            outcome = await _in_thread(check, *args)
        if isinstance(outcome, Answer):
            return outcome
        if await stats.rate_limited_async(slug, outcome.source.rate_limit_per_second, time.time()):
            return replace(RATE_LIMITED, rejected=(slug, "rate_limited"))
        if not _on_postgresql():  # SQLite (the embedded setup): the Django view's one INSERT
            return stored(*await _in_thread(store_delivery, outcome.source, outcome.delivery_id,
                                            outcome.content_type, outcome.headers, outcome.body))
        row = delivery_row(outcome.source, outcome.delivery_id, outcome.content_type, outcome.headers, outcome.body)
        pk, created = await writer().submit(row)
        if created:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                await _in_thread(publish, pk)  # the task runs in the caller (surveys.ingest.publish)
            else:
                publish(pk)  # a queue put: the publisher's thread talks to the broker
        return stored(pk, row[1], created)
    except (DataError, psycopg.DataError) as exc:  # the data, not the database: retrying cannot help
        return unstorable(slug, exc)
    except (DatabaseError, psycopg.OperationalError, psycopg.InterfaceError) as exc:  # unreachable
        return unavailable(exc)


@functools.cache
def _on_postgresql() -> bool:
    return connections["default"].vendor == "postgresql"


# The threads that do the blocking work: a few, since the common request needs none.
IO_THREADS = 4
_io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="ingest-io")


async def _in_thread(function, *args):
    """Blocking work (the ORM, the sync Redis client) off the event loop, with the connection
    hygiene Django applies around a request and the request's log context."""

    def run():
        close_old_connections()
        try:
            return function(*args)
        finally:
            close_old_connections()

    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_io, context.run, run)


def _close_io_connections() -> None:
    """Close the database connection each blocking-work thread keeps (at shutdown): one task per
    thread, held at a barrier so that no thread takes two."""
    barrier = threading.Barrier(IO_THREADS)  # the pool starts any thread it has not started yet

    def close():
        connections.close_all()
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass

    for future in [_io.submit(close) for _ in range(IO_THREADS)]:
        future.result(timeout=10)


# --- what Django's handler and middleware would have done -------------------------------------

_hosts: dict[str, bool] = {}


def host_allowed(host: str) -> bool:
    """Whether the ingest server may answer for this Host (X-Forwarded-Host when trusted): it is in
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
    route = "webhooks/<str:slug>/" if path.endswith("/") else "webhooks/<str:slug>"
    method = method_label(method)
    LATENCY.labels(method, route).observe(time.perf_counter() - started)
    REQUESTS.labels(method, route, str(status)).inc()


# --- group commit on an asyncio connection ------------------------------------------------------

_writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def writer() -> GroupWriter:
    """The running event loop's writer (one per loop: one per uvicorn worker process)."""
    loop = asyncio.get_running_loop()
    found = _writers.get(loop)
    if found is None:
        found = _writers[loop] = GroupWriter()
    return found


class GroupWriter:
    def __init__(self):
        self._waiting: list[tuple[tuple, asyncio.Future]] = []
        self._task: asyncio.Task | None = None
        self._connection: psycopg.AsyncConnection | None = None

    async def submit(self, row: tuple) -> tuple[int, bool]:
        """Commit `row` (with whatever else is waiting) and return (id, created)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_ROWS]
                del self._waiting[:MAX_ROWS]
                try:
                    outcomes = await self._write([row for row, _future in batch])
                except Exception as exc:  # noqa: BLE001 - every request of the batch answers 503
                    outcomes = [exc] * len(batch)
                for (_row, future), outcome in zip(batch, outcomes):
                    if future.done():  # the request went away
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._task = None

    async def _write(self, rows: list[tuple]) -> list:
        """One statement for all rows: each row's (id, created) or its exception. A statement that
        fails on the data (not the connection) is redone row by row, so one bad row fails alone."""
        try:
            returned = await self._fetch_all(*group_statement(rows))
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except psycopg.Error:
            if len(rows) == 1:
                raise
            return [await self._one(row) for row in rows]
        outcomes = []
        for row, pk in zip(rows, group_outcomes(rows, returned)):
            outcomes.append((pk, True) if pk is not None else await self._original(row))
        return outcomes

    async def _one(self, row: tuple):
        try:
            return (await self._write([row]))[0]
        except Exception as exc:  # noqa: BLE001 - this row's own outcome
            return exc

    async def _original(self, row: tuple):
        """A repeated delivery: the original's id, created False."""
        try:
            found = await self._fetch_all(original_select(), [row[0], row[1]])
        except Exception as exc:  # noqa: BLE001 - this row's own outcome
            return exc
        if not found:
            return DatabaseError(f"delivery {row[1]!r} conflicted but cannot be found")
        return found[0][0], False

    async def _fetch_all(self, statement: str, params: list) -> list:
        """A kept connection that died (server restart, dropped by a proxy) is replaced and the
        statement run once more: it is idempotent (ON CONFLICT DO NOTHING)."""
        reused = self._connection is not None and not self._connection.closed
        if not reused:
            self._connection = await _connect()
        try:
            return await _run(self._connection, statement, params)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            await self.close()
            if not reused:
                raise
            logger.warning("webhook store: database connection lost; retrying once on a new one")
        self._connection = await _connect()
        return await _run(self._connection, statement, params)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass


async def _run(connection: psycopg.AsyncConnection, statement: str, params: list) -> list:
    async with connection.cursor() as cursor:
        await cursor.execute(statement, params)
        return await cursor.fetchall()


async def _connect() -> psycopg.AsyncConnection:
    """An autocommit connection with the settings of Django's default database, its statement
    preparation included (config/settings/database.py: prepared after a few runs, never behind a
    transaction-mode pooler, where the next statement may reach a server session that never saw
    the PREPARE)."""
    params = connections["default"].get_connection_params()
    for key in ("cursor_factory", "context"):
        params.pop(key, None)
    return await psycopg.AsyncConnection.connect(autocommit=True, **params)


async def shutdown() -> None:
    """At shutdown (ASGI lifespan): close this loop's connection and the blocking-work threads',
    and publish the deliveries still queued for the publishing thread."""
    found = _writers.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _close_io_connections)
    await loop.run_in_executor(None, publisher.flush)
