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

import zoneinfo

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import visible_team_ids
from cases.models import Case
from improvement.models import ActionPlan
from reporting.models import ScoreTotal
from reporting.selectors.scores import ROLLUP_SUMS
from reporting.selectors.scoring import score_aggregates, score_figures
from surveys.models import ResponseTheme, ScoreRollup, SurveyResponse

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


def _responses(plan: ActionPlan, theme_ids: list[int], lo: dt.datetime | None = None, hi: dt.datetime | None = None):
    """The targeted responses (answered in [lo, hi) when given). A theme's responses are found
    through its tags, within the range by their own copy of answered_at (the index (theme,
    answered_at)), not by probing every response."""
    match = Q(pk__in=[])
    dates = {"answered_at__gte": lo, "answered_at__lt": hi} if lo is not None else {}
    if plan.touchpoints:
        match |= Q(touchpoint__in=plan.touchpoints)
    if theme_ids:
        match |= Q(pk__in=ResponseTheme.objects.filter(theme_id__in=theme_ids, **dates).values("response_id"))
    responses = SurveyResponse.objects.filter(match, **dates)
    if plan.team_id:
        responses = responses.filter(team_id=plan.team_id)
    return responses


def _rollup_counts(plan: ActionPlan, start: dt.date, end: dt.date) -> dict | None:
    """The score counts of a plan that targets touchpoints only, summed from the daily score
    rollup (surveys.ScoreRollup: per local day, team and touchpoint, the same counts as
    score_aggregates; reporting.ScoreTotal, its every-team sums, for an organisation-wide plan); None when the side's days are not the rollup's (another time zone active)."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if any(_moment(day).astimezone(tz).time() != dt.time.min for day in (start, end)):
        return None
    # A team's plan reads its team's rows; an organisation-wide one the every-team totals (reporting.ScoreTotal).
    rows = ScoreRollup.objects.filter(team_id=plan.team_id) if plan.team_id else ScoreTotal.objects.all()
    rows = rows.filter(day__gte=start, day__lt=end, touchpoint__in=plan.touchpoints)
    sums = rows.aggregate(**{c: Sum(c) for c in ROLLUP_SUMS})
    counts = {c: sums[c] or 0 for c in ROLLUP_SUMS if c not in ("ces_ease_n", "ces_ease_sum")}
    counts["ces_ease"] = sums["ces_ease_sum"] / sums["ces_ease_n"] if sums["ces_ease_n"] else None
    counts["answered"] = counts.pop("responses")
    return counts


def _cases(plan: ActionPlan, cause_ids: list[int], responses):
    if cause_ids:
        cases = Case.objects.filter(root_cause_id__in=cause_ids)
    else:
        cases = Case.objects.filter(response_id__in=responses.values("pk"))
    if plan.team_id:
        cases = cases.filter(team_id=plan.team_id)
    return cases


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _side(label, plan: ActionPlan, theme_ids: list[int], cause_ids: list[int], start: dt.date, end: dt.date) -> Side:
    lo, hi = _moment(start), _moment(end)
    responses = _responses(plan, theme_ids, lo, hi)
    counts = _rollup_counts(plan, start, end) if plan.touchpoints and not theme_ids else None
    if counts is None:
        counts = responses.aggregate(answered=Count("pk"), **score_aggregates())
    figures = score_figures(counts)
    answered = counts["answered"]
    # Without root causes: cases opened in the side from a targeted response answered at any time.
    opened = _cases(plan, cause_ids, _responses(plan, theme_ids)).filter(created_at__gte=lo, created_at__lt=hi).count()
    return Side(label=label, start=start, end=end, days=(end - start).days, responses=answered, nps=figures["nps"],
                csat_top2_pct=figures["csat_top2_pct"], ces_avg=figures["ces_avg"],
                detractors_pct=figures["detractors_pct"], cases=opened)


def plan_impact(plan: ActionPlan, *, today: dt.date | None = None, days: int = WINDOW_DAYS) -> Impact:
    today = today or timezone.localdate()
    pivot = plan.pivot_date
    theme_ids = [t.pk for t in plan.themes.all()]
    cause_ids = [c.pk for c in plan.root_causes.all()]
    before = _side("before", plan, theme_ids, cause_ids, pivot - dt.timedelta(days=days), pivot)
    after_end = min(pivot + dt.timedelta(days=days), today + dt.timedelta(days=1))
    after_end = max(after_end, pivot)
    after = _side("after", plan, theme_ids, cause_ids, pivot, after_end)
    return Impact(pivot=pivot, before=before, after=after,
                  targets_responses=bool(plan.touchpoints or theme_ids),
                  targets_cases_by_cause=bool(cause_ids),
                  complete=after_end >= pivot + dt.timedelta(days=days))
