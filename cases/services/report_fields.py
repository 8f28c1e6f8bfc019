"""What reporting reads per case, kept on the case when it happens (docs/reporting.md, "Stored
per case"), so a report over a million cases aggregates columns in SQL instead of recomputing
each case's business hours or searching each customer's later answers:

- `first_contact_business_seconds`, `close_business_seconds`: open seconds in the team's calendar
  from creation to the first contact / the closure. Set by the actions that set those times
  (cases.services.actions), cleared with them on reopening (cases.services.flow._reopen).
- `answered_again` (+ its `_at` and `_nps`): the customer's first NPS answer after the closure.
  Linked here when a response is recorded (cases.receivers), re-linked when responses or cases
  move between customers (customers.services.merging), cleared on reopening.

These are derived columns, not edits: writing them bumps no version and adds no timeline event
(an agent's open form is not made stale by a survey answer arriving). Every function is
idempotent. `cases_fill_report_fields` (the `cases_fill_report_fields` command and cases
migration 0021) computes them for rows recorded before they existed."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import JSONObject

from cases.calendar import calendar_for
from cases.models import Case
from core import unit_of_work as uow_module
from core.unit_of_work import unit_of_work
from surveys.models import SurveyResponse

FILL_BATCH = 5000


def _later_answers(response_model):
    """The customer's NPS answers after the (outer) case's closure, first first."""
    return response_model.objects.filter(
        customer_id=OuterRef("customer_id"),
        answered_at__gt=OuterRef("closed_at"),
        nps__isnull=False,
    ).order_by("answered_at", "pk")


def _aware(moment: datetime) -> datetime:
    """A time read back from JSON: PostgreSQL writes its offset, SQLite writes UTC without one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cases_link_answer(*, response: SurveyResponse) -> int:
    """A new answer of a customer: it becomes the "answered again" of each of their closed cases
    closed before it that has no later answer linked yet, or only one given after it (answers can
    arrive out of order). One conditional UPDATE through the (customer, created_at) index; returns
    the number of cases linked."""
    if (
        response.customer_id is None
        or response.nps is None
        or response.answered_at is None
    ):
        return 0
    return (
        Case.objects.filter(
            customer_id=response.customer_id,
            status=Case.Status.CLOSED,
            closed_at__lt=response.answered_at,
        )
        .filter(
            Q(answered_again_at__isnull=True)
            | Q(answered_again_at__gt=response.answered_at)
        )
        .update(
            answered_again=response.pk,
            answered_again_at=response.answered_at,
            answered_again_nps=response.nps,
        )
    )


def cases_link_answers(*, responses) -> int:
    """cases_link_answer for a worker's batch (core.unit_of_work): one read of the customers'
    closed cases, the links staged as updates the batch writes in one statement, so a batch costs
    two statements, not one per answer. Returns the number of cases linked."""
    by_customer: dict[int, list] = defaultdict(list)
    for r in sorted(responses, key=lambda r: (r.answered_at, r.pk)):
        if (
            r.customer_id is not None
            and r.nps is not None
            and r.answered_at is not None
        ):
            by_customer[r.customer_id].append(r)
    if not by_customer:
        return 0
    batch = uow_module.current()
    linked = 0
    for pk, customer_id, closed_at, current in Case.objects.filter(
        customer_id__in=list(by_customer),
        status=Case.Status.CLOSED,
        closed_at__isnull=False,
    ).values_list("pk", "customer_id", "closed_at", "answered_again_at"):
        first = next(
            (r for r in by_customer[customer_id] if r.answered_at > closed_at), None
        )
        if first is None or (current is not None and current <= first.answered_at):
            continue
        row = Case(
            pk=pk,
            answered_again_id=first.pk,
            answered_again_at=first.answered_at,
            answered_again_nps=first.nps,
        )
        if batch is not None:
            batch.update(
                row, ["answered_again", "answered_again_at", "answered_again_nps"]
            )
        else:
            row.save(
                update_fields=[
                    "answered_again",
                    "answered_again_at",
                    "answered_again_nps",
                ]
            )
        linked += 1
    return linked


def cases_relink_answers(*, customer_ids) -> int:
    """Compute the link again for every case of these customers: after an answer changed (a
    partial response completed) or answers and cases moved between customers (a merge)."""
    ids = [pk for pk in set(customer_ids) if pk is not None]
    if not ids:
        return 0
    return _measure(
        Case,
        SurveyResponse,
        None,
        Case.objects.filter(customer_id__in=ids),
        durations=False,
    )


def _measure(
    case_model, response_model, teams, cases, *, durations: bool = True
) -> int:
    """Compute the stored fields of `cases` (a few thousand at most: one batch) and write them with
    one UPDATE ... FROM (VALUES ...) per thousand rows (core.unit_of_work). The customer's first
    later answer is one correlated lookup per closed case (its id, time and score together)."""
    later = _later_answers(response_model).values(
        json=JSONObject(id="pk", nps="nps", at="answered_at")
    )[:1]
    rows = (
        cases.order_by()
        .annotate(after=Subquery(later))
        .values_list(
            "pk",
            "team_id",
            "status",
            "customer_id",
            "created_at",
            "first_contacted_at",
            "closed_at",
            "after",
        )
    )
    clocks: dict = {}
    fields = ["answered_again", "answered_again_at", "answered_again_nps"]
    if durations:
        fields += ["first_contact_business_seconds", "close_business_seconds"]
    n = 0
    with unit_of_work(size_hint=FILL_BATCH) as uow:
        for (
            pk,
            team_id,
            status,
            customer_id,
            created,
            contacted,
            closed_at,
            after,
        ) in rows:
            is_closed = status == "closed" and closed_at is not None
            if not (is_closed and customer_id is not None):
                after = None
            if isinstance(after, str):  # SQLite returns the JSON text
                after = json.loads(after)
            row = case_model(
                pk=pk,
                answered_again_id=after["id"] if after else None,
                answered_again_at=_aware(datetime.fromisoformat(after["at"]))
                if after
                else None,
                answered_again_nps=after["nps"] if after else None,
            )
            if durations:
                clock = clocks.get(team_id) or clocks.setdefault(
                    team_id, calendar_for(teams[team_id]).clock
                )
                row.first_contact_business_seconds = (
                    clock.seconds_between(created.timestamp(), contacted.timestamp())
                    if contacted
                    else None
                )
                row.close_business_seconds = (
                    clock.seconds_between(created.timestamp(), closed_at.timestamp())
                    if is_closed
                    else None
                )
            uow.update(row, fields)
            n += 1
    return n


def cases_fill_report_fields(
    *,
    case_ids=None,
    case_model=Case,
    team_model=None,
    response_model=SurveyResponse,
    batch: int = FILL_BATCH,
) -> dict[str, int]:
    """Compute the stored report fields of every case (or of `case_ids`) from its times, in
    batches of `batch` ids. Idempotent (it recomputes; running it twice changes nothing). The
    models are parameters so cases migration 0021 can pass its historical ones."""
    if team_model is None:
        from accounts.models import Team as team_model
    teams = {
        team.pk: team
        for team in team_model.objects.only(
            "pk", "timezone", "opening_hours", "holiday_country", "holiday_subdivision"
        )
    }
    scope = (
        case_model.objects.all()
        if case_ids is None
        else case_model.objects.filter(pk__in=list(case_ids))
    )
    done, last = 0, 0
    while True:
        ids = list(
            scope.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            done += _measure(
                case_model,
                response_model,
                teams,
                case_model.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]).filter(
                    pk__in=ids
                )
                if case_ids is not None
                else case_model.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]),
            )
        last = ids[-1]
    return {"cases": done}
