"""Reads for action plans: who sees which plans, overdue ones, and a plan's before and after.

Before and after (`plan_impact`): the same number of days on each side of the plan's pivot date
(the day the change went live, else its due date), WINDOW_DAYS by default, the "after" side cut
at today while it is still running. Scores are those of the responses the plan targets (at its
touchpoints, or tagged with its themes; the plan's team's responses when it has a team); case
volume is the cases opened with the plan's root causes (or, without root causes, the cases opened
from the targeted responses), given per week so a shorter "after" side compares fairly. Score
definitions are the reports' own (reporting.selectors.scoring).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import visible_team_ids
from cases.models import Case
from improvement.models import ActionPlan
from reporting.selectors.scoring import score_aggregates, score_figures
from surveys.models import ResponseTheme, SurveyResponse

WINDOW_DAYS = 56


def plans_for_user(user):
    """Plans `user` may see: CX admins all; managers those of their teams, organisation-wide ones
    and their own; anyone else the plans they own."""
    plans = ActionPlan.objects.select_related("owner", "team")
    if not user or not user.is_authenticated:
        return plans.none()
    if not user.is_manager_role:
        return plans.filter(owner=user)
    teams = visible_team_ids(user)
    if teams is None:
        return plans
    return plans.filter(Q(team_id__in=teams) | Q(team__isnull=True) | Q(owner=user))


def overdue_plans(user, today: dt.date | None = None):
    today = today or timezone.localdate()
    return (plans_for_user(user).filter(status__in=ActionPlan.OPEN_STATUSES, due_date__lt=today)
            .order_by("due_date", "pk"))


@dataclass(frozen=True)
class Side:
    label: str
    start: dt.date
    end: dt.date  # exclusive
    days: int
    responses: int
    nps: float | None
    csat_top2_pct: float | None
    ces_avg: float | None
    detractors_pct: float | None
    cases: int

    @property
    def cases_per_week(self) -> float | None:
        return round(self.cases * 7 / self.days, 1) if self.days else None


@dataclass(frozen=True)
class Impact:
    pivot: dt.date
    before: Side
    after: Side
    targets_responses: bool  # touchpoints or themes chosen
    targets_cases_by_cause: bool
    complete: bool  # the "after" side has run its full length

    @property
    def nps_change(self) -> float | None:
        if self.before.nps is None or self.after.nps is None:
            return None
        return round(self.after.nps - self.before.nps, 1)

    @property
    def cases_per_week_change(self) -> float | None:
        if self.before.cases_per_week is None or self.after.cases_per_week is None:
            return None
        return round(self.after.cases_per_week - self.before.cases_per_week, 1)


def _responses(plan: ActionPlan):
    theme_ids = [t.pk for t in plan.themes.all()]
    match = Q(pk__in=[])
    if plan.touchpoints:
        match |= Q(touchpoint__in=plan.touchpoints)
    if theme_ids:
        match |= Q(Exists(ResponseTheme.objects.filter(response_id=OuterRef("pk"), theme_id__in=theme_ids)))
    responses = SurveyResponse.objects.filter(match)
    if plan.team_id:
        responses = responses.filter(team_id=plan.team_id)
    return responses


def _cases(plan: ActionPlan, responses):
    cause_ids = [c.pk for c in plan.root_causes.all()]
    cases = Case.objects.filter(root_cause_id__in=cause_ids) if cause_ids else Case.objects.filter(
        response_id__in=responses.values("pk"))
    if plan.team_id:
        cases = cases.filter(team_id=plan.team_id)
    return cases


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _side(label, responses, cases, start: dt.date, end: dt.date) -> Side:
    lo, hi = _moment(start), _moment(end)
    counts = responses.filter(answered_at__gte=lo, answered_at__lt=hi).aggregate(
        answered=Count("pk"), **score_aggregates())
    figures = score_figures(counts)
    answered = counts["answered"]
    opened = cases.filter(created_at__gte=lo, created_at__lt=hi).count()
    return Side(label=label, start=start, end=end, days=(end - start).days, responses=answered, nps=figures["nps"],
                csat_top2_pct=figures["csat_top2_pct"], ces_avg=figures["ces_avg"],
                detractors_pct=figures["detractors_pct"], cases=opened)


def plan_impact(plan: ActionPlan, *, today: dt.date | None = None, days: int = WINDOW_DAYS) -> Impact:
    today = today or timezone.localdate()
    pivot = plan.pivot_date
    responses = _responses(plan)
    cases = _cases(plan, responses)
    before = _side("before", responses, cases, pivot - dt.timedelta(days=days), pivot)
    after_end = min(pivot + dt.timedelta(days=days), today + dt.timedelta(days=1))
    after_end = max(after_end, pivot)
    after = _side("after", responses, cases, pivot, after_end)
    return Impact(pivot=pivot, before=before, after=after,
                  targets_responses=bool(plan.touchpoints or plan.themes.exists()),
                  targets_cases_by_cause=plan.root_causes.exists(),
                  complete=after_end >= pivot + dt.timedelta(days=days))
