"""Requests through the two doors gunicorn serves, as a server would make them:
`config.wsgi.application` (the web process: Django's handler, middleware and the Django view,
surveys.ingest.django_view) and `config.asgi.application` (the ingest server,
surveys.ingest.asgi: one event loop per worker). Both return (status, headers, body bytes), with
the headers in a case-insensitive mapping."""

from __future__ import annotations

import asyncio
import gc
import io
import os
import sys
import threading

from asgiref.sync import sync_to_async
from django.db import connections
from django.utils.datastructures import CaseInsensitiveMapping

from config import asgi, wsgi
from surveys.ingest import asgi as ingest_asgi
from tests.surveys.payloads import closeloop_body, standard_headers


def wsgi_call(method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = "",
              content_type: str | None = "application/json", host: str = "testserver"):
    """One request through config.wsgi.application; `headers` in WSGI/META style (HTTP_X_Y)."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": query,
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.version": (1, 0), "CONTENT_LENGTH": str(len(body)), **(headers or {}),
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = int(status.split()[0]), CaseInsensitiveMapping(dict(response_headers))

    chunks = wsgi.application(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return started["status"], started["headers"], content


def signed_deliveries(source, *, unique: int, repeats: int) -> list[tuple[bytes, dict]]:
    """(body, Standard Webhooks headers) for `unique` deliveries (ids msg_0...), then the same
    delivery (msg_same) `repeats` times."""
    requests = []
    for i in range(unique):
        body = closeloop_body(response_id=f"r{i}")
        requests.append((body, standard_headers(source.secret, body, msg_id=f"msg_{i}")))
    same = closeloop_body(response_id="same")
    return requests + [(same, standard_headers(source.secret, same, msg_id="msg_same"))] * repeats


def terminate_backend(pid: int) -> None:
    """Kill one PostgreSQL backend from another connection, as a server restart or a proxy would.
    Behind the suite's PgBouncer (TEST_PGBOUNCER=1) `pid` is the pool's stand-in, not a server's,
    and a server session that dies is replaced by the pool unseen: the pool drops its client
    connections to the test database instead (config.testenv.pgbouncer_release), as its restart would."""
    if os.environ.get("CLOSELOOP_TEST_PGBOUNCER_ADMIN"):
        from config.testenv import pgbouncer_release

        own = connections["default"]
        collateral = own.connection is not None and own.connection.info.backend_pid != pid
        pgbouncer_release(own.settings_dict["NAME"])
        if collateral:  # the test's own connection went too: it reconnects on its next query
            own.close()
        return
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def scope_for(method: str, path: str, body: bytes, headers: dict | None, query: str, content_type: str | None,
              host: str = "testserver") -> dict:
    """An HTTP scope from META-style headers (HTTP_X_Y -> x-y)."""
    raw = [(b"host", host.encode()), (b"content-length", str(len(body)).encode())]
    if content_type is not None:
        raw.append((b"content-type", content_type.encode()))
    for key, value in (headers or {}).items():
        raw.append((key.removeprefix("HTTP_").replace("_", "-").lower().encode(), value.encode()))
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": raw, "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}


async def asgi_request(scope: dict, body: bytes):
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


class EventLoop:
    """One event loop in its own thread, like a uvicorn worker's, for many requests."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = "",
             content_type: str | None = "application/json", host: str = "testserver"):
        return self.run(asgi_request(scope_for(method, path, body, headers, query, content_type, host), body))

    def close(self) -> None:
        """What the lifespan's shutdown does, and Django's own thread's connection (pages served
        through Django's ASGI handler), so the test database can be dropped."""
        self.run(ingest_asgi.shutdown(), 20)
        self.run(sync_to_async(connections.close_all)())
        self.run(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
        # Django's ASGI handler runs each page in a thread of its own that keeps its connection
        # (CONN_MAX_AGE; the Procfile runs the ingest server with 0): gone with the thread.
        gc.collect()
