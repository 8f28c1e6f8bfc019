"""What the product sends, as a real SMTP server receives it: the team's From, the case's reply
address (Reply-To and envelope sender), the Message-ID kept on the timeline; automatic mails
marked as such; the mail-loop guard's hourly allowance."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings

from cases.mail.addresses import case_id_from_token, reply_address, token_for
from cases.mail.inbound import mail_receive
from cases.mail.models import OutgoingMail
from cases.models import CaseEvent, Notification
from cases.services import case_assign, case_email_customer
from tests.mail.conftest import eml

pytestmark = pytest.mark.django_db


def test_a_customer_e_mail_reaches_the_smtp_server_from_the_team_with_the_cases_reply_address(
        mail_case, personas, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_email_customer(case_id=mail_case.pk, by=personas.alice, subject="About your parcel",
                            body="We are sorry the parcel arrived broken.")
    assert len(smtp_server.received) == 1
    got = smtp_server.received[0]
    message = got.message
    event = CaseEvent.objects.get(case=mail_case, kind="contact")
    reply_to = message["Reply-To"]
    assert message["From"] == "North <north@closeloop.example>"
    assert reply_to.startswith("replies+") and reply_to.endswith("@closeloop.example")
    assert case_id_from_token(reply_to.split("+", 1)[1].split("@")[0]) == mail_case.pk
    assert got.mail_from == reply_to  # bounces come back to the case as well
    assert got.rcpt_tos == ["dana@customer.example"]
    assert message["Message-ID"] == f"<{event.data['message_id']}>"
    assert message["Message-ID"].endswith("@closeloop.example>")
    assert message["X-Closeloop-Case"] == mail_case.reference
    assert message["X-Loop"] == "replies@closeloop.example"
    assert message["Auto-Submitted"] is None  # a person wrote it
    assert OutgoingMail.objects.filter(case=mail_case, message_id=event.data["message_id"]).exists()
    assert "We are sorry the parcel arrived broken." in message.get_content()


def test_without_a_team_address_customer_e_mail_comes_from_the_site_sender(
        mail_case, personas, smtp_server, settings, django_capture_on_commit_callbacks):
    settings.DEFAULT_FROM_EMAIL = "Closeloop <cx@closeloop.example>"
    personas.north.mail_from = ""
    personas.north.save(update_fields=["mail_from"])
    with django_capture_on_commit_callbacks(execute=True):
        case_email_customer(case_id=mail_case.pk, by=personas.alice, subject="Hello", body="Hello again.")
    assert smtp_server.received[0].message["From"] == "Closeloop <cx@closeloop.example>"


def test_our_answer_threads_under_the_customers_last_reply(mail_case, personas, django_capture_on_commit_callbacks):
    mail_receive(eml("reply_es.eml", to=reply_address(mail_case.pk), message_id="lucia-1@cliente.example"),
                 door="imap")
    with django_capture_on_commit_callbacks(execute=True):
        case_email_customer(case_id=mail_case.pk, by=personas.alice, subject="Re: Su pedido", body="¡Gracias!")
    sent = next(m for m in mail.outbox if m.to == ["dana@customer.example"]).message()
    assert sent["In-Reply-To"] == "<lucia-1@cliente.example>"
    assert "<lucia-1@cliente.example>" in sent["References"]


def test_the_token_is_signed_case_insensitive_and_survives_a_key_rotation(settings):
    token = token_for(4242)
    assert case_id_from_token(token) == 4242
    assert case_id_from_token(token.upper()) == 4242  # a mail system lowercased or uppercased it
    number, mac = token.split("-")
    assert case_id_from_token(f"{number}-{'0' * 20}") is None
    other = token_for(4243).split("-")[0]
    assert case_id_from_token(f"{other}-{mac}") is None  # another case's id under this one's signature
    assert case_id_from_token("4242") is None and case_id_from_token("") is None
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "x" * 40, [old]
    assert case_id_from_token(token) == 4242
    settings.SECRET_KEY_FALLBACKS = []
    assert case_id_from_token(token) is None


def test_staff_notifications_are_marked_automatic(mail_case, personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case_assign(case_id=mail_case.pk, by=personas.alice, assignee=personas.bob)
    sent = mail.outbox[-1].message()
    assert mail.outbox[-1].to == [personas.bob.email]
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["X-Auto-Response-Suppress"] == "All"


@override_settings(MAIL_AUTOMATIC_PER_HOUR=2)
def test_the_mail_loop_guard_holds_back_the_third_reply_notification_within_the_hour(
        mail_case, personas, django_capture_on_commit_callbacks):
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            mail_receive(eml("reply_es.eml", to=reply_address(mail_case.pk), message_id=f"loop-{n}@cliente.example"),
                         door="imap")
    replied = Notification.objects.filter(case=mail_case, kind="customer_replied")
    assert replied.filter(channel="in_app").count() == 3  # the centre records every reply
    emails = replied.filter(channel="email").order_by("pk")
    assert [n.status for n in emails] == ["sent", "sent", "failed"]
    assert emails.last().error.startswith("Held back: more than 2 automatic e-mails")
    assert len([m for m in mail.outbox if m.to == [personas.alice.email]]) == 2
    assert mail.outbox[0].message()["Auto-Submitted"] == "auto-replied"
