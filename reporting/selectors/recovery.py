"""The recovery page's first half: closed cases whose customer answered again (NPS) after the
closure, the score before and after, by team, by root cause and customer by customer."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from reporting.filters import ReportFilters
from reporting.selectors.common import MAX_LIST_ROWS, case_url, cause_label, cause_link, date_params, inbox_url
from reporting.tables import Column, Table, one_decimal, pct
from surveys.models import Customer
from surveys.vocabulary import NpsGroup, nps_group


@lru_cache(maxsize=1)
def _recovered_cases(filters: ReportFilters) -> tuple[dict, ...]:
    """Closed cases whose customer answered (with an NPS score) after the closure: the first such
    answer, stored on the case when it was recorded (Case.answered_again, its time and score:
    cases.services.report_fields), beside the score that opened the case.

    One query for the page's three tables: the last result is kept, keyed by the filters, whose
    `now` (the request's moment) makes each request's key its own (one result held, not a cache).
    `status = closed` (a closed case, and only a closed case, has a closed_at: reopening clears
    it) lets PostgreSQL read the period from the partial index cases_case_closed_team; the answer
    is on the case row, so no response is read."""
    rows = (
        filters.cases(
            Case.objects.filter(status=Case.Status.CLOSED, customer__isnull=False, answered_again_nps__isnull=False,
                                response__nps__isnull=False),
            date_field="closed_at",
        )
        .order_by("-answered_again_at", "-pk")
        .values(
            "pk", "reference", "team_id", "team__name", "root_cause_id", "root_cause__name",
            "root_cause__category__name", "customer_id", "closed_at", "response__nps",
            after_nps=F("answered_again_nps"), after_at=F("answered_again_at"),
        )
    )
    return tuple(rows)


RECOVERY_COLUMNS = [
    Column("answered_again", _("Answered again"), True),
    Column("avg_before", _("Average NPS score before"), True),
    Column("avg_after", _("Average NPS score after"), True),
    Column("avg_change", _("Average change"), True),
    Column("detractors_before", _("Detractors before"), True),
    Column("recovered", _("No longer detractors"), True),
    Column("recovery_pct", _("Recovery rate %"), True),
]


def _recovery_table(filters: ReportFilters, key: str, label_of, name: str, title: str, label: str, link_of) -> Table:
    groups: dict = defaultdict(list)
    labels: dict = {}
    for r in _recovered_cases(filters):
        groups[r[key]].append(r)
        labels[r[key]] = label_of(r)
    table = Table(name, title, [Column("group", label), *RECOVERY_COLUMNS],
                  description=_("Closed cases whose customer answered again (NPS) after the closure."))
    for group in sorted(groups, key=lambda g: (-len(groups[g]), labels[g])):
        items = groups[group]
        before = [r["response__nps"] for r in items]
        after = [r["after_nps"] for r in items]
        detractors = [r for r in items if nps_group(r["response__nps"]) == NpsGroup.DETRACTOR]
        recovered = [r for r in detractors if nps_group(r["after_nps"]) != NpsGroup.DETRACTOR]
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
        lambda team_id: inbox_url(filters, view="recently_closed", team=team_id, answered_again="true",
                                  **date_params("closed", filters.start, filters.end)),
    )


def recovery_by_root_cause(filters: ReportFilters) -> Table:
    return _recovery_table(
        filters, "root_cause_id",
        lambda r: cause_label(r["root_cause__category__name"], r["root_cause__name"]) if r["root_cause_id"] else "(none)",
        "recovery-by-root-cause", "Recovery by root cause", "Root cause",
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
    shown = _recovered_cases(filters)[:MAX_LIST_ROWS]
    customers = {
        pk: name or email or "(no name)"
        for pk, name, email in Customer.objects.filter(pk__in={r["customer_id"] for r in shown})
        .values_list("pk", "name", "email")
    }
    for r in shown:
        table.add(
            {
                "reference": r["reference"],
                "customer": customers.get(r["customer_id"], "(no name)"),
                "team": r["team__name"],
                "root_cause": cause_label(r["root_cause__category__name"], r["root_cause__name"])
                if r["root_cause_id"] else "",
                "closed_at": timezone.localtime(r["closed_at"]).date(),
                "answered_at": timezone.localtime(r["after_at"]).date(),
                "before": r["response__nps"],
                "after": r["after_nps"],
                "change": r["after_nps"] - r["response__nps"],
            },
            {"reference": case_url(r["reference"])},
        )
    return table
