"""The product's own "Did we put it right?" e-mails follow the contact policy too."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from contactpolicy.models import ContactEvent
from contactpolicy.services import policy_update
from followup.models import Verification
from followup.services import verification_send
from followup.tasks import verification_sweep_task
from tests.factories import SurveyResponseFactory
from tests.followup.conftest import closed_case, make_customer

pytestmark = pytest.mark.django_db


def test_a_sent_check_is_a_contact_in_the_ledger(personas, mailoutbox):
    case = closed_case()
    verification_sweep_task()
    verification = Verification.objects.get(case=case)
    event = ContactEvent.objects.get()
    assert (event.customer_id, event.kind, event.sender, event.external_id, event.at) == (
        case.customer_id, "recovery_check", "closeloop", f"verification-{verification.pk}", verification.sent_at)
    assert event.in_breach is False


def test_a_customer_over_the_survey_limit_is_not_asked(personas, mailoutbox):
    policy_update(by=None, max_surveys=2)
    customer = make_customer()
    case = closed_case(customer=customer)
    SurveyResponseFactory(customer=customer, answered_at=timezone.now() - dt.timedelta(days=3), external_id="x1")
    verification_sweep_task()
    verification = Verification.objects.get(case=case)
    assert (verification.status, verification.skip_reason) == ("skipped", "policy")
    assert mailoutbox == []
    assert not ContactEvent.objects.exists()


def test_quiet_hours_hold_the_check_until_they_end(personas, mailoutbox):
    customer = make_customer()
    case = closed_case(customer=customer)
    customer.attributes = {"timezone": "UTC"}
    customer.save(update_fields=["attributes"])
    verification_sweep_task()  # the check exists and, outside quiet hours, is sent
    verification = Verification.objects.get(case=case)
    Verification.objects.filter(pk=verification.pk).update(status="pending", sent_at=None)
    ContactEvent.objects.all().delete()
    policy_update(by=None, quiet_hours=True, quiet_start=dt.time(21, 0), quiet_end=dt.time(8, 0))
    night = timezone.now().replace(hour=23, minute=30, second=0, microsecond=0)
    assert verification_send(verification_id=verification.pk, now=night) == "deferred"
    assert Verification.objects.get(pk=verification.pk).status == "pending"
    morning = night + dt.timedelta(hours=9)
    assert verification_send(verification_id=verification.pk, now=morning) == "sent"
    assert Verification.objects.get(pk=verification.pk).sent_at == morning
