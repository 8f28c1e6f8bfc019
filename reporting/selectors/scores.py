"""The scores page: NPS, CSAT and CES of the responses answered in the period, by week or month
and by survey, touchpoint, location or team.

Read from the daily rollup (surveys.ScoreRollup, kept by database triggers: see surveys.rollups)
whenever the filters are ones it is keyed by (teams, survey, touchpoint, whole local days): a
manager's 90 days are some ten thousand rollup rows instead of a million responses. A filter on
what the rollup does not key (location, customer tier or segment) reads the responses themselves,
as does a team's breakdown by location (an index-only scan: the covering score index holds the
location, surveys 0023); but every team's answers narrowed to a segment or to a location, or by
location, sum the every-team totals keyed by them (score_rollup)."""

from __future__ import annotations

from dataclasses import replace

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils.translation import gettext_lazy as _

from reporting.filters import ReportFilters
from reporting.models import LocationTotal, ScoreTotal, SegmentRollup
from reporting.segment_bits import bit_of, has_bits
from reporting.selectors.common import local_date, rollup_rows, team_names_by_id
from reporting.selectors.scoring import SCORE_COLUMNS, score_aggregates, score_figures
from reporting.tables import Column, Table
from surveys.models import ScoreRollup, Survey

SCORE_DIMENSIONS = {
    "survey": ("Survey", "survey_id"),
    "touchpoint": ("Touchpoint", "touchpoint"),
    "location": ("Location", "location"),
    "team": ("Team", "team_id"),
}


# The groupings the segment rollup holds (its day and team): none, by team, by week or month.
SEGMENT_ROLLUP_BY = (None, "team", "week", "month")
ROLLUP_SUMS = ("responses", "nps_n", "promoters", "passives", "detractors", "csat_n", "csat_top2", "ces_n",
               "ces_ease_n", "ces_ease_sum", "ces_high_effort")


def score_rollup(filters: ReportFilters, by: str | None = None):
    """The rows of the score counts that answer the filters and the grouping `by` (a key the rows
    must hold), or None (see common.rollup_rows: the responses are read instead):

    - answers narrowed to a segment with a built bit (reporting.segment_bits), of the bit patterns
      holding it: every team's from the every-team score totals (reporting.ScoreTotal, keyed by
      the bits, not by team nor location); by team, or a viewer's teams' (neither by, nor narrowed
      to, a survey, source or touchpoint), from the segment rollup (reporting.SegmentRollup, keyed
      by team and bits only);
    - every team's answers by location, or narrowed to one: the every-team location totals
      (reporting.LocationTotal, keyed by the location, not by team, source nor bits);
    - otherwise the per-team score rollup (surveys.ScoreRollup, not keyed by location)."""
    every_team = filters.team_ids is None
    if filters.segment is not None:
        if not every_team or by == "team":
            return segment_rollup(filters, by)
        bit = bit_of(filters.segment)
        if bit is None or filters.location or by == "location":
            return None
        totals = rollup_rows(replace(filters, segment=None), ScoreTotal.objects)
        return totals.filter(has_bits(bit)) if totals is not None else None
    if filters.location or by == "location":
        if not every_team or by == "team":
            return None
        totals = rollup_rows(replace(filters, location=""), LocationTotal.objects)
        return totals.filter(location=filters.location) if totals is not None and filters.location else totals
    return rollup_rows(filters, ScoreRollup.objects)


def segment_rollup(filters: ReportFilters, by: str | None = None):
    """The segment rollup's rows (reporting.SegmentRollup: per day, team and segment bits) of the bit
    patterns holding the filters' segment, for the filters' teams and period, or None when it does
    not answer them: a segment without a built bit, a filter on a survey, touchpoint, location or
    tier, a grouping by other than team, week or month (SEGMENT_ROLLUP_BY), or partial days."""
    bit = bit_of(filters.segment)
    if (bit is None or filters.location or filters.survey_id or filters.touchpoint
            or by not in SEGMENT_ROLLUP_BY):
        return None
    rows = rollup_rows(replace(filters, segment=None), SegmentRollup.objects)
    return rows.filter(has_bits(bit)) if rows is not None else None


def _rollup_sums(qs) -> list[dict]:
    """SUM each count per group; groups whose responses were all erased or moved are left out.
    The keys are score_aggregates()'s (ces_ease is the average of the rescaled CES)."""
    rows = []
    for r in qs.annotate(**{f"sum_{c}": Sum(c) for c in ROLLUP_SUMS}).filter(sum_responses__gt=0):
        row = {k: v for k, v in r.items() if not k.startswith("sum_")}
        row.update({c: r[f"sum_{c}"] for c in ROLLUP_SUMS if c not in ("ces_ease_n", "ces_ease_sum")})
        row["ces_ease"] = r["sum_ces_ease_sum"] / r["sum_ces_ease_n"] if r["sum_ces_ease_n"] else None
        rows.append(row)
    return rows


def scores_trend(filters: ReportFilters, period: str = "week") -> Table:
    trunc = TruncWeek if period == "week" else TruncMonth
    rollup = score_rollup(filters)
    if rollup is not None:
        rows = _rollup_sums(rollup.annotate(period=trunc("day")).values("period").order_by("-period"))
    else:
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
        label = local_date(r["period"])
        table.add({"period": label.isoformat() if period == "week" else label.strftime("%Y-%m"),
                   "responses": r["responses"], **score_figures(r)})
    return table


def scores_by(filters: ReportFilters, by: str) -> Table:
    label, field_name = SCORE_DIMENSIONS[by]
    rollup = score_rollup(filters, by)
    if rollup is not None:
        rows = sorted(_rollup_sums(rollup.values(field_name)), key=lambda r: (-r["responses"], str(r[field_name])))
    else:
        rows = list(
            filters.responses()
            .order_by()
            .values(field_name)
            .annotate(responses=Count("*"), **score_aggregates())
            .order_by("-responses", field_name)
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

