"""The one write path: the flow table, the closure contract, conflicts and the timeline."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases.models import Case, CaseEvent, Playbook, RootCause
from cases.services import (
    CaseConflict,
    InvalidTransition,
    case_add_note,
    case_assign,
    case_change_priority,
    case_claim,
    case_close,
    case_email_customer,
    case_log_contact,
    case_playbook_step,
    case_reopen,
    case_start,
    case_verification_answer,
    case_verification_sent,
)
from tests.cases.conftest import open_case, root_cause

pytestmark = pytest.mark.django_db


def close(case, by, **extra):
    values = {"root_cause_id": root_cause().pk, "resolution": "Refunded the delivery fee.", "outcome": "resolved"}
    values.update(extra)
    return case_close(case_id=case.pk, by=by, **values)


def in_status(status, personas):
    case = open_case()
    if status == Case.Status.IN_PROGRESS:
        case = case_start(case_id=case.pk, by=personas.alice)
    elif status == Case.Status.CLOSED:
        case = close(case, personas.alice)
    return case


def call(action, case, by):
    if action == "claim":
        return case_claim(case_id=case.pk, by=by)
    if action == "assign":
        return case_assign(case_id=case.pk, by=by, assignee=by)
    if action == "start":
        return case_start(case_id=case.pk, by=by)
    if action == "log_contact":
        return case_log_contact(case_id=case.pk, by=by, channel="phone", outcome="reached")
    if action == "note":
        return case_add_note(case_id=case.pk, by=by, note="Called the store.")
    if action == "priority":
        return case_change_priority(case_id=case.pk, by=by, priority="urgent")
    if action == "close":
        return close(case, by)
    if action == "reopen":
        return case_reopen(case_id=case.pk, by=by, reason="Customer called back.")
    if action == "email_customer":
        return case_email_customer(case_id=case.pk, by=by, subject="Your parcel", body="Sorry about the parcel.")
    if action == "playbook_step":
        playbook = Playbook.objects.create(name="Late deliveries", root_cause=root_cause(), steps=["Call", "Refund"])
        return case_playbook_step(case_id=case.pk, by=by, playbook=playbook, step=0)
    if action == "verification_sent":
        return case_verification_sent(case_id=case.pk, verification_id=1, address="customer@example.com")
    if action == "verification_answer":
        return case_verification_answer(case_id=case.pk, verification_id=1, recovered=True, answer="9")
    raise AssertionError(action)


# The flow, written out: (status, action) -> the status the case ends in, or the refusal a
# person reads. Not derived from cases.services: if the table there changes, this must too.
FLOW = {
    ("new", "claim"): "new",
    ("new", "assign"): "new",
    ("new", "start"): "in_progress",
    ("new", "log_contact"): "in_progress",
    ("new", "note"): "new",
    ("new", "priority"): "new",
    ("new", "close"): "closed",
    ("new", "reopen"): "A new case cannot move to in progress (cannot reopen it).",
    ("in_progress", "claim"): "in_progress",
    ("in_progress", "assign"): "in_progress",
    ("in_progress", "start"): "Cannot start an in progress case.",
    ("in_progress", "log_contact"): "in_progress",
    ("in_progress", "note"): "in_progress",
    ("in_progress", "priority"): "in_progress",
    ("in_progress", "close"): "closed",
    ("in_progress", "reopen"): "Cannot reopen an in progress case.",
    ("closed", "claim"): "Cannot claim a closed case.",
    ("closed", "assign"): "Cannot assign a closed case.",
    ("closed", "start"): "A closed case cannot move to in progress (cannot start it).",
    ("closed", "log_contact"): "A closed case cannot move to in progress (cannot log a contact attempt on it).",
    ("closed", "note"): "closed",
    ("closed", "priority"): "Cannot change the priority of a closed case.",
    ("closed", "close"): "Cannot close a closed case.",
    ("closed", "reopen"): "in_progress",
    ("new", "email_customer"): "in_progress",
    ("in_progress", "email_customer"): "in_progress",
    ("closed", "email_customer"): "A closed case cannot move to in progress (cannot e-mail the customer of it).",
    ("new", "playbook_step"): "new",
    ("in_progress", "playbook_step"): "in_progress",
    ("closed", "playbook_step"): "Cannot tick a playbook step on a closed case.",
    ("new", "verification_sent"): "Cannot send a recovery check for a new case.",
    ("in_progress", "verification_sent"): "Cannot send a recovery check for an in progress case.",
    ("closed", "verification_sent"): "closed",
    # A "yes, put right" answer is recorded in any status (a "no" reopens: tested in followup/).
    ("new", "verification_answer"): "new",
    ("in_progress", "verification_answer"): "in_progress",
    ("closed", "verification_answer"): "closed",
}
STATUSES = ["new", "in_progress", "closed"]


def test_the_flow_covers_every_status_and_action():
    assert sorted(Case.Status.values) == sorted(STATUSES)
    assert len(FLOW) == len(STATUSES) * 12


@pytest.mark.parametrize(("status", "action"), list(FLOW))
def test_it_follows_the_transition_table(personas, status, action):
    case = in_status(status, personas)
    assert case.status == status
    events_before = CaseEvent.objects.filter(case=case).count()
    expected = FLOW[(status, action)]
    if expected in STATUSES:
        call(action, case, personas.alice)
        case.refresh_from_db()
        assert case.status == expected
        moved = CaseEvent.objects.filter(case=case, kind="status", from_value=status, to_value=expected)
        assert moved.count() == (1 if expected != status else 0)
    else:
        with pytest.raises(InvalidTransition) as err:
            call(action, case, personas.alice)
        assert err.value.message_dict == {"status": [expected]}
        case.refresh_from_db()
        assert case.status == status
        assert CaseEvent.objects.filter(case=case).count() == events_before


def test_it_names_each_missing_closure_field(personas):
    case = open_case()
    with pytest.raises(ValidationError) as err:
        case_close(case_id=case.pk, by=personas.alice, root_cause_id=None, resolution=" ", outcome="")
    assert set(err.value.message_dict) == {"root_cause", "resolution", "outcome"}
    case.refresh_from_db()
    assert case.status == "new" and case.version == 1


def test_it_refuses_a_retired_root_cause_but_keeps_it_on_closed_cases(personas):
    cause = root_cause("Damaged")
    closed = close(open_case(), personas.alice, root_cause_id=cause.pk)
    RootCause.objects.filter(pk=cause.pk).update(active=False)
    with pytest.raises(ValidationError) as err:
        close(open_case(), personas.alice, root_cause_id=cause.pk)
    assert "root_cause" in err.value.message_dict
    closed.refresh_from_db()
    assert closed.root_cause == cause


def test_prevention_is_optional_and_kept(personas):
    case = close(open_case(), personas.alice, prevention="Pack glasses in double boxes.")
    assert case.prevention == "Pack glasses in double boxes."
    assert case.closed_by == personas.alice and case.closed_at is not None
    event = case.events.get(kind="closed")
    assert event.data["root_cause"] == "Delivery > Late"


def test_claiming_a_held_case_says_who_has_it(personas):
    case = open_case()
    case_claim(case_id=case.pk, by=personas.bob)
    with pytest.raises(CaseConflict) as err:
        case_claim(case_id=case.pk, by=personas.alice)
    assert err.value.message.startswith("bob claimed this case at ")
    assert err.value.case.assignee == personas.bob


def test_a_stale_version_is_a_conflict_saying_what_changed(personas):
    case = open_case()
    case_change_priority(case_id=case.pk, by=personas.bob, priority="high")
    with pytest.raises(CaseConflict) as err:
        case_add_note(case_id=case.pk, by=personas.alice, note="hi", expected_version=1)
    assert "bob changed priority from normal to high at" in err.value.message
    assert err.value.message.endswith("reload to see it.")
    assert err.value.case.version == 2


def test_every_change_bumps_the_version_and_stamps_its_events(personas):
    case = open_case()
    case = case_claim(case_id=case.pk, by=personas.alice, expected_version=1)
    case = case_log_contact(case_id=case.pk, by=personas.alice, channel="phone", outcome="reached",
                            expected_version=2)
    assert case.version == 3 and case.status == "in_progress" and case.first_contacted_at is not None
    assert list(case.events.values_list("kind", "version")) == [
        ("opened", 1), ("claimed", 2), ("status", 3), ("contact", 3)]


def test_someone_from_another_team_cannot_act(personas):
    case = open_case()
    with pytest.raises(PermissionDenied):
        case_claim(case_id=case.pk, by=personas.charlie)


def test_it_assigns_only_members_of_the_team(personas):
    case = open_case()
    with pytest.raises(ValidationError) as err:
        case_assign(case_id=case.pk, by=personas.mia, assignee=personas.charlie)
    assert "not a member of North" in err.value.message_dict["assignee"][0]
    case = case_assign(case_id=case.pk, by=personas.mia, assignee=personas.bob)
    assert case.assignee == personas.bob
    assert sorted(case.notifications.filter(kind="assigned", recipient=personas.bob)
                  .values_list("channel", flat=True)) == ["email", "in_app"]


def test_moving_team_clears_an_assignee_who_is_not_a_member(personas):
    case = case_claim(case_id=open_case().pk, by=personas.alice)
    case = case_assign(case_id=case.pk, by=personas.adam, team=personas.south)
    assert case.team == personas.south and case.assignee is None
    assert list(case.events.filter(kind__in=["team", "assigned"]).values_list("kind", flat=True)) == ["team", "assigned"]


def test_reopen_needs_a_reason_and_restarts_the_clocks(personas):
    case = close(open_case(), personas.alice)
    with pytest.raises(ValidationError):
        case_reopen(case_id=case.pk, by=personas.alice, reason="")
    case = case_reopen(case_id=case.pk, by=personas.alice, reason="Customer called back.")
    assert case.status == "in_progress" and case.reopen_count == 1 and case.first_contacted_at is None
    assert case.events.filter(kind="reopened", note="Customer called back.").exists()


def test_reference_comes_from_the_id(personas):
    cases = [open_case() for _ in range(3)]
    assert [c.reference for c in cases] == [f"CL-{c.pk:06d}" for c in cases]
