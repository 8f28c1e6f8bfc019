"""Closed-loop KPIs by team, location, touchpoint, week or month: coverage of low scores, time to
first contact and to closure in business hours, SLA met, root cause recorded, reopen rate."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from reporting.filters import ReportFilters
from reporting.selectors.common import (
    CLOSED,
    clamped_date_params,
    date_params,
    inbox_url,
    percentile,
    team_names_by_id,
)
from reporting.selectors.scores import score_rollup
from reporting.selectors.scoring import covered_q, low_score_q
from reporting.tables import Column, Table, one_decimal, pct


KPI_DIMENSIONS = {
    # name: (label, case expression, response expression)
    "team": (_("Team"), F("team_id"), F("team_id")),
    # The location likewise (cases 0031: response_location), in the same index.
    "location": (_("Location"), F("response_location"), F("location")),
    # A case's touchpoint is its opening response's, the copy the cases keep (cases.response_keys)
    # in the covering index cases_case_team_created: no join to the responses.
    "touchpoint": (_("Touchpoint"), F("response_touchpoint"), F("touchpoint")),
    "week": (_("Week of"), TruncWeek("created_at"), TruncWeek("answered_at")),
    "month": (_("Month"), TruncMonth("created_at"), TruncMonth("answered_at")),
}

# SLA met first, beside the counts: the table is wider than a laptop screen, and what a manager
# reads first must not sit behind a horizontal scroll (issue #19: it did, at 1,366 px).
KPI_COLUMNS = [
    Column("cases", _("Cases"), True),
    Column("open", _("Open"), True),
    Column("first_contact_sla_pct", _("First-contact SLA met %"), True),
    Column("resolution_sla_pct", _("Resolution SLA met %"), True),
    Column("low_scores", _("Low scores"), True),
    Column("coverage_pct", _("Coverage %"), True),
    Column("first_contact_median_h", _("First contact median (business h)"), True),
    Column("first_contact_p90_h", _("First contact p90 (business h)"), True),
    Column("close_median_h", _("Close median (business h)"), True),
    Column("close_p90_h", _("Close p90 (business h)"), True),
    Column("root_cause_pct", _("Closed with root cause %"), True),
    Column("reopen_pct", _("Reopen rate %"), True),
    Column("value_at_risk", _("Open value at risk"), True),
]


def _dim_label(by: str, key, team_names: dict[int, str]) -> str:
    if by == "team":
        return team_names.get(key, "(no team)")
    if by in ("week", "month"):
        return (
            timezone.localtime(key).date().isoformat()
            if isinstance(key, dt.datetime)
            else str(key)
        )
    return key or "(none)"


def _dim_link_params(by: str, key, filters: ReportFilters) -> dict[str, str]:
    if by == "team":
        return {"team": key} if key else {}
    if by in ("location", "touchpoint"):
        return {by: key} if key else {}
    if isinstance(key, dt.datetime):
        local = timezone.localtime(key).date()
        end = local + (dt.timedelta(days=7) if by == "week" else dt.timedelta(days=0))
        if by == "month":
            end = (local.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return clamped_date_params(
            "created", local, end - dt.timedelta(days=1), filters
        )
    return {}


def business_hours(
    team: Team, start: dt.datetime, end: dt.datetime | None
) -> float | None:
    if end is None:
        return None
    from cases.calendar import business_seconds_between

    return business_seconds_between(team, start, end) / 3600.0 if end > start else 0.0


# Durations in business hours, stored on each case when it is contacted and closed (in its team's
# calendar: cases.services.report_fields), so the median and p90 are aggregates in the same SQL
# pass as the counts. Null (no contact yet, not closed) is left out, as percentile_cont does.
DURATIONS = {
    "first_contact_median_h": ("first_contact_business_seconds", 0.5),
    "first_contact_p90_h": ("first_contact_business_seconds", 0.9),
    "close_median_h": ("close_business_seconds", 0.5),
    "close_p90_h": ("close_business_seconds", 0.9),
}


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont: linear interpolation, as common.percentile."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _durations_in_python(cases) -> dict:
    values: dict = defaultdict(lambda: defaultdict(list))
    for dim, first, close in cases.values_list(
        "dim", "first_contact_business_seconds", "close_business_seconds"
    ):
        for column, value in (
            ("first_contact_business_seconds", first),
            ("close_business_seconds", close),
        ):
            if value is not None:
                values[dim][column].append(value)
    return {
        dim: {
            name: percentile(sorted(by_column[column]), fraction)
            for name, (column, fraction) in DURATIONS.items()
        }
        for dim, by_column in values.items()
    }


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600.0


def case_counts(now: dt.datetime) -> dict:
    """The KPI page's counts of cases (each a sum over any split of the cases: a segment's rows add
    up, reporting.selectors.segments)."""
    closed = Q(status=CLOSED)
    return dict(
        cases=Count("pk"),
        open=Count("pk", filter=~closed),
        closed=Count("pk", filter=closed),
        closed_with_cause=Count("pk", filter=closed & Q(root_cause__isnull=False)),
        ever_closed=Count("pk", filter=closed | Q(reopen_count__gt=0)),
        reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        fc_met=Count("pk", filter=Q(first_contacted_at__lte=F("first_contact_due"))),
        fc_missed=Count(
            "pk",
            filter=Q(first_contacted_at__gt=F("first_contact_due"))
            | Q(first_contacted_at__isnull=True, first_contact_due__lt=now),
        ),
        res_met=Count("pk", filter=closed & Q(closed_at__lte=F("resolution_due"))),
        res_missed=Count(
            "pk",
            filter=(closed & Q(closed_at__gt=F("resolution_due"))) | (~closed & Q(resolution_due__lt=now)),
        ),
        value_at_risk=Sum("value_at_risk", filter=~closed),
    )


def coverage_counts() -> dict:
    """Low scores and those a case covers, as aggregates of responses (each a sum, as case_counts)."""
    return dict(low=Count("pk", filter=low_score_q()), covered=Count("pk", filter=low_score_q() & covered_q()))


def percentiles_in_sql() -> bool:
    """PostgreSQL computes the durations' percentiles (percentile_cont); SQLite (the embedded setup)
    has none: the stored durations are read and sorted in Python."""
    return connection.vendor == "postgresql"


def kpi_figures(c: dict, cov: dict, d: dict) -> dict:
    """A KPI row's figures from case_counts' (c), coverage_counts' (cov) and the durations' (d)."""
    return {
        "low_scores": cov.get("low", 0),
        "coverage_pct": pct(cov.get("covered", 0), cov.get("low", 0)),
        "cases": c.get("cases", 0),
        "open": c.get("open", 0),
        **{name: one_decimal(_hours(d.get(name))) for name in DURATIONS},
        "first_contact_sla_pct": pct(c.get("fc_met", 0), c.get("fc_met", 0) + c.get("fc_missed", 0)),
        "resolution_sla_pct": pct(c.get("res_met", 0), c.get("res_met", 0) + c.get("res_missed", 0)),
        "root_cause_pct": pct(c.get("closed_with_cause", 0), c.get("closed", 0)),
        "reopen_pct": pct(c.get("reopened", 0), c.get("ever_closed", 0)),
        "value_at_risk": c.get("value_at_risk") or 0,
    }


# The score counts' key for each grouping (scores.score_rollup: by location, every team's
# location totals only).
ROLLUP_DIMENSIONS = {"team": F("team_id"), "location": F("location"), "touchpoint": F("touchpoint"),
                     "week": TruncWeek("day"), "month": TruncMonth("day")}


def _coverage(filters: ReportFilters, by: str, response_dim) -> dict:
    """Low scores and those a case covers, per group: sums of the daily score counts' low and
    low_covered (kept by triggers: the score rollup, or every team's totals by segment bits or by
    location, scores.score_rollup) when the filters and the grouping are ones they are keyed by,
    else counted from the period's responses (index-only, in the covering score index). The same
    figures either way (tests/reporting/test_kpis.py)."""
    rows = score_rollup(filters, by)
    if rows is None:
        return {
            r["dim"]: r
            for r in filters.responses()
            .order_by()
            .annotate(dim=response_dim)
            .filter(low_score_q())
            .values("dim")
            .annotate(low=Count("pk"), covered=Count("pk", filter=covered_q()))
        }
    coverage = {}
    for r in (rows.annotate(dim=ROLLUP_DIMENSIONS[by]).values("dim")
              .annotate(low_total=Sum("low"), covered_total=Sum("low_covered")).filter(low_total__gt=0)):
        key = r["dim"]
        if by in ("week", "month"):  # the cases' key: the local midnight that starts the period
            key = timezone.make_aware(dt.datetime.combine(key, dt.time.min))
        coverage[key] = {"low": r["low_total"], "covered": r["covered_total"]}
    return coverage


def kpis(filters: ReportFilters, by: str = "team") -> Table:
    """Closed-loop KPIs per team, location, touchpoint, week or month, for cases created and low
    scores answered in the period (by customer segment: reporting.selectors.segments)."""
    label, case_dim, response_dim = KPI_DIMENSIONS[by]
    cases = filters.cases(date_field="created_at").order_by().annotate(dim=case_dim)
    # On PostgreSQL the durations' percentiles are aggregates of the same pass over the cases.
    in_sql = percentiles_in_sql()
    percentiles = {
        name: Percentile(column, fraction)
        for name, (column, fraction) in DURATIONS.items()
    }
    counts = {
        r["dim"]: r
        for r in cases.values("dim").annotate(**(percentiles if in_sql else {}), **case_counts(filters.now))
    }
    durations = counts if in_sql else _durations_in_python(cases)
    coverage = _coverage(filters, by, response_dim)
    keys = set(counts) | set(coverage)
    team_names = team_names_by_id(keys) if by == "team" else {}
    title = gettext("Closed-loop KPIs by %(group)s") % {"group": str(label).lower()}
    table = Table(f"kpis-by-{by}", title, [Column("group", label), *KPI_COLUMNS])

    def sort_key(k):
        if by in ("week", "month"):  # newest first: the period people look at is on top
            return (
                0,
                -(k or dt.datetime.min.replace(tzinfo=dt.timezone.utc)).timestamp(),
                "",
            )
        return (-(counts.get(k, {}).get("cases", 0)), 0, _dim_label(by, k, team_names))

    for key in sorted(keys, key=sort_key):
        row = {"group": _dim_label(by, key, team_names),
               **kpi_figures(counts.get(key, {}), coverage.get(key, {}), durations.get(key, {}))}
        segment = _dim_link_params(by, key, filters)
        created = (
            {}
            if by in ("week", "month")
            else date_params("created", filters.start, filters.end)
        )
        # "Team all" lists open cases; the created range narrows it to this row's cases.
        table.add(row, {"open": inbox_url(filters, view="team", **created, **segment)})
    return table
