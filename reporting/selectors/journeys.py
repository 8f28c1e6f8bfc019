"""The journey map: per stage of a journey (journeys.selectors.StageMap decides which responses
and cases belong to a stage), its responses and scores, cases, time to close, top root causes and
themes; the pain points (the worst stages, ranked); the trend of each stage's score by month.
The moments of truth are in reporting.selectors.moments.

Definitions (docs/journeys.md):
- responses, NPS, CSAT, CES: the responses answered in the period that belong to the stage
  (reporting.selectors.scoring, the same counting as the scores page), read like the scores page
  from the daily score rollup (surveys.ScoreRollup, which also sums the score index) unless a
  filter narrows by something the rollup is not keyed by (common.rollup_rows).
- score index (0-100): every answer on one scale, averaged: CSAT as % of its scale, else CES as
  ease % of its scale, else NPS x 10. Stages measured by different metrics compare on it.
- cases: cases opened in the period whose opening response belongs to the stage; open: those
  still open; case rate: cases per 100 of the stage's responses.
- closed, median to close: cases closed in the period (opening response in the stage); business
  hours from opening to closing in each case's team calendar (cases.calendar, the clock the case
  SLA runs on), as on the KPIs page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from journeys.selectors import StageMap, default_journey, stage_map
from reporting.filters import ReportFilters
from reporting.models import ScoreTotal, ThemeRollup
from reporting.selectors.common import (
    CLOSED,
    cause_names,
    date_params,
    inbox_url,
    percentile,
    rollup_rows,
)
from reporting.selectors.moments import journey_moments
from reporting.selectors.scoring import (
    ces_ease01,
    score_aggregates,
    score_figures,
    score_index,
)
from reporting.tables import Column, Table, one_decimal, pct
from surveys.models import ScoreRollup, Survey, Theme

TOP_PER_STAGE = 3
# A stage needs this many responses in the period before it is ranked as a pain point.
PAIN_MIN_RESPONSES = 20


def journey_for(filters: ReportFilters) -> StageMap | None:
    """The chosen journey's stage map, or the first journey's; None when there is none."""
    if filters.journey_id:
        return stage_map(filters.journey_id)
    journey = default_journey()
    return stage_map(journey) if journey else None


# --- links ------------------------------------------------------------------------------------
def responses_url(filters: ReportFilters, stage_id: int) -> str:
    """/api/v1/responses/ listing the stage's responses of the period (its `count` is the figure).
    The API has no customer-tier filter: with a tier chosen there is no link rather than a wrong one."""
    if filters.tier:
        return ""
    try:
        base = reverse("response-list")
    except NoReverseMatch:
        return ""
    params = {"journey_stage": stage_id}
    if filters.start:
        params["answered_after"] = filters.start.isoformat()
    if filters.end:
        params["answered_before"] = filters.end.isoformat()
    if filters.team_id:
        params["team"] = filters.team_id
    if filters.survey_id:
        params["survey"] = filters.survey_id
    if filters.touchpoint:
        params["touchpoint"] = filters.touchpoint
    if filters.location:
        params["location"] = filters.location
    return f"{base}?{urlencode(params)}"


def open_cases_url(filters: ReportFilters, stage_id: int) -> str:
    if filters.tier:
        return ""
    return inbox_url(filters, view="team", journey_stage=stage_id, **date_params("created", filters.start, filters.end))


def closed_cases_url(filters: ReportFilters, stage_id: int) -> str:
    if filters.tier:
        return ""
    return inbox_url(filters, view="recently_closed", journey_stage=stage_id,
                     **date_params("closed", filters.start, filters.end))


# --- the stage table --------------------------------------------------------------------------
STAGE_COLUMNS = [
    Column("position", _("#"), True),
    Column("stage", _("Stage")),
    Column("responses", _("Responses"), True),
    Column("score_index", _("Score index (0-100)"), True),
    Column("nps_n", _("NPS n"), True),
    Column("nps", _("NPS"), True),
    Column("csat_n", _("CSAT n"), True),
    Column("csat_top2_pct", _("CSAT top-2-box %"), True),
    Column("ces_n", _("CES n"), True),
    Column("ces_avg", _("CES average (1-7, 7 easiest)"), True),
    Column("cases", _("Cases opened"), True),
    Column("open", _("Still open"), True),
    Column("case_rate", _("Cases per 100 responses"), True),
    Column("closed", _("Closed in period"), True),
    Column("close_median_h", _("Median to close (business h)"), True),
    Column("top_root_causes", _("Top root causes")),
    Column("top_themes", _("Top themes")),
]


def _tops(rows, key: str, label_of) -> dict[int, str]:
    """"label (n); label (n)" of the TOP_PER_STAGE most frequent per stage."""
    per_stage: dict[int, list] = defaultdict(list)
    for r in rows:
        per_stage[r["stage"]].append(r)
    return {
        stage: "; ".join(f"{label_of(r)} ({r['n']})"
                         for r in sorted(items, key=lambda r: (-r["n"], label_of(r)))[:TOP_PER_STAGE])
        for stage, items in per_stage.items()
    }


SUMMED = ("responses", "index_sum", "index_n", "nps_n", "promoters", "passives", "detractors", "csat_n", "csat_top2",
          "ces_n", "ces_ease_sum", "ces_ease_n", "ces_high_effort")


def monthly_scores(filters: ReportFilters, smap: StageMap) -> list[dict]:
    """The responses of the period by (stage, month): counts and sums only, so the stage table
    adds the months up and the trend reads them as they are. From the daily score rollup when the
    filters allow (its rows are keyed by day, team, survey, source and touchpoint: what a stage
    is chosen by), else one scan of the period's responses."""
    # Every team (an admin who chose none): the totals over every team, one row per day and key
    # where the per-team rollup has one per team too.
    rollup = rollup_rows(filters, ScoreTotal.objects if filters.team_ids is None else ScoreRollup.objects)
    if rollup is not None:
        return _monthly_from_rollup(rollup, smap)
    return _monthly_from_responses(filters, smap)


def _monthly_from_responses(filters: ReportFilters, smap: StageMap) -> list[dict]:
    aggregates = score_aggregates()
    aggregates.pop("ces_ease")
    return list(
        filters.responses().filter(smap.mapped_q()).order_by()
        .annotate(stage=smap.stage_expression(), month=TruncMonth("answered_at"))
        .values("stage", "month")
        .annotate(responses=Count("*"), index_sum=Sum(score_index()), index_n=Count(score_index()),
                  ces_ease_sum=Sum(ces_ease01()), ces_ease_n=Count(ces_ease01()), **aggregates)
    )


ROLLUP_SUMS = ("responses", "index_sum", "index_n", "nps_n", "promoters", "passives", "detractors", "csat_n",
               "csat_top2", "ces_n", "ces_ease_sum", "ces_ease_n", "ces_high_effort")


def _monthly_from_rollup(rollup, smap: StageMap) -> list[dict]:
    """monthly_scores' rows from the rollup's (a key may have several delta rows: they are summed).
    Grouped in SQL by the stage map's inputs (touchpoint, survey, source: a few hundred groups a
    month), each group's stage then named in Python (StageMap.stage_of, the stage expression's
    precedence): the database hashes plain columns instead of evaluating the stage expression on
    every row. A month is the local month's first instant, as TruncMonth of the responses gives it."""
    rows = (rollup.filter(smap.mapped_q()).annotate(month=TruncMonth("day"))
            .values("touchpoint", "survey_id", "source_id", "month")
            .annotate(**{f"sum_{c}": Sum(c) for c in ROLLUP_SUMS}))
    sums: dict[tuple, dict] = {}
    for r in rows:
        stage = smap.stage_of(r["touchpoint"], r["survey_id"], r["source_id"])
        if stage is None:
            continue
        into = sums.setdefault((stage, r["month"]), dict.fromkeys(ROLLUP_SUMS, 0))
        for c in ROLLUP_SUMS:
            into[c] += r[f"sum_{c}"] or 0
    out = []
    for (stage, month), figures in sums.items():
        if figures["responses"] > 0:
            out.append({"stage": stage, "month": timezone.make_aware(dt.datetime(month.year, month.month, 1)),
                        **figures})
    return out


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the median of a group, interpolated as
    common.percentile does it (the portable path reads the values and computes it in Python)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


# A case's stage from the opening response's touchpoint, survey and source stored on the case
# (cases.response_keys): no join to the responses.
CASE_PREFIX = "response_"
CASE_KEYS = ("response_touchpoint", "response_survey_id", "response_source_id")



def case_counts(filters: ReportFilters, smap: StageMap) -> dict[int, dict]:
    """Per stage: cases opened in the period, those still open, cases closed in the period and
    their median business hours to close (each case's open seconds in its team's calendar, the clock
    the SLA runs on, stored on the case when it closed: docs/reporting.md "Stored per case").
    Two grouped queries, each a range of one index (creation; closure): the opened cases, and the
    closed ones with their median (on PostgreSQL in SQL; elsewhere over the stored durations in
    Python, a third query)."""
    stage = smap.stage_expression(CASE_PREFIX)
    out: dict[int, dict] = defaultdict(lambda: {"n": 0, "open": 0, "closed": 0, "median": None})
    opened = filters.cases(date_field="created_at").order_by()
    for r in opened.values(*CASE_KEYS).annotate(n=Count("*"), open=Count("status", filter=~Q(status=CLOSED))):
        stage_id = smap.stage_of(*(r[k] for k in CASE_KEYS))
        out[stage_id]["n"] += r["n"]
        out[stage_id]["open"] += r["open"]
    closed = filters.cases(Case.objects.filter(status=CLOSED), date_field="closed_at").order_by().annotate(stage=stage)
    if connection.vendor == "postgresql":
        for r in closed.values("stage").annotate(closed=Count("*"), median=Median("close_business_seconds")):
            out[r["stage"]].update(closed=r["closed"], median=r["median"] / 3600.0 if r["median"] is not None else None)
        return dict(out)
    for r in closed.values("stage").annotate(closed=Count("*")):
        out[r["stage"]]["closed"] = r["closed"]
    durations: dict[int, list[float]] = defaultdict(list)
    for stage_id, seconds in closed.filter(close_business_seconds__isnull=False).values_list(
            "stage", "close_business_seconds"):
        durations[stage_id].append(seconds / 3600.0)
    for stage_id, values in durations.items():
        out[stage_id]["median"] = percentile(sorted(values), 0.5)
    return dict(out)


def _cause_counts(filters: ReportFilters, smap: StageMap) -> list[dict]:
    """Cases closed in the period per stage and root cause ({"stage", "label", "n"}): grouped in
    SQL by the stage map's inputs and the cause's id (from the closed-case index alone), the
    stages and the causes' names put on in Python (a cause's name is one row of 57, not a join per
    case)."""
    closed = filters.cases(Case.objects.filter(status=CLOSED, root_cause__isnull=False),
                           date_field="closed_at").order_by()
    counts: dict[tuple, int] = defaultdict(int)
    for r in closed.values(*CASE_KEYS, "root_cause_id").annotate(n=Count("*")):
        stage_id = smap.stage_of(*(r[k] for k in CASE_KEYS))
        if stage_id is not None:
            counts[stage_id, r["root_cause_id"]] += r["n"]
    names = cause_names({cause for _stage, cause in counts})
    return [{"stage": stage_id, "label": names.get(cause, "?"), "n": n} for (stage_id, cause), n in counts.items()]


def _theme_counts(filters: ReportFilters, smap: StageMap) -> list[dict]:
    """Theme tags of the period per stage and theme ({"stage", "label", "n"}). From the daily theme
    rollup (reporting.ThemeRollup: per day, theme, team, survey and touchpoint of the tagged
    response) grouped by the stage map's inputs, the stages put on in Python, unless the rollup
    cannot answer: a filter it is not keyed by (common.rollup_rows). A journey that maps sources
    reads each survey's source: a response's source is its survey's (a survey belongs to one
    source, unique on its external id there; the recording takes both from the delivering source,
    and the admin cannot move a survey to another). Else the tags of the period joined to their responses,
    both bounded by the period (ReportFilters.theme_tags): joined by id alone PostgreSQL read every
    month's responses (an admin's last 90 days at 10,000,000 responses: all 10,000,000 read, 3.2 s;
    a manager's 5 teams 0.6 s; docs/benchmarks_customers.md)."""
    rollup = rollup_rows(filters, ThemeRollup.objects)
    if rollup is None:
        return [{"stage": r["stage"], "label": r["theme__name"], "n": r["n"]} for r in
                filters.theme_tags()
                .order_by().annotate(stage=smap.stage_expression("response__"))
                .values("stage", "theme__name").annotate(n=Count("pk"))]
    source_of = dict(Survey.objects.values_list("pk", "source_id")) if smap.all_sources else {}
    counts: dict[tuple, int] = defaultdict(int)
    for r in rollup.values("touchpoint", "survey_id", "theme_id").annotate(n=Sum("tags")):
        counts[smap.stage_of(r["touchpoint"], r["survey_id"], source_of.get(r["survey_id"])), r["theme_id"]] += r["n"]
    names = dict(Theme.objects.filter(pk__in={theme for _stage, theme in counts}).values_list("pk", "name"))
    labelled: dict[tuple, int] = defaultdict(int)
    for (stage_id, theme_id), n in counts.items():
        labelled[stage_id, names.get(theme_id, "?")] += n
    return [{"stage": stage_id, "label": label, "n": n} for (stage_id, label), n in labelled.items() if n]


def stage_figures(filters: ReportFilters, smap: StageMap, monthly: list[dict] | None = None) -> dict[int, dict]:
    """Every figure of the stage table, by stage id: four grouped queries whatever the number of
    stages (three when the monthly scores are passed in)."""
    totals: dict[int, dict] = defaultdict(lambda: dict.fromkeys(SUMMED, 0))
    for row in monthly_scores(filters, smap) if monthly is None else monthly:
        for key in SUMMED:
            totals[row["stage"]][key] += row[key] or 0
    cases = case_counts(filters, smap)
    causes = _tops(_cause_counts(filters, smap), "root_cause", lambda r: r["label"])
    themes = _tops(_theme_counts(filters, smap), "theme", lambda r: r["label"])
    out = {}
    for stage in smap.stages:
        t = totals[stage.id]
        agg = {**t, "ces_ease": t["ces_ease_sum"] / t["ces_ease_n"] if t["ces_ease_n"] else None}
        c = cases.get(stage.id, {"n": 0, "open": 0, "closed": 0, "median": None})
        out[stage.id] = {
            "position": stage.position + 1,
            "stage": stage.name,
            "responses": t["responses"],
            "score_index": one_decimal(t["index_sum"] / t["index_n"]) if t["index_n"] else None,
            **score_figures(agg),
            "cases": c["n"],
            "open": c["open"],
            "case_rate": pct(c["n"], t["responses"]),
            "closed": c["closed"],
            "close_median_h": one_decimal(c["median"]),
            "top_root_causes": causes.get(stage.id, ""),
            "top_themes": themes.get(stage.id, ""),
        }
    return out


def _no_journey(table: Table) -> Table:
    table.description = str(_("No journey is defined yet: a CX admin adds one under Settings, Journeys."))
    return table


def journey_stages(filters: ReportFilters) -> Table:
    smap = journey_for(filters)
    return _stages_table(filters, smap, stage_figures(filters, smap) if smap else {})


def _stages_table(filters: ReportFilters, smap: StageMap | None, figures: dict[int, dict]) -> Table:
    table = Table("journey-map", _("Journey map"), list(STAGE_COLUMNS))
    if smap is None:
        return _no_journey(table)
    table.title = str(_("Journey map: %(journey)s") % {"journey": smap.journey_name})
    table.description = str(_("Per stage, in journey order: responses answered and cases opened in the period, and "
                              "cases closed in it."))
    for stage in smap.stages:
        table.add(figures[stage.id], {
            "responses": responses_url(filters, stage.id),
            "open": open_cases_url(filters, stage.id),
            "closed": closed_cases_url(filters, stage.id),
        })
    return table


# --- pain points ------------------------------------------------------------------------------
def journey_pain_points(filters: ReportFilters) -> Table:
    """Stages ranked worst first: the mean of their rank by score index (lowest first) and by case
    rate (highest first); stages with fewer than PAIN_MIN_RESPONSES responses are not ranked."""
    smap = journey_for(filters)
    return _pain_table(filters, smap, stage_figures(filters, smap) if smap else {})


def _pain_table(filters: ReportFilters, smap: StageMap | None, figures: dict[int, dict]) -> Table:
    table = Table(
        "journey-pain-points", _("Pain points"),
        [Column("rank", _("Rank"), True), Column("stage", _("Stage")), Column("score_index", _("Score index (0-100)"), True),
         Column("score_rank", _("Rank by score"), True), Column("case_rate", _("Cases per 100 responses"), True),
         Column("case_rate_rank", _("Rank by case rate"), True), Column("responses", _("Responses"), True)],
        description=str(_("Worst first: the average of each stage's rank by score index (lowest first) and by case "
                          "rate (highest first). Stages with fewer than %(n)d responses in the period are not ranked.")
                        % {"n": PAIN_MIN_RESPONSES}),
    )
    if smap is None:
        return _no_journey(table)
    ranked = [f | {"id": sid} for sid, f in figures.items()
              if f["responses"] >= PAIN_MIN_RESPONSES and f["score_index"] is not None]
    by_score = {r["id"]: i + 1 for i, r in enumerate(sorted(ranked, key=lambda r: (r["score_index"], r["position"])))}
    by_cases = {r["id"]: i + 1 for i, r in enumerate(sorted(ranked, key=lambda r: (-(r["case_rate"] or 0), r["position"])))}
    order = sorted(ranked, key=lambda r: ((by_score[r["id"]] + by_cases[r["id"]]) / 2, by_score[r["id"]], r["position"]))
    for rank, r in enumerate(order, start=1):
        table.add({"rank": rank, "stage": r["stage"], "score_index": r["score_index"], "score_rank": by_score[r["id"]],
                   "case_rate": r["case_rate"], "case_rate_rank": by_cases[r["id"]], "responses": r["responses"]},
                  {"responses": responses_url(filters, r["id"])})
    return table


# --- trend ------------------------------------------------------------------------------------
def journey_trend(filters: ReportFilters) -> Table:
    """Each stage's score index by month (a column per month, oldest first)."""
    smap = journey_for(filters)
    return _trend_table(filters, smap, monthly_scores(filters, smap) if smap else [])


def _trend_table(filters: ReportFilters, smap: StageMap | None, rows: list[dict]) -> Table:
    table = Table("journey-trend", _("Score index by month"), [Column("stage", _("Stage"))],
                  description=str(_("The score index (0-100) of each stage's responses, by the month they were answered.")))
    if smap is None:
        return _no_journey(table)
    months = sorted({r["month"] for r in rows})
    keys = [(m, "m" + timezone.localtime(m).strftime("%Y-%m")) for m in months]
    table.columns += [Column(k, k[1:], True) for _, k in keys]
    table.columns.append(Column("total", _("Responses"), True))
    grid = defaultdict(dict)
    totals = defaultdict(int)
    for r in rows:
        grid[r["stage"]][r["month"]] = one_decimal(r["index_sum"] / r["index_n"]) if r["index_n"] else None
        totals[r["stage"]] += r["responses"]
    for stage in smap.stages:
        table.add({"stage": stage.name, **{k: grid[stage.id].get(m) for m, k in keys}, "total": totals[stage.id]},
                  {"total": responses_url(filters, stage.id)})
    return table


# --- moments of truth and the whole page --------------------------------------------------------
def journey_moments_of_truth(filters: ReportFilters) -> Table:
    return journey_moments(filters, journey_for(filters))


@dataclass(frozen=True)
class JourneyMap:
    """Everything the journey map page shows, each stage figure computed once."""

    journey: StageMap | None
    stages: Table
    pain_points: Table
    moments: Table
    trend: Table


def journey_map(filters: ReportFilters) -> JourneyMap:
    smap = journey_for(filters)
    monthly = monthly_scores(filters, smap) if smap else []
    figures = stage_figures(filters, smap, monthly) if smap else {}
    return JourneyMap(
        journey=smap,
        stages=_stages_table(filters, smap, figures),
        pain_points=_pain_table(filters, smap, figures),
        moments=journey_moments(filters, smap),
        trend=_trend_table(filters, smap, monthly),
    )
