"""The one inbound service (cases.mail.inbound.mail_receive) on real RFC 822 messages: a reply
lands once on its case with quoted history stripped and attachments listed, the case is marked
"customer replied" and its assignee told; bounces and automatic replies are recorded as such and
change nothing else; unknown or altered tokens are refused with a reason; closed cases reopen or
get a linked follow-up by the team's setting."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from accounts.models import Team
from cases.mail.addresses import reply_address
from cases.mail.inbound import mail_receive
from cases.mail.message import read, strip_quoted
from cases.mail.models import InboundMail, OutgoingMail
from cases.models import Case, CaseEvent, Notification
from cases.services import case_close
from tests.factories import RootCauseFactory
from tests.mail.conftest import eml
from cases.timeline import event_note

pytestmark = pytest.mark.django_db


def _reply(case, message_id="dana-1@customer.example", name="reply_en.eml", **extra) -> bytes:
    return eml(name, to=reply_address(case.pk), message_id=message_id, in_reply_to=extra.pop("in_reply_to", "x@y"),
               **extra)


def test_a_reply_lands_once_on_its_case_with_the_quote_stripped_and_attachments_listed(
        mail_case, personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = mail_receive(_reply(mail_case), door="imap")
    second = mail_receive(_reply(mail_case), door="mailgun")  # the same mail again, through another door
    assert first.new and not second.new and second.mail.pk == first.mail.pk
    assert InboundMail.objects.count() == 1
    row = InboundMail.objects.get()
    assert (row.case_id, row.outcome, row.door, row.from_address) == (
        mail_case.pk, "reply", "imap", "dana@customer.example")
    assert row.text == "Thanks, the replacement arrived today and it works."
    assert row.attachments == [{"name": "parcel.jpg", "size": 57, "type": "image/jpeg"}]
    events = CaseEvent.objects.filter(case=mail_case, kind="customer_replied")
    assert events.count() == 1
    event = events.get()
    assert event.note == "Thanks, the replacement arrived today and it works."
    assert event.data["attachment_names"] == [{"name": "parcel.jpg", "size": 57, "type": "image/jpeg"}]
    assert event.data["message_id"] == "dana-1@customer.example"
    centre = Notification.objects.get(case=mail_case, kind="customer_replied", channel="in_app")
    assert centre.recipient_id == personas.alice.pk
    assert [m.to for m in mail.outbox] == [[personas.alice.email]]
    assert "Thanks, the replacement arrived today" in mail.outbox[0].body


def test_a_spanish_reply_loses_its_quoted_history():
    raw = eml("reply_es.eml", to="replies+1-0@closeloop.example", message_id="m@x")
    assert read(raw).text == "Gracias, ya está resuelto."


@pytest.mark.parametrize("text, reply", [
    ("Merci, c'est réglé.\n\nLe jeu. 3 déc. 2026 à 16:12, North <north@closeloop.example> a écrit :\n> Désolés.\n",
     "Merci, c'est réglé."),
    ("Danke, alles gut.\n\nAm Do., 3. Dez. 2026 um 16:12 Uhr schrieb North <north@closeloop.example>:\n> Sorry.\n",
     "Danke, alles gut."),
    (("Fine now.\n\nFrom: North <north@closeloop.example>\nSent: Thursday, December 3, 2026 4:12 PM\n"
      "To: Dana\nSubject: About your parcel\n\nWe are sorry.\n"), "Fine now."),
    ("> Can you send a photo?\nHere it is.\n> And the order number?\n12345\n",
     "> Can you send a photo?\nHere it is.\n> And the order number?\n12345"),  # answered between the quotes
])
def test_quoted_history_goes_in_each_demo_language_and_outlooks_form(text, reply):
    assert strip_quoted(text) == reply


def test_a_reply_does_not_stop_the_first_contact_clock(mail_case):
    mail_receive(_reply(mail_case), door="imap")
    mail_case.refresh_from_db()
    assert mail_case.first_contacted_at is None and mail_case.status == "new"


def test_a_bounce_is_recorded_as_such_and_is_not_the_customer_answering(mail_case):
    receipt = mail_receive(eml("bounce_dsn.eml", to=reply_address(mail_case.pk), message_id="dsn-1@mx"), door="imap")
    assert receipt.mail.outcome == "bounce"
    assert receipt.mail.reason == "multipart/report; report-type=delivery-status"
    event = CaseEvent.objects.get(case=mail_case, kind="email_bounced")
    assert event.to_value == "5.1.1"
    assert event.data["bounce_note"]["recipient"] == "dana@customer.example"
    assert not CaseEvent.objects.filter(case=mail_case, kind="customer_replied").exists()
    assert not Notification.objects.filter(case=mail_case, kind="customer_replied").exists()
    assert not mail.outbox


def test_an_out_of_office_reply_is_recorded_and_nobody_is_told(mail_case):
    receipt = mail_receive(eml("auto_reply.eml", to=reply_address(mail_case.pk), message_id="ooo-1@x"), door="imap")
    assert (receipt.mail.outcome, receipt.mail.reason) == ("auto_reply", "Auto-Submitted: auto-replied")
    assert CaseEvent.objects.get(case=mail_case, kind="email_auto_reply").note == "I am out of the office until Monday."
    assert not CaseEvent.objects.filter(case=mail_case, kind="customer_replied").exists()
    assert not Notification.objects.filter(case=mail_case).exists()


AUTOMATIC = "From: a@b.example\r\nTo: replies+1-0@closeloop.example\r\nMessage-ID: <a@b>\r\n{header}\r\n\r\nAway.\r\n"


@pytest.mark.parametrize("header, kind, why", [
    ("X-Autoreply: yes", "auto_reply", "X-Autoreply"),
    ("X-Autorespond: on vacation", "auto_reply", "X-Autorespond"),
    ("Precedence: bulk", "auto_reply", "Precedence: bulk"),
    ("Precedence: auto_reply", "auto_reply", "Precedence: auto_reply"),
    ("Auto-Submitted: auto-generated", "auto_reply", "Auto-Submitted: auto-generated"),
    ("Auto-Submitted: no", "reply", ""),
    ("Return-Path: <>", "bounce", "null sender (Return-Path: <>)"),
    ("Return-Path: <>\r\nAuto-Submitted: auto-replied", "auto_reply", "Auto-Submitted: auto-replied"),
    ("X-Failed-Recipients: a@b.example", "bounce", "X-Failed-Recipients"),
    ("X-Closeloop-Case: CL-000001", "auto_reply", "mail loop: our own e-mail came back"),
    ("X-Loop: replies@closeloop.example", "auto_reply", "mail loop: our own e-mail came back"),
    ("Precedence: first-class", "reply", ""),
])
def test_automatic_mail_is_recognised_by_its_headers(header, kind, why):
    mail_read = read(AUTOMATIC.format(header=header).encode())
    assert (mail_read.kind, mail_read.why) == (kind, why)


def test_an_unknown_or_altered_token_is_a_recorded_refusal(mail_case):
    altered = reply_address(mail_case.pk).replace("+", "+9").replace("@", "0@", 1)
    refused = mail_receive(eml("reply_en.eml", to=altered, message_id="forged@x", in_reply_to="none@x"), door="imap")
    unknown = mail_receive(eml("reply_en.eml", to="someone@elsewhere.example", message_id="stray@x",
                               in_reply_to="none@x"), door="imap")
    assert (refused.mail.outcome, refused.mail.case_id) == ("refused", None)
    assert refused.mail.reason == "The reply address's token is not valid (made up or altered)."
    assert (unknown.mail.outcome, unknown.mail.case_id) == ("refused", None)
    assert unknown.mail.reason == "Not sent to a case's reply address, and it answers no e-mail we sent."
    assert not CaseEvent.objects.filter(case=mail_case, kind="customer_replied").exists()


def test_a_reply_without_the_token_finds_its_case_by_in_reply_to(mail_case):
    OutgoingMail.objects.create(case=mail_case, message_id="ours-1@closeloop.example")
    receipt = mail_receive(eml("reply_en.eml", to="north@closeloop.example", message_id="thread@x",
                               in_reply_to="ours-1@closeloop.example"), door="imap")
    assert (receipt.mail.outcome, receipt.mail.case_id) == ("reply", mail_case.pk)


def test_message_ids_are_unique_in_the_database(mail_case):
    InboundMail.objects.create(message_id="same@x", door="imap", outcome="reply", case=mail_case)
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundMail.objects.create(message_id="same@x", door="mailgun", outcome="reply", case=mail_case)


def _close(case, personas):
    return case_close(case_id=case.pk, by=personas.alice, root_cause_id=RootCauseFactory().pk,
                      resolution="Replaced the parcel.", outcome="resolved")


def test_a_reply_to_a_closed_case_reopens_it_by_default(mail_case, personas):
    _close(mail_case, personas)
    mail_receive(_reply(mail_case), door="imap")
    mail_case.refresh_from_db()
    assert mail_case.status == "in_progress" and mail_case.reopen_count == 1
    kinds = list(CaseEvent.objects.filter(case=mail_case).order_by("id").values_list("kind", flat=True))
    assert kinds[-3:] == ["status", "reopened", "customer_replied"]
    assert event_note(CaseEvent.objects.get(case=mail_case, kind="reopened")) == "The customer replied by e-mail."


def test_a_reply_to_a_closed_case_opens_a_linked_follow_up_when_the_team_says_so(mail_case, personas):
    personas.north.mail_reply_to_closed = Team.ClosedReply.FOLLOW_UP
    personas.north.save(update_fields=["mail_reply_to_closed"])
    _close(mail_case, personas)
    receipt = mail_receive(_reply(mail_case), door="imap")
    mail_case.refresh_from_db()
    follow_up = Case.objects.exclude(pk=mail_case.pk).get()
    assert mail_case.status == "closed"
    assert receipt.mail.case_id == follow_up.pk and receipt.as_dict()["case"] == follow_up.reference
    assert (follow_up.status, follow_up.customer_id, follow_up.team_id, follow_up.assignee_id) == (
        "new", mail_case.customer_id, personas.north.pk, personas.alice.pk)
    opened = CaseEvent.objects.get(case=follow_up, kind="opened")
    assert opened.data["follow_up_of"] == mail_case.reference
    assert CaseEvent.objects.get(case=follow_up, kind="customer_replied").note.startswith("Thanks, the replacement")
    assert CaseEvent.objects.get(case=mail_case, kind="customer_replied").data["follow_up"] == follow_up.reference
    assert Notification.objects.filter(case=follow_up, kind="customer_replied", channel="in_app",
                                       recipient=personas.alice).count() == 1


def test_the_case_page_shows_the_reply_and_lists_its_attachments(client, mail_case, personas):
    mail_receive(_reply(mail_case), door="imap")
    client.force_login(personas.alice)
    page = client.get(f"/cases/{mail_case.reference}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "The customer replied by e-mail" in html
    assert "Thanks, the replacement arrived today and it works." in html
    assert "parcel.jpg (image/jpeg, 57\xa0bytes)" in html


def test_erasing_the_customer_empties_their_replies_but_keeps_the_message_id(mail_case):
    from cases.services import cases_erase_free_text

    mail_receive(_reply(mail_case), door="imap")
    cases_erase_free_text(case_ids=[mail_case.pk])
    row = InboundMail.objects.get()
    assert (row.message_id, row.from_address, row.subject, row.text, row.attachments) == (
        "dana-1@customer.example", "", "", "", [])
    event = CaseEvent.objects.get(case=mail_case, kind="customer_replied")
    assert event.note == "" and not {"from_email", "subject", "attachment_names", "message_id"} & set(event.data)
    again = mail_receive(_reply(mail_case), door="mailgun")  # a replay after the erasure
    assert not again.new and CaseEvent.objects.filter(case=mail_case, kind="customer_replied").count() == 1


@pytest.mark.parametrize("raw", [
    b"\xff\xfe\x00garbage without headers",
    (b"From: =?utf-8?b?////?= <\xff@x>\r\nTo: =?bogus?q?x?=\r\nMessage-ID: <\x00>\r\n"
     b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\nContent-Disposition: attachment; filename*=x''%ZZ\r\n\r\n"),
    b"",
])
def test_hostile_bytes_are_recorded_as_refused_never_an_error(raw):
    receipt = mail_receive(raw, door="imap")
    assert receipt.mail.outcome == "refused" and receipt.mail.case_id is None
    assert mail_receive(raw, door="imap").new is False
