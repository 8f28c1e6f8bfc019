"""The recovery page's first half: closed cases whose customer answered again (NPS) after the
closure, the score before and after, by team, by root cause and customer by customer.

The tables by team and by root cause are sums of the closure rollup (reporting.ClosureRollup keeps,
per day of closure, team, root cause, survey and touchpoint, the closed cases answered again, their
scores before and after summed, the detractors among them and those no longer detractors after),
one query for both; a filter the rollup is not keyed by (location, tier, segment) sums the closed
cases themselves with the same definitions, index-only from cases_case_recovery_closed (reporting
0017: the period's closed cases answered again with every column a filter reads). The customer
list is the newest answers first, at most MAX_LIST_ROWS: their ids walked from the partial index
cases_case_answered_again (reporting 0004) or, filtered, taken from the covering one, then read."""

from __future__ import annotations

from functools import lru_cache

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from reporting.filters import ReportFilters
from reporting.models import ClosureRollup
from reporting.rollups import RECOVERY_COUNTS
from reporting.selectors.common import (
    MAX_LIST_ROWS,
    case_url,
    cause_label,
    cause_link,
    cause_names,
    date_params,
    inbox_url,
    rollup_rows,
    team_names_by_id,
)
from reporting.tables import Column, Table, one_decimal, pct
from surveys.vocabulary import DETRACTOR_AT_MOST

SUMS = RECOVERY_COUNTS  # answered_again, before_sum, after_sum, detractors_before, recovered


def answered_again_cases(filters: ReportFilters):
    """Closed cases (in the period, by closure) whose customer answered again with an NPS score
    after the closure: the first such answer is stored on the case when it is recorded
    (Case.answered_again, its time and score: cases.services.report_fields), beside the score of
    the response that opened the case (its copy on the case, Case.response_nps, kept by
    cases.response_keys: no join to the responses). `status = closed` (only a closed case has a
    closed_at: reopening clears it) lets PostgreSQL read the period from the partial indexes of
    closed cases."""
    return filters.cases(
        Case.objects.filter(status=Case.Status.CLOSED, customer__isnull=False, answered_again_nps__isnull=False,
                            response_nps__isnull=False),
        date_field="closed_at",
    ).order_by()


def newest_answered_again(filters: ReportFilters):
    """The ids of the customer list's cases: the newest answers again first, at most MAX_LIST_ROWS,
    from an index alone (cases_case_recovery_closed holds every column a filter reads, or
    cases_case_answered_again walked from the top); the list then reads those rows and their names,
    so a filter the index answers (a segment, a team) no longer reads each candidate case."""
    return answered_again_cases(filters).order_by("-answered_again_at", "-pk").values("pk")[:MAX_LIST_ROWS]


def case_sums() -> dict:
    """The rollup's recovery columns (reporting.rollups._values) as aggregates of the cases."""
    detractor = Q(response_nps__lte=DETRACTOR_AT_MOST)
    return {
        "answered_again": Count("pk"),
        "before_sum": Sum("response_nps"),
        "after_sum": Sum("answered_again_nps"),
        "detractors_before": Count("pk", filter=detractor),
        "recovered": Count("pk", filter=detractor & Q(answered_again_nps__gt=DETRACTOR_AT_MOST)),
    }


@lru_cache(maxsize=1)
def _sums(filters: ReportFilters) -> tuple[dict, ...]:
    """Per team and root cause: the SUMS of the period's closed cases answered again. One query
    for the page's two tables: the last result is kept, keyed by the filters, whose `now` (the
    request's moment) makes each request's key its own (one result held, not a cache)."""
    rows = rollup_rows(filters, ClosureRollup.objects)
    if rows is None:
        rows, aggregates = answered_again_cases(filters), case_sums()
    else:
        aggregates = {c: Sum(c) for c in SUMS}
    grouped = rows.values("team_id", "root_cause_id").annotate(**{f"{c}_total": a for c, a in aggregates.items()})
    return tuple(
        {"team_id": r["team_id"], "root_cause_id": r["root_cause_id"], **{c: r[f"{c}_total"] for c in SUMS}}
        for r in grouped.filter(answered_again_total__gt=0)
    )


def recovery_totals(filters: ReportFilters) -> dict:
    """The SUMS over everything the filters select (the segment comparison's row)."""
    totals = dict.fromkeys(SUMS, 0)
    for r in _sums(filters):
        for c in SUMS:
            totals[c] += r[c] or 0
    return totals


def recovery_figures(sums: dict) -> dict:
    """The shown figures from SUMS: averages to one decimal, the recovery rate among detractors."""
    n = sums["answered_again"]
    return {
        "answered_again": n,
        "avg_before": one_decimal(sums["before_sum"] / n) if n else None,
        "avg_after": one_decimal(sums["after_sum"] / n) if n else None,
        "avg_change": one_decimal((sums["after_sum"] - sums["before_sum"]) / n) if n else None,
        "detractors_before": sums["detractors_before"],
        "recovered": sums["recovered"],
        "recovery_pct": pct(sums["recovered"], sums["detractors_before"]),
    }


RECOVERY_COLUMNS = [
    Column("answered_again", _("Answered again"), True),
    Column("avg_before", _("Average NPS score before"), True),
    Column("avg_after", _("Average NPS score after"), True),
    Column("avg_change", _("Average change"), True),
    Column("detractors_before", _("Detractors before"), True),
    Column("recovered", _("No longer detractors"), True),
    Column("recovery_pct", _("Recovery rate %"), True),
]


def _recovery_table(filters: ReportFilters, key: str, labels_of, name: str, title: str, label: str, link_of) -> Table:
    groups: dict = {}
    for r in _sums(filters):
        sums = groups.setdefault(r[key], dict.fromkeys(SUMS, 0))
        for c in SUMS:
            sums[c] += r[c]
    labels = labels_of(groups)
    table = Table(name, title, [Column("group", label), *RECOVERY_COLUMNS],
                  description=_("Closed cases whose customer answered again (NPS) after the closure."))
    for group in sorted(groups, key=lambda g: (-groups[g]["answered_again"], labels.get(g, "(none)"))):
        table.add({"group": labels.get(group, "(none)"), **recovery_figures(groups[group])},
                  {"answered_again": link_of(group)})
    return table


def recovery_by_team(filters: ReportFilters) -> Table:
    return _recovery_table(
        filters, "team_id", team_names_by_id, "recovery-by-team", "Recovery by team", "Team",
        lambda team_id: inbox_url(filters, view="recently_closed", team=team_id, answered_again="true",
                                  **date_params("closed", filters.start, filters.end)),
    )


def recovery_by_root_cause(filters: ReportFilters) -> Table:
    return _recovery_table(
        filters, "root_cause_id", cause_names, "recovery-by-root-cause", "Recovery by root cause", "Root cause",
        lambda cause_id: cause_link(filters, cause_id, answered_again="true") if cause_id else "",
    )


def recovery_customers(filters: ReportFilters) -> Table:
    table = Table(
        "recovery-customers",
        _("Customers who answered again"),
        [
            Column("reference", _("Case")),
            Column("customer", _("Customer")),
            Column("team", _("Team")),
            Column("root_cause", _("Root cause")),
            Column("closed_at", _("Closed")),
            Column("answered_at", _("Answered again")),
            Column("before", _("NPS score before"), True),
            Column("after", _("NPS score after"), True),
            Column("change", _("Change"), True),
        ],
        description=gettext("Newest first, at most %(count)s.") % {"count": MAX_LIST_ROWS},
    )
    shown = (
        Case.objects.filter(pk__in=newest_answered_again(filters))
        .order_by("-answered_again_at", "-pk")
        .values("reference", "customer__name", "customer__email", "team__name", "root_cause_id", "root_cause__name",
                "root_cause__category__name", "closed_at", "answered_again_at", "answered_again_nps",
                before=F("response_nps"))
    )
    for r in shown:
        table.add(
            {
                "reference": r["reference"],
                "customer": r["customer__name"] or r["customer__email"] or "(no name)",
                "team": r["team__name"],
                "root_cause": cause_label(r["root_cause__category__name"], r["root_cause__name"])
                if r["root_cause_id"] else "",
                "closed_at": timezone.localtime(r["closed_at"]).date(),
                "answered_at": timezone.localtime(r["answered_again_at"]).date(),
                "before": r["before"],
                "after": r["answered_again_nps"],
                "change": r["answered_again_nps"] - r["before"],
            },
            {"reference": case_url(r["reference"])},
        )
    return table
