"""core.outbound, the one client for URLs a person configured (issue #20 item 3): production
refuses loopback, link-local/metadata and private addresses after DNS resolution, plain http and
redirects to them; bodies and time are bounded; errors never echo the body. The suite's own
allow-list (settings.OUTBOUND_ALLOWED_NETWORKS) is what lets its loopback servers through: each
production test below empties it."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from core import outbound

PRODUCTION = {"OUTBOUND_ALLOWED_NETWORKS": [], "OUTBOUND_HTTPS_ONLY": True}


class Server:
    """A loopback HTTP server answering every request with (status, headers, body); records paths."""

    def __init__(self, status=200, headers=None, body=b"{}", host="127.0.0.1", silent=False):
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                server.paths.append(self.path)
                if silent:
                    server.release.wait(5)  # never answers in time: the client's read timeout fires first
                    return
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.release = threading.Event()
        self.httpd = HTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs):
        servers.append(Server(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://169.254.169.254/latest/meta-data/", "https://10.0.0.5/", "https://172.16.3.4/",
    "https://192.168.1.1/", "https://100.64.0.1/", "https://0.0.0.0/", "https://[::1]/", "https://[fd00::1]/",
    "https://[::ffff:127.0.0.1]/", "https://localhost/hook",
])
def test_production_refuses_internal_addresses(settings, url):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    assert "address" in outbound.url_problem(url)
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("POST", url, json={"text": "hi"})


def test_production_refuses_plain_http(settings):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    assert outbound.url_problem("http://hooks.example.com/x", resolve=False) == (
        "Use an https:// URL: plain http is not sent in production.")
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", "http://hooks.example.com/x")


def test_a_name_resolving_to_loopback_is_refused_when_connecting(settings, serve):
    server = serve()
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(outbound.OutboundRefused, match="localhost resolves to 127.0.0.1"):
        outbound.request("GET", server.url.replace("127.0.0.1", "localhost"))
    assert server.paths == []


def test_the_connection_goes_to_the_address_that_was_checked(settings, serve, monkeypatch):
    """DNS rebinding: the name is resolved once, and that checked answer is what is connected to."""
    server = serve()
    port = server.httpd.server_port
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))],
                    [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]])
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: next(answers) if host == "rebind.test"
                        else real(host, *a, **k))
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", f"http://rebind.test:{port}/hook")
    assert server.paths == []


def test_a_redirect_to_an_internal_address_is_checked_again(settings, serve):
    target = serve()
    first = serve(status=302, headers={"Location": target.url}, host="127.0.0.2")
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]  # only the first hop is "public"
    settings.OUTBOUND_HTTPS_ONLY = False
    assert outbound.request("GET", first.url).status == 302  # not followed by default
    with pytest.raises(outbound.OutboundRefused, match="127.0.0.1"):
        outbound.request("GET", first.url, max_redirects=3)
    assert target.paths == [] and first.paths == ["/hook", "/hook"]


def test_a_redirect_to_plain_http_is_refused_in_production(settings):
    settings.OUTBOUND_HTTPS_ONLY = True
    with pytest.raises(outbound.OutboundRefused, match="https"):
        outbound.request("GET", "http://example.com/")


def test_an_allowed_redirect_is_followed_and_credentials_stay_with_their_host(serve):
    target = serve(body=b'{"ok": true}')
    first = serve(status=307, headers={"Location": target.url.replace("127.0.0.1", "localhost")})
    reply = outbound.request("GET", first.url, headers={"Authorization": "Bearer s3cret"}, max_redirects=2)
    assert (reply.status, reply.json()) == (200, {"ok": True})
    assert target.paths == ["/hook"]


def test_a_body_over_the_limit_is_not_read(serve):
    server = serve(body=b"x" * 2048)
    with pytest.raises(outbound.OutboundError, match="over the 1024-byte limit"):
        outbound.request("GET", server.url, max_bytes=1024)


def test_a_silent_server_times_out(serve):
    server = serve(silent=True)
    with pytest.raises(outbound.OutboundUnavailable, match="did not answer in time"):
        outbound.request("GET", server.url, timeout=(1, 0.3))


def test_a_chat_webhook_error_never_echoes_the_body(serve):
    from cases.notifications import TransportError, post_webhook

    server = serve(status=500, body=b"internal: DATABASE_URL=postgres://admin:pw@db/prod")
    with pytest.raises(TransportError) as refused:
        post_webhook(server.url, {"text": "hi"})
    assert str(refused.value) == "webhook answered 500"


def test_a_vendor_api_on_an_internal_address_fails_the_delivery_without_retry(settings):
    from surveys.adapters import FetchRequest, MappingError
    from surveys.vendor_api import get_json

    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(MappingError, match="169.254.169.254"):
        get_json(FetchRequest(key="response", url="http://169.254.169.254/latest/meta-data/",
                              headers={"X-API-TOKEN": "t"}))


@pytest.mark.django_db
def test_settings_refuse_internal_urls_with_a_field_error(settings, personas, client):
    from accounts.validation import channel_problems
    from surveys.services.sources import source_problems

    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    problems = channel_problems("", "https://169.254.169.254/hook", "notify", None)
    assert list(problems) == ["msteams_webhook_url"] and "169.254.169.254" in problems["msteams_webhook_url"][0]
    problems = source_problems(vendor="qualtrics", auth={"api_base": "https://127.0.0.1/API/v3", "api_token": "t"})
    assert any(m.startswith("api_base: 127.0.0.1 is a private") for m in problems["auth"])
