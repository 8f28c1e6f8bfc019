"""Cases from alerts: pick the assignee (manual, round robin, fewest open cases), open a case,
attach a later response to the customer's open case or reopen a recently closed one; one alert
at a time or a worker's batch together (core.unit_of_work), whose state is a CaseOpenings
passed through the opening functions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Membership, Priority, Team, User
from accounts.sla import choose_sla_policy
from cases import live, notifications
from cases.models import (
    Case,
    CaseResponse,
    NotificationKind,
)
from cases.services.flow import (
    Kind,
    Status,
    _assignment_rows,
    _event,
    _now,
    _reopen,
    _save,
)
from cases.sla import due_times
from cases.timeline import SAID_LATER_RESPONSE, SAID_LOW_SCORE, said
from surveys.vocabulary import score_entry
from core.unit_of_work import UnitOfWork, insert_all

if TYPE_CHECKING:
    from alerts.models import Alert
    from surveys.models import Customer


@dataclass
class TeamTurn:
    """A team as a batch's openings see it, locked: its assignment mode and last assignee, and
    what they read of its members once (round robin: the eligible members; fewest open cases:
    the members with their open-case counts, raised as the batch assigns)."""

    mode: str
    last: int | None
    members: list[User] | None = None
    open: list[User] | None = None


class CaseOpenings:
    """The case openings of one batch recorded in one transaction (core.unit_of_work), made by
    `batch.state(CaseOpenings)` when the batch's first open-case alert arrives
    (cases.receivers), and passed to every opening function of the batch.

    - `pending`: the open-case alerts waiting for the batch's responses to be written, each with
      whether its response is new (recorded in this batch);
    - `teams`: every team, locked in id order by the first opening (None until then);
    - `customers`: the pending alerts' known customers, locked, each with their open and
      recently closed cases (the cases this batch opens for them are added);
    - `opened`: the cases this batch opened, in order;
    - `by_response`: the case opened for a new response, so its later alerts join it."""

    def __init__(self, batch: UnitOfWork):
        self.batch = batch
        self.pending: list[tuple[Alert, bool]] = []
        self.teams: dict[int, TeamTurn] | None = None
        self.customers: dict[int, tuple[Customer, list[Case]]] = {}
        self.opened: list[Case] = []
        self.by_response: dict[int, Case] = {}

    def locked_teams(self) -> dict[int, TeamTurn]:
        """Every team, locked in id order, once per batch: before the batch's first opening locks
        a customer, so every worker takes its locks teams first, and never in a circle with
        another."""
        if self.teams is None:
            self.teams = {
                pk: TeamTurn(mode=mode, last=last) for pk, mode, last in
                Team.objects.select_for_update().order_by("pk").values_list("pk", "assignment", "last_assigned_id")
            }
        return self.teams


# --- opening from an alert ------------------------------------------------------------------
def _eligible_members(team: Team):
    return User.objects.filter(
        memberships__team=team, memberships__is_manager=False, is_active=True, is_away=False
    ).order_by("id")


def pick_assignee(team: Team, openings: CaseOpenings | None = None) -> User | None:
    """The team's assignment mode: manual (nobody), round-robin, or fewest open cases.
    Away and inactive members and the team's managers are skipped. Call inside a transaction.

    The mode and the last assignee are read from the team's row as it is now, locked (`team` may
    come from the per-process cache): concurrent openings for one team take turns. In a batch
    (`openings`) the first opening locks every team at once, in id order, before any customer
    (two workers never wait on each other in a circle), and the batch's openings answer from
    what it read: members, open-case counts and the round-robin position, written once at the
    end."""
    if openings is not None:
        return _pick_assignee_in_batch(team, openings)
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


def _pick_assignee_in_batch(team: Team, openings: CaseOpenings) -> User | None:
    teams = openings.locked_teams()
    state = teams.get(team.pk)
    if state is None:  # created after the batch locked the teams: lock it on its own
        mode, last = Team.objects.select_for_update().values_list("assignment", "last_assigned_id").get(pk=team.pk)
        state = teams[team.pk] = TeamTurn(mode=mode, last=last)
    if state.mode == Team.Assignment.MANUAL:
        return None
    if state.mode == Team.Assignment.ROUND_ROBIN:
        if state.members is None:
            state.members = list(_eligible_members(team))
        chosen = _next_in_turn(state.members, state.last)
        if chosen is not None:
            state.last = chosen.pk
            openings.batch.at_end(("round-robin", team.pk),
                                  lambda: Team.objects.filter(pk=team.pk).update(last_assigned_id=chosen.pk))
            team.last_assigned = chosen
        return chosen
    if state.open is None:
        state.open = list(_eligible_members(team).annotate(
            open_cases=Count("assigned_cases", filter=~Q(assigned_cases__status=Status.CLOSED))))
    if not state.open:
        return None
    chosen = min(state.open, key=lambda m: (m.open_cases, m.pk))
    chosen.open_cases += 1  # the case about to be opened for them
    return chosen


def _insert_case(openings: CaseOpenings | None, **fields) -> Case:
    """Insert, then derive the reference from the id the database gave: unique without a race.
    In a batch the id is taken from the sequence first, so the row is inserted with its
    reference, together with the batch's other rows."""
    if openings is not None:
        batch = openings.batch
        pk = batch.next_id(Case, exact=True)  # one at a time: references do not skip numbers
        return batch.insert(Case(pk=pk, reference=f"CL-{pk:06d}", **fields))
    case = Case.objects.create(reference=f"tmp-{uuid.uuid4().hex[:16]}", **fields)
    case.reference = f"CL-{case.pk:06d}"
    Case.objects.filter(pk=case.pk).update(reference=case.reference)
    return case


def _raise_priority_if_worse(case, priority, by, at, events, fields, why: dict) -> None:
    """`why`: what the timeline says about it (cases.timeline.said)."""
    if Priority.rank(priority) > Priority.rank(case.priority):
        events.append(_event(case, Kind.PRIORITY, by, at, from_value=case.priority, to_value=priority, data=why))
        case.priority = priority
        fields.append("priority")


def _attach(case: Case, alert, at: dt.datetime, *, new_response: bool, reopen_reason: dict | None = None) -> Case:
    """`reopen_reason`: why a closed case reopens, as the timeline stores it (cases.timeline.said)."""
    response = alert.response
    events, fields = [], []
    if reopen_reason:
        more, more_fields = _reopen(case, None, at, "", {"response_id": response.pk, "alert_id": alert.pk,
                                                         **reopen_reason})
        events += more
        fields += more_fields
    if new_response:  # recorded in this transaction: attached nowhere yet
        insert_all([CaseResponse(case=case, response=response, attached_at=at)])
        created = True
    else:
        _, created = CaseResponse.objects.get_or_create(case=case, response=response, defaults={"attached_at": at})
    if created:
        events.append(_event(case, Kind.RESPONSE_ATTACHED, None, at, to_value=str(response.pk), data={
            "response_id": response.pk, "alert_id": alert.pk, "rule": alert.rule.name, "reasons": alert.reasons,
        }))
    _raise_priority_if_worse(case, alert.rule.case_priority, None, at, events, fields,
                             said(SAID_LATER_RESPONSE))
    if not events:
        return case
    return _save(case, fields, events)


def cases_open_from_alerts(*, openings: CaseOpenings) -> None:
    """The pending open-case alerts of a worker's batch (core.unit_of_work), once its responses
    are written: each opens, joins or reopens a case as `case_open_from_alert` does. The locks
    are taken first and together, in one order every worker follows: every team, then the
    alerts' known customers and their open or recently closed cases, one statement each."""
    from surveys.models import Customer

    alerts, openings.pending = openings.pending, []
    batch = openings.batch
    openings.locked_teams()
    known = sorted({a.response.customer_id for a, _new in alerts if a.response.customer_id
                    and not batch.inserted(a.response.customer)})
    if known:
        window = max((a.rule.repeat_window_days or 0) for a, _new in alerts)
        since = timezone.now() - dt.timedelta(days=window)
        locked = openings.customers = {
            c.pk: (c, []) for c in Customer.objects.select_for_update().filter(pk__in=known).order_by("pk")}
        if window:
            for case in (Case.objects.select_for_update().filter(customer_id__in=known)
                         .filter(~Q(status=Status.CLOSED) | Q(closed_at__gte=since)).order_by("pk")):
                locked[case.customer_id][1].append(case)
    for alert, new_response in alerts:
        case_open_from_alert(alert=alert, new_response=new_response, openings=openings)


# No savepoint of its own: it runs inside the caller's transaction (a failure rolls back the whole
# delivery, as it must), and a savepoint here would cost two round trips per response.
@transaction.atomic(savepoint=False)
def case_open_from_alert(*, alert, at: dt.datetime | None = None, new_response: bool = False,
                         openings: CaseOpenings | None = None) -> Case:
    """Turn an alert into work: route to a team, pick the assignee, set the SLA clocks.

    Repeat protection: when the customer already has an open case, the response is attached to
    it (and its priority raised if this alert asks for more); when their case was closed within
    the alert rule's repeat window, that case is reopened instead (its timeline says why).
    Idempotent: the same alert (or response) never opens two cases.

    `new_response`: the response was recorded in this transaction and no case of it can exist
    but one `openings` (a batch's, see CaseOpenings) opened for an earlier alert of it, so the
    database is not asked. `openings`: the batch this opening is part of."""
    response = alert.response
    if new_response:
        # Recorded in this transaction: its only case is one an earlier alert of it opened just now.
        if openings is not None and (case := openings.by_response.get(response.pk)) is not None:
            return case
    else:
        existing = Case.objects.filter(Q(alert=alert) | Q(case_responses__response=response)).first()
        if existing is not None:
            return existing
    case = _open_from_alert(alert, _now(at), new_response=new_response, openings=openings)
    if openings is not None and new_response:
        openings.by_response[response.pk] = case
    return case


def _open_from_alert(alert, at: dt.datetime, *, new_response: bool, openings: CaseOpenings | None) -> Case:
    from cases import routing
    from cases.routing import matching_rule
    from surveys.models import Customer

    response = alert.response
    rule = alert.rule

    customer = None
    batch = openings.batch if openings is not None else None
    if openings is not None:
        openings.locked_teams()
    opened_here = openings is not None and response.customer_id is not None and any(
        c.customer_id == response.customer_id for c in openings.opened)
    if response.customer_id and batch is not None and batch.inserted(response.customer) and not opened_here:
        # A customer this batch created, with no case opened for them in it: no one else can
        # see them yet, so there is nothing to lock and no earlier case to join.
        customer = response.customer
    elif response.customer_id:
        if opened_here:
            batch.flush()  # the case this batch opened for them is read below
        locked = openings.customers if openings is not None else {}
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
                return _attach(max(open_cases, key=lambda c: (c.created_at, c.pk)), alert, at,
                               new_response=new_response)
            closed = [c for c in candidates if c.status == Status.CLOSED and c.closed_at is not None]
            recent = max(closed, key=lambda c: (c.closed_at, c.pk)) if closed else None
            if recent is not None:
                days = max(0, (at - recent.closed_at).days)
                # Put into words in the reader's language (cases.timeline): the score as values,
                # the customer left out (the case page names them; an erasure need not find them here).
                reason = said(SAID_LOW_SCORE, score=score_entry(response), days=days, rule=rule.name, window=window)
                return _attach(recent, alert, at, new_response=new_response, reopen_reason=reason)

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
    assignee = pick_assignee(team, openings)
    return _open_new(
        openings, at=at, team=team, priority=priority, policy=policy, assignee=assignee, customer=customer,
        response=response, alert=alert, opened={
            "alert_id": alert.pk, "rule": rule.name, "reasons": alert.reasons,
            "routing_rule": routing_rule.name if routing_rule else "", "sla_policy": policy.name if policy else "",
        })


def _open_new(openings: CaseOpenings | None, *, at: dt.datetime, team: Team, priority: str, policy, assignee,
              customer, response, alert, opened: dict, assign_mode: str = "") -> Case:
    """What every opening of a new case does once it knows the team, priority, SLA policy and
    assignee: the row with its clocks, the response linked, the OPENED event (`opened`: its data)
    and the assignment (`assign_mode`: how the assignee was chosen, when not by the team's mode),
    the team's new-case notifications, the live inboxes touched."""
    from surveys.models import SurveyResponse

    first_due, resolution_due = due_times(team, at, policy)
    case = _insert_case(
        openings, customer=customer, response=response, alert=alert, team=team, assignee=assignee, priority=priority,
        sla_policy=policy, first_contact_due=first_due, resolution_due=resolution_due,
        value_at_risk=(customer.account_value or 0) if customer else 0, created_at=at,
        customer_churn_risk=(customer.churn_risk or 0) if customer else 0,
    )
    insert_all([CaseResponse(case=case, response=response, attached_at=at)])
    if openings is not None:
        openings.opened.append(case)
        if customer is not None and customer.pk in openings.customers:
            openings.customers[customer.pk][1].append(case)
    if alert is not None and response.team_id != team.pk:  # routed elsewhere before its INSERT: the case's team owns it
        SurveyResponse.objects.filter(pk=response.pk).update(team=team)
        response.team_id = team.pk
    events = [_event(case, Kind.OPENED, None, at, to_value=team.name, data=opened)]
    rows = notifications.team_channel_rows(case_id=case.pk, kind=NotificationKind.NEW_CASE, team=team, period="")
    if assignee is not None:
        events.append(_event(case, Kind.ASSIGNED, None, at, to_value=assignee.username, data={
            "assignee_id": assignee.pk, "assignee_name": assignee.display_name,
            "mode": assign_mode or team.assignment}))
        case.version = 0  # _assignment_rows stamps the version this opening ends at (1)
        rows += _assignment_rows(case, assignee, None)
    case.version = 1
    for event in events:
        event.version = 1
    insert_all(events)
    notifications.queue(rows)
    live.touch(team_ids=[team.pk], case_ids=[case.pk], new=1)  # "1 new" in the team's open inboxes
    return case


# --- opening for an account (customers' account rules) ----------------------------------------
@transaction.atomic(savepoint=False)
def case_open_for_account(*, team: Team, priority: str, response, owner: User | None, reason: dict,
                          account_id: int, account_rule: str, at: dt.datetime | None = None) -> Case:
    """A case for a whole account, opened by one of customers' account rules (no alert): in
    `team`'s inbox at `priority`, for `response` (the answer that triggered the rule) and its
    customer, the SLA policy chosen from the priority and the customer's tier as for any opening.
    Assigned to the account's `owner` when they are an active member of the team, else by the
    team's assignment mode. `reason`: what the OPENED event says (cases.timeline.said).

    The response stays in its own team (it may be an answer of months ago, already counted in
    that team's reports); the case is seen through the case's team, as any case is.

    The caller (customers.services.account_rules) holds the account's lock and decides whether a
    case is due; this only opens it. Call with the team locked before the account (as every
    opening takes its locks: teams first)."""
    from cases import routing

    at = _now(at)
    customer = response.customer if response.customer_id else None
    policy = choose_sla_policy(priority=priority, tier=customer.tier if customer else "",
                               active=routing.active_sla_policies())
    owner_in_team = owner is not None and owner.is_active and Membership.objects.filter(
        team=team, user=owner).exists()
    assignee = owner if owner_in_team else pick_assignee(team)
    return _open_new(None, at=at, team=team, priority=priority, policy=policy, assignee=assignee, customer=customer,
                     response=response, alert=None, assign_mode="account_owner" if owner_in_team else "", opened={
                         "account_id": account_id, "account_rule": account_rule,
                         "sla_policy": policy.name if policy else "", **reason})
