"""What customers did after they answered: the closed-loop results (retention, churn and revenue
over the following 90/180/365 days, by what happened to their feedback) and the impact of each
root cause and theme (NPS points lost, revenue at risk, churn of the customers it touched).

Reporting sits above outcomes in the layers, so it reads outcome events directly, beside the cases
and responses it already reads; the figures are tables like every report's (page, CSV and API).

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
from django.db import connections, router, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _
from scipy.stats import binomtest

from cases.models import Case
from outcomes.models import OutcomeEvent
from reporting.filters import ReportFilters
from reporting.selectors.common import cause_names, team_names_by_id
from reporting.tables import Column, Table
from surveys.models import SurveyResponse

WINDOWS = (90, 180, 365)
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
MONEY_IN = {OutcomeEvent.Kind.RENEWAL: 1, OutcomeEvent.Kind.PURCHASE: 1, OutcomeEvent.Kind.EXPANSION: 1,
            OutcomeEvent.Kind.REFUND: -1}


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

# One statement, grouped in the database, in SQL that PostgreSQL and SQLite both run (no DISTINCT
# ON, no LATERAL, no casts or interval literals: the date arithmetic comes compiled by the ORM).
# `latest`: each customer's latest NPS answer in the period (ROW_NUMBER() over the customer's
# answers, newest first; the filters' own SQL) with the end of each window (answered_at + N days,
# 24-hour days as in Python). `first_cases`: the first case opened from each detractor's answer.
# `people`: each customer's group from that case and whether a recovery check said "put right" --
# the rule feedback_group states. `own`: each customer's own events within their longest window,
# summed per window (on PostgreSQL an index-only probe of (customer, occurred_at) per customer; a
# join over a union of every kind of event made it hash all the events). `others`: the same for the
# events of customers merged into them and the churn of accounts they are a contact of (with no
# customer named): few customers have either. `per_person`: the two added, each window's churn
# flag, revenue in the report currency and events in other currencies. Then one row per group,
# team, root cause and window whose customers' window has passed by `now`.
RESULTS_SQL = """
WITH latest AS MATERIALIZED ({latest}),
first_cases AS MATERIALIZED (
    SELECT ranked.response_id, ranked.id, ranked.status, ranked.outcome, ranked.first_contacted_at,
           ranked.overdue_at, ranked.root_cause_id
    FROM (SELECT c.response_id, c.id, c.status, c.outcome, c.first_contacted_at, c.overdue_at, c.root_cause_id,
                 ROW_NUMBER() OVER (PARTITION BY c.response_id ORDER BY c.created_at, c.id) AS n
          FROM cases_case c WHERE c.response_id IN (SELECT l.id FROM latest l WHERE l.nps <= 6)) ranked
    WHERE ranked.n = 1
),
people AS MATERIALIZED (
    SELECT l.customer_id, l.answered_at, {ends}, l.team_id, c.root_cause_id,
           CASE WHEN l.nps >= 9 THEN 'promoter'
                WHEN l.nps >= 7 THEN 'passive'
                WHEN c.id IS NULL THEN 'not_contacted'
                WHEN c.status = %(closed)s AND c.outcome = %(resolved)s THEN
                     CASE WHEN EXISTS (SELECT 1 FROM followup_verification v
                                       WHERE v.case_id = c.id AND v.recovered = %(true)s)
                          THEN 'resolved_verified' ELSE 'resolved_unverified' END
                WHEN c.first_contacted_at IS NOT NULL AND c.overdue_at IS NULL THEN 'contacted_unresolved'
                ELSE 'not_contacted' END AS grp
    FROM latest l LEFT JOIN first_cases c ON c.response_id = l.id
),
own AS MATERIALIZED (
    SELECT p.customer_id, {per_window}
    FROM people p JOIN outcomes_outcomeevent f ON f.customer_id = p.customer_id
         AND f.occurred_at > p.answered_at AND f.occurred_at <= p.end_{longest}
    GROUP BY p.customer_id
),
others AS MATERIALIZED (
    SELECT p.customer_id, {per_window}
    FROM people p JOIN (
        SELECT m.merged_into_id AS customer_id, e.occurred_at, e.kind, e.amount, e.currency
        FROM surveys_customer m JOIN outcomes_outcomeevent e ON e.customer_id = m.id
        WHERE m.merged_into_id IS NOT NULL
        UNION ALL
        SELECT ct.customer_id, e.occurred_at, e.kind, e.amount, e.currency
        FROM customers_contact ct JOIN outcomes_outcomeevent e ON e.account_id = ct.account_id
        WHERE e.customer_id IS NULL AND e.kind = %(churn)s
    ) f ON f.customer_id = p.customer_id AND f.occurred_at > p.answered_at AND f.occurred_at <= p.end_{longest}
    GROUP BY p.customer_id
),
per_person AS MATERIALIZED (
    SELECT p.grp, p.team_id, p.root_cause_id, p.answered_at, {sums}
    FROM people p LEFT JOIN own o ON o.customer_id = p.customer_id LEFT JOIN others x ON x.customer_id = p.customer_id
)
{cells}
"""
_MONEY = "CASE f.kind " + " ".join(f"WHEN '{kind}' THEN {sign}" for kind, sign in MONEY_IN.items()) + " END"
_CELLS = """SELECT grp, team_id, root_cause_id, {days}, count(*), sum(churned_{days}), sum(revenue_{days}),
       sum(revenue_{days} * revenue_{days}), sum(other_{days})
FROM per_person WHERE answered_at <= %(matured_{days})s GROUP BY grp, team_id, root_cause_id"""


def _results_sql(latest_sql: str) -> str:
    per_window = []
    for days in WINDOWS:
        within = f"f.occurred_at <= p.end_{days}"
        per_window += [
            f"max(CASE WHEN f.kind = %(churn)s AND {within} THEN 1 ELSE 0 END) AS churned_{days}",
            f"coalesce(sum(CASE WHEN f.currency = %(currency)s AND {within} THEN {_MONEY} * f.amount END), 0)"
            f" AS revenue_{days}",
            f"count(CASE WHEN {_MONEY} IS NOT NULL AND f.currency <> %(currency)s AND {within} THEN 1 END)"
            f" AS other_{days}",
        ]
    sums = []
    for days in WINDOWS:
        sums += [f"CASE WHEN o.churned_{days} = 1 OR x.churned_{days} = 1 THEN 1 ELSE 0 END AS churned_{days}",
                 f"coalesce(o.revenue_{days}, 0) + coalesce(x.revenue_{days}, 0) AS revenue_{days}",
                 f"coalesce(o.other_{days}, 0) + coalesce(x.other_{days}, 0) AS other_{days}"]
    return RESULTS_SQL.format(
        latest=latest_sql, ends=", ".join(f"l.end_{days}" for days in WINDOWS), longest=max(WINDOWS),
        per_window=",\n           ".join(per_window), sums=", ".join(sums),
        cells="\nUNION ALL\n".join(_CELLS.format(days=days) for days in WINDOWS))


def compiled(queryset, alias: str) -> tuple[str, dict]:
    """A queryset's SQL with its parameters named (p0, p1...), to embed in a statement of our own
    with named parameters of its own."""
    sql, values = queryset.query.get_compiler(using=alias).as_sql()
    names = {f"p{i}": value for i, value in enumerate(values)}
    return sql % tuple(f"%({name})s" for name in names), names


def plus_days(field_name: str, days: int) -> ExpressionWrapper:
    """`field_name` + `days` 24-hour days, as the ORM writes it for the database at hand."""
    return ExpressionWrapper(F(field_name) + dt.timedelta(days=days), output_field=DateTimeField())


def as_decimal(value) -> Decimal:
    """A sum as the database gave it (numeric on PostgreSQL, a float or an int on SQLite)."""
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def result_cells(filters: ReportFilters) -> list[Cell]:
    """The period's answerers counted into cells (group, team, root cause, window) by one SQL
    statement: every figure of the results report is a sum over these cells."""
    answers = filters.responses(SurveyResponse.objects.filter(nps__isnull=False, customer__isnull=False))
    latest = (answers.order_by()
              .annotate(newest=Window(RowNumber(), partition_by=[F("customer_id")],
                                      order_by=[F("answered_at").desc(), F("id").desc()]),
                        **{f"end_{days}": plus_days("answered_at", days) for days in WINDOWS})
              .filter(newest=1)
              .values("id", "customer_id", "answered_at", "nps", "team_id", *(f"end_{days}" for days in WINDOWS)))
    alias = router.db_for_read(SurveyResponse)
    connection = connections[alias]
    latest_sql, params = compiled(latest, alias)
    params |= {"closed": Case.Status.CLOSED, "resolved": Case.Outcome.RESOLVED, "true": True,
               "churn": OutcomeEvent.Kind.CHURN, "currency": settings.OUTCOMES_REPORT_CURRENCY}
    params |= {f"matured_{days}": connection.ops.adapt_datetimefield_value(filters.now - dt.timedelta(days=days))
               for days in WINDOWS}
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Memory enough for the period's answers to be sorted by customer, and the people grouped,
            # without spilling to disk (SET LOCAL: this transaction only). The statement is the same.
            cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(_results_sql(latest_sql), params)
        rows = cursor.fetchall()
    return [Cell(group, team_id, cause_id, days, customers, int(churned), as_decimal(revenue), as_decimal(squares),
                 int(other)) for group, team_id, cause_id, days, customers, churned, revenue, squares, other in rows]


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
