"""The scores page: NPS, CSAT and CES of the responses answered in the period, by week or month
and by survey, touchpoint, location or team."""

from __future__ import annotations

from django.db.models import Count
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reporting.filters import ReportFilters
from reporting.selectors.common import team_names_by_id
from reporting.selectors.scoring import SCORE_COLUMNS, score_aggregates, score_figures
from reporting.tables import Column, Table
from surveys.models import Survey


SCORE_DIMENSIONS = {
    "survey": ("Survey", "survey_id"),
    "touchpoint": ("Touchpoint", "touchpoint"),
    "location": ("Location", "location"),
    "team": ("Team", "team_id"),
}


def scores_trend(filters: ReportFilters, period: str = "week") -> Table:
    trunc = TruncWeek if period == "week" else TruncMonth
    rows = (
        filters.responses()
        .order_by()
        .annotate(period=trunc("answered_at"))
        .values("period")
        .annotate(responses=Count("*"), **score_aggregates())
        .order_by("-period")  # newest first; the chart puts them back in time order
    )
    table = Table(
        f"scores-{period}ly",
        f"Scores by {period}",
        [Column("period", _("Week of") if period == "week" else _("Month")), Column("responses", _("Responses"), True), *SCORE_COLUMNS],
        description=_("Responses answered in the period, newest first; weeks start on Monday."),
    )
    for r in rows:
        label = timezone.localtime(r["period"]).date()
        table.add({"period": label.isoformat() if period == "week" else label.strftime("%Y-%m"),
                   "responses": r["responses"], **score_figures(r)})
    return table


def scores_by(filters: ReportFilters, by: str) -> Table:
    label, field_name = SCORE_DIMENSIONS[by]
    rows = list(
        filters.responses()
        .order_by()
        .values(field_name)
        .annotate(responses=Count("*"), **score_aggregates())
        .order_by("-responses")
    )
    names: dict = {}
    if by == "team":
        names = team_names_by_id(r[field_name] for r in rows)
    elif by == "survey":
        names = dict(Survey.objects.filter(pk__in=[r[field_name] for r in rows]).values_list("pk", "name"))
    table = Table(
        f"scores-by-{by}",
        f"Scores by {label.lower()}",
        [Column("group", label), Column("responses", _("Responses"), True), *SCORE_COLUMNS],
    )
    for r in rows:
        key = r[field_name]
        shown = names.get(key, "(no team)" if by == "team" else "?") if by in ("team", "survey") else (key or "(none)")
        table.add({"group": shown, "responses": r["responses"], **score_figures(r)})
    return table

