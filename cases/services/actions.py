"""What a person (or the system) does to one case: claim, assign, start, log a contact, note,
priority, close, reopen, playbook steps, e-mail the customer, recovery-check sent and answered.
Each locks the case, checks the flow (cases.services.flow) and writes events in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Priority, Team, User
from accounts.selectors import visible_team_ids
from cases import inapp, live, notifications
from cases.calendar import business_seconds_between
from cases.mail import outgoing
from cases.mail.addresses import reply_address
from cases.mail.models import InboundMail, OutgoingMail
from cases.models import (
    Case,
    CaseEvent,
    ContactChannel,
    ContactOutcome,
    Notification,
    NotificationKind,
    RootCause,
)
from cases.services.flow import (
    CaseConflict,
    Kind,
    Status,
    _assignment_rows,
    _event,
    _guard,
    _lock,
    _move,
    _now,
    _reopen,
    _reset_sla_marks,
    _save,
)
from cases.timeline import SAID_CHECK, said, team_time
from surveys.consent import ContactChannel as ConsentChannel
from surveys.consent import contact_refusal


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
        name = case.assignee.display_name
        claimed = last is not None and last.kind == Kind.CLAIMED and last.actor_id == case.assignee_id
        if last is None:
            message = (_("%(name)s claimed this case.") if claimed else
                       _("%(name)s already has this case (assigned).")) % {"name": name}
        else:
            values = {"name": name, "time": team_time(case, last.created_at)}
            message = (_("%(name)s claimed this case at %(time)s.") if claimed else
                       _("%(name)s already has this case (assigned at %(time)s).")) % values
        raise CaseConflict(message, case)
    at = _now(at)
    case.assignee = by
    return _save(case, ["assignee"], [_event(case, Kind.CLAIMED, by, at, to_value=by.username)])


def _member_ids(team: Team) -> set[int]:
    """The team's active members: the only people a case of the team can be assigned to."""
    return set(Membership.objects.filter(team=team, user__is_active=True).values_list("user_id", flat=True))


def not_a_member(team: Team) -> str:
    """Why an assignee was refused. It does not name the person: an id that is not a member of the
    team (the admin's, anyone's) must not tell the caller whose id it is."""
    return _("That person is not a member of %(team)s (only the team's active members can be assigned).") % {
        "team": team.name}


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
                raise ValidationError({"team": [_("You cannot move cases to %(team)s.") % {"team": team.name}]})
        events.append(_event(case, Kind.TEAM, by, at, from_value=case.team.name, to_value=team.name,
                             data={"from_team": case.team_id, "to_team": team.pk}))
        live.touch(team_ids=[case.team_id])  # the team it leaves (_save tells the one it joins)
        case.team = team
        fields.append("team")
    members = _member_ids(target_team) if (assignee is not None or team is not None) else set()
    if assignee is not None and assignee.pk not in members:
        raise ValidationError({"assignee": [not_a_member(target_team)]})
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
    _claim_if_unassigned(case, by, at, events, fields)
    _move(case, to_status, by, at, events, fields)
    return _save(case, fields, events)


def _claim_if_unassigned(case: Case, by, at, events: list, fields: list) -> None:
    """Working on an unassigned case makes it yours (starting it, or logging a contact)."""
    if case.assignee_id is None and by is not None:
        case.assignee = by
        fields.append("assignee")
        events.append(_event(case, Kind.CLAIMED, by, at, to_value=by.username))


def _contact(case: Case, by, at, *, channel: str, outcome: str, note: str, data: dict, action: str) -> tuple[list, list]:
    to_status = _guard(case, action)
    events, fields = [], []
    _claim_if_unassigned(case, by, at, events, fields)
    _move(case, to_status, by, at, events, fields)
    events.append(_event(case, Kind.CONTACT, by, at, from_value=channel, to_value=outcome, note=note,
                         data={"channel": channel, "outcome": outcome, **data}))
    if case.first_contacted_at is None and _meets_first_contact(case, outcome):
        case.first_contacted_at = at  # this attempt stops the first-contact clock
        case.first_contact_business_seconds = business_seconds_between(case.team, case.created_at, at)
        fields += ["first_contacted_at", "first_contact_business_seconds"]
        _reset_sla_marks(case, at, fields)
    return events, fields


UNANSWERED = frozenset({ContactOutcome.NO_ANSWER, ContactOutcome.VOICEMAIL, ContactOutcome.WRONG_NUMBER})


def _meets_first_contact(case: Case, outcome: str) -> bool:
    """Whether an attempt stops the first-contact clock: reaching the customer or e-mailing them
    (outcome "") does; an unanswered attempt only when the team's policy counts attempts
    (Team.unanswered_attempt_stops_first_contact)."""
    if outcome not in UNANSWERED:
        return True
    return case.team.unanswered_attempt_stops_first_contact


@transaction.atomic
def case_log_contact(
    *, case_id: int, by: User, channel: str, outcome: str, note: str = "",
    expected_version: int | None = None, at: dt.datetime | None = None,
) -> Case:
    """Record an attempt to reach the customer. Reaching them stops the first-contact clock; an
    unanswered attempt (no answer, voicemail, wrong number) does only if the team's policy says so."""
    errors = {}
    if channel not in ContactChannel.values:
        errors["channel"] = [_("Choose one of: %(values)s.") % {"values": ", ".join(ContactChannel.values)}]
    if outcome not in ContactOutcome.values:
        errors["outcome"] = [_("Choose one of: %(values)s.") % {"values": ", ".join(ContactOutcome.values)}]
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
        raise ValidationError({"note": [_("Write the note.")]})
    case = _lock(case_id, by=by, expected_version=expected_version)
    _guard(case, "note")
    _save(case, [], [_event(case, Kind.NOTE, by, _now(at), note=note.strip())])
    notifications.queue(_mention_rows(case, by, note.strip()))
    return case


def _mention_rows(case: Case, by, note: str) -> list[Notification]:
    """@username in a note: the notification centre for each mentioned user who can see the case,
    and an e-mail for those who keep "mentioned" e-mails on."""
    users = inapp.mentioned_users(note, case=case, by=by)
    if not users:
        return []
    period = f"v{case.version}"
    context = {"by": by.display_name if by is not None else "Closeloop", "note": note[:500]}
    wants = notifications.enabled_users([u.pk for u in users], NotificationKind.MENTIONED)
    rows = []
    for user in users:
        rows.append(inapp.row(case_id=case.pk, kind=NotificationKind.MENTIONED, user_id=user.pk, period=period,
                              context=context))
        if user.pk in wants:
            rows.append(notifications.email_row(case_id=case.pk, kind=NotificationKind.MENTIONED, user_id=user.pk,
                                                email=user.email, period=period, context=context))
    return rows


@transaction.atomic
def case_change_priority(*, case_id: int, by, priority: str, expected_version: int | None = None,
                         at: dt.datetime | None = None, reason: str = "") -> Case:
    """Change the order of work. Due times stay: they are the promise made when the case opened."""
    if priority not in Priority.values:
        raise ValidationError({"priority": [_("Choose one of: %(values)s.") % {"values": ", ".join(Priority.values)}]})
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
        errors["root_cause"] = [_("Choose a root cause.")]
    elif not RootCause.objects.filter(pk=root_cause_id, active=True, category__active=True).exists():
        errors["root_cause"] = [_("Choose a root cause from the current list.")]
    if not (resolution or "").strip():
        errors["resolution"] = [_("Say what was done to resolve it.")]
    if outcome not in Case.Outcome.values:
        errors["outcome"] = [_("Choose the outcome with the customer.")]
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
    case.close_business_seconds = business_seconds_between(case.team, case.created_at, at)
    fields += ["root_cause", "resolution", "outcome", "prevention", "closed_at", "closed_by", "close_business_seconds"]
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
        raise ValidationError({"step": [_("“%(playbook)s” has %(count)s steps; there is no step %(step)s.") % {
            "playbook": playbook.name, "count": len(steps), "step": int(step) + 1}]})
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
        more_events, fields = _reopen(case, None, at, "", {"verification_id": verification_id,
                                                              **said(SAID_CHECK, answer=answer)})
        events += more_events
    return _save(case, fields, events)


@transaction.atomic
def case_reopen(*, case_id: int, by, reason: str, expected_version: int | None = None,
                at: dt.datetime | None = None) -> Case:
    """closed -> in progress, with fresh SLA clocks from now. The last closure stays in the timeline."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the case is reopened.")]})
    case = _lock(case_id, by=by, expected_version=expected_version)
    events, fields = _reopen(case, by, _now(at), reason.strip(), {})
    return _save(case, fields, events)


def _sendable(address: str) -> bool:
    from django.core.validators import validate_email

    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


@transaction.atomic
def case_email_customer(*, case_id: int, by: User, subject: str, body: str, expected_version: int | None = None,
                        at: dt.datetime | None = None) -> Case:
    """Queue an e-mail to the customer (sent by a task after commit) and record it on the timeline
    as a contact attempt by e-mail (which stops the first-contact clock like a call would)."""
    errors = {}
    if not (subject or "").strip():
        errors["subject"] = [_("Write a subject.")]
    elif any(ch in subject for ch in "\r\n\x00"):
        # A line break in a header would add headers of the sender's choosing; mail refuses it anyway.
        errors["subject"] = [_("Keep the subject on one line (no line breaks).")]
    elif len(subject.strip()) > 255:
        errors["subject"] = [_("Keep the subject under 255 characters.")]
    if not (body or "").strip():
        errors["body"] = [_("Write the message.")]
    case = _lock(case_id, by=by, expected_version=expected_version)
    customer = case.customer
    if customer is None or not customer.email:
        errors["customer"] = [_("This customer has no e-mail address.")]
    elif refusal := contact_refusal(customer, ConsentChannel.EMAIL):  # opted out, or not by e-mail
        errors["customer"] = [refusal]
    elif not _sendable(customer.email):
        # Counted as a contact attempt, it would stop the first-contact clock for a message that never leaves.
        errors["customer"] = [_("This customer's e-mail address is not a valid address: correct it before writing.")]
    if errors:
        raise ValidationError(errors)
    at = _now(at)
    period = f"e{uuid.uuid4().hex[:16]}"
    # Replies come back to the case (cases/mail): the reply address carries its signed token, the
    # Message-ID (kept here and on the timeline) threads them, and our answer threads under the
    # customer's last reply.
    message_id = outgoing.new_message_id()
    answers = list(InboundMail.objects.filter(case=case, outcome=InboundMail.Outcome.REPLY)
                   .order_by("-received_at", "-id").values_list("message_id", flat=True)[:1])
    answers += [m for m in OutgoingMail.objects.filter(case=case).order_by("-created_at", "-id")
                .values_list("message_id", flat=True)[:5]]
    notification = Notification.objects.create(
        case=case, kind=NotificationKind.CUSTOMER_EMAIL, channel=Notification.Channel.EMAIL, address=customer.email,
        period=period, subject=subject.strip(), body=body,
        context={"reply_to": reply_address(case.pk), "message_id": message_id, "answers": answers},
    )
    OutgoingMail.objects.create(message_id=message_id, case=case, created_at=at)
    events, fields = _contact(case, by, at, channel=ContactChannel.EMAIL, outcome="", note=body,
                              data={"subject": subject.strip(), "notification_id": notification.pk,
                                    "message_id": message_id},
                              action="email_customer")
    _save(case, fields, events)
    notifications.dispatch_on_commit()
    return case
