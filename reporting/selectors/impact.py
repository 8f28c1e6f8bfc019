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

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseResponse
from outcomes.models import OutcomeEvent
from reporting.filters import ReportFilters
from reporting.selectors.common import (
    CLOSED,
    cause_link,
    cause_names,
    date_params,
    inbox_url,
)
from reporting.selectors.outcomes import customer_events, wilson
from reporting.tables import Column, Table
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
    detractors: set[int] = field(default_factory=set)  # response ids answered in the period
    touched: dict[int, dt.datetime] = field(default_factory=dict)  # customer -> earliest answer touched
    at_risk_customers: set[int] = field(default_factory=set)


def _nps(promoters: int, detractors: int, total: int) -> float | None:
    return 100.0 * (promoters - detractors) / total if total else None


def _period_nps(filters: ReportFilters) -> tuple[int, int, int]:
    counts = filters.responses(SurveyResponse.objects.filter(nps__isnull=False)).order_by().aggregate(
        n=Count("pk"), p=Count("pk", filter=Q(nps__gte=9)), d=Count("pk", filter=Q(nps__lte=6)))
    return counts["p"], counts["d"], counts["n"]


def _in_period(filters: ReportFilters, moment: dt.datetime) -> bool:
    return (filters.start is None or moment >= filters.start) and (filters.end is None or moment < filters.end)


def _by_root_cause(filters: ReportFilters) -> list[Impact]:
    impacts: dict[int, Impact] = {}
    rows = (filters.cases(Case.objects.filter(status=CLOSED, root_cause__isnull=False), date_field="closed_at")
            .order_by().values_list("root_cause_id", "response_id", "customer_id", "response__nps",
                                    "response__answered_at"))
    for cause_id, response_id, customer_id, nps, answered_at in rows:
        impact = impacts.setdefault(cause_id, Impact(cause_id, "", "root cause"))
        impact.cases += 1
        _touch(filters, impact, response_id, customer_id, nps, answered_at)
    names = cause_names(impacts)
    for impact in impacts.values():
        impact.label = names.get(impact.key, "?")
        impact.link = cause_link(filters, impact.key)
    return list(impacts.values())


def _touch(filters, impact: Impact, response_id, customer_id, nps, answered_at) -> None:
    if nps is not None and nps <= 6 and _in_period(filters, answered_at):
        impact.detractors.add(response_id)
        if customer_id:
            impact.at_risk_customers.add(customer_id)
    if customer_id and (customer_id not in impact.touched or answered_at < impact.touched[customer_id]):
        impact.touched[customer_id] = answered_at


def _by_theme(filters: ReportFilters) -> list[Impact]:
    impacts: dict[int, Impact] = {}
    rows = (filters.responses(ResponseTheme.objects.all(), via="response__").order_by()
            .values_list("theme_id", "response_id", "response__customer_id", "response__nps", "answered_at"))
    for theme_id, response_id, customer_id, nps, answered_at in rows:
        _touch(filters, impacts.setdefault(theme_id, Impact(theme_id, "", "theme")), response_id, customer_id, nps,
               answered_at)
    closed = filters.cases(Case.objects.filter(status=CLOSED), date_field="closed_at").values("pk")
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


def _churned(impacts: list[Impact]) -> set[tuple[int, int]]:
    """(impact index, customer) pairs with a churn within CHURN_DAYS after the touched answer (the
    customer's own, a merged customer's or their account's: reporting.selectors.outcomes)."""
    answers = [at for i in impacts for at in i.touched.values()]
    if not answers:
        return set()
    churns = customer_events(list({c for i in impacts for c in i.touched}), min(answers),
                             max(answers) + dt.timedelta(days=CHURN_DAYS), kinds=(OutcomeEvent.Kind.CHURN,))
    found = set()
    for index, impact in enumerate(impacts):
        for cid, answered in impact.touched.items():
            if any(answered < at <= answered + dt.timedelta(days=CHURN_DAYS) for at, *_rest in churns.get(cid, ())):
                found.add((index, cid))
    return found


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
    values = dict(_account_values(impacts))
    churned = _churned(impacts)
    rows = []
    for index, impact in enumerate(impacts):
        d = len(impact.detractors)
        without = _nps(promoters, detractors - d, total - d) if total - d > 0 else None
        lost = round(without - base, 1) if without is not None and base is not None else None
        at_risk = sum((values.get(c) or Decimal(0) for c in impact.at_risk_customers), Decimal(0))
        n = len(impact.touched)
        k = sum(1 for c in impact.touched if (index, c) in churned)
        low, high = wilson(k, n)
        rows.append((impact, {"name": impact.label, "kind": str(KINDS[impact.kind]), "cases": impact.cases,
                              "detractors": d, "points_lost": lost, "revenue_at_risk": at_risk, "customers": n,
                              "churned": k, "churn_pct": round(100 * k / n, 1) if n else None,
                              "churn_low": low, "churn_high": high}))
    rows.sort(key=lambda r: (-(r[1]["points_lost"] or 0), -r[1]["revenue_at_risk"], r[1]["name"]))
    return rows


def _table(name: str, title, rows: list[tuple[Impact, dict]], limit: int | None = None) -> Table:
    table = Table(name, title, COLUMNS, description=DESCRIPTION)
    for rank, (impact, row) in enumerate(rows[:limit] if limit else rows, start=1):
        table.add({"rank": rank, **row}, {"cases": impact.link} if impact.link else {})
    return table


def _account_values(impacts: list[Impact]):
    ids = {c for i in impacts for c in i.at_risk_customers}
    return Customer.objects.filter(pk__in=list(ids)).values_list("pk", "account_value") if ids else []


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
