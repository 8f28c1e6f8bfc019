"""The case flow and the steps every action shares: the transition table (data, enforced only
here), locking with the version check and CaseConflict, the guard, timeline events and the save
that bumps the version; the replay clock the demo loader uses."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import visible_team_ids
from cases import inapp, live, notifications
from cases.models import (
    Case,
    CaseEvent,
    Notification,
    NotificationKind,
)
from cases.sla import due_times
from cases.timeline import conflict_message
from core.unit_of_work import insert_all

Status = Case.Status
Kind = CaseEvent.Kind

# --- the flow, as data ---------------------------------------------------------------------
# Which stored status may follow which. Overdue is not a status: it is derived from due times.
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.CLOSED},
    Status.IN_PROGRESS: {Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}
OPEN = frozenset({Status.NEW, Status.IN_PROGRESS})
ANY = frozenset(Status.values)
# action -> (statuses it is allowed from, status it moves to or None for "unchanged")
ACTIONS: dict[str, tuple[frozenset, str | None]] = {
    "claim": (OPEN, None),
    "assign": (OPEN, None),
    "start": (frozenset({Status.NEW}), Status.IN_PROGRESS),
    "log_contact": (OPEN, Status.IN_PROGRESS),
    "email_customer": (OPEN, Status.IN_PROGRESS),
    "note": (ANY, None),
    "priority": (OPEN, None),
    "close": (OPEN, Status.CLOSED),
    "reopen": (frozenset({Status.CLOSED}), Status.IN_PROGRESS),
    "attach_response": (OPEN, None),
    "playbook_step": (OPEN, None),
    "verification_sent": (frozenset({Status.CLOSED}), None),
    "verification_answer": (ANY, None),
    "customer_replied": (ANY, None),  # a closed case reopens first (cases.services.replies)
    "mail_received": (ANY, None),  # a bounce or an automatic reply: recorded, nothing moves
}
ACTION_WORDS = {
    "claim": _("claim"), "assign": _("assign"), "start": _("start"), "log_contact": _("log a contact attempt on"),
    "email_customer": _("e-mail the customer of"), "note": _("add a note to"),
    "priority": _("change the priority of"), "close": _("close"), "reopen": _("reopen"),
    "attach_response": _("attach a response to"), "playbook_step": _("tick a playbook step on"),
    "verification_sent": _("send a recovery check for"), "verification_answer": _("record a recovery check answer on"),
    "customer_replied": _("record a customer's reply on"), "mail_received": _("record an e-mail on"),
}


class CaseConflict(Exception):
    """Someone else changed the case first. `.case` is the fresh row, `.message` says what happened."""

    def __init__(self, message: str, case: Case):
        super().__init__(message)
        self.message = message
        self.case = case


class InvalidTransition(ValidationError):
    """The flow table does not allow this action from the case's current status."""

    def __init__(self, case: Case, action: str, to_status: str | None = None):
        self.from_status = case.status
        self.to_status = to_status
        self.action = action
        german = (translation.get_language() or "").startswith("de")  # its nouns keep their capital
        label = str(Status(case.status).label) if german else str(Status(case.status).label).lower()
        to_label = (str(Status(to_status).label) if german else str(Status(to_status).label).lower()) if to_status else ""
        # English needs "an in progress case": the article is part of each sentence.
        vowel = str(Status(case.status).label)[:1].lower() in "aeiou"
        values = {"status": label, "new_status": to_label, "action": ACTION_WORDS[action]}
        if to_status and to_status != case.status:
            text = (gettext("An %(status)s case cannot move to %(new_status)s (cannot %(action)s it).") if vowel else
                    gettext("A %(status)s case cannot move to %(new_status)s (cannot %(action)s it).")) % values
        else:
            text = (gettext("Cannot %(action)s an %(status)s case.") if vowel else
                    gettext("Cannot %(action)s a %(status)s case.")) % values
        super().__init__({"status": [text]})
        self.text = text

    def __str__(self) -> str:
        return self.text


# --- shared steps ---------------------------------------------------------------------------
_replay_at: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar("cases_replay_at", default=None)


@contextlib.contextmanager
def replay_clock(at: dt.datetime):
    """Within this block, services (and case_open_from_alert reached through the signals) act at
    `at` instead of now. Only the demo loader uses it, to replay 90 days of history through the
    real pipeline; production code never does."""
    token = _replay_at.set(at)
    try:
        yield
    finally:
        _replay_at.reset(token)


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or _replay_at.get() or timezone.now()


def _lock(case_id: int, *, by, expected_version: int | None) -> Case:
    # No joins in the locking read: after waiting for the lock PostgreSQL re-reads the case row
    # but not joined rows, so a joined assignee could be stale. Relations load lazily, fresh.
    case = Case.objects.select_for_update().get(pk=case_id)
    if by is not None:
        ids = visible_team_ids(by)
        if ids is not None and case.team_id not in ids:
            raise PermissionDenied("You cannot act on this case.")
    if expected_version is not None and int(expected_version) != case.version:
        raise CaseConflict(conflict_message(case, int(expected_version)), case)
    return case


def _guard(case: Case, action: str) -> str | None:
    allowed_from, to_status = ACTIONS[action]
    if case.status not in allowed_from:
        raise InvalidTransition(case, action, to_status)
    if to_status and to_status != case.status and to_status not in TRANSITIONS[case.status]:
        raise InvalidTransition(case, action, to_status)
    return to_status


def _event(case: Case, kind: str, by, at: dt.datetime, *, from_value="", to_value="", note="", data=None) -> CaseEvent:
    return CaseEvent(
        case=case, kind=kind, actor=by, from_value=str(from_value or "")[:255], to_value=str(to_value or "")[:255],
        note=note, data=data or {}, created_at=at,
    )


def _save(case: Case, fields: list[str], events: list[CaseEvent]) -> Case:
    case.version += 1
    case.save(update_fields=sorted(set(fields) | {"version", "updated_at"}))
    for event in events:
        event.version = case.version
    insert_all(events)  # in a worker's batch: written with the batch's other rows
    live.touch(team_ids=[case.team_id], case_ids=[case.pk])  # open pages see it after commit
    return case


def _move(case: Case, to_status: str | None, by, at, events: list, fields: list) -> None:
    """Apply a status change the guard allowed, with its STATUS event."""
    if to_status and to_status != case.status:
        events.append(_event(case, Kind.STATUS, by, at, from_value=case.status, to_value=to_status))
        case.status = to_status
        fields.append("status")


def _assignment_rows(case: Case, assignee: User | None, by) -> list[Notification]:
    """The notification centre's row for the new assignee, and an e-mail if they want one."""
    if assignee is None or (by is not None and assignee.pk == by.pk):
        return []
    period = f"v{case.version + 1}"
    rows = [inapp.row(case_id=case.pk, kind=NotificationKind.ASSIGNED, user_id=assignee.pk, period=period)]
    if notifications.user_wants(assignee, NotificationKind.ASSIGNED):
        rows.append(notifications.email_row(case_id=case.pk, kind=NotificationKind.ASSIGNED, user_id=assignee.pk,
                                            email=assignee.email, period=period))
    return rows


def _reset_sla_marks(case: Case, now: dt.datetime, fields: list) -> None:
    """After a clock was met or moved: forget the overdue/due-soon marks of the old cycle."""
    if case.is_overdue_at(now):
        return
    case.overdue_at = None
    case.due_soon_notified_at = None
    case.escalation_level = 0
    case.escalated_at = None
    fields += ["overdue_at", "due_soon_notified_at", "escalation_level", "escalated_at"]


def _reopen(case: Case, by, at: dt.datetime, reason: str, data: dict) -> tuple[list, list]:
    to_status = _guard(case, "reopen")
    events, fields = [], []
    _move(case, to_status, by, at, events, fields)
    case.first_contact_due, case.resolution_due = due_times(case.team, at, case.sla_policy)
    case.first_contacted_at = None
    case.closed_at = None
    case.closed_by = None
    case.reopen_count += 1
    # What was measured from those times goes with them (cases.services.report_fields).
    case.first_contact_business_seconds = case.close_business_seconds = None
    case.answered_again, case.answered_again_at, case.answered_again_nps = None, None, None
    case.overdue_at = None
    case.due_soon_notified_at = None
    case.escalation_level = 0
    case.escalated_at = None
    fields += ["first_contact_due", "resolution_due", "first_contacted_at", "closed_at", "closed_by", "reopen_count",
               "first_contact_business_seconds", "close_business_seconds", "answered_again", "answered_again_at",
               "answered_again_nps",
               "overdue_at", "due_soon_notified_at", "escalation_level", "escalated_at"]
    events.append(_event(case, Kind.REOPENED, by, at, from_value=Status.CLOSED, to_value=to_status, note=reason,
                         data=data))
    return events, fields
