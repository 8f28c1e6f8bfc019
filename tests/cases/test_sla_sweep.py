"""The every-minute sweep: overdue and due-soon recorded once, the escalation ladder, sla_state."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Team
from cases.models import Case, CaseEvent, Notification, NotificationPreference
from cases.services import case_claim, case_log_contact, cases_sweep_sla
from cases.sla import sla_state
from tests.cases.conftest import open_case

pytestmark = pytest.mark.django_db


def make_overdue(case, *, hours=1):
    """Move the clocks into the past (test set-up; the app never edits due times)."""
    past = timezone.now() - dt.timedelta(hours=hours)
    Case.objects.filter(pk=case.pk).update(first_contact_due=past, resolution_due=past + dt.timedelta(minutes=30))
    case.refresh_from_db()
    return case


def test_a_case_becomes_overdue_once_and_notifies_assignee_and_managers(personas):
    Team.objects.filter(pk=personas.north.pk).update(slack_webhook_url="http://127.0.0.1:9/slack")
    case = make_overdue(case_claim(case_id=open_case().pk, by=personas.alice))
    first = cases_sweep_sla()
    second = cases_sweep_sla()
    assert first["overdue"] == 1 and second["overdue"] == 0
    assert CaseEvent.objects.filter(case=case, kind="overdue").count() == 1
    rows = Notification.objects.filter(case=case, kind="overdue")
    assert sorted(rows.values_list("channel", "address")) == [
        ("email", "alice@example.com"), ("email", "mia@example.com"), ("slack", "http://127.0.0.1:9/slack")]
    case.refresh_from_db()
    assert case.escalation_level == 1 and case.overdue_at is not None


def test_a_user_who_switched_overdue_off_is_not_told(personas):
    NotificationPreference.objects.create(user=personas.mia, kind="overdue", enabled=False)
    case = make_overdue(case_claim(case_id=open_case().pk, by=personas.alice))
    cases_sweep_sla()
    assert list(Notification.objects.filter(case=case).values_list("address", flat=True)) == ["alice@example.com"]


def test_level_two_after_the_delay_notifies_the_contact_and_raises_priority(personas):
    Team.objects.filter(pk=personas.north.pk).update(escalation_delay_minutes=60, escalation_email="boss@example.com")
    case = make_overdue(open_case(), hours=3)
    now = timezone.now()
    cases_sweep_sla(now=now)
    assert cases_sweep_sla(now=now + dt.timedelta(minutes=30))["escalated"] == 0
    result = cases_sweep_sla(now=now + dt.timedelta(minutes=61))
    assert result["escalated"] == 1 and result["priority_raised"] == 1
    case.refresh_from_db()
    assert case.escalation_level == 2 and case.priority == "high" and case.version == 2
    assert Notification.objects.filter(case=case, kind="escalated", address="boss@example.com").count() == 1
    priority = case.events.get(kind="priority")
    assert (priority.from_value, priority.to_value, priority.version) == ("normal", "high", 2)
    assert cases_sweep_sla(now=now + dt.timedelta(minutes=200))["escalated"] == 0


def test_a_notify_only_team_escalates_without_raising_priority(personas):
    Team.objects.filter(pk=personas.north.pk).update(escalation="notify_only", escalation_delay_minutes=0,
                                                    escalation_email="boss@example.com")
    case = make_overdue(open_case())
    result = cases_sweep_sla()  # a delay of 0 escalates in the same sweep
    assert result["overdue"] == 1 and result["escalated"] == 1 and result["priority_raised"] == 0
    case.refresh_from_db()
    assert case.priority == "normal" and case.escalation_level == 2


def test_due_soon_is_recorded_once_for_the_assignee(personas):
    case = case_claim(case_id=open_case().pk, by=personas.alice)
    Case.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() + dt.timedelta(minutes=30))
    assert cases_sweep_sla()["due_soon"] == 1
    assert cases_sweep_sla()["due_soon"] == 0
    assert Notification.objects.filter(case=case, kind="due_soon", recipient=personas.alice).count() == 1


def test_first_contact_ends_the_overdue_cycle_of_that_clock(personas):
    case = case_claim(case_id=open_case().pk, by=personas.alice)
    Case.objects.filter(pk=case.pk).update(first_contact_due=timezone.now() - dt.timedelta(minutes=5))
    cases_sweep_sla()
    case = case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached")
    assert case.overdue_at is None and case.escalation_level == 0
    assert not Case.objects.overdue().filter(pk=case.pk).exists()


def test_overdue_is_derived_not_stored(personas):
    case = open_case()
    assert not Case.objects.overdue().exists()
    make_overdue(case)
    assert Case.objects.overdue().get() == case  # before any sweep ran
    assert sla_state(case).level == "overdue"
    assert sla_state(case).label.startswith("first contact overdue by ")


def test_sla_state_labels():
    now = dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC)
    case = Case(status="new", first_contact_due=now + dt.timedelta(minutes=45),
                resolution_due=now + dt.timedelta(hours=30))
    assert (sla_state(case, now).label, sla_state(case, now).level) == ("first contact due in 45 min", "due_soon")
    case.first_contacted_at = now
    assert (sla_state(case, now).label, sla_state(case, now).level) == ("due in 1 day", "ok")
    case.resolution_due = now - dt.timedelta(hours=3)
    assert (sla_state(case, now).label, sla_state(case, now).level) == ("overdue by 3 h", "overdue")
    case.status = "closed"
    assert (sla_state(case, now).label, sla_state(case, now).level) == ("closed", "closed")


def test_one_sweep_records_every_step_and_its_messages(personas):
    Team.objects.filter(pk=personas.north.pk).update(escalation_delay_minutes=0, escalation_email="boss@example.com",
                                                    msteams_webhook_url="http://127.0.0.1:9/teams")
    late = make_overdue(case_claim(case_id=open_case().pk, by=personas.alice))
    soon = case_claim(case_id=open_case().pk, by=personas.bob)
    Case.objects.filter(pk=soon.pk).update(first_contact_due=timezone.now() + dt.timedelta(minutes=20))
    result = cases_sweep_sla(now=timezone.now())
    assert (result["overdue"], result["due_soon"], result["escalated"], result["priority_raised"]) == (1, 1, 1, 1)
    assert sorted(Notification.objects.filter(case=late).exclude(kind="new_case")
                  .values_list("kind", "channel", "address")) == sorted([
        ("escalated", "email", "boss@example.com"), ("escalated", "in_app", f"user:{personas.alice.pk}"),
        ("escalated", "in_app", f"user:{personas.mia.pk}"), ("escalated", "msteams", "http://127.0.0.1:9/teams"),
        ("overdue", "email", "alice@example.com"), ("overdue", "email", "mia@example.com"),
        ("overdue", "msteams", "http://127.0.0.1:9/teams")])
    assert list(Notification.objects.filter(case=soon, kind="due_soon").values_list("kind", "address")) == [
        ("due_soon", "bob@example.com")]
    assert sorted(CaseEvent.objects.filter(case=late).exclude(kind__in=["opened", "claimed"])
                  .values_list("kind", flat=True)) == ["escalated", "overdue", "priority"]


def test_a_sweep_batches_several_cases_into_one_message_per_recipient(personas):
    """A backlog is one message per person and channel listing the cases, not one per case; a
    person with a single case still gets the message about that case."""
    Team.objects.filter(pk=personas.north.pk).update(escalation_delay_minutes=0, escalation_email="boss@example.com",
                                                    slack_webhook_url="http://127.0.0.1:9/slack")
    alices = [make_overdue(case_claim(case_id=open_case().pk, by=personas.alice)) for _ in range(2)]
    bobs = make_overdue(case_claim(case_id=open_case().pk, by=personas.bob))
    result = cases_sweep_sla(now=timezone.now())
    assert (result["overdue"], result["escalated"]) == (3, 3)
    overdue = {(n.channel, n.address): n for n in Notification.objects.filter(kind="overdue")}
    assert sorted(overdue) == [("email", "alice@example.com"), ("email", "bob@example.com"),
                               ("email", "mia@example.com"), ("slack", "http://127.0.0.1:9/slack")]
    assert overdue[("email", "bob@example.com")].case_id == bobs.pk
    alice = overdue[("email", "alice@example.com")]
    assert alice.case_id is None and alice.context == {"count": 2, "references": [c.reference for c in alices]}
    assert overdue[("email", "mia@example.com")].context["count"] == 3
    assert overdue[("slack", "http://127.0.0.1:9/slack")].context["count"] == 3
    escalated = Notification.objects.filter(kind="escalated")
    # Sorted on both sides: "user:1001" sorts before "user:998" once ids cross a digit boundary.
    assert sorted((n.channel, n.address, n.context.get("count")) for n in escalated) == sorted([
        ("email", "boss@example.com", 3), ("in_app", f"user:{personas.alice.pk}", 2),
        ("in_app", f"user:{personas.bob.pk}", None), ("in_app", f"user:{personas.mia.pk}", 3),
        ("slack", "http://127.0.0.1:9/slack", 3)])
    assert CaseEvent.objects.filter(kind="overdue").count() == 3


def test_the_sweep_records_exactly_what_the_inbox_calls_overdue_and_due_soon(personas):
    """One rule (cases.models.case.clocks_out_q): at the same moment, the cases the sweep records
    overdue are those Case.objects.overdue() lists, and its due-soon ones those due_soon() lists,
    at the edges too (a due time equal to the moment is not yet out; first contact made stops
    that clock)."""
    now = timezone.now().replace(microsecond=0)
    hour = dt.timedelta(hours=1)
    shapes = {
        "resolution passed": (now + hour, now - hour, False),
        "resolution due this instant": (now + hour, now, False),
        "first contact missed": (now - hour, now + 5 * hour, False),
        "first contact missed but made": (now - hour, now + 5 * hour, True),
        "first contact due this instant": (now, now + 5 * hour, False),
        "first contact soon": (now + hour, now + 9 * hour, False),
        "resolution soon": (now + 9 * hour, now + hour, True),
        "far off": (now + 30 * hour, now + 60 * hour, False),
    }
    cases = {}
    for name, (first_due, resolution_due, contacted) in shapes.items():
        case = open_case()
        Case.objects.filter(pk=case.pk).update(first_contact_due=first_due, resolution_due=resolution_due,
                                               first_contacted_at=now - 2 * hour if contacted else None)
        cases[case.pk] = name
    overdue = sorted(cases[pk] for pk in Case.objects.overdue(now=now).values_list("pk", flat=True))
    soon = sorted(cases[pk] for pk in Case.objects.due_soon(now=now).values_list("pk", flat=True))
    assert overdue == ["first contact missed", "resolution passed"]
    assert soon == ["first contact due this instant", "first contact soon", "resolution due this instant",
                    "resolution soon"]

    result = cases_sweep_sla(now=now)

    assert sorted(cases[pk] for pk in Case.objects.filter(overdue_at=now).values_list("pk", flat=True)) == overdue
    assert sorted(cases[pk] for pk in Case.objects.filter(due_soon_notified_at=now).values_list("pk", flat=True)) == soon
    assert (result["overdue"], result["due_soon"]) == (2, 4)
