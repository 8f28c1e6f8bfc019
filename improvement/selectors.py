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
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Sum
from django.utils import timezone

from accounts.models import visible_team_ids
from cases.models import Case
from improvement.models import ActionPlan
from reporting.models import ScoreTotal, ThemeRollup
from reporting.selectors.scoring import ces_ease01, score_aggregates, score_figures
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


def plans_with_links(user):
    """plans_for_user() with what the CSV export and the API list of each plan: its root causes
    (with their category), themes and linked cases. Of the cases only the reference is read (a
    plan of many cases built a full Case for each: 0.1-0.3 s of the admin's CSV at 1,000,000 cases,
    docs/benchmarks_reports.md); newest first, Case's order."""
    return plans_for_user(user).prefetch_related(
        "root_causes__category", "themes", Prefetch("cases", queryset=Case.objects.only("reference")))


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


def _responses(plan: ActionPlan, theme_ids: list[int], lo: dt.datetime, hi: dt.datetime):
    """The targeted responses answered in [lo, hi). A theme's responses are found through its tags,
    within the range by their own copy of answered_at (the index (theme, answered_at)), not by
    probing every response."""
    match = Q(pk__in=[])
    if plan.touchpoints:
        match |= Q(touchpoint__in=plan.touchpoints)
    if theme_ids:
        match |= Q(pk__in=ResponseTheme.objects.filter(theme_id__in=theme_ids, answered_at__gte=lo, answered_at__lt=hi)
                   .values("response_id"))
    responses = SurveyResponse.objects.filter(match, answered_at__gte=lo, answered_at__lt=hi)
    if plan.team_id:
        responses = responses.filter(team_id=plan.team_id)
    return responses


# The score counts a side sums (surveys.ScoreRollup's, reporting.ThemeRollup's), "answered" the responses.
SUMS = ("answered", "nps_n", "promoters", "passives", "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n",
        "ces_ease_sum", "ces_high_effort")


def _sums(p: str = "") -> dict:
    """SUMS as aggregates over responses (p="") or over theme tags' responses (p="response__"): the
    ease summed with its count, not averaged, so that sums of several reads add up."""
    aggregates = score_aggregates(p)
    del aggregates["ces_ease"]
    ease = ces_ease01(p)
    return {"answered": Count("pk"), **aggregates, "ces_ease_n": Count(ease), "ces_ease_sum": Sum(ease)}


def _summed(queryset, **renamed) -> dict:
    """SUMS summed over rollup rows (`renamed`: a rollup's name for one of them)."""
    columns = {c: renamed.get(c, c) for c in SUMS}
    sums = queryset.aggregate(**{c: Sum(column) for c, column in columns.items()})
    return {c: sums[c] or 0 for c in SUMS}


def _rollup_counts(plan: ActionPlan, theme_ids: list[int], start: dt.date, end: dt.date) -> dict | None:
    """The targeted responses' SUMS in [start, end) from the daily rollups, or None when the side's
    days are not the rollups' (another time zone active).

    Touchpoints: the score rollup (surveys.ScoreRollup: per local day, team and touchpoint; its
    every-team sums reporting.ScoreTotal for an organisation-wide plan). Themes: the theme rollup
    (reporting.ThemeRollup: per local day of the tag, theme, team and touchpoint), without the rows
    of the plan's touchpoints (counted already). The theme rollup counts a response once per tag:
    one tagged with k of the plan's themes is taken away k - 1 times, from the tags themselves."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if any(_moment(day).astimezone(tz).time() != dt.time.min for day in (start, end)):
        return None
    counts = dict.fromkeys(SUMS, 0)
    if plan.touchpoints:
        rows = ScoreRollup.objects.filter(team_id=plan.team_id) if plan.team_id else ScoreTotal.objects.all()
        rows = rows.filter(day__gte=start, day__lt=end, touchpoint__in=plan.touchpoints)
        counts = _summed(rows, answered="responses")
    if theme_ids:
        rows = ThemeRollup.objects.filter(theme_id__in=theme_ids, day__gte=start, day__lt=end)
        if plan.team_id:
            rows = rows.filter(team_id=plan.team_id)
        tagged = _summed(rows.exclude(touchpoint__in=plan.touchpoints), answered="tags")
        for sums, extra in _shared(plan, theme_ids, _moment(start), _moment(end)):
            for c in SUMS:
                tagged[c] -= extra * sums[c]
        counts = {c: counts[c] + tagged[c] for c in SUMS}
    counts["ces_ease"] = counts["ces_ease_sum"] / counts["ces_ease_n"] if counts["ces_ease_n"] else None
    return counts


def _shared(plan: ActionPlan, theme_ids: list[int], lo: dt.datetime, hi: dt.datetime) -> list[tuple[dict, int]]:
    """The responses in [lo, hi) tagged with more than one of the plan's themes (outside its
    touchpoints, of its team): (their SUMS, how many times too many the theme rollup counts them),
    one pair per number of shared themes. Reads the themes' tags of the range (the index (theme,
    answered_at) covers the response) and the few responses they share."""
    if len(theme_ids) < 2:
        return []
    shared: dict[int, list[int]] = {}
    for response_id, n in (ResponseTheme.objects.filter(theme_id__in=theme_ids, answered_at__gte=lo, answered_at__lt=hi)
                           .values("response_id").annotate(n=Count("*")).filter(n__gt=1)  # not the id: index-only
                           .values_list("response_id", "n").order_by()):
        shared.setdefault(n, []).append(response_id)
    counted = []
    for n, ids in sorted(shared.items()):
        responses = SurveyResponse.objects.filter(pk__in=ids, answered_at__gte=lo, answered_at__lt=hi)
        if plan.team_id:
            responses = responses.filter(team_id=plan.team_id)
        sums = responses.exclude(touchpoint__in=plan.touchpoints).aggregate(**_sums())
        counted.append(({c: sums[c] or 0 for c in SUMS}, n - 1))
    return counted


def _cases(plan: ActionPlan, theme_ids: list[int], cause_ids: list[int], lo: dt.datetime, hi: dt.datetime):
    """The plan's cases opened in [lo, hi): those with its root causes, or, without root causes,
    those opened from a targeted response answered at any time: at its touchpoints (the case's
    stored copy of its response's touchpoint, Case.response_touchpoint, in the covering index of
    creation times) or tagged with its themes (a probe of the tags' index (response, theme))."""
    cases = Case.objects.filter(created_at__gte=lo, created_at__lt=hi)
    if cause_ids:
        cases = cases.filter(root_cause_id__in=cause_ids)
    else:
        target = Q(pk__in=[])
        if plan.touchpoints:
            target |= Q(response_touchpoint__in=plan.touchpoints)
        if theme_ids:
            target |= Q(Exists(ResponseTheme.objects.filter(response_id=OuterRef("response_id"), theme_id__in=theme_ids)))
        cases = cases.filter(target)
        if plan.team_id:
            cases = cases.filter(response__team_id=plan.team_id)  # the targeted responses are the team's
    if plan.team_id:
        cases = cases.filter(team_id=plan.team_id)
    return cases


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _side(label, plan: ActionPlan, theme_ids: list[int], cause_ids: list[int], start: dt.date, end: dt.date) -> Side:
    lo, hi = _moment(start), _moment(end)
    counts = _rollup_counts(plan, theme_ids, start, end) if plan.touchpoints or theme_ids else None
    if counts is None:
        counts = _responses(plan, theme_ids, lo, hi).aggregate(answered=Count("pk"), **score_aggregates())
    figures = score_figures(counts)
    opened = _cases(plan, theme_ids, cause_ids, lo, hi).count()
    return Side(label=label, start=start, end=end, days=(end - start).days, responses=counts["answered"],
                nps=figures["nps"], csat_top2_pct=figures["csat_top2_pct"], ces_avg=figures["ces_avg"],
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
