"""E-mail that came back to a case (cases/mail hands it here, whichever door it came through):
a customer's reply, a bounce, an automatic reply. Each is a case write like any other: the case
locked, the flow checked, timeline events written, notifications queued.

- A reply is recorded (CUSTOMER_REPLIED, its text without quoted history, its attachments
  listed) and the assignee is notified (the notification centre, and an e-mail if they keep
  "customer replied" on). It does not stop the first-contact clock: that clock waits for the
  team to reach the customer, and a reply usually answers an e-mail that already stopped it.
  On a closed case the team's setting (Team.mail_reply_to_closed) decides: reopen it with fresh
  clocks, or open a linked follow-up case (the closed one's timeline names it) for the reply.
- A bounce (EMAIL_BOUNCED) or an automatic reply (EMAIL_AUTO_REPLY) is recorded as such and
  changes nothing else: it is not the customer answering, and no one is notified.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction

from accounts.models import Membership, Team
from cases import inapp, live, notifications
from cases.models import Case, CaseEvent, CaseResponse, Notification, NotificationKind
from cases.services.flow import Kind, Status, _event, _guard, _lock, _now, _reopen, _save
from cases.sla import due_times
from cases.timeline import SAID_FOLLOW_UP, SAID_REPLIED, said
from core.unit_of_work import insert_all

if TYPE_CHECKING:
    from cases.mail.message import Received

REPLY_IN_NOTIFICATION = 500


def _data(mail: Received, inbound_id: int) -> dict:
    # Keys a personal-data erasure strips (cases.services.erasure.FREE_TEXT_KEYS): the sender's
    # address, the subject and the attachments' names are the customer's words.
    return {"inbound_id": inbound_id, "message_id": mail.message_id, "from_email": mail.from_address,
            "subject": mail.subject, "attachment_names": mail.attachment_list()}


@transaction.atomic
def case_mail_received(*, case_id: int, mail: Received, inbound_id: int, at: dt.datetime | None = None) -> Case:
    """Record an inbound e-mail on its case. Returns the case the mail landed on: the case
    itself, or the follow-up case a reply to a closed case opened (Team.mail_reply_to_closed)."""
    case = _lock(case_id, by=None, expected_version=None)
    at = _now(at)
    data = _data(mail, inbound_id)
    if mail.kind != "reply":
        _guard(case, "mail_received")
        kind = Kind.EMAIL_BOUNCED if mail.kind == "bounce" else Kind.EMAIL_AUTO_REPLY
        event = _event(case, kind, None, at, to_value=(mail.bounce or {}).get("status", ""), note=mail.text,
                       data={**data, "why": mail.why, "bounce_note": mail.bounce})
        return _save(case, [], [event])
    if case.status == Status.CLOSED and case.team.mail_reply_to_closed == Team.ClosedReply.FOLLOW_UP:
        follow_up = _open_follow_up(case, mail, data, at)
        _guard(case, "customer_replied")
        _save(case, [], [_event(case, Kind.CUSTOMER_REPLIED, None, at, note=mail.text,
                                data={**data, "follow_up": follow_up.reference})])
        return follow_up
    events, fields = [], []
    if case.status == Status.CLOSED:
        events, fields = _reopen(case, None, at, "", {"inbound_id": inbound_id, **said(SAID_REPLIED)})
    else:
        _guard(case, "customer_replied")
    events.append(_event(case, Kind.CUSTOMER_REPLIED, None, at, note=mail.text,
                         data=data))
    _save(case, fields, events)
    notifications.queue(_replied_rows(case, mail, inbound_id))
    return case


def _replied_rows(case: Case, mail: Received, inbound_id: int) -> list[Notification]:
    """The assignee hears of the reply: the notification centre, and an e-mail if they want it.
    Nobody is assigned: the team's inbox shows the case moved (cases.live), no one is paged."""
    if case.assignee_id is None:
        return []
    period = f"m{inbound_id}"
    context = {"from": mail.from_address, "subject": mail.subject, "text": mail.text[:REPLY_IN_NOTIFICATION],
               "attachments": len(mail.attachments)}
    kind = NotificationKind.CUSTOMER_REPLIED
    rows = [inapp.row(case_id=case.pk, kind=kind, user_id=case.assignee_id, period=period, context=context)]
    if notifications.user_wants(case.assignee, kind):
        rows.append(notifications.email_row(case_id=case.pk, kind=kind, user_id=case.assignee_id,
                                            email=case.assignee.email, period=period, context=context))
    return rows


def _open_follow_up(closed: Case, mail: Received, data: dict, at: dt.datetime) -> Case:
    """A new case for a reply to a closed one: same customer, response, team, priority and SLA
    policy, fresh clocks, the same assignee while they are an active member of the team (else
    the team's assignment mode picks)."""
    from cases.services.opening import _insert_case, pick_assignee

    team = closed.team
    assignee = None
    if closed.assignee_id and Membership.objects.filter(
            team=team, user_id=closed.assignee_id, user__is_active=True).exists():
        assignee = closed.assignee
    if assignee is None:
        assignee = pick_assignee(team)
    first_due, resolution_due = due_times(team, at, closed.sla_policy)
    case = _insert_case(
        None, customer=closed.customer, response=closed.response, alert=None, team=team, assignee=assignee,
        priority=closed.priority, sla_policy=closed.sla_policy, first_contact_due=first_due,
        resolution_due=resolution_due, value_at_risk=closed.value_at_risk, created_at=at,
    )
    insert_all([CaseResponse(case=case, response=closed.response, attached_at=at)])
    events: list[CaseEvent] = [_event(
        case, Kind.OPENED, None, at, to_value=team.name,
        data={"follow_up_of": closed.reference, "follow_up_of_id": closed.pk,
              **said(SAID_FOLLOW_UP, reference=closed.reference)})]
    if assignee is not None:
        events.append(_event(case, Kind.ASSIGNED, None, at, to_value=assignee.username, data={
            "assignee_id": assignee.pk, "assignee_name": assignee.display_name, "mode": "follow-up"}))
    events.append(_event(case, Kind.CUSTOMER_REPLIED, None, at, note=mail.text,
                         data={**data, "follow_up_of": closed.reference}))
    for event in events:
        event.version = 1
    insert_all(events)
    rows = notifications.team_channel_rows(case_id=case.pk, kind=NotificationKind.NEW_CASE, team=team, period="")
    rows += _replied_rows(case, mail, data["inbound_id"])
    notifications.queue(rows)
    live.touch(team_ids=[team.pk], case_ids=[case.pk], new=1)
    return case
