"""Every figure reporting shows: read-only queries over surveys, alerts and cases.

Each public function takes `ReportFilters` (already scoped to the teams the user may see) and
returns a `Table`. Counting happens in SQL (conditional aggregation: COUNT(*) FILTER (WHERE ...)
on PostgreSQL, date_trunc for periods); Python only pivots small result sets and measures
durations in business hours, which depend on each team's calendar (cases.calendar).

Definitions (also in the README):
- overdue: not closed and a clock ran out (resolution due passed, or first contact due passed
  with no contact yet). It became overdue at that due time, which dates the age buckets.
- low score: a response with an alert whose action opens a case, or NPS 0-6, or CSAT in the two
  lowest points of its scale. Coverage: share of low scores linked to a case (opened it or
  attached to one).
- durations: from case creation to the first contact attempt / to closure, in the team's
  business hours; median and 90th percentile (linear interpolation, like percentile_cont).
- SLA met: first contact at or before its due time; closed at or before the resolution due.
  Missed: late, or still waiting after the due time. Cases whose clock still runs are left out.
- reopen rate: cases reopened at least once among cases ever closed.
- NPS: promoters (9-10) % minus detractors (0-6) %. CSAT: top-2-box %, the two highest points
  of the response's scale (1-5 when unknown). CES: every answer rescaled to 1-7 where 7 is
  easiest (respecting ces_high_is_easy; 1-7, high-is-easy when unknown); high effort = the hard
  half of the scale (below its midpoint).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django.db import models
from django.db.models import Avg, Count, Exists, F, FloatField, Min, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Cast, Coalesce, NullIf, RowNumber, TruncMonth, TruncWeek
from django.db.models.lookups import LessThan
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Team
from alerts.models import Alert, AlertRule
from cases.models import Case, CaseEvent, CaseResponse, RootCause, RootCauseModel
from cases.selectors import due_soon_q, overdue_q
from followup.models import Verification
from reporting.filters import ReportFilters
from reporting.tables import Column, Table, one_decimal, pct
from surveys.models import ResponseTheme, Survey, SurveyResponse, Theme

CLOSED = Case.Status.CLOSED
AGE_BUCKETS = [("0-4 h", 0, 4), ("4-24 h", 4, 24), ("1-3 d", 24, 72), ("> 3 d", 72, None)]
ESCALATION_LABELS = {
    0: "Not escalated",
    1: "Level 1: assignee and managers notified",
    2: "Level 2: escalation contact notified, priority raised",
}
MAX_TOUCHPOINT_COLUMNS = 12
PREVENTION_PER_CAUSE = 10
MAX_LIST_ROWS = 500


# --- drill-down links -------------------------------------------------------------------------
def _inbox_filter_names() -> set[str] | None:
    try:
        from cases.filtersets import CaseFilterSet
    except ImportError:
        return None
    names = {"view"}
    for name, filter_obj in CaseFilterSet.base_filters.items():
        names.add(name)
        # Range filters read name_after/name_before (name_min/name_max) from the query string.
        widget = getattr(filter_obj.field_class, "widget", None)
        names.update(f"{name}_{suffix}" for suffix in getattr(widget, "suffixes", ()) if suffix)
    return names


def inbox_url(filters: ReportFilters, **params) -> str:
    """The inbox listing the cases behind a figure: the report's segment plus `params`.
    Parameters the inbox's CaseFilterSet does not know are left out rather than ignored there."""
    try:
        base = reverse("cases:inbox")
    except NoReverseMatch:
        return ""
    query = {**filters.inbox_params(), **{k: str(v) for k, v in params.items() if v not in (None, "")}}
    known = _inbox_filter_names()
    if known is not None:
        query = {k: v for k, v in query.items() if k in known}
    return f"{base}?{urlencode(query)}" if query else base


def _date_params(prefix: str, start: dt.datetime | None, end: dt.datetime | None) -> dict[str, str]:
    """Inbox date-range parameters (inclusive dates) for [start, end)."""
    params = {}
    if start:
        params[f"{prefix}_after"] = timezone.localdate(start).isoformat()
    if end:
        params[f"{prefix}_before"] = (timezone.localdate(end) - dt.timedelta(days=1)).isoformat()
    return params


# --- shared expressions ---------------------------------------------------------------------
def due_within_q(now: dt.datetime, hours: int) -> Q:
    """Open, not yet overdue, a clock runs out within `hours`: the inbox's `due_within` filter."""
    return due_soon_q(now, dt.timedelta(hours=hours))


def overdue_since():
    """When an overdue case became overdue: the first clock that ran out."""
    return models.Case(
        models.When(
            Q(first_contacted_at__isnull=True, first_contact_due__lt=F("resolution_due")),
            then=F("first_contact_due"),
        ),
        default=F("resolution_due"),
    )


def _low_score_q(prefix: str = "") -> Q:
    p = prefix
    open_case_alert = Alert.objects.filter(
        response_id=OuterRef(f"{p}pk" if p else "pk"), action=AlertRule.Action.OPEN_CASE
    )
    return (
        Q(**{f"{p}nps__lte": 6})
        | Q(**{f"{p}csat__lte": Coalesce(F(f"{p}csat_scale_min"), Value(1)) + 1})
        | Q(Exists(open_case_alert))
    )


def _covered_q() -> Q:
    return Q(Exists(Case.objects.filter(response_id=OuterRef("pk")))) | Q(
        Exists(CaseResponse.objects.filter(response_id=OuterRef("pk")))
    )


def _ces_ease01(p: str = ""):
    """CES rescaled to 0 (hardest) .. 1 (easiest) on the answer's own scale and direction."""
    lo = Cast(Coalesce(F(f"{p}ces_scale_min"), Value(1)), FloatField())
    hi = Cast(Coalesce(F(f"{p}ces_scale_max"), Value(7)), FloatField())
    raw = Cast(F(f"{p}ces"), FloatField())
    distance = models.Case(
        models.When(**{f"{p}ces_high_is_easy": False}, then=hi - raw),
        default=raw - lo,
        output_field=FloatField(),
    )
    return models.ExpressionWrapper(distance / NullIf(hi - lo, Value(0.0)), output_field=FloatField())


def _csat_pct(p: str = ""):
    """CSAT as 0..100 % of its scale (for averaging answers on different scales)."""
    lo = Cast(Coalesce(F(f"{p}csat_scale_min"), Value(1)), FloatField())
    hi = Cast(Coalesce(F(f"{p}csat_scale_max"), Value(5)), FloatField())
    raw = Cast(F(f"{p}csat"), FloatField())
    return models.ExpressionWrapper(100.0 * (raw - lo) / NullIf(hi - lo, Value(0.0)), output_field=FloatField())


def score_aggregates(p: str = "") -> dict:
    """NPS / CSAT / CES counts for responses (p="") or a case's opening response (p="response__").

    Each count counts the metric's own column (never the primary key), so for responses every
    column read is in the covering index surveys_response_team_scores: an index-only scan."""
    return {
        "nps_n": Count(f"{p}nps"),
        "promoters": Count(f"{p}nps", filter=Q(**{f"{p}nps__gte": 9})),
        "passives": Count(f"{p}nps", filter=Q(**{f"{p}nps__gte": 7, f"{p}nps__lte": 8})),
        "detractors": Count(f"{p}nps", filter=Q(**{f"{p}nps__lte": 6})),
        "csat_n": Count(f"{p}csat"),
        "csat_top2": Count(f"{p}csat", filter=Q(**{f"{p}csat__gte": Coalesce(F(f"{p}csat_scale_max"), Value(5)) - 1})),
        "ces_n": Count(f"{p}ces"),
        "ces_ease": Avg(_ces_ease01(p)),
        "ces_high_effort": Count(f"{p}ces", filter=LessThan(_ces_ease01(p), 0.5)),
    }


def score_figures(agg: dict) -> dict:
    """The shown figures from score_aggregates' counts."""
    nps_n = agg["nps_n"]
    return {
        "nps_n": nps_n,
        "promoters": agg["promoters"],
        "passives": agg["passives"],
        "detractors": agg["detractors"],
        "promoters_pct": pct(agg["promoters"], nps_n),
        "detractors_pct": pct(agg["detractors"], nps_n),
        "nps": round(100.0 * (agg["promoters"] - agg["detractors"]) / nps_n, 1) if nps_n else None,
        "csat_n": agg["csat_n"],
        "csat_top2_pct": pct(agg["csat_top2"], agg["csat_n"]),
        "ces_n": agg["ces_n"],
        "ces_avg": round(1 + 6 * agg["ces_ease"], 1) if agg["ces_ease"] is not None else None,
        "ces_high_effort_pct": pct(agg["ces_high_effort"], agg["ces_n"]),
    }


SCORE_COLUMNS = [
    Column("nps_n", "NPS n", True),
    Column("promoters", "Promoters", True),
    Column("passives", "Passives", True),
    Column("detractors", "Detractors", True),
    Column("promoters_pct", "Promoters %", True),
    Column("detractors_pct", "Detractors %", True),
    Column("nps", "NPS", True),
    Column("csat_n", "CSAT n", True),
    Column("csat_top2_pct", "CSAT top-2-box %", True),
    Column("ces_n", "CES n", True),
    Column("ces_avg", "CES average (1-7, 7 easiest)", True),
    Column("ces_high_effort_pct", "High effort %", True),
]


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolation percentile (PostgreSQL's percentile_cont) of sorted values."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lower = int(pos)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (pos - lower)


def _user_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _team_names(ids) -> dict[int, str]:
    return dict(Team.objects.filter(id__in=[i for i in ids if i is not None]).values_list("id", "name"))


# --- overdue dashboard ------------------------------------------------------------------------
def _open_cases(filters: ReportFilters):
    """Open cases in scope. The panels count `team` (never null) rather than the primary key: the
    covering partial index cases_case_open_team_cover holds the team and every column they read,
    so each panel is an index-only scan of the open cases."""
    return filters.cases(Case.objects.open(), date_field="created_at").order_by()


def overdue_by_team(filters: ReportFilters) -> Table:
    now = filters.now
    late = overdue_q(now)
    rows = {
        r["team_id"]: r
        for r in _open_cases(filters)
        .values("team_id")
        .annotate(
            overdue=Count("team", filter=late),
            escalated=Count("team", filter=late & Q(escalation_level__gt=0)),
            unassigned=Count("team", filter=late & Q(assignee__isnull=True)),
            due_24h=Count("team", filter=due_within_q(now, 24)),
            open=Count("team"),
            overdue_value=Sum("value_at_risk", filter=late),
        )
    }
    teams = Team.objects.order_by("name")
    if filters.team_ids is not None:
        teams = teams.filter(id__in=filters.team_ids)
    table = Table(
        "overdue-by-team",
        "Overdue by team",
        [
            Column("team", "Team"),
            Column("overdue", "Overdue", True),
            Column("escalated", "Escalated", True),
            Column("unassigned", "Overdue, unassigned", True),
            Column("due_24h", "Due in next 24 h", True),
            Column("open", "Open", True),
            Column("overdue_value", "Overdue value at risk", True),
        ],
        description="Open cases per team now; overdue value at risk is the customers' account value.",
    )
    totals = defaultdict(int)
    team_list = sorted(teams, key=lambda t: (-rows.get(t.pk, {}).get("overdue", 0), t.name))
    for team in team_list:
        r = rows.get(team.pk, {})
        row = {
            "team": team.name,
            "overdue": r.get("overdue", 0),
            "escalated": r.get("escalated", 0),
            "unassigned": r.get("unassigned", 0),
            "due_24h": r.get("due_24h", 0),
            "open": r.get("open", 0),
            "overdue_value": r.get("overdue_value") or 0,
        }
        for key in ("overdue", "escalated", "unassigned", "due_24h", "open", "overdue_value"):
            totals[key] += row[key]
        table.add(row, _overdue_links(filters, team=team.pk))
    if len(team_list) > 1:
        table.add({"team": "All teams", **totals}, _overdue_links(filters))
    return table


def _overdue_links(filters: ReportFilters, **segment) -> dict[str, str]:
    return {
        "overdue": inbox_url(filters, view="overdue", **segment),
        "escalated": inbox_url(filters, view="overdue", escalation_level="1", **segment),
        "unassigned": inbox_url(filters, view="overdue", unassigned="true", **segment),
        # "Team all" narrowed by `due_within`: the "due soon" view itself means the next 2 hours.
        "due_24h": inbox_url(filters, view="team", due_within="24", **segment),
        "open": inbox_url(filters, view="team", **segment),
    }


def overdue_by_assignee(filters: ReportFilters) -> Table:
    now = filters.now
    rows = (
        _open_cases(filters)
        .filter(overdue_q(now))
        .values("assignee_id", "assignee__first_name", "assignee__last_name", "assignee__username")
        .annotate(
            overdue=Count("team"),
            escalated=Count("team", filter=Q(escalation_level__gt=0)),
            oldest=Min(overdue_since()),
        )
        .order_by("-overdue", "assignee__username")
    )
    table = Table(
        "overdue-by-assignee",
        "Overdue by assignee",
        [
            Column("assignee", "Assignee"),
            Column("overdue", "Overdue", True),
            Column("escalated", "Escalated", True),
            Column("longest_hours", "Longest overdue (h)", True),
        ],
    )
    for r in rows:
        if r["assignee_id"] is None:
            name, who = "Unassigned", {"unassigned": "true"}
        else:
            name = _user_name(r["assignee__first_name"], r["assignee__last_name"], r["assignee__username"])
            who = {"assignee": r["assignee_id"]}
        longest = (now - r["oldest"]).total_seconds() / 3600 if r["oldest"] else None
        link = inbox_url(filters, view="overdue", **who)
        table.add(
            {"assignee": name, "overdue": r["overdue"], "escalated": r["escalated"], "longest_hours": one_decimal(longest)},
            {"overdue": link, "escalated": inbox_url(filters, view="overdue", escalation_level="1", **who)},
        )
    return table


def overdue_age(filters: ReportFilters) -> Table:
    """Overdue cases by how long ago they became overdue (wall-clock time)."""
    now = filters.now
    buckets = {}
    for label, low, high in AGE_BUCKETS:
        cond = Q(since__lte=now - dt.timedelta(hours=low))
        if high is not None:
            cond &= Q(since__gt=now - dt.timedelta(hours=high))
        buckets[label] = Count("team", filter=cond)
    counts = _open_cases(filters).filter(overdue_q(now)).annotate(since=overdue_since()).aggregate(
        **{f"b{i}": agg for i, agg in enumerate(buckets.values())}
    )
    total = sum(counts.values())
    table = Table(
        "overdue-age",
        "How long overdue",
        [Column("age", "Overdue for"), Column("cases", "Cases", True), Column("share", "Share %", True)],
        description="Time since the case's first clock ran out.",
    )
    link = inbox_url(filters, view="overdue")
    for i, (label, _, _) in enumerate(AGE_BUCKETS):
        n = counts[f"b{i}"]
        table.add({"age": label, "cases": n, "share": pct(n, total)}, {"cases": link})
    return table


def overdue_escalation(filters: ReportFilters) -> Table:
    rows = {
        r["escalation_level"]: r["n"]
        for r in _open_cases(filters)
        .filter(overdue_q(filters.now))
        .values("escalation_level")
        .annotate(n=Count("team"))
    }
    table = Table(
        "overdue-escalation",
        "Overdue by escalation level",
        [Column("level", "Level", True), Column("meaning", "Meaning"), Column("cases", "Cases", True)],
    )
    link = inbox_url(filters, view="overdue")
    for level in sorted(set(ESCALATION_LABELS) | set(rows)):
        table.add(
            {"level": level, "meaning": ESCALATION_LABELS.get(level, f"Level {level}"), "cases": rows.get(level, 0)},
            {"cases": link},
        )
    return table


# --- closed-loop KPIs -------------------------------------------------------------------------
KPI_DIMENSIONS = {
    # name: (label, case expression, response expression)
    "team": ("Team", F("team_id"), F("team_id")),
    "location": ("Location", F("response__location"), F("location")),
    "touchpoint": ("Touchpoint", F("response__touchpoint"), F("touchpoint")),
    "week": ("Week of", TruncWeek("created_at"), TruncWeek("answered_at")),
    "month": ("Month", TruncMonth("created_at"), TruncMonth("answered_at")),
}

KPI_COLUMNS = [
    Column("low_scores", "Low scores", True),
    Column("coverage_pct", "Coverage %", True),
    Column("cases", "Cases", True),
    Column("open", "Open", True),
    Column("first_contact_median_h", "First contact median (business h)", True),
    Column("first_contact_p90_h", "First contact p90 (business h)", True),
    Column("close_median_h", "Close median (business h)", True),
    Column("close_p90_h", "Close p90 (business h)", True),
    Column("first_contact_sla_pct", "First-contact SLA met %", True),
    Column("resolution_sla_pct", "Resolution SLA met %", True),
    Column("root_cause_pct", "Closed with root cause %", True),
    Column("reopen_pct", "Reopen rate %", True),
    Column("value_at_risk", "Open value at risk", True),
]


def _dim_label(by: str, key, team_names: dict[int, str]) -> str:
    if by == "team":
        return team_names.get(key, "(no team)")
    if by in ("week", "month"):
        return timezone.localtime(key).date().isoformat() if isinstance(key, dt.datetime) else str(key)
    return key or "(none)"


def _dim_link_params(by: str, key) -> dict[str, str]:
    if by == "team":
        return {"team": key} if key else {}
    if by in ("location", "touchpoint"):
        return {by: key} if key else {}
    if isinstance(key, dt.datetime):
        local = timezone.localtime(key).date()
        end = local + (dt.timedelta(days=7) if by == "week" else dt.timedelta(days=0))
        if by == "month":
            end = (local.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return {"created_after": local.isoformat(), "created_before": (end - dt.timedelta(days=1)).isoformat()}
    return {}


def business_hours(team: Team, start: dt.datetime, end: dt.datetime | None) -> float | None:
    if end is None:
        return None
    from cases.calendar import business_seconds_between

    return business_seconds_between(team, start, end) / 3600.0 if end > start else 0.0


def kpis(filters: ReportFilters, by: str = "team") -> Table:
    """Closed-loop KPIs per team, location, touchpoint, week or month, for cases created and low
    scores answered in the period."""
    label, case_dim, response_dim = KPI_DIMENSIONS[by]
    now = filters.now
    cases = filters.cases(date_field="created_at").order_by().annotate(dim=case_dim)
    closed = Q(status=CLOSED)
    counts = {
        r["dim"]: r
        for r in cases.values("dim").annotate(
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
                "pk", filter=(closed & Q(closed_at__gt=F("resolution_due"))) | (~closed & Q(resolution_due__lt=now))
            ),
            value_at_risk=Sum("value_at_risk", filter=~closed),
        )
    }
    # Durations in business hours: each team's calendar, so measured row by row in Python.
    first_contact, to_close = defaultdict(list), defaultdict(list)
    timed = cases.filter(Q(first_contacted_at__isnull=False) | closed).values_list(
        "dim", "team_id", "created_at", "first_contacted_at", "closed_at", "status"
    )
    teams: dict[int, Team] = {}
    for dim, team_id, created, contacted, closed_at, status in timed.iterator(chunk_size=5000):
        team = teams.get(team_id) or teams.setdefault(team_id, Team.objects.get(pk=team_id))
        if contacted is not None:
            first_contact[dim].append(business_hours(team, created, contacted))
        if status == CLOSED and closed_at is not None:
            to_close[dim].append(business_hours(team, created, closed_at))
    coverage = {
        r["dim"]: r
        for r in filters.responses()
        .order_by()
        .annotate(dim=response_dim)
        .filter(_low_score_q())
        .values("dim")
        .annotate(low=Count("pk"), covered=Count("pk", filter=_covered_q()))
    }
    keys = set(counts) | set(coverage)
    team_names = _team_names(keys) if by == "team" else {}
    table = Table(f"kpis-by-{by}", f"Closed-loop KPIs by {label.lower()}", [Column("group", label), *KPI_COLUMNS])

    def sort_key(k):
        if by in ("week", "month"):
            return (0, k or dt.datetime.min.replace(tzinfo=dt.timezone.utc), "")
        return (-(counts.get(k, {}).get("cases", 0)), 0, _dim_label(by, k, team_names))

    for key in sorted(keys, key=sort_key):
        c = counts.get(key, {})
        cov = coverage.get(key, {"low": 0, "covered": 0})
        fc = sorted(first_contact.get(key, []))
        tc = sorted(to_close.get(key, []))
        row = {
            "group": _dim_label(by, key, team_names),
            "low_scores": cov["low"],
            "coverage_pct": pct(cov["covered"], cov["low"]),
            "cases": c.get("cases", 0),
            "open": c.get("open", 0),
            "first_contact_median_h": one_decimal(percentile(fc, 0.5)),
            "first_contact_p90_h": one_decimal(percentile(fc, 0.9)),
            "close_median_h": one_decimal(percentile(tc, 0.5)),
            "close_p90_h": one_decimal(percentile(tc, 0.9)),
            "first_contact_sla_pct": pct(c.get("fc_met", 0), c.get("fc_met", 0) + c.get("fc_missed", 0)),
            "resolution_sla_pct": pct(c.get("res_met", 0), c.get("res_met", 0) + c.get("res_missed", 0)),
            "root_cause_pct": pct(c.get("closed_with_cause", 0), c.get("closed", 0)),
            "reopen_pct": pct(c.get("reopened", 0), c.get("ever_closed", 0)),
            "value_at_risk": c.get("value_at_risk") or 0,
        }
        segment = _dim_link_params(by, key)
        created = {} if by in ("week", "month") else _date_params("created", filters.start, filters.end)
        # "Team all" lists open cases; the created range narrows it to this row's cases.
        table.add(row, {"open": inbox_url(filters, view="team", **created, **segment)})
    return table


# --- root causes ------------------------------------------------------------------------------
def _closed_cases(filters: ReportFilters):
    return filters.cases(Case.objects.filter(status=CLOSED), date_field="closed_at").order_by()


def _cause_label(category: str, name: str) -> str:
    return f"{category} > {name}"


def _cause_link(filters: ReportFilters, cause_id, **extra) -> str:
    params = {"view": "recently_closed", "root_cause": cause_id}
    if not any(k.startswith("closed_") for k in extra):
        params.update(_date_params("closed", filters.start, filters.end))
    return inbox_url(filters, **params, **extra)


def root_cause_pareto(filters: ReportFilters) -> Table:
    rows = list(
        _closed_cases(filters)
        .values("root_cause_id", "root_cause__name", "root_cause__category__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "root_cause__category__name", "root_cause__name")
    )
    total = sum(r["n"] for r in rows)
    table = Table(
        "root-causes-pareto",
        "Root causes (Pareto)",
        [
            Column("root_cause", "Root cause"),
            Column("cases", "Cases", True),
            Column("share", "Share %", True),
            Column("cumulative", "Cumulative %", True),
        ],
        description="Cases closed in the period by root cause, most frequent first.",
    )
    running = 0
    for r in rows:
        running += r["n"]
        table.add(
            {
                "root_cause": _cause_label(r["root_cause__category__name"], r["root_cause__name"]),
                "cases": r["n"],
                "share": pct(r["n"], total),
                "cumulative": pct(running, total),
            },
            {"cases": _cause_link(filters, r["root_cause_id"])},
        )
    return table


def _cause_names(ids) -> dict[int, str]:
    return {
        c.pk: _cause_label(c.category.name, c.name)
        for c in RootCause.objects.filter(pk__in=[i for i in ids if i]).select_related("category")
    }


def root_cause_weekly(filters: ReportFilters) -> Table:
    """Weekly count per cause (weeks start on Monday, by closure date)."""
    cells = list(
        _closed_cases(filters)
        .annotate(week=TruncWeek("closed_at"))
        .values("week", "root_cause_id")
        .annotate(n=Count("pk"))
    )
    table = Table("root-causes-weekly", "Root causes by week", [Column("root_cause", "Root cause")],
                  description="Cases closed per week (week starting Monday) and root cause.")

    def link(cause_id, week_start=None) -> str:
        if week_start is None:
            return _cause_link(filters, cause_id)
        return _cause_link(filters, cause_id, closed_after=week_start.isoformat(),
                           closed_before=(week_start + dt.timedelta(days=6)).isoformat())

    return _by_week(cells, "root_cause_id", table, label_of=_cause_names, link_of=link)


def _by_week(cells: list[dict], key: str, table: Table, *, label_of, link_of=None) -> Table:
    """Fill a weekly cross-tab of `key` from rows {"week", key, "n"}: a column per week (weeks
    start on Monday) and a total; rows by total, then label. `label_of(ids)` gives {id: label};
    `link_of(id, week_start=None)`, when given, the drill-down URL of a row's total or of a cell."""
    weeks = sorted({c["week"] for c in cells})
    totals: dict[int, int] = defaultdict(int)
    grid: dict[int, dict] = defaultdict(dict)
    for c in cells:
        totals[c[key]] += c["n"]
        grid[c[key]][c["week"]] = c["n"]
    labels = label_of(totals)
    week_keys = [(w, "w" + timezone.localtime(w).date().isoformat()) for w in weeks]
    label_column = table.columns[0].key
    table.columns += [*[Column(k, k[1:], True) for _, k in week_keys], Column("total", "Total", True)]
    for row_id in sorted(totals, key=lambda i: (-totals[i], labels.get(i, ""))):
        row = {label_column: labels.get(row_id, "?"), "total": totals[row_id]}
        links = {"total": link_of(row_id)} if link_of else {}
        for week, week_key in week_keys:
            row[week_key] = grid[row_id].get(week, 0)
            if link_of:
                links[week_key] = link_of(row_id, timezone.localtime(week).date())
        table.add(row, links)
    return table


def _by_touchpoint(cells: list[dict], key: str, table: Table, *, label_of, link_of) -> Table:
    """Fill a cross-tab of `key` x touchpoint from rows {key, "response__touchpoint", "n"}: the
    busiest touchpoints as columns (the rest summed in "Other"), rows by total. `label_of(ids)`
    gives {id: label}; `link_of(id, **extra)` the drill-down URL of a row or a cell."""
    by_touchpoint: dict[str, int] = defaultdict(int)
    totals: dict[int, int] = defaultdict(int)
    for c in cells:
        by_touchpoint[c["response__touchpoint"] or ""] += c["n"]
        totals[c[key]] += c["n"]
    ordered = sorted(by_touchpoint, key=lambda t: (-by_touchpoint[t], t))
    shown = ordered[:MAX_TOUCHPOINT_COLUMNS]
    other = len(ordered) > len(shown)
    keys = {tp: f"tp{i}" for i, tp in enumerate(shown)}
    label_column = table.columns[0].key
    table.columns += [*[Column(keys[tp], tp or "(none)", True) for tp in shown]]
    if other:
        table.columns.append(Column("other", "Other", True))
    table.columns.append(Column("total", "Total", True))
    grid: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for c in cells:
        grid[c[key]][keys.get(c["response__touchpoint"] or "", "other")] += c["n"]
    labels = label_of(totals)
    for row_id in sorted(totals, key=lambda i: (-totals[i], labels.get(i, ""))):
        row = {label_column: labels.get(row_id, "?"), "total": totals[row_id]}
        links = {"total": link_of(row_id)}
        for tp in shown:
            row[keys[tp]] = grid[row_id].get(keys[tp], 0)
            if tp:
                links[keys[tp]] = link_of(row_id, touchpoint=tp)
        if other:
            row["other"] = grid[row_id].get("other", 0)
        table.add(row, links)
    return table


def root_cause_by_touchpoint(filters: ReportFilters) -> Table:
    """Cross-tab of cause x touchpoint of the opening response (the busiest touchpoints as columns,
    the rest summed in "Other")."""
    cells = list(
        _closed_cases(filters).values("root_cause_id", "response__touchpoint").annotate(n=Count("pk"))
    )
    table = Table("root-causes-by-touchpoint", "Root cause by touchpoint", [Column("root_cause", "Root cause")],
                  description="Cases closed in the period; darker cells hold more cases.")
    return _by_touchpoint(cells, "root_cause_id", table, label_of=_cause_names,
                          link_of=lambda cause_id, **extra: _cause_link(filters, cause_id, **extra))


def root_cause_scores(filters: ReportFilters) -> Table:
    """The scores of the responses that opened the cases, per root cause."""
    rows = (
        _closed_cases(filters)
        .values("root_cause_id", "root_cause__name", "root_cause__category__name")
        .annotate(
            n=Count("pk"),
            nps_n=Count("response__nps"),
            avg_nps=Avg("response__nps"),
            csat_n=Count("response__csat"),
            avg_csat=Avg(_csat_pct("response__")),
            ces_n=Count("response__ces"),
            avg_ces=Avg(_ces_ease01("response__")),
        )
        .order_by("-n", "root_cause__name")
    )
    table = Table(
        "root-causes-scores",
        "Average score by root cause",
        [
            Column("root_cause", "Root cause"),
            Column("cases", "Cases", True),
            Column("nps_n", "NPS n", True),
            Column("avg_nps", "Average NPS score (0-10)", True),
            Column("csat_n", "CSAT n", True),
            Column("avg_csat", "Average CSAT (% of scale)", True),
            Column("ces_n", "CES n", True),
            Column("avg_ces", "Average CES (1-7, 7 easiest)", True),
        ],
    )
    for r in rows:
        table.add(
            {
                "root_cause": _cause_label(r["root_cause__category__name"], r["root_cause__name"]),
                "cases": r["n"],
                "nps_n": r["nps_n"],
                "avg_nps": one_decimal(r["avg_nps"]),
                "csat_n": r["csat_n"],
                "avg_csat": one_decimal(r["avg_csat"]),
                "ces_n": r["ces_n"],
                "avg_ces": one_decimal(1 + 6 * r["avg_ces"]) if r["avg_ces"] is not None else None,
            },
            {"cases": _cause_link(filters, r["root_cause_id"])},
        )
    return table


def root_cause_prevention(filters: ReportFilters) -> Table:
    """The frontline's prevention suggestions, per cause (most frequent cause first), newest first,
    at most PREVENTION_PER_CAUSE per cause."""
    ranked = (
        _closed_cases(filters)
        .exclude(prevention="")
        .annotate(rank=Window(RowNumber(), partition_by=[F("root_cause_id")], order_by=F("closed_at").desc()))
        .filter(rank__lte=PREVENTION_PER_CAUSE)
        .values(
            "reference", "root_cause_id", "root_cause__name", "root_cause__category__name",
            "closed_at", "team__name", "prevention",
        )
    )
    rows = list(ranked)
    frequency = defaultdict(int)
    for r in _closed_cases(filters).exclude(prevention="").values("root_cause_id").annotate(n=Count("pk")):
        frequency[r["root_cause_id"]] = r["n"]
    rows.sort(key=lambda r: (-frequency[r["root_cause_id"]], r["root_cause__name"], -r["closed_at"].timestamp()))
    table = Table(
        "root-causes-prevention",
        "How the frontline would prevent it",
        [
            Column("root_cause", "Root cause"),
            Column("closed_at", "Closed"),
            Column("reference", "Case"),
            Column("team", "Team"),
            Column("suggestion", "Suggestion"),
        ],
        description=f"The {PREVENTION_PER_CAUSE} newest suggestions per root cause.",
    )
    for r in rows:
        table.add(
            {
                "root_cause": _cause_label(r["root_cause__category__name"], r["root_cause__name"]),
                "closed_at": timezone.localtime(r["closed_at"]).date(),
                "reference": r["reference"],
                "team": r["team__name"],
                "suggestion": r["prevention"],
            },
            {"reference": _case_url(r["reference"]), "root_cause": _cause_link(filters, r["root_cause_id"])},
        )
    return table


def _case_url(reference: str) -> str:
    for args in ([reference],):
        try:
            return reverse("cases:detail", args=args)
        except NoReverseMatch:
            continue
    try:
        return f"{reverse('cases:inbox')}?{urlencode({'q': reference})}"
    except NoReverseMatch:
        return ""


# --- scores -----------------------------------------------------------------------------------
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
        .order_by("period")
    )
    table = Table(
        f"scores-{period}ly",
        f"Scores by {period}",
        [Column("period", "Week of" if period == "week" else "Month"), Column("responses", "Responses", True), *SCORE_COLUMNS],
        description="Responses answered in the period; weeks start on Monday.",
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
        names = _team_names(r[field_name] for r in rows)
    elif by == "survey":
        names = dict(Survey.objects.filter(pk__in=[r[field_name] for r in rows]).values_list("pk", "name"))
    table = Table(
        f"scores-by-{by}",
        f"Scores by {label.lower()}",
        [Column("group", label), Column("responses", "Responses", True), *SCORE_COLUMNS],
    )
    for r in rows:
        key = r[field_name]
        shown = names.get(key, "(no team)" if by == "team" else "?") if by in ("team", "survey") else (key or "(none)")
        table.add({"group": shown, "responses": r["responses"], **score_figures(r)})
    return table


# --- recovery ---------------------------------------------------------------------------------
def _recovered_cases(filters: ReportFilters) -> list[dict]:
    """Closed cases whose customer answered (with an NPS score) after the closure: the first such
    answer, beside the score that opened the case."""
    later = SurveyResponse.objects.filter(
        customer_id=OuterRef("customer_id"), answered_at__gt=OuterRef("closed_at"), nps__isnull=False
    ).order_by("answered_at")
    return list(
        filters.cases(
            Case.objects.filter(closed_at__isnull=False, customer__isnull=False, response__nps__isnull=False),
            date_field="closed_at",
        )
        .order_by()
        .annotate(after_nps=Subquery(later.values("nps")[:1]), after_at=Subquery(later.values("answered_at")[:1]))
        .filter(after_nps__isnull=False)
        .values(
            "pk", "reference", "team_id", "team__name", "root_cause_id", "root_cause__name",
            "root_cause__category__name", "customer__name", "customer__email", "closed_at",
            "response__nps", "after_nps", "after_at",
        )
        .order_by("-after_at")
    )


RECOVERY_COLUMNS = [
    Column("answered_again", "Answered again", True),
    Column("avg_before", "Average NPS score before", True),
    Column("avg_after", "Average NPS score after", True),
    Column("avg_change", "Average change", True),
    Column("detractors_before", "Detractors before", True),
    Column("recovered", "No longer detractors", True),
    Column("recovery_pct", "Recovery rate %", True),
]


def _recovery_table(filters: ReportFilters, key: str, label_of, name: str, title: str, label: str, link_of) -> Table:
    groups: dict = defaultdict(list)
    labels: dict = {}
    for r in _recovered_cases(filters):
        groups[r[key]].append(r)
        labels[r[key]] = label_of(r)
    table = Table(name, title, [Column("group", label), *RECOVERY_COLUMNS],
                  description="Closed cases whose customer answered again (NPS) after the closure.")
    for group in sorted(groups, key=lambda g: (-len(groups[g]), labels[g])):
        items = groups[group]
        before = [r["response__nps"] for r in items]
        after = [r["after_nps"] for r in items]
        detractors = [r for r in items if r["response__nps"] <= 6]
        recovered = [r for r in detractors if r["after_nps"] >= 7]
        table.add(
            {
                "group": labels[group],
                "answered_again": len(items),
                "avg_before": one_decimal(sum(before) / len(before)),
                "avg_after": one_decimal(sum(after) / len(after)),
                "avg_change": one_decimal((sum(after) - sum(before)) / len(items)),
                "detractors_before": len(detractors),
                "recovered": len(recovered),
                "recovery_pct": pct(len(recovered), len(detractors)),
            },
            {"answered_again": link_of(group)},
        )
    return table


def recovery_by_team(filters: ReportFilters) -> Table:
    return _recovery_table(
        filters, "team_id", lambda r: r["team__name"], "recovery-by-team", "Recovery by team", "Team",
        lambda team_id: inbox_url(filters, view="recently_closed", team=team_id,
                                  **_date_params("closed", filters.start, filters.end)),
    )


def recovery_by_root_cause(filters: ReportFilters) -> Table:
    return _recovery_table(
        filters, "root_cause_id",
        lambda r: _cause_label(r["root_cause__category__name"], r["root_cause__name"]) if r["root_cause_id"] else "(none)",
        "recovery-by-root-cause", "Recovery by root cause", "Root cause",
        lambda cause_id: _cause_link(filters, cause_id),
    )


def recovery_customers(filters: ReportFilters) -> Table:
    table = Table(
        "recovery-customers",
        "Customers who answered again",
        [
            Column("reference", "Case"),
            Column("customer", "Customer"),
            Column("team", "Team"),
            Column("root_cause", "Root cause"),
            Column("closed_at", "Closed"),
            Column("answered_at", "Answered again"),
            Column("before", "NPS score before", True),
            Column("after", "NPS score after", True),
            Column("change", "Change", True),
        ],
        description=f"Newest first, at most {MAX_LIST_ROWS}.",
    )
    for r in _recovered_cases(filters)[:MAX_LIST_ROWS]:
        table.add(
            {
                "reference": r["reference"],
                "customer": r["customer__name"] or r["customer__email"] or "(no name)",
                "team": r["team__name"],
                "root_cause": _cause_label(r["root_cause__category__name"], r["root_cause__name"])
                if r["root_cause_id"] else "",
                "closed_at": timezone.localtime(r["closed_at"]).date(),
                "answered_at": timezone.localtime(r["after_at"]).date(),
                "before": r["response__nps"],
                "after": r["after_nps"],
                "change": r["after_nps"] - r["response__nps"],
            },
            {"reference": _case_url(r["reference"])},
        )
    return table



# --- themes -----------------------------------------------------------------------------------
SENTIMENT_BAND = 0.05  # VADER's convention: below -0.05 negative, above 0.05 positive


def _theme_tags(filters: ReportFilters):
    """Theme tags (ResponseTheme) of the responses in scope. The date range reads the tag's own
    copy of answered_at, so a theme's figures walk the index (theme, answered_at)."""
    return filters.responses(ResponseTheme.objects.all(), via="response__", date_field="answered_at").order_by()


def _themes(ids) -> dict[int, Theme]:
    return {t.pk: t for t in Theme.objects.filter(pk__in=[i for i in ids if i]).only("name", "slug", "status")}


def _theme_label(theme: Theme | None) -> str:
    if theme is None:
        return "?"
    return f"{theme.name} (retired)" if theme.status == Theme.Status.RETIRED else theme.name


def _theme_link(filters: ReportFilters, theme: Theme | None, **extra) -> str:
    """The open cases (created in the period) whose responses are about the theme; no link while the
    inbox has no theme filter, rather than a link to cases of every theme."""
    known = _inbox_filter_names()
    if theme is None or (known is not None and "theme" not in known):
        return ""
    return inbox_url(filters, view="team", theme=theme.slug, **_date_params("created", filters.start, filters.end),
                     **extra)


def _sentiment100(value) -> float | None:
    """Average sentiment on a -100..100 scale (VADER's -1..1 times 100), one decimal."""
    return None if value is None else round(100.0 * value, 1)


def _open_cases_by_theme(filters: ReportFilters) -> dict[int, int]:
    """Open cases created in the period per theme of their responses (the opening one or any
    attached later), each case counted once per theme: the inbox's theme filter."""
    open_cases = filters.cases(Case.objects.open(), date_field="created_at").order_by()
    pairs = set(
        open_cases.filter(response__theme_links__isnull=False)
        .values_list("response__theme_links__theme_id", "pk")
    )
    pairs |= set(
        open_cases.filter(case_responses__response__theme_links__isnull=False)
        .values_list("case_responses__response__theme_links__theme_id", "pk")
    )
    counts: dict[int, int] = defaultdict(int)
    for theme_id, _ in pairs:
        counts[theme_id] += 1
    return counts


def themes_volume(filters: ReportFilters) -> Table:
    """How often each theme comes up, how customers feel about it, and the open cases about it."""
    rows = list(
        _theme_tags(filters)
        .values("theme_id")
        .annotate(
            responses=Count("response_id"),
            rated=Count("response__sentiment"),
            negative=Count("response__sentiment", filter=Q(response__sentiment__lt=-SENTIMENT_BAND)),
            positive=Count("response__sentiment", filter=Q(response__sentiment__gt=SENTIMENT_BAND)),
            sentiment=Avg("response__sentiment"),
        )
    )
    commented = filters.responses().exclude(comment="").order_by().count()
    open_cases = _open_cases_by_theme(filters)
    themes = _themes(r["theme_id"] for r in rows)
    rows.sort(key=lambda r: (-r["responses"], _theme_label(themes.get(r["theme_id"]))))
    table = Table(
        "themes-volume",
        "Themes: volume and sentiment",
        [
            Column("theme", "Theme"),
            Column("responses", "Responses", True),
            Column("share", "Share of comments %", True),
            Column("positive_pct", "Positive %", True),
            Column("negative_pct", "Negative %", True),
            Column("sentiment", "Average sentiment (-100 to 100)", True),
            Column("open_cases", "Open cases", True),
        ],
        description="Responses answered in the period whose comment is about the theme (a comment can be "
                    "about several); share of all responses with a comment. Open cases: cases created in "
                    "the period and still open whose responses are about the theme.",
    )
    for r in rows:
        theme = themes.get(r["theme_id"])
        table.add(
            {
                "theme": _theme_label(theme),
                "responses": r["responses"],
                "share": pct(r["responses"], commented),
                "positive_pct": pct(r["positive"], r["rated"]),
                "negative_pct": pct(r["negative"], r["rated"]),
                "sentiment": _sentiment100(r["sentiment"]),
                "open_cases": open_cases.get(r["theme_id"], 0),
            },
            {"open_cases": _theme_link(filters, theme)},
        )
    return table


def themes_weekly(filters: ReportFilters) -> Table:
    """Responses per week and theme (weeks start on Monday, by answer date)."""
    cells = list(
        _theme_tags(filters).annotate(week=TruncWeek("answered_at")).values("week", "theme_id").annotate(n=Count("pk"))
    )
    table = Table("themes-weekly", "Themes by week", [Column("theme", "Theme")],
                  description="Responses about each theme per week (week starting Monday).")

    def labels(ids) -> dict[int, str]:
        themes = _themes(ids)
        return {i: _theme_label(themes.get(i)) for i in ids}

    return _by_week(cells, "theme_id", table, label_of=labels)


THEME_SCORE_COLUMNS = [*SCORE_COLUMNS, Column("sentiment", "Average sentiment (-100 to 100)", True)]


def themes_scores(filters: ReportFilters) -> Table:
    """NPS, CSAT and CES (computed as on the scores page) of the responses about each theme, with
    every response in scope as the last row to compare against."""
    rows = list(
        _theme_tags(filters)
        .values("theme_id")
        .annotate(responses=Count("response_id"), sentiment=Avg("response__sentiment"), **score_aggregates("response__"))
    )
    themes = _themes(r["theme_id"] for r in rows)
    rows.sort(key=lambda r: (-r["responses"], _theme_label(themes.get(r["theme_id"]))))
    table = Table(
        "themes-scores",
        "Scores by theme",
        [Column("theme", "Theme"), Column("responses", "Responses", True), *THEME_SCORE_COLUMNS],
        description="The scores given with comments about each theme; the last row is every response in "
                    "the period, for comparison.",
    )
    for r in rows:
        table.add({"theme": _theme_label(themes.get(r["theme_id"])), "responses": r["responses"],
                   **score_figures(r), "sentiment": _sentiment100(r["sentiment"])})
    if rows:
        every = filters.responses().order_by().aggregate(
            responses=Count("*"), sentiment=Avg("sentiment"), **score_aggregates()
        )
        table.add({"theme": "All responses", "responses": every["responses"], **score_figures(every),
                   "sentiment": _sentiment100(every["sentiment"])})
    return table


def themes_by_touchpoint(filters: ReportFilters) -> Table:
    """Cross-tab of theme x touchpoint (the busiest touchpoints as columns, the rest in "Other")."""
    cells = list(_theme_tags(filters).values("theme_id", "response__touchpoint").annotate(n=Count("pk")))
    table = Table(
        "themes-by-touchpoint", "Themes by touchpoint", [Column("theme", "Theme")],
        description="Responses about each theme per touchpoint; darker cells hold more. A number links to the "
                    "open cases about that theme there.",
    )
    themes: dict[int, Theme] = {}

    def label_of(ids) -> dict[int, str]:
        themes.update(_themes(ids))
        return {i: _theme_label(themes.get(i)) for i in ids}

    return _by_touchpoint(cells, "theme_id", table, label_of=label_of,
                          link_of=lambda theme_id, **extra: _theme_link(filters, themes.get(theme_id), **extra))


# --- root-cause suggestions ---------------------------------------------------------------------
def _closures(filters: ReportFilters):
    """Every closure in the period (a reopened and re-closed case counts each time), from the
    timeline: the CLOSED event keeps what the close form offered and whether it was taken. The
    date range walks the index (kind, created_at)."""
    return filters.cases(
        CaseEvent.objects.filter(kind=CaseEvent.Kind.CLOSED), date_field="created_at", via="case__"
    ).order_by()


def root_cause_model_in_use() -> dict | None:
    """The newest trained root-cause model (the one suggestions come from), without its bytes."""
    model = RootCauseModel.objects.defer("blob").order_by("-created_at").first()
    if model is None:
        return None
    return {
        "created_at": model.created_at,
        "trained_on": model.trained_on,
        "classes": model.classes,
        "held_out": model.held_out,
        "accuracy_top1": None if model.accuracy_top1 is None else round(100.0 * model.accuracy_top1, 1),
        "accuracy_top3": None if model.accuracy_top3 is None else round(100.0 * model.accuracy_top3, 1),
    }


def _model_sentence(model: dict | None) -> str:
    if model is None:
        return "No root-cause model is trained yet, so nothing is suggested."
    when = timezone.localtime(model["created_at"]).strftime("%Y-%m-%d %H:%M")
    accuracy = (
        f"held-out accuracy top-1 {model['accuracy_top1']:.1f} %, top-3 {model['accuracy_top3']:.1f} % "
        f"({model['held_out']} closed cases held out)"
        if model["accuracy_top1"] is not None and model["accuracy_top3"] is not None
        else "no held-out accuracy measured"
    )
    return f"Model in use: trained {when} on {model['trained_on']} closed cases, {model['classes']} root causes; {accuracy}."


def root_cause_suggestions(filters: ReportFilters) -> Table:
    """How often the close form offered root causes and how often one of them was taken, by team."""
    rows = {
        r["case__team_id"]: r
        for r in _closures(filters)
        .values("case__team_id")
        .annotate(
            closures=Count("pk"),
            offered=Count("pk", filter=Q(data__has_key="suggestion_taken")),
            taken=Count("pk", filter=Q(data__suggestion_taken=True)),
        )
    }
    names = _team_names(rows)
    table = Table(
        "root-cause-suggestions",
        "Root-cause suggestions taken",
        [
            Column("team", "Team"),
            Column("closures", "Closures", True),
            Column("offered", "Closed with suggestions", True),
            Column("offered_pct", "Suggestions offered %", True),
            Column("taken", "Suggestion taken", True),
            Column("taken_pct", "Acceptance rate %", True),
        ],
        description="Closures in the period: how many had root causes suggested in the close form, and the share "
                    "where the person closing picked one of them. " + _model_sentence(root_cause_model_in_use()),
    )
    totals = defaultdict(int)
    for team_id in sorted(rows, key=lambda i: (-rows[i]["closures"], names.get(i, ""))):
        r = rows[team_id]
        for key in ("closures", "offered", "taken"):
            totals[key] += r[key]
        table.add({
            "team": names.get(team_id, "?"), "closures": r["closures"], "offered": r["offered"],
            "offered_pct": pct(r["offered"], r["closures"]), "taken": r["taken"], "taken_pct": pct(r["taken"], r["offered"]),
        })
    if len(rows) > 1:
        table.add({"team": "All teams", **totals, "offered_pct": pct(totals["offered"], totals["closures"]),
                   "taken_pct": pct(totals["taken"], totals["offered"])})
    return table


# --- verified recovery ------------------------------------------------------------------------
def _checks(filters: ReportFilters, date_field: str):
    """Recovery checks ("Did we put it right?") in scope, scoped like cases: the team and touchpoint
    recorded on the check at closure, the rest through its case; `date_field` (sent_at, answered_at)
    takes the date range. Answers by answer date walk the index (team, answered_at)."""
    qs = Verification.objects.filter(**{f"{date_field}__isnull": False})
    if filters.team_ids is not None:
        qs = qs.filter(team_id__in=filters.team_ids)
    if filters.survey_id:
        qs = qs.filter(case__response__survey_id=filters.survey_id)
    if filters.touchpoint:
        qs = qs.filter(touchpoint=filters.touchpoint)
    if filters.location:
        qs = qs.filter(case__response__location=filters.location)
    if filters.tier:
        qs = qs.filter(case__customer__tier=filters.tier)
    return filters._dates(qs, date_field).order_by()


VERIFIED_COLUMNS = [
    Column("closures", "Closures", True),
    Column("resolved", "Resolved (self-reported)", True),
    Column("resolved_pct", "Self-reported resolved %", True),
    Column("sent", "Checks sent", True),
    Column("answered", "Answered", True),
    Column("response_pct", "Response rate %", True),
    Column("recovered", "Recovered (customer says)", True),
    Column("verified_pct", "Verified recovery %", True),
    Column("confirmed_pct", "Resolved as customers confirm % (est.)", True),
    Column("gap", "Gap (points)", True),
]
VERIFIED_DESCRIPTION = (
    "Beside what the team recorded at closure (share of closures marked resolved with the customer), what "
    "customers answered when asked “Did we put it right?”: checks sent and answers given in the period (response "
    "rate: answers per check sent), and the share of answers saying yes (7 or more of 10, or yes). Resolved as "
    "customers confirm: the self-reported share times the verified share. Gap: self-reported minus confirmed, in "
    "percentage points: closures marked resolved that customers do not confirm."
)


def _verified_table(filters: ReportFilters, name: str, title: str, label: str, closure_key: str, check_key: str,
                    label_of, link_of) -> Table:
    """One row per slice (team, root cause or touchpoint): closures and their self-reported outcome
    from the timeline, checks from followup.Verification, grouped by the same slice."""
    closures = {
        r["key"]: r
        for r in _closures(filters)
        .annotate(key=F(closure_key))
        .values("key")
        .annotate(closures=Count("pk"), resolved=Count("pk", filter=Q(to_value=Case.Outcome.RESOLVED)))
    }
    checks: dict = defaultdict(dict)
    for r in _checks(filters, "sent_at").annotate(key=F(check_key)).values("key").annotate(sent=Count("pk")):
        checks[r["key"]]["sent"] = r["sent"]
    for r in (
        _checks(filters, "answered_at").annotate(key=F(check_key)).values("key")
        .annotate(answered=Count("pk"), recovered=Count("pk", filter=Q(recovered=True)))
    ):
        checks[r["key"]].update(answered=r["answered"], recovered=r["recovered"])
    keys = set(closures) | set(checks)
    labels = label_of(keys)
    table = Table(name, title, [Column("group", label), *VERIFIED_COLUMNS], description=VERIFIED_DESCRIPTION)

    def row_for(c: dict, v: dict) -> dict:
        resolved_pct = pct(c.get("resolved", 0), c.get("closures", 0))
        verified_pct = pct(v.get("recovered", 0), v.get("answered", 0))
        confirmed = (round(resolved_pct * verified_pct / 100.0, 1)
                     if resolved_pct is not None and verified_pct is not None else None)
        return {
            "closures": c.get("closures", 0), "resolved": c.get("resolved", 0), "resolved_pct": resolved_pct,
            "sent": v.get("sent", 0), "answered": v.get("answered", 0),
            "response_pct": pct(v.get("answered", 0), v.get("sent", 0)),
            "recovered": v.get("recovered", 0), "verified_pct": verified_pct,
            "confirmed_pct": confirmed,
            "gap": round(resolved_pct - confirmed, 1) if confirmed is not None else None,
        }

    totals: dict[str, dict] = {"c": defaultdict(int), "v": defaultdict(int)}
    order = sorted(keys, key=lambda k: (-checks.get(k, {}).get("sent", 0), -closures.get(k, {}).get("closures", 0),
                                        labels.get(k, "")))
    for key in order:
        c, v = closures.get(key, {}), checks.get(key, {})
        for k in ("closures", "resolved"):
            totals["c"][k] += c.get(k, 0)
        for k in ("sent", "answered", "recovered"):
            totals["v"][k] += v.get(k, 0)
        table.add({"group": labels.get(key, "(none)"), **row_for(c, v)}, link_of(key))
    if len(order) > 1:
        table.add({"group": "All", **row_for(totals["c"], totals["v"])})
    return table


def _closed_link(filters: ReportFilters, **segment) -> dict[str, str]:
    return {"closures": inbox_url(filters, view="recently_closed", **segment,
                                  **_date_params("closed", filters.start, filters.end))}


def verified_recovery_by_team(filters: ReportFilters) -> Table:
    return _verified_table(
        filters, "verified-recovery-by-team", "Verified recovery by team", "Team", "case__team_id", "team_id",
        _team_names, lambda team_id: _closed_link(filters, team=team_id) if team_id else {},
    )


def verified_recovery_by_root_cause(filters: ReportFilters) -> Table:
    return _verified_table(
        filters, "verified-recovery-by-root-cause", "Verified recovery by root cause", "Root cause",
        "data__root_cause_id", "root_cause_id", _cause_names,
        lambda cause_id: {"closures": _cause_link(filters, cause_id)} if cause_id else {},
    )


def verified_recovery_by_touchpoint(filters: ReportFilters) -> Table:
    return _verified_table(
        filters, "verified-recovery-by-touchpoint", "Verified recovery by touchpoint", "Touchpoint",
        "case__response__touchpoint", "touchpoint", lambda keys: {k: k for k in keys if k},
        lambda touchpoint: _closed_link(filters, touchpoint=touchpoint) if touchpoint else {},
    )
