"""The decision survey tools ask for: each rule, its reason, and when it ends."""

import datetime as dt

import pytest

from cases.models import Case
from contactpolicy.models import ContactEvent
from contactpolicy.services import ContactRow, Purpose, contact_decision, contact_record, policy_update
from tests.factories import CaseFactory, CustomerFactory, RootCauseFactory, SurveyResponseFactory, WebhookSourceFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)


def codes(decision):
    return [reason.code for reason in decision.reasons]


def test_a_customer_with_no_history_may_be_asked():
    customer = CustomerFactory()
    decision = contact_decision(customer, at=NOW)
    assert decision.may_contact is True
    assert decision.reasons == ()
    assert decision.next_allowed_at == NOW
    assert decision.surveys_in_period == 0


def test_an_unknown_address_may_be_asked_and_says_nothing_is_known():
    decision = contact_decision(None, at=NOW)
    assert decision.may_contact is True
    assert decision.customer_id is None


def test_opted_out_and_refused_channel_have_no_end():
    opted_out = CustomerFactory(contact_opt_out=True)
    no_sms = CustomerFactory(contact_consent={"sms": "refused"})
    decision = contact_decision(opted_out, at=NOW)
    assert codes(decision) == ["opted_out"]
    assert decision.next_allowed_at is None
    assert codes(contact_decision(no_sms, channel="sms", at=NOW)) == ["channel_refused"]
    assert contact_decision(no_sms, channel="email", at=NOW).may_contact is True


def test_an_open_case_blocks_a_survey_but_not_the_recovery_check_about_it():
    customer = CustomerFactory()
    case = CaseFactory(response=SurveyResponseFactory(customer=customer, answered_at=NOW - dt.timedelta(days=2)),
                       created_at=NOW - dt.timedelta(days=2))
    decision = contact_decision(customer, at=NOW)
    assert codes(decision) == ["open_case"]
    assert decision.next_allowed_at is None
    assert contact_decision(customer, at=NOW, purpose=Purpose.RECOVERY_CHECK, case_id=case.pk).may_contact is True


def test_rest_days_after_a_case_closed_end_on_a_stated_day():
    customer = CustomerFactory()
    closed = NOW - dt.timedelta(days=3)
    CaseFactory(response=SurveyResponseFactory(customer=customer, answered_at=NOW - dt.timedelta(days=9)),
                created_at=NOW - dt.timedelta(days=9), status=Case.Status.CLOSED, closed_at=closed,
                root_cause=RootCauseFactory(), outcome=Case.Outcome.RESOLVED, resolution="Refunded.")
    decision = contact_decision(customer, at=NOW)
    assert codes(decision) == ["recently_closed"]
    assert decision.next_allowed_at == closed + dt.timedelta(days=14)
    policy_update(by=None, days_after_close=2)
    assert contact_decision(customer, at=NOW).may_contact is True


def test_the_survey_limit_counts_answers_and_reported_invitations_once_each():
    customer = CustomerFactory()
    source = WebhookSourceFactory()
    # An invitation a tool reported, then the answer to it (same source): one contact.
    ContactEvent.objects.create(customer=customer, kind="invitation", source=source, sender="tool", external_id="i1",
                                at=NOW - dt.timedelta(days=20))
    SurveyResponseFactory(customer=customer, source=source, answered_at=NOW - dt.timedelta(days=19))
    # An answer from another tool that reported nothing: one more.
    SurveyResponseFactory(customer=customer, source=WebhookSourceFactory(slug="other"),
                          answered_at=NOW - dt.timedelta(days=10))
    decision = contact_decision(customer, at=NOW)
    assert decision.surveys_in_period == 2
    assert decision.may_contact is True
    # A third contact reaches the default limit of 3 in 30 days.
    ContactEvent.objects.create(customer=customer, kind="recovery_check", sender="closeloop", external_id="v1",
                                at=NOW - dt.timedelta(days=5))
    decision = contact_decision(customer, at=NOW)
    assert codes(decision) == ["frequency"]
    assert decision.surveys_in_period == 3
    assert decision.reasons[0].message == "Asked 3 times in the last 30 days; the policy allows 3."
    # Allowed again when the oldest of the three leaves the 30-day window.
    assert decision.next_allowed_at == NOW - dt.timedelta(days=20) + dt.timedelta(days=30)


def test_contacts_older_than_the_period_do_not_count():
    customer = CustomerFactory()
    for days in (40, 35, 31):
        SurveyResponseFactory(customer=customer, answered_at=NOW - dt.timedelta(days=days))
    assert contact_decision(customer, at=NOW).surveys_in_period == 0


def test_quiet_hours_in_the_customers_zone():
    policy_update(by=None, quiet_hours=True, quiet_start=dt.time(21, 0), quiet_end=dt.time(8, 0))
    madrid = CustomerFactory(attributes={"timezone": "Europe/Madrid"})
    tokyo = CustomerFactory(attributes={"timezone": "Asia/Tokyo"})
    # 12:00 UTC is 14:00 in Madrid (June) and 21:00 in Tokyo.
    assert contact_decision(madrid, at=NOW).may_contact is True
    decision = contact_decision(tokyo, at=NOW)
    assert codes(decision) == ["quiet_hours"]
    assert decision.time_zone == "Asia/Tokyo"
    # Until 08:00 the next morning in Tokyo: 23:00 UTC.
    assert decision.next_allowed_at == dt.datetime(2026, 6, 10, 23, 0, tzinfo=dt.UTC)
    assert decision.reasons[0].message == "It is 21:00 in the customer's time zone (Asia/Tokyo): quiet hours until 08:00."


def test_a_zone_attribute_that_is_not_a_zone_falls_back_to_the_policys():
    policy_update(by=None, quiet_hours=True, default_time_zone="America/New_York")
    customer = CustomerFactory(attributes={"timezone": "Mars/Olympus"})
    decision = contact_decision(customer, at=dt.datetime(2026, 6, 10, 3, 0, tzinfo=dt.UTC))  # 23:00 in New York
    assert decision.time_zone == "America/New_York"
    assert codes(decision) == ["quiet_hours"]


def test_every_reason_is_given_and_the_latest_end_wins():
    policy_update(by=None, quiet_hours=True, max_surveys=1)
    customer = CustomerFactory(attributes={"timezone": "Asia/Tokyo"})
    SurveyResponseFactory(customer=customer, answered_at=NOW - dt.timedelta(days=1))
    decision = contact_decision(customer, at=NOW)
    assert codes(decision) == ["frequency", "quiet_hours"]
    assert decision.next_allowed_at == NOW - dt.timedelta(days=1) + dt.timedelta(days=30)


def test_recording_an_invitation_is_idempotent_and_notes_a_breach():
    customer = CustomerFactory(email="ana@example.com")
    CaseFactory(response=SurveyResponseFactory(customer=customer, answered_at=NOW - dt.timedelta(days=1)),
                created_at=NOW - dt.timedelta(days=1))
    row = ContactRow(sent_at=NOW, email="ANA@example.com", sender="mailer", external_id="batch-7:ana")
    event, created = contact_record(row)
    assert created is True
    assert event.customer_id == customer.pk
    assert event.in_breach is True
    assert event.breach_reasons == ["open_case"]
    again, created = contact_record(row)
    assert (again.pk, created) == (event.pk, False)
    assert ContactEvent.objects.count() == 1


def test_a_merged_customer_is_followed_to_the_one_it_was_merged_into():
    target = CustomerFactory(email="new@example.com")
    CustomerFactory(email="old@example.com", merged_into=target)
    event, _created = contact_record(ContactRow(sent_at=NOW, email="old@example.com", sender="mailer"))
    assert event.customer_id == target.pk
