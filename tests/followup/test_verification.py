"""The recovery-check sweep: who is asked, once per closure, and what the e-mail says."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from cases.models import CaseEvent
from cases.services import case_close, case_reopen
from followup import services
from followup.models import Verification
from followup.tasks import verification_send_task, verification_sweep_task
from tests.concurrency import run_concurrently
from tests.followup.conftest import RESOLUTION, closed_case, link_path, make_customer, root_cause

pytestmark = pytest.mark.django_db

Status = Verification.Status
Reason = Verification.SkipReason


class BrokenBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_it_asks_once_per_closure(personas, mailoutbox):
    case = closed_case()
    result = verification_sweep_task()
    assert result["created"] == 1 and result["queued"] == 1
    verification = Verification.objects.get(case=case)
    assert verification.status == Status.SENT and verification.round == 0
    assert verification.team == case.team and verification.root_cause == case.root_cause
    assert verification.touchpoint == "delivery" and verification.email == case.customer.email
    assert verification.expires_at - verification.sent_at == dt.timedelta(days=14)
    assert [m.to for m in mailoutbox] == [[case.customer.email]]
    sent = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.VERIFICATION_SENT)
    assert sent.data == {"verification_id": verification.pk} and sent.actor is None

    # A second sweep (and a third) asks nobody again.
    verification_sweep_task()
    verification_sweep_task()
    assert Verification.objects.count() == 1 and len(mailoutbox) == 1
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.VERIFICATION_SENT).count() == 1


def test_the_email_greets_the_customer_recaps_their_words_and_holds_a_working_link(personas, mailoutbox, client):
    customer = make_customer(name="Dana Whitfield")
    closed_case(customer=customer, comment="The parcel came two days late and the box was crushed.")
    verification_sweep_task()
    message = mailoutbox[0]
    assert message.subject == "Did we put it right? Your feedback about delivery"
    assert "Hello Dana Whitfield," in message.body
    assert "The parcel came two days late and the box was crushed." in message.body
    html = message.alternatives[0][0]
    assert "Dana Whitfield" in html and "Did we put it right?" in html
    # Never the team's internal notes or root cause.
    assert "courier blacklisted" not in message.body and "courier blacklisted" not in html
    assert root_cause().name not in message.body
    page = client.get(link_path(message.body))
    assert page.status_code == 200
    assert "Did we put it right?" in page.content.decode()


def test_it_waits_for_the_delay_and_only_asks_about_resolved_recent_closures(personas, mailoutbox):
    too_soon = closed_case(closed_ago=dt.timedelta(minutes=20))
    not_resolved = closed_case(outcome="not_resolved")
    unreachable = closed_case(outcome="unreachable")
    too_old = closed_case(closed_ago=dt.timedelta(days=8))
    verification_sweep_task()
    assert not Verification.objects.filter(case__in=[too_soon, not_resolved, unreachable, too_old]).exists()
    assert mailoutbox == []
    # Once the delay has passed, the recent resolved closure is asked.
    later = timezone.now() + dt.timedelta(minutes=45)
    services.verifications_create_due(now=later)
    assert list(Verification.objects.values_list("case_id", flat=True)) == [too_soon.pk]


def test_customers_who_may_not_be_asked_are_skipped_with_the_reason(personas, mailoutbox):
    opted_out = closed_case(customer=make_customer(contact_opt_out=True))
    no_email = closed_case(customer=make_customer(email=""))
    erased = closed_case(customer=make_customer(erased_at=timezone.now()))
    nobody = closed_case(customer=None)
    nobody.customer = None
    nobody.save(update_fields=["customer"])
    tired = make_customer()
    earlier = closed_case(customer=tired, closed_ago=dt.timedelta(days=10))
    Verification.objects.create(case=earlier, round=0, customer=tired, team=earlier.team, status=Status.SENT,
                                sent_at=timezone.now() - dt.timedelta(days=9), email=tired.email)
    fatigued = closed_case(customer=tired)
    verification_sweep_task()
    reasons = dict(Verification.objects.exclude(case=earlier).values_list("case_id", "skip_reason"))
    assert reasons == {
        opted_out.pk: Reason.OPTED_OUT, no_email.pk: Reason.NO_EMAIL, erased.pk: Reason.ERASED,
        nobody.pk: Reason.NO_EMAIL, fatigued.pk: Reason.FATIGUE,
    }
    assert set(Verification.objects.exclude(case=earlier).values_list("status", flat=True)) == {Status.SKIPPED}
    assert mailoutbox == []
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.VERIFICATION_SENT).exists()


def test_fatigue_lifts_after_the_window(personas, mailoutbox, settings):
    settings.VERIFICATION_FATIGUE_DAYS = 5
    customer = make_customer()
    earlier = closed_case(customer=customer, closed_ago=dt.timedelta(days=10))
    Verification.objects.create(case=earlier, round=0, customer=customer, team=earlier.team, status=Status.ANSWERED,
                                sent_at=timezone.now() - dt.timedelta(days=9), email=customer.email)
    case = closed_case(customer=customer)
    verification_sweep_task()
    assert Verification.objects.get(case=case).status == Status.SENT


def test_two_closures_for_one_customer_ask_once(personas, mailoutbox):
    customer = make_customer()
    first = closed_case(customer=customer, closed_ago=dt.timedelta(hours=3))
    second = closed_case(customer=customer)
    verification_sweep_task()
    assert Verification.objects.get(case=first).status == Status.SENT
    assert Verification.objects.get(case=second).skip_reason == Reason.FATIGUE
    assert len(mailoutbox) == 1


def test_a_case_closed_again_after_a_reopen_is_asked_again(personas, mailoutbox, settings):
    settings.VERIFICATION_FATIGUE_DAYS = 0
    case = closed_case(closed_ago=dt.timedelta(hours=5))
    verification_sweep_task()
    case_reopen(case_id=case.pk, by=personas.alice, reason="The customer called back.",
                at=timezone.now() - dt.timedelta(hours=4))
    case_close(case_id=case.pk, by=personas.alice, root_cause_id=root_cause().pk, resolution=RESOLUTION,
               outcome="resolved", at=timezone.now() - dt.timedelta(hours=2))
    verification_sweep_task()
    assert list(Verification.objects.filter(case=case).order_by("round").values_list("round", "status")) == [
        (0, Status.SENT), (1, Status.SENT)]
    assert len(mailoutbox) == 2


def test_a_case_reopened_before_the_check_went_out_is_not_asked(personas, mailoutbox):
    case = closed_case()
    services.verifications_create_due()
    case_reopen(case_id=case.pk, by=personas.alice, reason="More to do.")
    verification = Verification.objects.get(case=case)
    assert verification_send_task(verification.pk) == "skipped"
    verification.refresh_from_db()
    assert (verification.status, verification.skip_reason) == (Status.SKIPPED, Reason.REOPENED)
    assert mailoutbox == []


def test_a_customer_who_opts_out_after_the_sweep_is_not_sent_the_check(personas, mailoutbox):
    case = closed_case()
    services.verifications_create_due()
    services.customer_opt_out(customer_id=case.customer_id, via="phone call")
    assert verification_send_task(Verification.objects.get(case=case).pk) == "skipped"
    assert Verification.objects.get(case=case).skip_reason == Reason.OPTED_OUT and mailoutbox == []


def test_a_mail_failure_is_recorded_retried_and_finally_given_up(personas, mailoutbox, settings):
    settings.EMAIL_BACKEND = "tests.followup.test_verification.BrokenBackend"
    case = closed_case()
    verification_sweep_task()
    verification = Verification.objects.get(case=case)
    assert verification.status == Status.PENDING and verification.attempts == 1
    assert "mail server down" in verification.error
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.VERIFICATION_SENT).exists()
    verification_sweep_task()
    verification.refresh_from_db()
    assert verification.attempts == 2 and verification.status == Status.PENDING
    for _ in range(4):
        verification_sweep_task()
    verification.refresh_from_db()
    assert verification.status == Status.FAILED and verification.attempts == services.MAX_SEND_ATTEMPTS
    assert verification.error.startswith("Gave up after 6 attempts: ConnectionRefusedError")
    verification_sweep_task()
    verification.refresh_from_db()
    assert verification.attempts == 6  # no longer handed out
    # The mail server is back: nothing is owed any more.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    verification_sweep_task()
    assert mailoutbox == []


def test_unanswered_checks_expire_when_the_link_runs_out(personas, mailoutbox):
    case = closed_case()
    verification_sweep_task()
    assert services.verifications_expire(now=timezone.now() + dt.timedelta(days=13)) == 0
    assert services.verifications_expire(now=timezone.now() + dt.timedelta(days=15)) == 1
    assert Verification.objects.get(case=case).status == Status.EXPIRED


def test_the_question_style_is_a_setting(personas, mailoutbox, settings):
    settings.VERIFICATION_QUESTION = "yes_no"
    closed_case()
    verification_sweep_task()
    assert Verification.objects.get().question == Verification.Question.YES_NO
    assert "Choose yes or no" in mailoutbox[0].body


def test_nothing_is_asked_when_the_feature_is_off(personas, mailoutbox, settings):
    settings.VERIFICATION_ENABLED = False
    closed_case()
    verification_sweep_task()
    assert not Verification.objects.exists() and mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_and_sends_ask_each_customer_once(personas, mailoutbox):
    assert connection.vendor == "postgresql"
    cases = [closed_case() for _ in range(12)]
    results = run_concurrently(*[services.verifications_create_due] * 3)
    assert all(isinstance(r, dict) for r in results), results
    assert Verification.objects.count() == 12
    assert set(Verification.objects.values_list("case_id", flat=True)) == {c.pk for c in cases}
    # Every worker is handed every pending check at once: each is still sent exactly once.
    ids = services.verifications_owed()
    outcomes = run_concurrently(*[lambda: [services.verification_send(verification_id=i) for i in ids]] * 3)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert sum(o.count("sent") for o in outcomes) == 12
    assert len(mailoutbox) == 12 and len({m.to[0] for m in mailoutbox}) == 12
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.VERIFICATION_SENT).count() == 12
    assert set(Verification.objects.values_list("status", flat=True)) == {Status.SENT}


def test_the_task_gives_up_after_its_last_retry(personas, mailoutbox):
    case = closed_case()
    services.verifications_create_due()
    verification = Verification.objects.get(case=case)
    services.verification_give_up(verification_id=verification.pk, error="SMTPServerDisconnected")
    verification.refresh_from_db()
    assert verification.status == Status.FAILED and verification.error == "Gave up: SMTPServerDisconnected"
    assert verification_send_task(verification.pk) == "skipped" and mailoutbox == []
