"""Secrets and personal data never reach the logs. Representative flows run with every logger
at DEBUG; the lines the production handler would write (JSON, redacted) are scanned for the
webhook secret, the API token, the password, and the customer's e-mail and phone number."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.factories import PASSWORD, api_key_for
from tests.surveys.payloads import WHSEC, closeloop_body, make_source, signed

EMAIL = "grace.hopper@example.net"
PHONE = "+1 202 555 0143"


@pytest.fixture
def production_log():
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from core.logging import ContextFilter, RedactingFilter

    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ["", *logging.root.manager.loggerDict]}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_representative_flows_leave_no_secret_in_the_logs(client, personas, production_log, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    # A webhook with its secret, a bad signature, and a customer with e-mail and phone.
    source = make_source("standard", secret=WHSEC)
    body = closeloop_body(response_id="log-1", nps=1, email=EMAIL, comment=f"call me on {PHONE} please")
    body = body.replace(b'"name": "Ann Lee"', f'"name": "Grace Hopper", "phone": "{PHONE}"'.encode())
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(f"/webhooks/{source.slug}/", data=body, content_type="application/json", **signed("standard", source, body))
    assert ok.status_code == 202
    forged = client.post(f"/webhooks/{source.slug}/", data=body, content_type="application/json",
                         HTTP_WEBHOOK_ID="x", HTTP_WEBHOOK_TIMESTAMP="1", HTTP_WEBHOOK_SIGNATURE="v1,AAAA")
    assert forged.status_code == 401
    # Sign-in with a password: a failure, then a success.
    assert client.post("/login/", {"username": "alice", "password": "wrong-" + PASSWORD}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    # The API with a token; a bad token; the customer's data exported.
    key = api_key_for(personas.adam)
    from surveys.models import Customer

    customer = Customer.objects.get(email__iexact=EMAIL)
    api = client.get(f"/api/v1/customers/{customer.pk}/export/", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.status_code == 200 and EMAIL in api.content.decode()
    assert client.get("/api/v1/customers/1/export/", HTTP_AUTHORIZATION="Token " + key[:-4] + key[-4:][::-1]).status_code == 401
    client.get("/metrics")

    written = production_log.getvalue()
    assert written.count("\n") >= 3, "the flows should have logged something"
    for value in (WHSEC, WHSEC.removeprefix("whsec_"), key, PASSWORD, EMAIL, PHONE):
        assert value not in written, f"{value!r} reached the log output"
    for line in written.splitlines():
        json.loads(line)  # one JSON object per line
    raw = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for value in (WHSEC.removeprefix("whsec_"), key, PASSWORD):
        assert value not in raw, f"{value!r} was handed to a logger at all"
