"""Every write to a case. The inbox, bulk actions, the API, receivers and tasks all call these.

Each action:
- runs in one transaction and locks the case row (select_for_update);
- refuses a stale edit when `expected_version` is given and the case moved on (CaseConflict,
  saying who changed what);
- checks the action against the flow table (ACTIONS / TRANSITIONS: the flow is data, and this
  is the only place it is enforced);
- writes CaseEvent rows (the timeline) stamped with the new version, bumps Case.version;
- queues notifications in the outbox, delivered after commit.

`by` is the acting user, None for the system. `at` (keyword-only, default now) lets the demo
loader replay history with past timestamps; nothing else passes it.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import re
import uuid
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.template import Context, Template
from django.utils import timezone

from accounts.models import Membership, Priority, Team, User
from accounts.selectors import visible_team_ids
from accounts.sla import choose_sla_policy
from cases import notifications
from cases.models import (
    Case,
    CaseEvent,
    CaseResponse,
    ContactChannel,
    ContactOutcome,
    Notification,
    NotificationKind,
    RootCause,
)
from cases.sla import DUE_SOON, due_times
from core import unit_of_work
from core.unit_of_work import insert_all

logger = logging.getLogger(__name__)

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
}
ACTION_WORDS = {
    "claim": "claim", "assign": "assign", "start": "start", "log_contact": "log a contact attempt on",
    "email_customer": "e-mail the customer of", "note": "add a note to", "priority": "change the priority of",
    "close": "close", "reopen": "reopen", "attach_response": "attach a response to",
    "playbook_step": "tick a playbook step on", "verification_sent": "send a recovery check for",
    "verification_answer": "record a recovery check answer on",
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
        label = Status(case.status).label.lower()
        if to_status and to_status != case.status:
            text = f"A {label} case cannot move to {Status(to_status).label.lower()} (cannot {ACTION_WORDS[action]} it)."
        else:
            text = f"Cannot {ACTION_WORDS[action]} a {label} case."
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


def _name(user) -> str:
    return user.display_name if user is not None else "The system"


def _clock(case: Case, instant: dt.datetime) -> str:
    try:
        tz = ZoneInfo(case.team.timezone)
    except Exception:  # noqa: BLE001 - a broken time zone still gets a readable message
        tz = dt.timezone.utc
    local = instant.astimezone(tz)
    today = timezone.now().astimezone(tz).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%d %b %H:%M")


def describe_event(event: CaseEvent) -> str:
    """One line a person can read: "Bob Smith claimed this case", "Sam changed priority from normal to high"."""
    who = _name(event.actor)
    k = event.kind
    if k == Kind.CLAIMED:
        return f"{who} claimed this case"
    if k == Kind.ASSIGNED:
        target = event.data.get("assignee_name") or event.to_value
        return f"{who} assigned this case to {target}" if target else f"{who} returned this case to the team queue"
    if k == Kind.TEAM:
        return f"{who} moved this case from {event.from_value} to {event.to_value}"
    if k == Kind.STATUS:
        return f"{who} changed status from {event.from_value} to {event.to_value}"
    if k == Kind.PRIORITY:
        return f"{who} changed priority from {event.from_value} to {event.to_value}"
    if k == Kind.CONTACT:
        channel = ContactChannel(event.data.get("channel", "other")).label.lower()
        if event.data.get("channel") == ContactChannel.EMAIL and not event.data.get("outcome"):
            return f"{who} e-mailed the customer"
        outcome = event.data.get("outcome")
        outcome_text = f" ({ContactOutcome(outcome).label.lower()})" if outcome in ContactOutcome.values else ""
        return f"{who} logged a {channel} contact attempt{outcome_text}"
    if k == Kind.NOTE:
        return f"{who} added a note"
    if k == Kind.CLOSED:
        return f"{who} closed this case"
    if k == Kind.REOPENED:
        return f"{who} reopened this case"
    if k == Kind.RESPONSE_ATTACHED:
        return f"{who} attached another response from the customer"
    if k == Kind.PLAYBOOK_STEP:
        verb = "ticked" if event.data.get("done", True) else "unticked"
        return f"{who} {verb} “{event.note}” ({event.data.get('playbook', 'playbook')})"
    if k == Kind.VERIFICATION_SENT:
        return "The customer was asked whether we put it right"
    if k == Kind.VERIFICATION_ANSWER:
        said = "yes, it was put right" if event.data.get("recovered") else "no, it was not put right"
        return f"The customer answered the recovery check: {said} ({event.to_value})"
    return f"{who}: {event.get_kind_display().lower()}"


def conflict_message(case: Case, expected_version: int) -> str:
    changes = list(
        CaseEvent.objects.filter(case=case, version__gt=expected_version)
        .select_related("actor")
        .order_by("-version", "-id")[:3]
    )
    if not changes:
        return "This case was changed by someone else; reload to see it."
    latest = changes[0]
    text = f"{describe_event(latest)} at {_clock(case, latest.created_at)}"
    more = len({e.version for e in changes}) - 1
    if more > 0:
        text += f" (and {more} other change{'s' if more > 1 else ''})"
    return f"{text}; reload to see it."


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
    return case


def _move(case: Case, to_status: str | None, by, at, events: list, fields: list) -> None:
    """Apply a status change the guard allowed, with its STATUS event."""
    if to_status and to_status != case.status:
        events.append(_event(case, Kind.STATUS, by, at, from_value=case.status, to_value=to_status))
        case.status = to_status
        fields.append("status")


def _assignment_rows(case: Case, assignee: User | None, by) -> list[Notification]:
    if assignee is None or (by is not None and assignee.pk == by.pk):
        return []
    if not notifications.user_wants(assignee, NotificationKind.ASSIGNED):
        return []
    return [notifications.email_row(case_id=case.pk, kind=NotificationKind.ASSIGNED, user_id=assignee.pk,
                                    email=assignee.email, period=f"v{case.version + 1}")]


def _reset_sla_marks(case: Case, now: dt.datetime, fields: list) -> None:
    """After a clock was met or moved: forget the overdue/due-soon marks of the old cycle."""
    if case.is_overdue_at(now):
        return
    case.overdue_at = None
    case.due_soon_notified_at = None
    case.escalation_level = 0
    case.escalated_at = None
    fields += ["overdue_at", "due_soon_notified_at", "escalation_level", "escalated_at"]


# --- actions --------------------------------------------------------------------------------
@transaction.atomic
def case_claim(*, case_id: int, by: User, expected_version: int | None = None, at: dt.datetime | None = None) -> Case:
    """`by` takes the case. Claiming a case someone else holds is a conflict naming them."""
    case = _lock(case_id, by=by, expected_version=expected_version)
    _guard(case, "claim")
    if case.assignee_id == by.pk:
        return case
    if case.assignee_id is not None:
        last = (
            CaseEvent.objects.filter(case=case, kind__in=[Kind.CLAIMED, Kind.ASSIGNED])
            .select_related("actor").order_by("-created_at", "-id").first()
        )
        when = f" at {_clock(case, last.created_at)}" if last else ""
        if last is not None and last.kind == Kind.CLAIMED and last.actor_id == case.assignee_id:
            message = f"{case.assignee.display_name} claimed this case{when}."
        else:
            message = f"{case.assignee.display_name} already has this case (assigned{when})."
        raise CaseConflict(message, case)
    at = _now(at)
    case.assignee = by
    return _save(case, ["assignee"], [_event(case, Kind.CLAIMED, by, at, to_value=by.username)])


def _member_ids(team: Team) -> set[int]:
    return set(Membership.objects.filter(team=team).values_list("user_id", flat=True))


@transaction.atomic
def case_assign(
    *, case_id: int, by, assignee: User | None = None, team: Team | None = None,
    expected_version: int | None = None, at: dt.datetime | None = None,
) -> Case:
    """Assign to a person, move to another team, or both. Neither: back to the team's queue.
    Moving team without naming a person clears the assignee unless they belong to the new team."""
    case = _lock(case_id, by=by, expected_version=expected_version)
    _guard(case, "assign")
    at = _now(at)
    events: list[CaseEvent] = []
    fields: list[str] = []
    target_team = team or case.team
    if team is not None and team.pk != case.team_id:
        if by is not None:
            ids = visible_team_ids(by)
            if ids is not None and team.pk not in ids:
                raise ValidationError({"team": [f"You cannot move cases to {team.name}."]})
        events.append(_event(case, Kind.TEAM, by, at, from_value=case.team.name, to_value=team.name,
                             data={"from_team": case.team_id, "to_team": team.pk}))
        case.team = team
        fields.append("team")
    members = _member_ids(target_team) if (assignee is not None or team is not None) else set()
    if assignee is not None and assignee.pk not in members:
        raise ValidationError({"assignee": [f"{assignee.display_name} is not a member of {target_team.name}."]})
    if assignee is None and team is not None and case.assignee_id in members:
        assignee = case.assignee  # moving team keeps a person who belongs to both
    if (assignee.pk if assignee else None) != case.assignee_id:
        events.append(_event(
            case, Kind.ASSIGNED, by, at,
            from_value=case.assignee.username if case.assignee else "",
            to_value=assignee.username if assignee else "",
            data={"assignee_id": assignee.pk if assignee else None,
                  "assignee_name": assignee.display_name if assignee else ""},
        ))
        rows = _assignment_rows(case, assignee, by)
        case.assignee = assignee
        fields.append("assignee")
    else:
        rows = []
    if not events:
        return case
    _save(case, fields, events)
    notifications.queue(rows)
    return case


@transaction.atomic
def case_start(*, case_id: int, by: User, expected_version: int | None = None, at: dt.datetime | None = None) -> Case:
    """new -> in progress. An unassigned case becomes the starter's."""
    case = _lock(case_id, by=by, expected_version=expected_version)
    to_status = _guard(case, "start")
    at = _now(at)
    events, fields = [], []
    if case.assignee_id is None and by is not None:
        case.assignee = by
        fields.append("assignee")
        events.append(_event(case, Kind.CLAIMED, by, at, to_value=by.username))
    _move(case, to_status, by, at, events, fields)
    return _save(case, fields, events)


def _contact(case: Case, by, at, *, channel: str, outcome: str, note: str, data: dict, action: str) -> tuple[list, list]:
    to_status = _guard(case, action)
    events, fields = [], []
    if case.assignee_id is None and by is not None:
        case.assignee = by
        fields.append("assignee")
        events.append(_event(case, Kind.CLAIMED, by, at, to_value=by.username))
    _move(case, to_status, by, at, events, fields)
    events.append(_event(case, Kind.CONTACT, by, at, from_value=channel, to_value=outcome, note=note,
                         data={"channel": channel, "outcome": outcome, **data}))
    if case.first_contacted_at is None:
        case.first_contacted_at = at  # the first attempt stops the first-contact clock
        fields.append("first_contacted_at")
        _reset_sla_marks(case, at, fields)
    return events, fields


@transaction.atomic
def case_log_contact(
    *, case_id: int, by: User, channel: str, outcome: str, note: str = "",
    expected_version: int | None = None, at: dt.datetime | None = None,
) -> Case:
    """Record an attempt to reach the customer (the first one stops the first-contact clock)."""
    errors = {}
    if channel not in ContactChannel.values:
        errors["channel"] = [f"Choose one of: {', '.join(ContactChannel.values)}."]
    if outcome not in ContactOutcome.values:
        errors["outcome"] = [f"Choose one of: {', '.join(ContactOutcome.values)}."]
    if errors:
        raise ValidationError(errors)
    case = _lock(case_id, by=by, expected_version=expected_version)
    at = _now(at)
    events, fields = _contact(case, by, at, channel=channel, outcome=outcome, note=note.strip(), data={},
                              action="log_contact")
    return _save(case, fields, events)


@transaction.atomic
def case_add_note(*, case_id: int, by: User, note: str, expected_version: int | None = None,
                  at: dt.datetime | None = None) -> Case:
    if not (note or "").strip():
        raise ValidationError({"note": ["Write the note."]})
    case = _lock(case_id, by=by, expected_version=expected_version)
    _guard(case, "note")
    return _save(case, [], [_event(case, Kind.NOTE, by, _now(at), note=note.strip())])


@transaction.atomic
def case_change_priority(*, case_id: int, by, priority: str, expected_version: int | None = None,
                         at: dt.datetime | None = None, reason: str = "") -> Case:
    """Change the order of work. Due times stay: they are the promise made when the case opened."""
    if priority not in Priority.values:
        raise ValidationError({"priority": [f"Choose one of: {', '.join(Priority.values)}."]})
    case = _lock(case_id, by=by, expected_version=expected_version)
    _guard(case, "priority")
    if case.priority == priority:
        return case
    event = _event(case, Kind.PRIORITY, by, _now(at), from_value=case.priority, to_value=priority, note=reason)
    case.priority = priority
    return _save(case, ["priority"], [event])


def closure_errors(*, root_cause_id, resolution: str, outcome: str) -> dict[str, list[str]]:
    """The closure contract: what is missing or wrong, by field (empty when closable)."""
    errors: dict[str, list[str]] = {}
    if not root_cause_id:
        errors["root_cause"] = ["Choose a root cause."]
    elif not RootCause.objects.filter(pk=root_cause_id, active=True, category__active=True).exists():
        errors["root_cause"] = ["Choose a root cause from the current list."]
    if not (resolution or "").strip():
        errors["resolution"] = ["Say what was done to resolve it."]
    if outcome not in Case.Outcome.values:
        errors["outcome"] = ["Choose the outcome with the customer."]
    return errors


@transaction.atomic
def case_close(
    *, case_id: int, by, root_cause_id, resolution: str, outcome: str, prevention: str = "",
    suggestions: list[dict] | None = None, expected_version: int | None = None, at: dt.datetime | None = None,
) -> Case:
    """Close with the closure contract: an active root cause, what was done, the outcome.
    `prevention` (how similar cases could be avoided) is optional and goes to reporting.
    `suggestions` are the root causes the classifier offered in the close form
    ([{"root_cause_id", "confidence"}], best first): they are kept with whether one was taken."""
    case = _lock(case_id, by=by, expected_version=expected_version)
    to_status = _guard(case, "close")
    errors = closure_errors(root_cause_id=root_cause_id, resolution=resolution, outcome=outcome)
    if errors:
        raise ValidationError(errors)
    at = _now(at)
    root_cause = RootCause.objects.select_related("category").get(pk=root_cause_id)
    events, fields = [], []
    _move(case, to_status, by, at, events, fields)
    case.root_cause = root_cause
    case.resolution = resolution.strip()
    case.outcome = outcome
    case.prevention = (prevention or "").strip()
    case.closed_at = at
    case.closed_by = by
    fields += ["root_cause", "resolution", "outcome", "prevention", "closed_at", "closed_by"]
    data = {"root_cause_id": root_cause.pk, "root_cause": str(root_cause), "outcome": outcome,
            "prevention": case.prevention}
    offered = _clean_suggestions(suggestions)
    if offered:
        case.root_cause_suggestions = offered
        case.suggestion_taken = any(s["root_cause_id"] == root_cause.pk for s in offered)
        fields += ["root_cause_suggestions", "suggestion_taken"]
        data["suggestion_taken"] = case.suggestion_taken
    events.append(_event(case, Kind.CLOSED, by, at, to_value=outcome, note=case.resolution, data=data))
    return _save(case, fields, events)


def _clean_suggestions(suggestions) -> list[dict]:
    """The suggestions as offered, in order, with ids as ints and confidence rounded; junk dropped."""
    cleaned = []
    for item in suggestions or ():
        try:
            cleaned.append({"root_cause_id": int(item["root_cause_id"]),
                            "confidence": round(float(item.get("confidence") or 0), 4)})
        except (KeyError, TypeError, ValueError):
            continue
    return cleaned[:3]


@transaction.atomic
def case_playbook_step(
    *, case_id: int, by, playbook, step: int, done: bool = True, expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Case:
    """Tick (or untick) step `step` (0-based) of a playbook on an open case; the timeline says which."""
    case = _lock(case_id, by=by, expected_version=expected_version)
    _guard(case, "playbook_step")
    steps = list(playbook.steps or [])
    if not 0 <= int(step) < len(steps):
        raise ValidationError({"step": [f"“{playbook.name}” has {len(steps)} steps; there is no step {int(step) + 1}."]})
    at = _now(at)
    text = str(steps[int(step)])
    event = _event(case, Kind.PLAYBOOK_STEP, by, at, to_value="done" if done else "not done", note=text,
                   data={"playbook_id": playbook.pk, "playbook": playbook.name, "step": int(step), "done": bool(done)})
    return _save(case, [], [event])


@transaction.atomic
def case_verification_sent(*, case_id: int, verification_id: int, address: str, at: dt.datetime | None = None) -> Case:
    """Record on the timeline that the customer was asked whether the fix worked (by the system)."""
    case = _lock(case_id, by=None, expected_version=None)
    _guard(case, "verification_sent")
    at = _now(at)
    event = _event(case, Kind.VERIFICATION_SENT, None, at, to_value=address,
                   data={"verification_id": verification_id})
    return _save(case, [], [event])


@transaction.atomic
def case_verification_answer(
    *, case_id: int, verification_id: int, recovered: bool, answer: str, comment: str = "",
    at: dt.datetime | None = None,
) -> Case:
    """The customer's answer to "Did we put it right?", on the timeline. A "no" (not recovered)
    reopens a closed case for the same team with fresh SLA clocks."""
    case = _lock(case_id, by=None, expected_version=None)
    _guard(case, "verification_answer")
    at = _now(at)
    events = [_event(case, Kind.VERIFICATION_ANSWER, None, at, to_value=answer, note=(comment or "").strip(),
                     data={"verification_id": verification_id, "recovered": bool(recovered)})]
    fields: list[str] = []
    if not recovered and case.status == Status.CLOSED:
        more_events, fields = _reopen(case, None, at, f"The customer answered the recovery check: {answer}.",
                                      {"verification_id": verification_id})
        events += more_events
    return _save(case, fields, events)


def _reopen(case: Case, by, at: dt.datetime, reason: str, data: dict) -> tuple[list, list]:
    to_status = _guard(case, "reopen")
    events, fields = [], []
    _move(case, to_status, by, at, events, fields)
    case.first_contact_due, case.resolution_due = due_times(case.team, at, case.sla_policy)
    case.first_contacted_at = None
    case.closed_at = None
    case.closed_by = None
    case.reopen_count += 1
    case.overdue_at = None
    case.due_soon_notified_at = None
    case.escalation_level = 0
    case.escalated_at = None
    fields += ["first_contact_due", "resolution_due", "first_contacted_at", "closed_at", "closed_by", "reopen_count",
               "overdue_at", "due_soon_notified_at", "escalation_level", "escalated_at"]
    events.append(_event(case, Kind.REOPENED, by, at, from_value=Status.CLOSED, to_value=to_status, note=reason,
                         data=data))
    return events, fields


@transaction.atomic
def case_reopen(*, case_id: int, by, reason: str, expected_version: int | None = None,
                at: dt.datetime | None = None) -> Case:
    """closed -> in progress, with fresh SLA clocks from now. The last closure stays in the timeline."""
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the case is reopened."]})
    case = _lock(case_id, by=by, expected_version=expected_version)
    events, fields = _reopen(case, by, _now(at), reason.strip(), {})
    return _save(case, fields, events)


def render_customer_template(template, *, case: Case, agent) -> tuple[str, str]:
    """An EmailTemplate filled in for this case: (subject, body), for staff to edit before sending."""
    response = case.response
    from cases.templatetags.case_display import primary_score

    rule = case.alert.rule if case.alert_id else None
    score = primary_score(response, getattr(rule, "metric", None), getattr(rule, "metric_key", ""))
    context = Context({
        "customer": {"name": (case.customer.name if case.customer else "") or "there",
                     "email": case.customer.email if case.customer else ""},
        "score": score.text if score else "",
        "comment": response.comment,
        "case": {"reference": case.reference},
        "agent": {"name": agent.display_name if agent else "The customer team"},
    }, autoescape=False)
    return Template(template.subject).render(context).strip(), Template(template.body).render(context)


@transaction.atomic
def case_email_customer(*, case_id: int, by: User, subject: str, body: str, expected_version: int | None = None,
                        at: dt.datetime | None = None) -> Case:
    """Queue an e-mail to the customer (sent by a task after commit) and record it on the timeline
    as a contact attempt by e-mail (which stops the first-contact clock like a call would)."""
    errors = {}
    if not (subject or "").strip():
        errors["subject"] = ["Write a subject."]
    if not (body or "").strip():
        errors["body"] = ["Write the message."]
    case = _lock(case_id, by=by, expected_version=expected_version)
    customer = case.customer
    if customer is None or not customer.email:
        errors["customer"] = ["This customer has no e-mail address."]
    elif customer.contact_opt_out or customer.erased_at:
        errors["customer"] = ["This customer asked not to be contacted."]
    if errors:
        raise ValidationError(errors)
    at = _now(at)
    period = f"e{uuid.uuid4().hex[:16]}"
    notification = Notification.objects.create(
        case=case, kind=NotificationKind.CUSTOMER_EMAIL, channel=Notification.Channel.EMAIL, address=customer.email,
        period=period, subject=subject.strip(), body=body,
        context={"reply_to": by.email if by is not None and by.email else ""},
    )
    events, fields = _contact(case, by, at, channel=ContactChannel.EMAIL, outcome="", note=body,
                              data={"subject": subject.strip(), "notification_id": notification.pk},
                              action="email_customer")
    _save(case, fields, events)
    notifications.dispatch_on_commit()
    return case


# --- opening from an alert ------------------------------------------------------------------
def _eligible_members(team: Team):
    return User.objects.filter(
        memberships__team=team, memberships__is_manager=False, is_active=True, is_away=False
    ).order_by("id")


def pick_assignee(team: Team) -> User | None:
    """The team's assignment mode: manual (nobody), round-robin, or fewest open cases.
    Away and inactive members and the team's managers are skipped. Call inside a transaction.

    The mode and the last assignee are read from the team's row as it is now, locked (`team` may
    come from the per-process cache): concurrent openings for one team take turns. In a batch
    (core.unit_of_work) the first opening locks every team at once, in id order, before any
    customer (two workers never wait on each other in a circle), and the batch's openings answer
    from what it read: members, open-case counts and the round-robin position, written once at
    the end."""
    batch = unit_of_work.current()
    if batch is not None:
        return _pick_assignee_in_batch(team, batch)
    mode, last_assigned_id = Team.objects.select_for_update().values_list("assignment", "last_assigned_id").get(
        pk=team.pk)
    if mode == Team.Assignment.MANUAL:
        return None
    if mode == Team.Assignment.ROUND_ROBIN:
        chosen = _next_in_turn(list(_eligible_members(team)), last_assigned_id)
        if chosen is not None:
            Team.objects.filter(pk=team.pk).update(last_assigned=chosen)
            team.last_assigned = chosen
        return chosen
    return (
        _eligible_members(team)
        .annotate(open_cases=Count("assigned_cases", filter=~Q(assigned_cases__status=Status.CLOSED)))
        .order_by("open_cases", "id")
        .first()
    )


def _next_in_turn(members: list[User], last_assigned_id: int | None) -> User | None:
    if not members:
        return None
    after = [m for m in members if last_assigned_id is not None and m.pk > last_assigned_id]
    return after[0] if after else members[0]


def _batch_teams(batch) -> dict[int, dict]:
    """Every team, locked in id order, once per batch: before the batch's first opening locks a
    customer, so every worker takes its locks teams first, and never in a circle with another."""
    teams = batch.memo.get("teams")
    if teams is None:
        teams = batch.memo["teams"] = {
            pk: {"mode": mode, "last": last} for pk, mode, last in
            Team.objects.select_for_update().order_by("pk").values_list("pk", "assignment", "last_assigned_id")
        }
    return teams


def _pick_assignee_in_batch(team: Team, batch) -> User | None:
    teams = _batch_teams(batch)
    state = teams.get(team.pk)
    if state is None:  # created after the batch locked the teams: lock it on its own
        mode, last = Team.objects.select_for_update().values_list("assignment", "last_assigned_id").get(pk=team.pk)
        state = teams[team.pk] = {"mode": mode, "last": last}
    if state["mode"] == Team.Assignment.MANUAL:
        return None
    if state["mode"] == Team.Assignment.ROUND_ROBIN:
        if "members" not in state:
            state["members"] = list(_eligible_members(team))
        chosen = _next_in_turn(state["members"], state["last"])
        if chosen is not None:
            state["last"] = chosen.pk
            batch.at_end(("round-robin", team.pk),
                          lambda: Team.objects.filter(pk=team.pk).update(last_assigned_id=chosen.pk))
            team.last_assigned = chosen
        return chosen
    if "open" not in state:
        state["open"] = list(_eligible_members(team).annotate(
            open_cases=Count("assigned_cases", filter=~Q(assigned_cases__status=Status.CLOSED))))
    if not state["open"]:
        return None
    chosen = min(state["open"], key=lambda m: (m.open_cases, m.pk))
    chosen.open_cases += 1  # the case about to be opened for them
    return chosen


def _insert_case(**fields) -> Case:
    """Insert, then derive the reference from the id the database gave: unique without a race.
    In a batch the id is taken from the sequence first, so the row is inserted with its
    reference, together with the batch's other rows."""
    batch = unit_of_work.current()
    if batch is not None:
        pk = batch.next_id(Case, exact=True)  # one at a time: references do not skip numbers
        return batch.insert(Case(pk=pk, reference=f"CL-{pk:06d}", **fields))
    case = Case.objects.create(reference=f"tmp-{uuid.uuid4().hex[:16]}", **fields)
    case.reference = f"CL-{case.pk:06d}"
    Case.objects.filter(pk=case.pk).update(reference=case.reference)
    return case


def _raise_priority_if_worse(case, priority, by, at, events, fields, why: str) -> None:
    if Priority.rank(priority) > Priority.rank(case.priority):
        events.append(_event(case, Kind.PRIORITY, by, at, from_value=case.priority, to_value=priority, note=why))
        case.priority = priority
        fields.append("priority")


def _attach(case: Case, alert, at: dt.datetime, *, reopen_reason: str = "") -> Case:
    response = alert.response
    events, fields = [], []
    if reopen_reason:
        more, more_fields = _reopen(case, None, at, reopen_reason, {"response_id": response.pk, "alert_id": alert.pk})
        events += more
        fields += more_fields
    if getattr(response, "just_recorded", False):  # recorded in this transaction: attached nowhere yet
        insert_all([CaseResponse(case=case, response=response, attached_at=at)])
        created = True
    else:
        _, created = CaseResponse.objects.get_or_create(case=case, response=response, defaults={"attached_at": at})
    if created:
        events.append(_event(case, Kind.RESPONSE_ATTACHED, None, at, to_value=str(response.pk), data={
            "response_id": response.pk, "alert_id": alert.pk, "rule": alert.rule.name, "reasons": alert.reasons,
        }))
    _raise_priority_if_worse(case, alert.rule.case_priority, None, at, events, fields,
                             "A later response from the customer asked for a higher priority.")
    if not events:
        return case
    return _save(case, fields, events)


def _score_words(response) -> str:
    from cases.templatetags.case_display import primary_score

    score = primary_score(response)
    return score.text if score else "another low score"


def cases_open_from_alerts(*, alerts: list) -> None:
    """The open-case alerts of a worker's batch (core.unit_of_work), once its responses are
    written: each opens, joins or reopens a case as `case_open_from_alert` does. The locks are
    taken first and together, in one order every worker follows: every team, then the alerts'
    known customers and their open or recently closed cases, one statement each."""
    from surveys.models import Customer

    batch = unit_of_work.current()
    if batch is not None:
        _batch_teams(batch)
        known = sorted({a.response.customer_id for a in alerts if a.response.customer_id
                        and not batch.inserted(a.response.customer)})
        if known:
            window = max((a.rule.repeat_window_days or 0) for a in alerts)
            since = timezone.now() - dt.timedelta(days=window)
            locked = batch.memo["customers"] = {
                c.pk: (c, []) for c in Customer.objects.select_for_update().filter(pk__in=known).order_by("pk")}
            if window:
                for case in (Case.objects.select_for_update().filter(customer_id__in=known)
                             .filter(~Q(status=Status.CLOSED) | Q(closed_at__gte=since)).order_by("pk")):
                    locked[case.customer_id][1].append(case)
    for alert in alerts:
        response = alert.response
        response.just_recorded = True  # still true: recorded in this transaction
        try:
            case_open_from_alert(alert=alert)
        finally:
            response.just_recorded = False


# No savepoint of its own: it runs inside the caller's transaction (a failure rolls back the whole
# delivery, as it must), and a savepoint here would cost two round trips per response.
@transaction.atomic(savepoint=False)
def case_open_from_alert(*, alert, at: dt.datetime | None = None) -> Case:
    """Turn an alert into work: route to a team, pick the assignee, set the SLA clocks.

    Repeat protection: when the customer already has an open case, the response is attached to
    it (and its priority raised if this alert asks for more); when their case was closed within
    the alert rule's repeat window, that case is reopened instead (its timeline says why).
    Idempotent: the same alert (or response) never opens two cases."""
    response = alert.response
    if getattr(response, "just_recorded", False):
        # Recorded in this transaction: its only case is one an earlier alert of it opened just now.
        if getattr(response, "recorded_case", None) is not None:
            return response.recorded_case
    else:
        existing = Case.objects.filter(Q(alert=alert) | Q(case_responses__response=response)).first()
        if existing is not None:
            return existing
    case = _open_from_alert(alert, _now(at))
    response.recorded_case = case
    return case


def _open_from_alert(alert, at: dt.datetime) -> Case:
    from cases import routing
    from cases.routing import matching_rule
    from surveys.models import Customer, SurveyResponse

    response = alert.response
    rule = alert.rule

    customer = None
    batch = unit_of_work.current()
    if batch is not None:
        _batch_teams(batch)
    opened_here = batch is not None and response.customer_id is not None and any(
        c.customer_id == response.customer_id for c in batch.memo.get("opened", ()))
    if response.customer_id and batch is not None and batch.inserted(response.customer) and not opened_here:
        # A customer this batch created, with no case opened for them in it: no one else can
        # see them yet, so there is nothing to lock and no earlier case to join.
        customer = response.customer
    elif response.customer_id:
        if opened_here:
            batch.flush()  # the case this batch opened for them is read below
        locked = batch.memo.get("customers", {}) if batch is not None else {}
        if response.customer_id in locked:  # locked with the batch's others (cases_open_from_alerts)
            customer, theirs = locked[response.customer_id]
        else:
            # Lock the customer: two responses of theirs processed at once must not open two cases.
            customer, theirs = Customer.objects.select_for_update().get(pk=response.customer_id), None
        window = rule.repeat_window_days
        if window:
            since = at - dt.timedelta(days=window)
            if theirs is not None:
                candidates = [c for c in theirs if c.status != Status.CLOSED or (c.closed_at and c.closed_at >= since)]
            else:
                # One read for both questions: the customer's open cases and those closed within the window.
                candidates = list(
                    Case.objects.select_for_update()
                    .filter(Q(customer=customer) & (~Q(status=Status.CLOSED) | Q(closed_at__gte=since)))
                )
            open_cases = [c for c in candidates if c.status != Status.CLOSED]
            if open_cases:
                return _attach(max(open_cases, key=lambda c: (c.created_at, c.pk)), alert, at)
            closed = [c for c in candidates if c.status == Status.CLOSED and c.closed_at is not None]
            recent = max(closed, key=lambda c: (c.closed_at, c.pk)) if closed else None
            if recent is not None:
                days = max(0, (at - recent.closed_at).days)
                when = "the same day" if days == 0 else f"{days} day{'s' if days != 1 else ''}"
                reason = (f"Reopened automatically: {customer} sent another low score ({_score_words(response)}) "
                          f"{when}{'' if days == 0 else ' after'} closure (rule “{rule.name}”, "
                          f"window {window} days).")
                return _attach(recent, alert, at, reopen_reason=reason)

    routing_rule = matching_rule(response)
    if rule.case_team_id:
        team = routing.team(rule.case_team_id)
    elif routing_rule is not None:
        team = routing.team(routing_rule.team_id)
    else:
        team = routing.team(routing.route_team_id(response))
    priority = rule.case_priority
    tier = customer.tier if customer else ""
    policies = routing.active_sla_policies()  # per process, like the rules; active ones only
    routing_policy = next((p for p in policies if p.pk == routing_rule.sla_policy_id), None) if (
        routing_rule is not None and routing_rule.sla_policy_id) else None
    rule_policy = next((p for p in policies if p.pk == rule.sla_policy_id), None) if rule.sla_policy_id else None
    if rule.sla_policy_id and rule_policy is None:
        rule_policy = rule.sla_policy  # inactive, or created a moment ago: as before, the rule's own choice
    policy = rule_policy or routing_policy or choose_sla_policy(priority=priority, tier=tier, active=policies)
    first_due, resolution_due = due_times(team, at, policy)
    assignee = pick_assignee(team)
    case = _insert_case(
        customer=customer, response=response, alert=alert, team=team, assignee=assignee, priority=priority,
        sla_policy=policy, first_contact_due=first_due, resolution_due=resolution_due,
        value_at_risk=(customer.account_value or 0) if customer else 0, created_at=at,
    )
    insert_all([CaseResponse(case=case, response=response, attached_at=at)])
    if batch is not None:
        batch.memo.setdefault("opened", []).append(case)
        if customer is not None and customer.pk in batch.memo.get("customers", {}):
            batch.memo["customers"][customer.pk][1].append(case)
    if response.team_id != team.pk:  # routed elsewhere before its INSERT: the case's team owns it
        SurveyResponse.objects.filter(pk=response.pk).update(team=team)
        response.team_id = team.pk
    events = [_event(case, Kind.OPENED, None, at, to_value=team.name, note="; ".join(alert.reasons or []), data={
        "alert_id": alert.pk, "rule": rule.name, "reasons": alert.reasons,
        "routing_rule": routing_rule.name if routing_rule else "", "sla_policy": policy.name if policy else "",
    })]
    rows = notifications.team_channel_rows(case_id=case.pk, kind=NotificationKind.NEW_CASE, team=team, period="")
    if assignee is not None:
        events.append(_event(case, Kind.ASSIGNED, None, at, to_value=assignee.username, data={
            "assignee_id": assignee.pk, "assignee_name": assignee.display_name, "mode": team.assignment}))
        case.version = 0  # _assignment_rows stamps the version this opening ends at (1)
        rows += _assignment_rows(case, assignee, None)
    case.version = 1
    for event in events:
        event.version = 1
    insert_all(events)
    notifications.queue(rows)
    return case


# --- the SLA sweep (set-based) -------------------------------------------------------------
# A batch notification lists at most this many case references (and says how many there are).
BATCH_LIST = 50


class SweepResult(dict):
    """Counts of what one sweep did: overdue, due_soon, escalated, priority_raised, notifications."""


def _returning(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _dt(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


@transaction.atomic
def cases_raise_priority(*, case_ids: list[int], by=None, reason: str, at: dt.datetime | None = None) -> list[int]:
    """Raise each open case's priority one step (low -> normal -> high -> urgent), with a PRIORITY
    event and a version bump: the bulk twin of case_change_priority, for the escalation ladder.
    Set-based: one UPDATE ... RETURNING per step and chunk. Returns the ids raised."""
    at = _now(at)
    table = Case._meta.db_table
    order = list(Priority.values)
    raised: list[tuple[int, str, str, int]] = []
    pending = set(case_ids)
    for current in reversed(order[:-1]):  # high first, so a case moves one step only
        following = order[order.index(current) + 1]
        for chunk in _chunks(sorted(pending), 5000):
            marks = ", ".join(["%s"] * len(chunk))
            rows = _returning(
                f"UPDATE {table} SET priority = %s, version = version + 1, updated_at = %s "
                f"WHERE id IN ({marks}) AND priority = %s AND status <> %s RETURNING id, version",
                [following, _dt(at), *chunk, current, Status.CLOSED],
            )
            for case_id, version in rows:
                raised.append((case_id, current, following, version))
                pending.discard(case_id)
    CaseEvent.objects.bulk_create(
        [CaseEvent(case_id=cid, kind=Kind.PRIORITY, actor=by, from_value=old, to_value=new, note=reason,
                   version=version, created_at=at) for cid, old, new, version in raised],
        batch_size=5000,
    )
    return [cid for cid, *_ in raised]


def _batched(kind: str, channel: str, address: str, period: str, cases: list[tuple[int, str]], *,
             recipient_id=None) -> Notification:
    """One outbox row for one recipient (or team channel) and the cases one sweep found for it:
    about the case when it is one, else a batch (context: count and the first references)."""
    cases = sorted(cases)
    if len(cases) == 1:
        case_id, context = cases[0][0], {}
    else:
        case_id, context = None, {"count": len(cases), "references": [ref for _, ref in cases[:BATCH_LIST]]}
    return Notification(case_id=case_id, kind=kind, channel=channel, recipient_id=recipient_id, address=address,
                        period=period, context=context)


def _people_rows(claimed, kind: str, period: str, *, to_assignee: bool, to_managers: bool, teams: dict) -> list:
    """Notification rows for (case_id, team_id, assignee_id, reference) tuples: assignee and/or team
    managers by e-mail (honouring preferences), plus the team's chat channels; one row per
    recipient and channel (see _batched). Three queries in all."""
    team_ids = {team_id for _, team_id, _, _ in claimed}
    managers: dict[int, set[int]] = {}
    if to_managers:
        for team_id, user_id in Membership.objects.filter(team_id__in=team_ids, is_manager=True).values_list(
            "team_id", "user_id"
        ):
            managers.setdefault(team_id, set()).add(user_id)
    wanted = {a for _, _, a, _ in claimed if a and to_assignee} | {u for ids in managers.values() for u in ids}
    wanted = notifications.enabled_users(wanted, kind)
    emails = dict(User.objects.filter(pk__in=wanted, is_active=True).exclude(email="").values_list("id", "email"))
    per_user: dict[int, list] = {}
    per_channel: dict[tuple[str, str], list] = {}
    for case_id, team_id, assignee_id, reference in claimed:
        people = ({assignee_id} if to_assignee and assignee_id else set()) | managers.get(team_id, set())
        for user_id in people:
            if user_id in emails:
                per_user.setdefault(user_id, []).append((case_id, reference))
        team = teams.get(team_id)
        if team is not None:
            for row in notifications.team_channel_rows(case_id=case_id, kind=kind, team=team, period=period):
                per_channel.setdefault((row.channel, row.address), []).append((case_id, reference))
    rows = [_batched(kind, Notification.Channel.EMAIL, emails[user_id], period, cases, recipient_id=user_id)
            for user_id, cases in per_user.items()]
    rows += [_batched(kind, channel, address, period, cases) for (channel, address), cases in per_channel.items()]
    return rows


@transaction.atomic
def cases_sweep_sla(*, now: dt.datetime | None = None) -> SweepResult:
    """Record newly overdue and due-soon cases and run the escalation ladder, each exactly once.

    Each step claims its rows with a conditional UPDATE ... RETURNING (WHERE overdue_at IS NULL,
    WHERE escalation_level = 1 ...), so a concurrent sweep blocks on the same rows and then finds
    them already claimed: one event and one notification per case, however many sweeps run.
    Level 1 (on becoming overdue): notify the assignee and the team's managers.
    Level 2 (team.escalation_delay_minutes later): notify the escalation contact and, unless the
    team is notify-only, raise the priority one step (cases_raise_priority).

    On PostgreSQL each step is one statement (data-modifying CTEs: claim, insert the events,
    insert the notifications), so the work stays in the database whatever the volume; elsewhere
    (SQLite: the embedded demo) the same steps run with the rows passing through Python."""
    now = _now(now)
    if connection.vendor == "postgresql":
        result = _sweep_postgresql(now)
    else:
        result = _sweep_portable(now)
    notifications.dispatch_on_commit()
    return result


def _sweep_portable(now: dt.datetime) -> SweepResult:
    """The sweep with rows through Python (any database with UPDATE ... RETURNING): the same
    claims as the PostgreSQL statements, the events and notifications built here."""
    table = Case._meta.db_table
    period = now.isoformat()
    result = SweepResult(overdue=0, due_soon=0, escalated=0, priority_raised=0, notifications=0)
    teams = {t.pk: t for t in Team.objects.all()}

    # 1. Newly overdue (level 1).
    overdue = _returning(
        f"UPDATE {table} SET overdue_at = %s, escalation_level = 1, escalated_at = %s "
        f"WHERE status <> %s AND overdue_at IS NULL "
        f"AND (resolution_due < %s OR (first_contacted_at IS NULL AND first_contact_due < %s)) "
        f"RETURNING id, team_id, assignee_id, reference, (first_contacted_at IS NULL AND first_contact_due < %s)",
        [_dt(now), _dt(now), Status.CLOSED, _dt(now), _dt(now), _dt(now)],
    )
    events = [
        CaseEvent(case_id=cid, kind=Kind.OVERDUE, to_value="first contact" if first else "resolution",
                  note="First contact is overdue." if first else "Resolution is overdue.",
                  data={"escalation_level": 1}, created_at=now)
        for cid, _, _, _, first in overdue
    ]
    rows = _people_rows([(c, t, a, ref) for c, t, a, ref, _ in overdue], NotificationKind.OVERDUE, period,
                        to_assignee=True, to_managers=True, teams=teams)
    result["overdue"] = len(overdue)

    # 2. Due soon (not overdue yet, a clock runs out within DUE_SOON).
    horizon = now + DUE_SOON
    due_soon = _returning(
        f"UPDATE {table} SET due_soon_notified_at = %s "
        f"WHERE status <> %s AND due_soon_notified_at IS NULL AND overdue_at IS NULL "
        f"AND resolution_due >= %s AND (first_contacted_at IS NOT NULL OR first_contact_due >= %s) "
        f"AND (resolution_due <= %s OR (first_contacted_at IS NULL AND first_contact_due <= %s)) "
        f"RETURNING id, team_id, assignee_id, reference",
        [_dt(now), Status.CLOSED, _dt(now), _dt(now), _dt(horizon), _dt(horizon)],
    )
    events += [CaseEvent(case_id=cid, kind=Kind.DUE_SOON, created_at=now) for cid, _, _, _ in due_soon]
    rows += _people_rows(due_soon, NotificationKind.DUE_SOON, period, to_assignee=True, to_managers=False, teams={})
    result["due_soon"] = len(due_soon)

    # 3. Level 2, per escalation delay (teams sharing a delay share one statement).
    by_delay: dict[int, list[int]] = {}
    for team in teams.values():
        by_delay.setdefault(team.escalation_delay_minutes, []).append(team.pk)
    escalated = []
    for delay, team_ids in by_delay.items():
        marks = ", ".join(["%s"] * len(team_ids))
        escalated += _returning(
            f"UPDATE {table} SET escalation_level = 2, escalated_at = %s "
            f"WHERE status <> %s AND escalation_level = 1 AND overdue_at IS NOT NULL AND overdue_at <= %s "
            f"AND team_id IN ({marks}) RETURNING id, team_id, assignee_id, reference",
            [_dt(now), Status.CLOSED, _dt(now - dt.timedelta(minutes=delay)), *team_ids],
        )
    events += [CaseEvent(case_id=cid, kind=Kind.ESCALATED, to_value="2", data={"escalation_level": 2},
                         note="Escalated: still overdue after the team's escalation delay.", created_at=now)
               for cid, _, _, _ in escalated]
    contacts: dict[str, list] = {}
    for cid, team_id, _, reference in escalated:
        if teams[team_id].escalation_email:
            contacts.setdefault(teams[team_id].escalation_email, []).append((cid, reference))
    rows += [_batched(NotificationKind.ESCALATED, Notification.Channel.EMAIL, address, period, cases)
             for address, cases in contacts.items()]
    rows += _people_rows(escalated, NotificationKind.ESCALATED, period, to_assignee=False, to_managers=False,
                         teams=teams)
    result["escalated"] = len(escalated)
    CaseEvent.objects.bulk_create(events, batch_size=5000)

    ladder = [cid for cid, team_id, _, _ in escalated if teams[team_id].escalation != Team.Escalation.NOTIFY_ONLY]
    if ladder:
        result["priority_raised"] = len(cases_raise_priority(
            case_ids=ladder, reason="Escalated: still overdue after the team's escalation delay.", at=now))

    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
        result["notifications"] = len(rows)
    return result


# --- the PostgreSQL sweep: one statement per step ------------------------------------------------
def _tables() -> dict:
    return {"case": Case._meta.db_table, "event": CaseEvent._meta.db_table,
            "note": Notification._meta.db_table, "pref": "cases_notificationpreference",
            "member": Membership._meta.db_table, "user": User._meta.db_table, "team": Team._meta.db_table}


def _notify_sql(t: dict, kind: str, *, people: str, chat: bool) -> str:
    """CTEs queuing `kind` notifications for the cases in `claimed`: `people` is a SELECT of
    (case_id, user_id) pairs; chat adds the team's Slack / Teams webhooks. One row per recipient
    (and per team channel) per sweep: about the case when it is one, a batch listing the cases
    (context {"count", "references"}) when a sweep finds several for the same person, so a
    backlog of a thousand overdue cases is one e-mail, not a thousand. Preferences honoured;
    the outbox's unique indexes make a repeated insert a no-op."""
    columns = ("case_id, kind, channel, recipient_id, address, period, subject, body, context, status, attempts, "
               "next_attempt_at, error, created_at")
    batch = (f"CASE WHEN count(*) = 1 THEN min(r.case_id) END, '{kind}', {{channel}}, {{recipient}}, {{address}}, "
             f"%(period)s, '', '', "
             f"CASE WHEN count(*) = 1 THEN jsonb_build_object() ELSE jsonb_build_object('count', count(*), "
             f"'references', to_jsonb((array_agg(r.reference ORDER BY r.case_id))[1:{BATCH_LIST}])) END, "
             f"'pending', 0, %(now)s, '', %(now)s")
    sql = f""",
    people AS (
        INSERT INTO {t['note']} ({columns})
        SELECT {batch.format(channel="'email'", recipient="u.id", address="u.email")}
        FROM ({people}) r JOIN {t['user']} u ON u.id = r.user_id AND u.is_active AND u.email <> ''
        WHERE NOT EXISTS (SELECT 1 FROM {t['pref']} p WHERE p.user_id = u.id AND p.kind = '{kind}' AND NOT p.enabled)
        GROUP BY u.id, u.email
        ON CONFLICT DO NOTHING RETURNING 1
    )"""
    if chat:
        sql += f""",
    chat AS (
        INSERT INTO {t['note']} ({columns})
        SELECT {batch.format(channel="x.channel", recipient="NULL", address="x.url")}
        FROM (SELECT id AS case_id, team_id, reference FROM claimed) r JOIN {t['team']} tm ON tm.id = r.team_id
        CROSS JOIN LATERAL (VALUES ('slack', tm.slack_webhook_url), ('msteams', tm.msteams_webhook_url)) AS x(channel, url)
        WHERE x.url <> ''
        GROUP BY x.channel, x.url
        ON CONFLICT DO NOTHING RETURNING 1
    )"""
    return sql


def _sweep_postgresql(now: dt.datetime) -> SweepResult:
    t = _tables()
    params = {"now": now, "period": now.isoformat(), "closed": Status.CLOSED, "horizon": now + DUE_SOON}
    result = SweepResult(overdue=0, due_soon=0, escalated=0, priority_raised=0, notifications=0)
    counts = "(SELECT count(*) FROM claimed), (SELECT count(*) FROM people) + (SELECT count(*) FROM chat)"

    # 1. Newly overdue (level 1): the assignee and the team's managers, and the team's channels.
    overdue_people = (f"SELECT c.id AS case_id, c.reference, c.assignee_id AS user_id FROM claimed c "
                      f"WHERE c.assignee_id IS NOT NULL "
                      f"UNION SELECT c.id, c.reference, m.user_id FROM claimed c JOIN {t['member']} m "
                      f"ON m.team_id = c.team_id AND m.is_manager")
    (claimed, queued), = _returning(f"""
    WITH claimed AS (
        UPDATE {t['case']} SET overdue_at = %(now)s, escalation_level = 1, escalated_at = %(now)s
        WHERE status <> %(closed)s AND overdue_at IS NULL
          AND (resolution_due < %(now)s OR (first_contacted_at IS NULL AND first_contact_due < %(now)s))
        RETURNING id, team_id, assignee_id, reference,
                  (first_contacted_at IS NULL AND first_contact_due < %(now)s) AS first
    ),
    events AS (
        INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, created_at)
        SELECT id, 'overdue', NULL, '', CASE WHEN first THEN 'first contact' ELSE 'resolution' END,
               CASE WHEN first THEN 'First contact is overdue.' ELSE 'Resolution is overdue.' END,
               '{{"escalation_level": 1}}', 0, %(now)s
        FROM claimed
    ){_notify_sql(t, NotificationKind.OVERDUE, people=overdue_people, chat=True)}
    SELECT {counts}""", params)
    result["overdue"], result["notifications"] = claimed, queued

    # 2. Due soon: the assignee.
    (claimed, queued), = _returning(f"""
    WITH claimed AS (
        UPDATE {t['case']} SET due_soon_notified_at = %(now)s
        WHERE status <> %(closed)s AND due_soon_notified_at IS NULL AND overdue_at IS NULL
          AND resolution_due >= %(now)s AND (first_contacted_at IS NOT NULL OR first_contact_due >= %(now)s)
          AND (resolution_due <= %(horizon)s OR (first_contacted_at IS NULL AND first_contact_due <= %(horizon)s))
        RETURNING id, team_id, assignee_id, reference
    ),
    events AS (
        INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, created_at)
        SELECT id, 'due_soon', NULL, '', '', '', '{{}}', 0, %(now)s FROM claimed
    ){_notify_sql(t, NotificationKind.DUE_SOON,
                  people="SELECT id AS case_id, reference, assignee_id AS user_id FROM claimed "
                         "WHERE assignee_id IS NOT NULL",
                  chat=False)},
    chat AS (SELECT 1 WHERE false)
    SELECT {counts}""", params)
    result["due_soon"], result["notifications"] = claimed, result["notifications"] + queued

    # 3. Level 2: the team's own delay, read in the statement; escalation contact + channels.
    escalated = _returning(f"""
    WITH claimed AS (
        UPDATE {t['case']} c SET escalation_level = 2, escalated_at = %(now)s
        FROM {t['team']} tm
        WHERE tm.id = c.team_id AND c.status <> %(closed)s AND c.escalation_level = 1 AND c.overdue_at IS NOT NULL
          AND c.overdue_at <= %(now)s - tm.escalation_delay_minutes * interval '1 minute'
        RETURNING c.id, c.team_id, c.reference, tm.escalation <> 'notify_only' AS raise_priority
    ),
    events AS (
        INSERT INTO {t['event']} (case_id, kind, actor_id, from_value, to_value, note, data, version, created_at)
        SELECT id, 'escalated', NULL, '', '2', 'Escalated: still overdue after the team''s escalation delay.',
               '{{"escalation_level": 2}}', 0, %(now)s FROM claimed
    ),
    contact AS (
        INSERT INTO {t['note']} (case_id, kind, channel, recipient_id, address, period, subject, body, context,
                                 status, attempts, next_attempt_at, error, created_at)
        SELECT CASE WHEN count(*) = 1 THEN min(c.id) END, 'escalated', 'email', NULL, tm.escalation_email,
               %(period)s, '', '',
               CASE WHEN count(*) = 1 THEN '{{}}'::jsonb ELSE jsonb_build_object('count', count(*), 'references',
                    to_jsonb((array_agg(c.reference ORDER BY c.id))[1:{BATCH_LIST}])) END,
               'pending', 0, %(now)s, '', %(now)s
        FROM claimed c JOIN {t['team']} tm ON tm.id = c.team_id WHERE tm.escalation_email <> ''
        GROUP BY tm.escalation_email
        ON CONFLICT DO NOTHING
    ){_notify_sql(t, NotificationKind.ESCALATED,
                  people="SELECT NULL::bigint AS case_id, NULL::text AS reference, NULL::bigint AS user_id WHERE false",
                  chat=True)}
    SELECT id, raise_priority FROM claimed""", params)
    result["escalated"] = len(escalated)
    ladder = [case_id for case_id, raise_priority in escalated if raise_priority]
    if ladder:
        result["priority_raised"] = len(cases_raise_priority(
            case_ids=ladder, reason="Escalated: still overdue after the team's escalation delay.", at=now))
    return result


# --- personal-data erasure (privacy calls this; the case side of an erasure) --------------------
ERASED = "[erased]"
# Keys in a timeline event's `data` that may hold free text or contact details.
FREE_TEXT_KEYS = re.compile(r"e-?mail|phone|body|subject|comment|text|message|note|name|address|to$", re.IGNORECASE)


@transaction.atomic
def cases_erase_free_text(*, case_ids: list[int], by=None, record: bool = True, at: dt.datetime | None = None) -> dict:
    """Strip free text a person wrote about a customer from these cases and their timelines
    (resolution, prevention, notes, contact details in event data). Closed cases keep the
    placeholder "[erased]" as resolution (the closure constraint). Bumps each version; with
    `record`, adds a timeline note saying the data was erased. Returns what was touched."""
    now = _now(at)
    cases = list(Case.objects.filter(pk__in=case_ids).select_for_update().values_list("pk", "status"))
    locked = [pk for pk, _ in cases]
    closed = [pk for pk, status in cases if status == Case.Status.CLOSED]
    Case.objects.filter(pk__in=closed).update(resolution=ERASED, prevention="", version=F("version") + 1)
    Case.objects.filter(pk__in=locked).exclude(pk__in=closed).update(resolution="", prevention="", version=F("version") + 1)
    events = 0
    for event in CaseEvent.objects.filter(case_id__in=locked).exclude(note="", data={}):
        data = {k: v for k, v in (event.data or {}).items() if not FREE_TEXT_KEYS.search(str(k))}
        if event.note or data != event.data:
            CaseEvent.objects.filter(pk=event.pk).update(note="", data=data)
            events += 1
    if record:
        actor = by if by is not None and by.is_authenticated else None
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(case_id=pk, kind=CaseEvent.Kind.NOTE, actor=actor,
                          note="The customer's personal data was erased.", created_at=now)
                for pk in locked
            ]
        )
    return {"cases": len(locked), "case_events": events}
