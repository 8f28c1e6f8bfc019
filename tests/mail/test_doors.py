"""The providers' doors (django-anymail's inbound webhooks), with payloads built the way each
provider documents them: Mailgun's signed form post (HMAC-SHA256 of timestamp and token under the
webhook signing key), Postmark's JSON with the basic-auth credentials of the inbound URL. Each
lands once in the right case; a bad signature gets anymail's 400 and records nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.mail.addresses import reply_address
from cases.mail.models import InboundMail
from cases.models import CaseEvent
from tests.mail.conftest import MAILGUN_KEY, WEBHOOK_SECRET, eml

pytestmark = pytest.mark.django_db

MAILGUN = "/mail/inbound/mailgun/"
POSTMARK = "/mail/inbound/postmark/"


def mailgun_form(case, *, message_id="dana-mg@customer.example", key=MAILGUN_KEY, token="a" * 50,
                 timestamp="1796374800") -> dict:
    """Mailgun's "forward()" route post, parsed form (documented fields), signed."""
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    to = reply_address(case.pk)
    headers = [["Return-Path", "<dana@customer.example>"], ["From", "Dana Customer <dana@customer.example>"],
               ["To", f"North <{to}>"], ["Subject", "Re: About your parcel"], ["Message-Id", f"<{message_id}>"],
               ["In-Reply-To", "<ours@closeloop.example>"]]
    return {
        "timestamp": timestamp, "token": token, "signature": signature,
        "recipient": to, "sender": "dana@customer.example", "from": "Dana Customer <dana@customer.example>",
        "subject": "Re: About your parcel",
        "body-plain": "It works now, thank you!\n\nOn Thu, Dec 3, 2026 at 4:12 PM North wrote:\n> Sorry.\n",
        "stripped-text": "It works now, thank you!",
        "message-headers": json.dumps(headers),
        "attachment-count": "1",
        "attachment-1": SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt", content_type="application/pdf"),
    }


def postmark_json(case, *, message_id="dana-pm@customer.example") -> dict:
    """Postmark's inbound webhook JSON (documented fields, attachments base64)."""
    to = reply_address(case.pk)
    return {
        "FromName": "Dana Customer", "From": "dana@customer.example",
        "FromFull": {"Email": "dana@customer.example", "Name": "Dana Customer"},
        "To": to, "ToFull": [{"Email": to, "Name": ""}], "OriginalRecipient": to,
        "Subject": "Re: About your parcel", "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Fri, 4 Dec 2026 09:00:00 +0000",
        "TextBody": "Still broken, sorry.\n\nOn Thu, Dec 3, 2026 at 4:12 PM North wrote:\n> Sorry.\n",
        "StrippedTextReply": "Still broken, sorry.",
        "Headers": [{"Name": "Return-Path", "Value": "<dana@customer.example>"},
                    {"Name": "Message-ID", "Value": f"<{message_id}>"}],
        "Attachments": [{"Name": "photo.png", "Content": base64.b64encode(b"\x89PNG fake").decode(),
                         "ContentType": "image/png", "ContentLength": 9}],
    }


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_a_signed_mailgun_post_lands_once_in_the_case(client, mail_case):
    answer = client.post(MAILGUN, mailgun_form(mail_case))
    assert answer.status_code == 200
    assert answer.json() == {"received": [{"message_id": "dana-mg@customer.example", "outcome": "reply", "new": True,
                                           "case": mail_case.reference, "reason": ""}]}
    again = client.post(MAILGUN, mailgun_form(mail_case, token="b" * 50))  # Mailgun retried
    assert again.status_code == 200 and again.json()["received"][0]["new"] is False
    row = InboundMail.objects.get()
    assert (row.door, row.case_id, row.text) == ("mailgun", mail_case.pk, "It works now, thank you!")
    assert row.attachments == [{"name": "receipt.pdf", "size": 16, "type": "application/pdf"}]
    assert CaseEvent.objects.filter(case=mail_case, kind="customer_replied").count() == 1


def test_mailguns_raw_mime_form_is_read_the_same_way(client, mail_case):
    form = mailgun_form(mail_case)
    for field in ("body-plain", "stripped-text", "message-headers", "attachment-count", "attachment-1"):
        form.pop(field)
    form["body-mime"] = eml("reply_en.eml", to=reply_address(mail_case.pk), message_id="mime-1@customer.example",
                            in_reply_to="x@y").decode()
    answer = client.post(MAILGUN, form)
    assert answer.status_code == 200 and answer.json()["received"][0]["case"] == mail_case.reference
    assert InboundMail.objects.get().attachments == [{"name": "parcel.jpg", "size": 57, "type": "image/jpeg"}]


def test_a_bad_mailgun_signature_gets_anymails_400_and_records_nothing(client, mail_case):
    answer = client.post(MAILGUN, mailgun_form(mail_case, key="not-the-signing-key"))
    assert answer.status_code == 400
    assert not InboundMail.objects.exists()
    assert not CaseEvent.objects.filter(case=mail_case, kind="customer_replied").exists()


def test_a_postmark_post_with_the_inbound_credentials_lands_once_in_the_case(client, mail_case):
    answer = client.post(POSTMARK, postmark_json(mail_case), content_type="application/json",
                         HTTP_AUTHORIZATION=basic(WEBHOOK_SECRET))
    assert answer.status_code == 200
    assert answer.json()["received"] == [{"message_id": "dana-pm@customer.example", "outcome": "reply", "new": True,
                                          "case": mail_case.reference, "reason": ""}]
    row = InboundMail.objects.get()
    assert (row.door, row.text, row.from_address) == ("postmark", "Still broken, sorry.", "dana@customer.example")
    assert row.attachments == [{"name": "photo.png", "size": 9, "type": "image/png"}]


def test_postmarks_raw_email_field_is_read_too(client, mail_case):
    payload = postmark_json(mail_case)
    payload["RawEmail"] = eml("reply_es.eml", to=reply_address(mail_case.pk), message_id="raw-1@cliente.example").decode()
    answer = client.post(POSTMARK, payload, content_type="application/json", HTTP_AUTHORIZATION=basic(WEBHOOK_SECRET))
    assert answer.status_code == 200
    assert InboundMail.objects.get().text == "Gracias, ya está resuelto."


def test_wrong_postmark_credentials_get_anymails_400(client, mail_case):
    answer = client.post(POSTMARK, postmark_json(mail_case), content_type="application/json",
                         HTTP_AUTHORIZATION=basic("inbound:guess"))
    assert answer.status_code == 400
    assert not InboundMail.objects.exists()


def test_the_same_mail_through_both_doors_lands_once(client, mail_case):
    client.post(MAILGUN, mailgun_form(mail_case, message_id="both@customer.example"))
    answer = client.post(POSTMARK, postmark_json(mail_case, message_id="both@customer.example"),
                         content_type="application/json", HTTP_AUTHORIZATION=basic(WEBHOOK_SECRET))
    assert answer.status_code == 200 and answer.json()["received"][0]["new"] is False
    assert InboundMail.objects.count() == 1 and InboundMail.objects.get().door == "mailgun"
    assert CaseEvent.objects.filter(case=mail_case, kind="customer_replied").count() == 1


def test_a_reply_to_an_unknown_address_is_answered_200_and_recorded_as_refused(client, mail_case):
    payload = postmark_json(mail_case, message_id="stray@customer.example")
    payload["ToFull"] = [{"Email": "sales@closeloop.example", "Name": ""}]
    payload["OriginalRecipient"] = payload["To"] = "sales@closeloop.example"
    answer = client.post(POSTMARK, payload, content_type="application/json", HTTP_AUTHORIZATION=basic(WEBHOOK_SECRET))
    assert answer.status_code == 200
    assert answer.json()["received"][0]["outcome"] == "refused"
    assert InboundMail.objects.get().reason == "Not sent to a case's reply address, and it answers no e-mail we sent."


@pytest.mark.parametrize("body, content_type", [
    ("{not json", "application/json"),
    (json.dumps({"RecordType": "Bounce", "Email": "x@y"}), "application/json"),  # the tracking webhook, pointed here
    ("[]", "application/json"),
    (json.dumps({"Headers": "not a list", "FromFull": 7}), "application/json"),
])
def test_a_post_that_is_not_an_inbound_e_mail_is_a_400_naming_the_problem(client, body, content_type):
    answer = client.post(POSTMARK, body, content_type=content_type, HTTP_AUTHORIZATION=basic(WEBHOOK_SECRET))
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("Not an inbound e-mail from Postmark")
    assert not InboundMail.objects.exists()


def test_a_door_without_its_secret_is_closed(client, settings, mail_case):
    settings.ANYMAIL = {}
    assert client.post(MAILGUN, mailgun_form(mail_case)).status_code == 404
    assert client.post("/mail/inbound/sendgrid/", {}).status_code == 404
    assert client.get(MAILGUN).status_code == 405


def test_a_post_over_the_inbound_limit_is_a_413(client, settings, mail_case):
    settings.MAIL_INBOUND_MAX_BYTES = 200
    answer = client.post(POSTMARK, postmark_json(mail_case), content_type="application/json",
                         HTTP_AUTHORIZATION=basic(WEBHOOK_SECRET))
    assert answer.status_code == 413 and "MAIL_INBOUND_MAX_BYTES" in answer.json()["detail"]
    assert not InboundMail.objects.exists()
