"""On real PostgreSQL, with threads: the same e-mail through two doors at the same moment."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection

from cases.mail.addresses import reply_address
from cases.mail.inbound import mail_receive
from cases.mail.models import InboundMail
from cases.models import CaseEvent, Notification
from tests.concurrency import run_concurrently
from tests.mail.conftest import eml

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_mail_through_four_doors_at_once_lands_once(mail_case, monkeypatch):
    assert connection.vendor == "postgresql"
    monkeypatch.setattr("cases.notifications.dispatch_on_commit", lambda: None)  # delivery is not the subject
    raw = eml("reply_en.eml", to=reply_address(mail_case.pk), message_id="race-1@customer.example", in_reply_to="x@y")
    receipts = run_concurrently(*[partial(mail_receive, raw, door=door)
                                  for door in ("mailgun", "postmark", "imap", "pipe")])
    assert sorted(r.new for r in receipts) == [False, False, False, True]
    assert len({r.mail.pk for r in receipts}) == 1
    assert InboundMail.objects.count() == 1
    assert CaseEvent.objects.filter(case=mail_case, kind="customer_replied").count() == 1
    assert Notification.objects.filter(case=mail_case, kind="customer_replied", channel="in_app").count() == 1
