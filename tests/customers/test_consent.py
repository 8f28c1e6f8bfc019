"""Contact consent per channel: edited through one service (page and API), kept as history, and
honoured where the product contacts someone: the case e-mail action and the recovery check."""

from __future__ import annotations

import pytest
from django.test import Client

from cases.models import Notification
from customers.models import ConsentChange
from customers.services import customer_consent_set
from followup.models import Verification
from followup.tasks import verification_sweep_task
from surveys.models import Customer
from tests.factories import api_key_for
from tests.followup.conftest import closed_case
from tests.inbox.helpers import make_case, make_customer

pytestmark = pytest.mark.django_db


def test_the_email_action_refuses_a_customer_who_refused_email(personas, api_client):
    customer = make_customer("Ann Lee", email="ann@example.com")
    case = make_case(personas.north, customer=customer)
    customer_consent_set(customer_id=customer.pk, channel="email", consent="refused", by=personas.alice,
                         via="on the phone")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.alice)}")
    response = api_client.post(f"/api/v1/cases/{case.pk}/email/", {"subject": "Sorry", "body": "We will fix it."},
                               format="json")
    assert response.status_code == 400
    assert response.json() == {"customer": ["This customer asked not to be contacted by e-mail."]}
    assert not Notification.objects.filter(kind="customer_email").exists()
    client = Client()
    client.force_login(personas.alice)
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'id="action-email"' not in page  # not offered either
    # Refusing SMS only leaves e-mail open again.
    customer_consent_set(customer_id=customer.pk, channel="email", consent="", by=personas.alice)
    customer_consent_set(customer_id=customer.pk, channel="sms", consent="refused", by=personas.alice)
    response = api_client.post(f"/api/v1/cases/{case.pk}/email/", {"subject": "Sorry", "body": "We will fix it."},
                               format="json")
    assert response.status_code == 200
    assert Notification.objects.filter(kind="customer_email", address="ann@example.com").count() == 1


def test_the_recovery_check_skips_a_customer_who_refused_email(personas, mailoutbox):
    refused = make_customer("Ann Lee", email="ann@example.com")
    customer_consent_set(customer_id=refused.pk, channel="email", consent="refused", by=personas.alice)
    by_phone_only = closed_case(customer=refused)
    asked = closed_case(customer=make_customer("Bo Lane", email="bo@example.com"))
    verification_sweep_task()
    assert dict(Verification.objects.values_list("case_id", "skip_reason")) == {by_phone_only.pk: "opted_out",
                                                                             asked.pk: ""}
    assert [m.to for m in mailoutbox] == [["bo@example.com"]]


def test_a_refusal_after_the_check_was_created_still_stops_the_mail(personas, mailoutbox, settings):
    customer = make_customer("Ann Lee", email="ann@example.com")
    case = closed_case(customer=customer)
    from followup.services import verifications_create_due

    verifications_create_due()
    customer_consent_set(customer_id=customer.pk, channel="email", consent="refused", by=personas.alice)
    verification_sweep_task()
    assert Verification.objects.get(case=case).status == Verification.Status.SKIPPED
    assert mailoutbox == []


def test_consent_changes_are_kept_with_who_and_how(personas):
    customer = make_customer("Ann Lee", email="ann@example.com")
    assert customer_consent_set(customer_id=customer.pk, channel="phone", consent="granted", by=personas.alice,
                                via="asked in store") is True
    assert customer_consent_set(customer_id=customer.pk, channel="phone", consent="granted", by=personas.bob) is False
    assert customer_consent_set(customer_id=customer.pk, channel="any", consent="refused", by=personas.bob) is True
    customer.refresh_from_db()
    assert (customer.contact_consent, customer.contact_opt_out) == ({"phone": "granted"}, True)
    assert list(ConsentChange.objects.order_by("pk").values_list("channel", "from_value", "to_value", "via",
                                                                  "by__username")) == [
        ("phone", "", "granted", "asked in store", "alice"), ("any", "", "refused", "", "bob")]


def test_the_consent_form_saves_or_says_what_is_wrong(personas):
    customer = make_customer("Ann Lee", email="ann@example.com")
    make_case(personas.north, customer=customer)
    client = Client()
    client.force_login(personas.alice)
    path = f"/customers/{customer.pk}/consent/"
    assert client.post(path, {"channel": "sms", "consent": "refused", "via": "replied STOP"}).status_code == 302
    assert Customer.objects.get(pk=customer.pk).contact_consent == {"sms": "refused"}
    bad = client.post(path, {"channel": "fax", "consent": "refused"})
    assert bad.status_code == 400
    assert "Select a valid choice. fax is not one of the available choices." in bad.content.decode()
    charlie = Client()
    charlie.force_login(personas.charlie)  # South: nothing of this customer is theirs
    assert charlie.post(path, {"channel": "sms", "consent": "granted"}).status_code == 404
    assert Customer.objects.get(pk=customer.pk).contact_consent == {"sms": "refused"}


def test_the_consent_api_answers_400_naming_the_field(personas, api_client):
    customer = make_customer("Ann Lee", email="ann@example.com")
    make_case(personas.north, customer=customer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(personas.alice)}")
    path = f"/api/v1/customers/{customer.pk}/consent/"
    response = api_client.post(path, {"channel": "fax", "consent": "maybe"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"channel": ['"fax" is not a valid choice.'], "consent": ['"maybe" is not a valid choice.']}
    ok = api_client.post(path, {"channel": "email", "consent": "refused", "via": "letter"}, format="json")
    assert ok.status_code == 200
    assert [row for row in ok.json()["consent"] if row["channel"] == "email"] == [{"channel": "email", "value": "refused"}]
