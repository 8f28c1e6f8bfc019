"""A local stand-in for a survey tool's API, for the fetching presets' tests: a real HTTP server
on 127.0.0.1 (an ephemeral port) that answers each path with the JSON a test gave it and records
every request, so a test points the source's auth.api_base at it and checks what was called.

Also the helpers those tests share: posting a delivery through the door with the worker run
inline (CELERY_TASK_ALWAYS_EAGER, on_commit callbacks executed), and the alert rules that open a
case for a detractor (NPS <= 6) and for a bad binary CSAT (0 on 0-1)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import TestCase

from alerts.models import AlertRule
from tests.factories import AlertRuleFactory


class VendorStub:
    """Routes: path -> list of (status, JSON body) answered in turn; the last one repeats."""

    def __init__(self):
        self.routes: dict[str, list[tuple[int, object]]] = {}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                stub._answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, path: str, *replies: tuple[int, object]) -> None:
        self.routes[path] = list(replies)

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        with self._lock:
            self.requests.append({"path": url.path, "query": url.query,
                                  "headers": {k.lower(): v for k, v in handler.headers.items()}})
            replies = self.routes.get(url.path) or [(404, {"error": {"message": f"no stub for {url.path}"}})]
            status, payload = replies.pop(0) if len(replies) > 1 else replies[0]
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def vendor_api():
    """A vendor API stub for one test, and an empty definition cache (the test Redis database)."""
    cache.clear()
    stub = VendorStub()
    yield stub
    stub.close()
    cache.clear()


def meta(headers: dict) -> dict:
    """Lower-case HTTP headers -> the Django test client's META names."""
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


def post_through_door(client, source, body: bytes, headers: dict, content_type: str, query: str = ""):
    """POST to the source's webhook URL; the worker runs at commit, as CELERY_TASK_ALWAYS_EAGER does
    in tests. Returns the HTTP response."""
    path = f"/webhooks/{source.slug}/" + (f"?{query}" if query else "")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(path, data=body, content_type=content_type, **meta(headers))


def case_rules() -> None:
    """Exactly the rules these tests expect: a case for NPS <= 6 and for CSAT 0 on a binary scale."""
    AlertRule.objects.all().delete()
    AlertRuleFactory(name="Detractor", metric="nps", operator="lte", threshold=Decimal("6"),
                     action=AlertRule.Action.OPEN_CASE)
    AlertRuleFactory(name="Unsatisfied (binary)", metric="csat", operator="lte", threshold=Decimal("0"),
                     scale_min=0, scale_max=1, action=AlertRule.Action.OPEN_CASE)
