"""The IMAP door: the poller (imap-tools) against a stub IMAP4 server on loopback, feeding the same
service as the webhooks. Unseen messages are recorded once and marked seen; a message that came
through a webhook already is marked seen without landing twice."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.mail.addresses import reply_address
from cases.mail.imap import poll
from cases.mail.inbound import mail_receive
from cases.mail.models import InboundMail
from cases.models import CaseEvent
from cases.tasks import mail_poll_imap_task
from tests.mail.conftest import eml
from tests.mail.imap_stub import ImapStub, Mailbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def imap_settings(settings):
    settings.MAIL_IMAP_HOST = "127.0.0.1"
    settings.MAIL_IMAP_SECURITY = "none"
    settings.MAIL_IMAP_USER = "replies@closeloop.example"
    settings.MAIL_IMAP_PASSWORD = "imap-pass"
    settings.MAIL_IMAP_FOLDER = "INBOX"
    return settings


def test_the_poller_records_unseen_messages_once_and_marks_them_seen(mail_case, imap_settings):
    to = reply_address(mail_case.pk)
    box = Mailbox("replies@closeloop.example", "imap-pass", [
        eml("reply_en.eml", to=to, message_id="imap-1@customer.example", in_reply_to="x@y"),
        eml("auto_reply.eml", to=to, message_id="imap-ooo@customer.example"),
        eml("reply_es.eml", to=to, message_id="hook-1@cliente.example"),
    ])
    mail_receive(eml("reply_es.eml", to=to, message_id="hook-1@cliente.example"), door="postmark")  # came by webhook
    with ImapStub(box) as stub:
        imap_settings.MAIL_IMAP_PORT = stub.port
        first = poll()
        second = poll()
    assert first.as_dict() == {"fetched": 3, "recorded": 2, "duplicates": 1, "failed": 0}
    assert second.as_dict() == {"fetched": 0, "recorded": 0, "duplicates": 0, "failed": 0}
    assert box.seen == {1, 2, 3}
    rows = dict(InboundMail.objects.values_list("message_id", "door"))
    assert rows == {"imap-1@customer.example": "imap", "imap-ooo@customer.example": "imap",
                    "hook-1@cliente.example": "postmark"}
    assert CaseEvent.objects.filter(case=mail_case, kind="customer_replied").count() == 2
    assert CaseEvent.objects.filter(case=mail_case, kind="email_auto_reply").count() == 1


def test_the_beat_task_and_the_command_poll_the_same_mailbox(mail_case, imap_settings, capsys):
    box = Mailbox("replies@closeloop.example", "imap-pass",
                  [eml("reply_en.eml", to=reply_address(mail_case.pk), message_id="cmd-1@x", in_reply_to="x@y")])
    with ImapStub(box) as stub:
        imap_settings.MAIL_IMAP_PORT = stub.port
        call_command("mail_poll_imap")
        assert mail_poll_imap_task() == {"fetched": 0, "recorded": 0, "duplicates": 0, "failed": 0}
    assert capsys.readouterr().out.strip() == "fetched 1, recorded 1, duplicates 0, failed 0"
    assert InboundMail.objects.get().case_id == mail_case.pk


def test_wrong_imap_credentials_fail_loudly_and_record_nothing(mail_case, imap_settings):
    from imap_tools.errors import MailboxLoginError

    with ImapStub(Mailbox("replies@closeloop.example", "right", [b"x"])) as stub:
        imap_settings.MAIL_IMAP_PORT = stub.port
        with pytest.raises(MailboxLoginError):
            poll()
    assert not InboundMail.objects.exists()


def test_without_a_mailbox_there_is_nothing_to_poll(settings):
    settings.MAIL_IMAP_HOST = ""
    assert poll() is None and mail_poll_imap_task() is None
    with pytest.raises(CommandError, match="MAIL_IMAP_HOST is not set"):
        call_command("mail_poll_imap")


def test_an_unencrypted_mailbox_must_be_on_this_machine(imap_settings):
    from django.core.exceptions import ImproperlyConfigured

    imap_settings.MAIL_IMAP_HOST = "imap.example.com"
    with pytest.raises(ImproperlyConfigured, match="MAIL_IMAP_SECURITY=none"):
        poll()


def test_the_pipe_command_records_a_message_from_standard_input(mail_case, monkeypatch, capsys):
    raw = eml("reply_en.eml", to=reply_address(mail_case.pk), message_id="pipe-1@customer.example", in_reply_to="x@y")
    for expected in (f"customer reply on {mail_case.reference}",
                     f"customer reply on {mail_case.reference} (already recorded)"):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
        call_command("mail_receive")
        assert capsys.readouterr().out.strip() == expected
    assert InboundMail.objects.get().door == "pipe"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(CommandError, match="No e-mail on standard input"):
        call_command("mail_receive")
