"""Two-way e-mail test set-up: the mail settings, a real SMTP server on loopback (aiosmtpd), a case
with a customer and an assignee, and RFC 822 fixtures (tests/mail/eml/) filled in per test."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.factories import CustomerFactory, opened_case

EML = Path(__file__).parent / "eml"
REPLY_ADDRESS = "replies@closeloop.example"
MAILGUN_KEY = "key-test-mailgun-signing"
WEBHOOK_SECRET = "inbound:s3cret-basic-auth"


def eml(name: str, **values: str) -> bytes:
    """A fixture message with {to}, {message_id}, {in_reply_to} filled in (CRLF line ends, as on the wire)."""
    text = (EML / name).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.MAIL_REPLY_ADDRESS = REPLY_ADDRESS
    settings.MAIL_AUTOMATIC_PER_HOUR = 20
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


@pytest.fixture
def mail_case(personas):
    """North's case for dana@customer.example, assigned to alice; North mails from north@closeloop.example."""
    personas.north.mail_from = "north@closeloop.example"
    personas.north.save(update_fields=["mail_from"])
    customer = CustomerFactory(name="Dana Customer", email="dana@customer.example")
    return opened_case(team=personas.north, assignee=personas.alice, response__customer=customer)


class Received:
    """What the SMTP server accepted: envelope sender, recipients and the parsed message."""

    def __init__(self, envelope):
        self.mail_from = envelope.mail_from
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)


class Collector:
    def __init__(self):
        self.received: list[Received] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(envelope))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a loopback port, with Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port(), ready_timeout=10)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield collector
    finally:
        controller.stop()
