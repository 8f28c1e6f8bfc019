"""What customers did after they answered: the closed-loop results (retention, churn and revenue
over the following 90/180/365 days, by what happened to their feedback) and the impact of each
root cause and theme (NPS points lost, revenue at risk, churn of the customers it touched).

Reporting sits above outcomes in the layers, so it reads outcome events directly, beside the cases
and responses it already reads; the figures are tables like every report's (page, CSV and API).
Each answer's follow-up (its group, root cause and each window's churn and revenue) is stored by
reporting.followups and summed here; customers not yet refreshed are computed from those rows'
sources in the same statement, so the figures are the direct computation's.

Unit: a customer, with their latest NPS answer in the period (the experience they last told us
about), in the team of that answer. Groups (the first that fits):
    resolved_verified      detractor (0-6) whose case was closed "resolved with the customer" and
                           whose recovery check came back "put right"
    resolved_unverified    detractor whose case was closed resolved, without such an answer
    contacted_unresolved   detractor whose case reached them (first contact made) but was not
                           resolved, and never went overdue
    not_contacted          detractor with no case, a case never contacted, or a case that went
                           overdue before it was resolved
    passive (7-8), promoter (9-10)
A window counts a customer only when it has fully passed (answered 200 days ago: in the 90 and
180-day windows, not the 365-day one), so recent answers never look like retention. Churned: a
churn event in the window (the customer's own, one of a customer merged into them, or their
account's: an account that leaves takes its contacts with it). Revenue: renewals + purchases +
expansions - refunds of the customer (and the customers merged into them) in the window, in
OUTCOMES_REPORT_CURRENCY (events in other currencies are counted apart, never added unconverted).
Rates carry a Wilson 95% interval; revenue per customer a normal 95% interval (mean +- 1.96
standard errors). Groups under SMALL_GROUP customers are flagged.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connections, router
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _
from scipy.stats import binomtest

from cases.models import Case
from reporting.filters import ReportFilters
from reporting.followups import MONEY_IN, plus_days  # noqa: F401 (read here by the impact report and the tests)
from reporting.followups import FAR_FUTURE, SUMS, WINDOWS, per_answer_sql, window_ends
from reporting.models import AnswerFollowUp, FollowUpStale
from reporting.selectors.common import cause_names, statement_memory, team_names_by_id
from reporting.tables import Column, Table
from segments.selectors import customers_in_q
from surveys.models import Customer, SurveyResponse

SMALL_GROUP = 30
REPORT_WORK_MEM = "128MB"  # PostgreSQL, for the results statement only (SET LOCAL)
GROUPS = (
    ("resolved_verified", _("Detractors: resolved and verified")),
    ("resolved_unverified", _("Detractors: resolved, not verified")),
    ("contacted_unresolved", _("Detractors: contacted, not resolved")),
    ("not_contacted", _("Detractors: never contacted or overdue")),
    ("passive", _("Passives")),
    ("promoter", _("Promoters")),
)
GROUP_LABELS = dict(GROUPS)
DETRACTOR_GROUPS = ("resolved_verified", "resolved_unverified", "contacted_unresolved", "not_contacted")


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for k of n, in percent (scipy's binomtest)."""
    if not n:
        return None, None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return round(100 * float(ci.low), 1), round(100 * float(ci.high), 1)


def mean_interval(n: int, total: Decimal, squares: Decimal) -> tuple[float | None, float | None, float | None]:
    """The mean of n values given their sum and sum of squares, and its normal 95% interval (1.96
    standard errors; none for fewer than two values). Exact decimals until the square root."""
    if not n:
        return None, None, None
    mean = total / n
    if n < 2:
        return round(float(mean), 2), None, None
    variance = max((squares - total * mean) / (n - 1), Decimal(0))
    half = 1.96 * math.sqrt(variance) / math.sqrt(n)
    return round(float(mean), 2), round(float(mean) - half, 2), round(float(mean) + half, 2)


@dataclass(frozen=True)
class Cell:
    """The customers of one group, team and root cause whose window of `days` has passed, with what
    they did in it: how many churned, and their revenue's sum and sum of squares (for the mean and
    its interval) in the report currency, plus the events in other currencies left out."""

    group: str
    team_id: int | None
    root_cause_id: int | None
    days: int
    customers: int
    churned: int
    revenue: Decimal
    revenue_squares: Decimal
    other_currency_events: int


# The breakdowns the results report offers: name -> (label, the key of a cell, names for keys).
# Segment and journey stage plug in here once they exist as customer / response fields of their own.
DIMENSIONS = {
    "team": (_("Team"), lambda c: c.team_id, team_names_by_id),
    "root-cause": (_("Root cause"), lambda c: c.root_cause_id, cause_names),
}

# One statement, grouped in the database, in SQL that PostgreSQL and SQLite both run. `stored`: the
# customers' latest answers in the period read from reporting.AnswerFollowUp (reporting.followups):
# the rows whose reign (until the customer's next answer in that team) outlasts the period's end,
# an index range, never a sort of the period's answers; a customer answering in several of the
# chosen teams has a row in each, and the latest is kept (ROW_NUMBER over those rows only).
# Customers a write made stale and not yet folded are left out of `stored` and computed from the
# source rows (`direct`: reporting.followups.per_answer_sql over their latest answer in the
# period), so the figures are always those of the rows as they are. Filters on the answer itself
# (survey, touchpoint, location) are not in the stored rows' key: then every customer is `direct`.
# The windows' sums are stored; whether a window has passed is decided here, from `now`.
STORED_SQL = """
stored AS MATERIALIZED ({stored}),
kept AS (SELECT r.grp, r.team_id, r.root_cause_id, r.answered_at, {sums}
         FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.customer_id
                                              ORDER BY s.answered_at DESC, s.response_id DESC) AS n
               FROM stored s) r WHERE r.n = 1),"""
CELLS_SQL = """WITH {stored}
people AS ({people})
SELECT grp, team_id, root_cause_id, {windows}
FROM people GROUP BY grp, team_id, root_cause_id"""
_COLUMNS = ", ".join(SUMS)


def _cells_sql(stored_sql: str | None, direct_sql: str) -> str:
    windows = []
    for days in WINDOWS:
        passed = f"answered_at <= %(matured_{days})s"
        windows += [f"count(CASE WHEN {passed} THEN 1 END)", f"sum(CASE WHEN {passed} THEN churned_{days} ELSE 0 END)",
                    f"sum(CASE WHEN {passed} THEN revenue_{days} ELSE 0 END)",
                    f"sum(CASE WHEN {passed} THEN revenue_{days} * revenue_{days} ELSE 0 END)",
                    f"sum(CASE WHEN {passed} THEN other_{days} ELSE 0 END)"]
    direct = f"SELECT d.grp, d.team_id, d.root_cause_id, d.answered_at, {_COLUMNS} FROM ({direct_sql}) d"
    if stored_sql is None:
        return CELLS_SQL.format(stored="", people=direct, windows=", ".join(windows))
    return CELLS_SQL.format(
        stored=STORED_SQL.format(stored=stored_sql, sums=", ".join(f"r.{c}" for c in SUMS)),
        people=f"SELECT grp, team_id, root_cause_id, answered_at, {_COLUMNS} FROM kept UNION ALL {direct}",
        windows=", ".join(windows))


def compiled(queryset, alias: str, prefix: str = "p") -> tuple[str, dict]:
    """A queryset's SQL with its parameters named (p0, p1... or another prefix), to embed in a
    statement of our own with named parameters of its own."""
    sql, values = queryset.query.get_compiler(using=alias).as_sql()
    names = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return sql % tuple(f"%({name})s" for name in names), names


def as_decimal(value) -> Decimal:
    """A sum as the database gave it (numeric on PostgreSQL, a float or an int on SQLite)."""
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def stored_key(filters: ReportFilters) -> bool:
    """Whether the stored rows hold the filters' key: teams, dates and customer filters (tier,
    segment: every answer of a customer passes or none does), not filters on the answer itself."""
    return not (filters.survey_id or filters.touchpoint or filters.location)


def _stored_latest(filters: ReportFilters):
    """The stored rows of the customers' latest answers in the period, per team (not yet one per
    customer), customers marked stale left out."""
    end = filters.end or FAR_FUTURE
    rows = AnswerFollowUp.objects.filter(reign_ends_at__gte=end, answered_at__lt=end)
    if filters.team_ids is not None:
        rows = rows.filter(team_id__in=filters.team_ids)
    if filters.start:
        rows = rows.filter(answered_at__gte=filters.start)
    if filters.tier:
        rows = rows.filter(customer_id__in=Customer.objects.filter(tier=filters.tier).values("pk"))
    if filters.segment is not None:
        rows = rows.filter(customers_in_q([filters.segment], field="customer_id"))
    return (rows.exclude(customer_id__in=FollowUpStale.objects.values("customer_id")).order_by()
            .values("response_id", "customer_id", "answered_at", "team_id", "root_cause_id", *SUMS, grp=F("group")))


def result_cells(filters: ReportFilters) -> list[Cell]:
    """The period's answerers counted into cells (group, team, root cause, window) by one SQL
    statement: every figure of the results report is a sum over these cells."""
    answers = filters.responses(SurveyResponse.objects.filter(nps__isnull=False, customer__isnull=False))
    alias = router.db_for_read(SurveyResponse)
    connection = connections[alias]
    stored_sql, params = None, {}
    if stored_key(filters):
        stored_sql, params = compiled(_stored_latest(filters), alias, "s")
        answers = answers.filter(customer_id__in=FollowUpStale.objects.values("customer_id"))
    latest = (answers.order_by()
              .annotate(newest=Window(RowNumber(), partition_by=[F("customer_id")],
                                      order_by=[F("answered_at").desc(), F("id").desc()]), **window_ends())
              .filter(newest=1)
              .values("id", "customer_id", "answered_at", "nps", "team_id", *(f"end_{days}" for days in WINDOWS)))
    latest_sql, latest_params = compiled(latest, alias, "d")
    params |= latest_params
    params |= {f"matured_{days}": connection.ops.adapt_datetimefield_value(filters.now - dt.timedelta(days=days))
               for days in WINDOWS}
    # Memory enough for the people grouped (and, with no stored key, the period's answers sorted
    # by customer) without spilling to disk.
    with statement_memory(alias, REPORT_WORK_MEM), connection.cursor() as cursor:
        cursor.execute(_cells_sql(stored_sql, per_answer_sql(latest_sql, stored=False)), params)
        rows = cursor.fetchall()
    cells = []
    for group, team_id, cause_id, *sums in rows:
        for i, days in enumerate(WINDOWS):
            customers, churned, revenue, squares, other = sums[5 * i:5 * i + 5]
            if customers:
                cells.append(Cell(group, team_id, cause_id, days, customers, int(churned), as_decimal(revenue),
                                  as_decimal(squares), int(other)))
    return cells


def feedback_group(nps: int, case: dict | None, verified: set[int]) -> str:
    """The group of an NPS answer: its score and, for a detractor, what became of its case (a dict
    of the case's id, status, outcome, first_contacted_at, overdue_at) and whether a recovery check
    of it (in `verified`, case ids) said it was put right."""
    if nps >= 9:
        return "promoter"
    if nps >= 7:
        return "passive"
    if case is None:
        return "not_contacted"
    resolved = case["status"] == Case.Status.CLOSED and case["outcome"] == Case.Outcome.RESOLVED
    if resolved:
        return "resolved_verified" if case["id"] in verified else "resolved_unverified"
    if case["first_contacted_at"] is not None and case["overdue_at"] is None:
        return "contacted_unresolved"
    return "not_contacted"


@dataclass(frozen=True)
class GroupFigures:
    customers: int
    churned: int
    churn_pct: float | None
    churn_low: float | None
    churn_high: float | None
    revenue: float | None
    revenue_low: float | None
    revenue_high: float | None
    other_currency_events: int

    @property
    def retention_pct(self):
        return None if self.churn_pct is None else round(100 - self.churn_pct, 1)


def figures(cells: list[Cell]) -> GroupFigures:
    """The figures of the customers in `cells` (one window): the churn rate and its Wilson interval,
    the revenue per customer and its normal interval from the sums."""
    n = sum(c.customers for c in cells)
    churned = sum(c.churned for c in cells)
    low, high = wilson(churned, n)
    mean, rlow, rhigh = mean_interval(n, sum((c.revenue for c in cells), Decimal(0)),
                                      sum((c.revenue_squares for c in cells), Decimal(0)))
    return GroupFigures(n, churned, round(100 * churned / n, 1) if n else None, low, high,
                        mean, rlow, rhigh, sum(c.other_currency_events for c in cells))


def _columns(currency: str) -> list[Column]:
    return [
        Column("days", _("Window (days after the answer)"), True),
        Column("customers", _("Customers followed"), True),
        Column("churned", _("Churned"), True),
        Column("churn_pct", _("Churn %"), True),
        Column("churn_low", _("Churn % low (95%)"), True),
        Column("churn_high", _("Churn % high (95%)"), True),
        Column("retention_pct", _("Retention %"), True),
        Column("revenue", _("Revenue per customer (%(currency)s)") % {"currency": currency}, True),
        Column("revenue_low", _("Revenue low (95%)"), True),
        Column("revenue_high", _("Revenue high (95%)"), True),
        Column("small", _("Small group (under %(n)d)") % {"n": SMALL_GROUP}),
    ]


def _row(f: GroupFigures, days: int) -> dict:
    return {"days": days, "customers": f.customers, "churned": f.churned, "churn_pct": f.churn_pct,
            "churn_low": f.churn_low, "churn_high": f.churn_high, "retention_pct": f.retention_pct,
            "revenue": f.revenue, "revenue_low": f.revenue_low, "revenue_high": f.revenue_high,
            "small": f.customers < SMALL_GROUP}


RESULTS_DESCRIPTION = _(
    "Customers by what happened to their latest NPS answer in the period, and what they did in the 90, 180 and 365 "
    "days after it. A window counts a customer only once it has passed. Churn: a churn event in the window; "
    "retention: the rest. Revenue: renewals, purchases and expansions minus refunds in the window, per customer. "
    "Intervals: Wilson 95% for rates, normal 95% for revenue. Groups under 30 customers are flagged: read them "
    "with care.")


def _window(cells: list[Cell], days: int, groups) -> list[Cell]:
    return [c for c in cells if c.days == days and c.group in groups]


def closed_loop_results(filters: ReportFilters, cells: list[Cell] | None = None) -> Table:
    currency = settings.OUTCOMES_REPORT_CURRENCY
    cells = result_cells(filters) if cells is None else cells
    table = Table("closed-loop-results", _("Closed-loop results"),
                  [Column("group", _("Group")), *_columns(currency)], description=RESULTS_DESCRIPTION)
    for key, label in GROUPS:
        for days in WINDOWS:
            table.add({"group": str(label), **_row(figures(_window(cells, days, (key,))), days)})
    return table


def closed_loop_results_by(filters: ReportFilters, *, by: str, days: int = 180,
                           cells: list[Cell] | None = None) -> Table:
    """One window (180 days), each group split by team or root cause (detractor groups only for a
    root cause: passives and promoters have no case)."""
    currency = settings.OUTCOMES_REPORT_CURRENCY
    label, key_of, names_of = DIMENSIONS[by]
    cells = result_cells(filters) if cells is None else cells
    split = defaultdict(list)
    for cell in _window(cells, days, DETRACTOR_GROUPS if by == "root-cause" else GROUP_LABELS):
        split[(key_of(cell), cell.group)].append(cell)
    names = names_of({k for k, _g in split})
    table = Table(f"closed-loop-results-by-{by}", _("Closed-loop results by %(dimension)s (%(days)d days)") % {
        "dimension": str(label).lower(), "days": days},
        [Column("slice", label), Column("group", _("Group")), *_columns(currency)], description=RESULTS_DESCRIPTION)
    order = {g: i for i, (g, _l) in enumerate(GROUPS)}
    for key, group in sorted(split, key=lambda kg: (names.get(kg[0], "~"), order[kg[1]])):
        table.add({"slice": names.get(key, str(_("(none)"))), "group": str(GROUP_LABELS[group]),
                   **_row(figures(split[(key, group)]), days)})
    return table


VALUE_DESCRIPTION = _(
    "Estimated value of closing the loop: for each window, the revenue per customer of detractors whose case was "
    "resolved (verified or not) minus that of detractors never contacted or overdue, times the number of resolved "
    "detractors; and the churn avoided the same way. An observational comparison, not an experiment: customers "
    "who are reached may differ from those who are not, so read it beside the intervals.")


def closed_loop_value(filters: ReportFilters, cells: list[Cell] | None = None) -> Table:
    currency = settings.OUTCOMES_REPORT_CURRENCY
    cells = result_cells(filters) if cells is None else cells
    table = Table("closed-loop-value", _("Estimated value of closing the loop"), [
        Column("days", _("Window (days after the answer)"), True),
        Column("resolved", _("Resolved detractors"), True),
        Column("not_contacted", _("Never contacted or overdue"), True),
        Column("revenue_gap", _("Revenue per customer, difference (%(currency)s)") % {"currency": currency}, True),
        Column("value", _("Estimated revenue kept (%(currency)s)") % {"currency": currency}, True),
        Column("churn_gap", _("Churn %, difference (points)"), True),
        Column("churn_avoided", _("Estimated churn avoided (customers)"), True),
        Column("small", _("Small group (under %(n)d)") % {"n": SMALL_GROUP}),
    ], description=VALUE_DESCRIPTION)
    for days in WINDOWS:
        a = figures(_window(cells, days, ("resolved_verified", "resolved_unverified")))
        b = figures(_window(cells, days, ("not_contacted",)))
        gap = round(a.revenue - b.revenue, 2) if a.revenue is not None and b.revenue is not None else None
        churn_gap = round(b.churn_pct - a.churn_pct, 1) if a.churn_pct is not None and b.churn_pct is not None else None
        table.add({"days": days, "resolved": a.customers, "not_contacted": b.customers, "revenue_gap": gap,
                   "value": round(gap * a.customers, 2) if gap is not None else None, "churn_gap": churn_gap,
                   "churn_avoided": round(churn_gap * a.customers / 100, 1) if churn_gap is not None else None,
                   "small": min(a.customers, b.customers) < SMALL_GROUP})
    return table
