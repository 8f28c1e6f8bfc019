"""What each root cause and theme costs: NPS points lost, revenue at risk and the churn of the
customers it touched, ranked into a "fix first" list.

- NPS points lost: the period's NPS (responses answered in it) recomputed without the detractors
  the cause or theme touched, minus the NPS as it is. Touched by a root cause: the opening answer of
  a case closed in the period with that cause; by a theme: an answer in the period tagged with it.
- Revenue at risk: the account value (the customer's recorded value) of the distinct customers
  behind those detractors.
- Churn: of the distinct customers touched (any score), those with a churn event within 365 days
  after the answer; Wilson 95% interval.
- Cases: closed in the period with the cause (or a response about the theme); the link opens
  exactly those in the inbox (recently closed, the cause or theme, the period's closure dates).
Ranked by points lost, then revenue at risk."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connections, router
from django.db.models import Case, Count, Exists, F, Q, Sum, Value, When
from django.utils.translation import gettext_lazy as _

from cases.models import Case as CaseModel
from cases.models import CaseResponse
from outcomes.models import OutcomeEvent
from reporting import case_followups
from reporting.filters import ReportFilters
from reporting.models import ClosedCaseFollowUp, FollowUpStale
from reporting.selectors.common import (
    CLOSED,
    cause_link,
    cause_names,
    date_params,
    inbox_url,
)
from reporting.selectors.outcomes import as_decimal, compiled, plus_days, stored_key, wilson
from reporting.selectors.scores import score_rollup
from reporting.tables import Column, Table
from segments.selectors import customers_in_q
from surveys.models import Customer, ResponseTheme, SurveyResponse, Theme

CHURN_DAYS = 365
FIX_FIRST = 10
KINDS = {"root cause": _("Root cause"), "theme": _("Theme")}


@dataclass
class Impact:
    key: int
    label: str
    kind: str  # "root cause" | "theme"
    cases: int = 0
    link: str = ""
    detractors: int = 0  # answers in the period, 0-6
    revenue_at_risk: Decimal = Decimal(0)  # the account value of their distinct customers
    customers: int = 0  # distinct customers touched (any score)
    churned: int = 0  # of those, with a churn within CHURN_DAYS after the first answer touched


def _nps(promoters: int, detractors: int, total: int) -> float | None:
    return 100.0 * (promoters - detractors) / total if total else None


def _period_nps(filters: ReportFilters) -> tuple[int, int, int]:
    """Promoters, detractors and NPS answers of the period: from the daily score rollup (the same
    counts, kept by triggers: surveys.rollups) when it is keyed by the filters, else the answers."""
    rollup = score_rollup(filters)
    if rollup is not None:
        counts = rollup.aggregate(n=Sum("nps_n"), p=Sum("promoters"), d=Sum("detractors"))
        return counts["p"] or 0, counts["d"] or 0, counts["n"] or 0
    counts = filters.responses(SurveyResponse.objects.filter(nps__isnull=False)).order_by().aggregate(
        n=Count("pk"), p=Count("pk", filter=Q(nps__gte=9)), d=Count("pk", filter=Q(nps__lte=6)))
    return counts["p"], counts["d"], counts["n"]


# One statement per kind, in SQL PostgreSQL and SQLite both run, over `touches` (key, response,
# customer, answered_at, the end of its churn window, and `det`: 1 for a detractor answered in the
# period; a closed case's opening answer for a root cause, a tagged answer for a theme): the
# detractors, the account value of their distinct customers, and of the customers touched (each
# from their first answer touched) those with a churn within CHURN_DAYS -- their own, a merged
# customer's, or (with no customer named) an account's they are a contact of.
IMPACT_SQL = """
WITH touches AS MATERIALIZED ({touches}),
touched AS (
    SELECT t.key, t.cid, min(t.at) AS first_at, min(t.churn_end) AS churn_end
    FROM touches t WHERE t.cid IS NOT NULL GROUP BY t.key, t.cid
),
churns AS (
    SELECT e.customer_id AS cid, e.occurred_at FROM outcomes_outcomeevent e
    WHERE e.kind = %(churn)s AND e.customer_id IN (SELECT cid FROM touched)
    UNION ALL
    SELECT m.merged_into_id, e.occurred_at FROM surveys_customer m JOIN outcomes_outcomeevent e ON e.customer_id = m.id
    WHERE m.merged_into_id IS NOT NULL AND e.kind = %(churn)s
    UNION ALL
    SELECT ct.customer_id, e.occurred_at FROM customers_contact ct JOIN outcomes_outcomeevent e ON e.account_id = ct.account_id
    WHERE e.customer_id IS NULL AND e.kind = %(churn)s
),
churned AS (
    SELECT DISTINCT u.key, u.cid FROM touched u JOIN churns c ON c.cid = u.cid
    AND c.occurred_at > u.first_at AND c.occurred_at <= u.churn_end
)
SELECT k.key, k.cases, k.detractors, coalesce(r.at_risk, 0), coalesce(c.customers, 0), coalesce(x.churned, 0)
FROM (SELECT t.key, count(*) AS cases, count(DISTINCT CASE WHEN t.det = 1 THEN t.rid END) AS detractors
      FROM touches t GROUP BY t.key) k
LEFT JOIN (SELECT d.key, sum(cu.account_value) AS at_risk
           FROM (SELECT DISTINCT t.key, t.cid FROM touches t WHERE t.det = 1 AND t.cid IS NOT NULL) d
           JOIN surveys_customer cu ON cu.id = d.cid GROUP BY d.key) r ON r.key = k.key
LEFT JOIN (SELECT u.key, count(*) AS customers FROM touched u GROUP BY u.key) c ON c.key = k.key
LEFT JOIN (SELECT key, count(*) AS churned FROM churned GROUP BY key) x ON x.key = k.key
"""


def _touches(filters: ReportFilters, queryset, at: str, nps: str):
    """`queryset` with the columns IMPACT_SQL reads: the end of each answer's churn window and
    whether it is a detractor's answered in the period, as the ORM writes them for the database."""
    in_period = Q(**{f"{nps}__lte": 6})
    if filters.start:
        in_period &= Q(**{f"{at}__gte": filters.start})
    if filters.end:
        in_period &= Q(**{f"{at}__lt": filters.end})
    return queryset.annotate(churn_end=plus_days(at, CHURN_DAYS),
                             det=Case(When(in_period, then=Value(1)), default=Value(0)))


def _impacts(filters: ReportFilters, kind: str, touches) -> dict[int, Impact]:
    """The figures of each key of `touches` (a queryset of key, rid, cid, at, churn_end, det) in one query."""
    alias = router.db_for_read(SurveyResponse)
    sql, params = compiled(touches, alias)
    params |= {"churn": OutcomeEvent.Kind.CHURN}
    with connections[alias].cursor() as cursor:
        cursor.execute(IMPACT_SQL.format(touches=sql), params)
        rows = cursor.fetchall()
    return {key: Impact(key, "", kind, cases, "", detractors, as_decimal(at_risk), customers, churned)
            for key, cases, detractors, at_risk, customers, churned in rows}


# The root causes from the closed cases' stored rows (reporting.case_followups), in SQL PostgreSQL
# and SQLite both run: `touches` are the period's closed cases of the stored rows (customers marked
# stale left out) and of the stale customers computed from the source rows (`direct`, the same
# statement that fills the rows); a customer's churn is the stored flag of their first case touched
# (the window starts at its answer, as in IMPACT_SQL).
ROOT_CAUSES_SQL = """
WITH touches AS MATERIALIZED (
    SELECT t.root_cause_id AS key, t.response_id AS rid, NULLIF(t.customer_id, 0) AS cid, t.answered_at AS at,
           CASE WHEN t.nps <= 6 {in_period} THEN 1 ELSE 0 END AS det, t.account_value, t.churned
    FROM ({stored} UNION ALL {direct}) t
),
firsts AS (
    SELECT f.key, f.churned FROM (
        SELECT t.key, t.churned, ROW_NUMBER() OVER (PARTITION BY t.key, t.cid ORDER BY t.at) AS n
        FROM touches t WHERE t.cid IS NOT NULL) f
    WHERE f.n = 1
)
SELECT k.key, k.cases, k.detractors, coalesce(r.at_risk, 0), coalesce(c.customers, 0), coalesce(c.churned, 0)
FROM (SELECT t.key, count(*) AS cases, count(DISTINCT CASE WHEN t.det = 1 THEN t.rid END) AS detractors
      FROM touches t GROUP BY t.key) k
LEFT JOIN (SELECT d.key, sum(d.account_value) AS at_risk
           FROM (SELECT DISTINCT t.key, t.cid, t.account_value FROM touches t WHERE t.det = 1 AND t.cid IS NOT NULL) d
           GROUP BY d.key) r ON r.key = k.key
LEFT JOIN (SELECT f.key, count(*) AS customers, sum(f.churned) AS churned FROM firsts f GROUP BY f.key) c
       ON c.key = k.key
"""


def _stored_root_causes(filters: ReportFilters) -> dict[int, Impact]:
    alias = router.db_for_read(SurveyResponse)
    connection = connections[alias]
    rows = ClosedCaseFollowUp.objects.all()
    if filters.team_ids is not None:
        rows = rows.filter(team_id__in=filters.team_ids)
    if filters.start:
        rows = rows.filter(closed_at__gte=filters.start)
    if filters.end:
        rows = rows.filter(closed_at__lt=filters.end)
    if filters.tier:
        rows = rows.filter(customer_id__in=Customer.objects.filter(tier=filters.tier).values("pk"))
    if filters.segment is not None:
        rows = rows.filter(customers_in_q([filters.segment], field="customer_id"))
    stale = FollowUpStale.objects.values("customer_id")
    rows = rows.exclude(customer_id__in=stale).order_by().values(*case_followups.COLUMNS)
    stored_sql, params = compiled(rows, alias, "s")
    # The stale customers' cases, and those of no customer when customer 0 is marked: two arms, so
    # each is driven by its own index (the first from the marks, the second not run at all when
    # customer 0 is not marked), where one OR would scan every closed case.
    direct = []
    for prefix, cases in (("d", CaseModel.objects.filter(customer_id__in=stale)),
                          ("n", CaseModel.objects.filter(Exists(stale.filter(customer_id=0)), customer_id__isnull=True))):
        arm_sql, arm_params = compiled(case_followups.closed_cases(filters.cases(cases, date_field="closed_at")),
                                       alias, prefix)
        direct.append(arm_sql)
        params |= arm_params
    direct_sql = " UNION ALL ".join(direct)
    in_period = ""
    for name, bound, op in (("start", filters.start, ">="), ("end", filters.end, "<")):
        if bound:
            in_period += f" AND t.answered_at {op} %(period_{name})s"
            params[f"period_{name}"] = connection.ops.adapt_datetimefield_value(bound)
    with connection.cursor() as cursor:
        cursor.execute(ROOT_CAUSES_SQL.format(stored=stored_sql, direct=case_followups.case_rows_sql(direct_sql),
                                              in_period=in_period), params)
        found = cursor.fetchall()
    return {key: Impact(key, "", "root cause", cases, "", detractors, as_decimal(at_risk), customers, int(churned))
            for key, cases, detractors, at_risk, customers, churned in found}


def _by_root_cause(filters: ReportFilters) -> list[Impact]:
    if stored_key(filters):
        impacts = _stored_root_causes(filters)
    else:
        closed = filters.cases(CaseModel.objects.filter(status=CLOSED, root_cause__isnull=False),
                               date_field="closed_at")
        touches = (_touches(filters, closed, "response__answered_at", "response__nps").order_by()
                   .values("churn_end", "det", key=F("root_cause_id"), rid=F("response_id"), cid=F("customer_id"),
                           at=F("response__answered_at")))
        impacts = _impacts(filters, "root cause", touches)
    names = cause_names(impacts)
    for impact in impacts.values():
        impact.label = names.get(impact.key, "?")
        impact.link = cause_link(filters, impact.key)
    return list(impacts.values())


def _by_theme(filters: ReportFilters) -> list[Impact]:
    tags = filters.responses(ResponseTheme.objects.all(), via="response__")
    touches = (_touches(filters, tags, "answered_at", "response__nps").order_by()
               .values("churn_end", "det", key=F("theme_id"), rid=F("response_id"), cid=F("response__customer_id"),
                       at=F("answered_at")))
    impacts = _impacts(filters, "theme", touches)
    for impact in impacts.values():
        impact.cases = 0  # below: the cases closed in the period about the theme, not its answers
    closed = filters.cases(CaseModel.objects.filter(status=CLOSED), date_field="closed_at").values("pk")
    # The inbox's theme filter: cases with a response (opening or attached) tagged with the theme.
    for theme_id, n in (CaseResponse.objects.filter(case_id__in=closed, response__theme_links__isnull=False)
                        .order_by().values("response__theme_links__theme_id")
                        .annotate(n=Count("case_id", distinct=True))
                        .values_list("response__theme_links__theme_id", "n")):
        impacts.setdefault(theme_id, Impact(theme_id, "", "theme")).cases = n
    themes = {t.pk: t for t in Theme.objects.filter(pk__in=list(impacts))}
    for impact in impacts.values():
        theme = themes.get(impact.key)
        impact.label = theme.name if theme else "?"
        if theme is not None and impact.cases:
            impact.link = inbox_url(filters, view="recently_closed", theme=theme.slug,
                                    **date_params("closed", filters.start, filters.end))
    return list(impacts.values())


COLUMNS = [
    Column("rank", _("Rank"), True),
    Column("name", _("Root cause or theme")),
    Column("kind", _("Kind")),
    Column("cases", _("Cases closed"), True),
    Column("detractors", _("Detractors touched"), True),
    Column("points_lost", _("NPS points lost"), True),
    Column("revenue_at_risk", _("Revenue at risk"), True),
    Column("customers", _("Customers touched"), True),
    Column("churned", _("Churned within 365 days"), True),
    Column("churn_pct", _("Churn %"), True),
    Column("churn_low", _("Churn % low (95%)"), True),
    Column("churn_high", _("Churn % high (95%)"), True),
]
DESCRIPTION = _(
    "NPS points lost: the period's NPS without the detractors a root cause (the opening answers of cases closed in "
    "the period with it) or a theme (answers in the period tagged with it) touched, minus the NPS. Revenue at risk: "
    "the recorded account value of those detractors' customers. Churn: the customers touched with a churn event "
    "within 365 days after their answer (Wilson 95% interval). Ranked by points lost, then revenue at risk; the "
    "cases figure opens the same cases in the inbox.")


def _rows(impacts: list[Impact], filters: ReportFilters) -> list[tuple[Impact, dict]]:
    """The figures of each impact, ranked: by points lost, then revenue at risk, then name."""
    promoters, detractors, total = _period_nps(filters)
    base = _nps(promoters, detractors, total)
    rows = []
    for impact in impacts:
        d = impact.detractors
        without = _nps(promoters, detractors - d, total - d) if total - d > 0 else None
        lost = round(without - base, 1) if without is not None and base is not None else None
        n, k = impact.customers, impact.churned
        low, high = wilson(k, n)
        rows.append((impact, {"name": impact.label, "kind": str(KINDS[impact.kind]), "cases": impact.cases,
                              "detractors": d, "points_lost": lost, "revenue_at_risk": impact.revenue_at_risk,
                              "customers": n, "churned": k, "churn_pct": round(100 * k / n, 1) if n else None,
                              "churn_low": low, "churn_high": high}))
    rows.sort(key=lambda r: (-(r[1]["points_lost"] or 0), -r[1]["revenue_at_risk"], r[1]["name"]))
    return rows


def _table(name: str, title, rows: list[tuple[Impact, dict]], limit: int | None = None) -> Table:
    table = Table(name, title, COLUMNS, description=DESCRIPTION)
    for rank, (impact, row) in enumerate(rows[:limit] if limit else rows, start=1):
        table.add({"rank": rank, **row}, {"cases": impact.link} if impact.link else {})
    return table


@dataclass(frozen=True)
class ImpactTables:
    fix_first: Table
    root_causes: Table
    themes: Table


def impact_tables(filters: ReportFilters) -> ImpactTables:
    """The impact page's three tables from one reading of the data."""
    rows = _rows(_by_root_cause(filters) + _by_theme(filters), filters)
    return ImpactTables(
        _table("fix-first", _("Fix first"), rows, FIX_FIRST),
        _table("impact-root-causes", _("Impact by root cause"), [r for r in rows if r[0].kind == "root cause"]),
        _table("impact-themes", _("Impact by theme"), [r for r in rows if r[0].kind == "theme"]),
    )


def impact_root_causes(filters: ReportFilters) -> Table:
    return _table("impact-root-causes", _("Impact by root cause"), _rows(_by_root_cause(filters), filters))


def impact_themes(filters: ReportFilters) -> Table:
    return _table("impact-themes", _("Impact by theme"), _rows(_by_theme(filters), filters))


def fix_first(filters: ReportFilters) -> Table:
    return _table("fix-first", _("Fix first"), _rows(_by_root_cause(filters) + _by_theme(filters), filters), FIX_FIRST)
