"""The root-causes page: cases closed in the period by root cause (Pareto, by week, by touchpoint),
the scores behind each cause and the frontline's prevention suggestions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Avg, Count, F, Window
from django.db.models.functions import RowNumber, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from reporting.filters import ReportFilters
from reporting.selectors.common import (
    CLOSED,
    case_url,
    cause_label,
    cause_link,
    cause_names,
    clamped_date_params,
    crosstab_by_touchpoint,
    crosstab_by_week,
)
from reporting.selectors.scoring import ces_ease01, csat_pct
from reporting.tables import Column, Table, one_decimal, pct

PREVENTION_PER_CAUSE = 10


def _closed_cases(filters: ReportFilters):
    return filters.cases(Case.objects.filter(status=CLOSED), date_field="closed_at").order_by()


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
        _("Root causes (Pareto)"),
        [
            Column("root_cause", _("Root cause")),
            Column("cases", _("Cases"), True),
            Column("share", _("Share %"), True),
            Column("cumulative", _("Cumulative %"), True),
        ],
        description=_("Cases closed in the period by root cause, most frequent first."),
    )
    running = 0
    for r in rows:
        running += r["n"]
        table.add(
            {
                "root_cause": cause_label(r["root_cause__category__name"], r["root_cause__name"]),
                "cases": r["n"],
                "share": pct(r["n"], total),
                "cumulative": pct(running, total),
            },
            {"cases": cause_link(filters, r["root_cause_id"])},
        )
    return table


def root_cause_weekly(filters: ReportFilters) -> Table:
    """Weekly count per cause (weeks start on Monday, by closure date)."""
    cells = list(
        _closed_cases(filters)
        .annotate(week=TruncWeek("closed_at"))
        .values("week", "root_cause_id")
        .annotate(n=Count("pk"))
    )
    table = Table("root-causes-weekly", _("Root causes by week"), [Column("root_cause", _("Root cause"))],
                  description=_("Cases closed per week (week starting Monday) and root cause."))

    def link(cause_id, week_start=None) -> str:
        if week_start is None:
            return cause_link(filters, cause_id)
        return cause_link(filters, cause_id,
                          **clamped_date_params("closed", week_start, week_start + dt.timedelta(days=6), filters))

    return crosstab_by_week(cells, "root_cause_id", table, label_of=cause_names, link_of=link)


def root_cause_by_touchpoint(filters: ReportFilters) -> Table:
    """Cross-tab of cause x touchpoint of the opening response (the busiest touchpoints as columns,
    the rest summed in "Other")."""
    cells = list(
        _closed_cases(filters).values("root_cause_id", "response__touchpoint").annotate(n=Count("pk"))
    )
    table = Table("root-causes-by-touchpoint", _("Root cause by touchpoint"), [Column("root_cause", _("Root cause"))],
                  description=_("Cases closed in the period; darker cells hold more cases."))
    return crosstab_by_touchpoint(cells, "root_cause_id", table, label_of=cause_names,
                          link_of=lambda cause_id, **extra: cause_link(filters, cause_id, **extra))


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
            avg_csat=Avg(csat_pct("response__")),
            ces_n=Count("response__ces"),
            avg_ces=Avg(ces_ease01("response__")),
        )
        .order_by("-n", "root_cause__name")
    )
    table = Table(
        "root-causes-scores",
        _("Average score by root cause"),
        [
            Column("root_cause", _("Root cause")),
            Column("cases", _("Cases"), True),
            Column("nps_n", _("NPS n"), True),
            Column("avg_nps", _("Average NPS score (0-10)"), True),
            Column("csat_n", _("CSAT n"), True),
            Column("avg_csat", _("Average CSAT (% of scale)"), True),
            Column("ces_n", _("CES n"), True),
            Column("avg_ces", _("Average CES (1-7, 7 easiest)"), True),
        ],
    )
    for r in rows:
        table.add(
            {
                "root_cause": cause_label(r["root_cause__category__name"], r["root_cause__name"]),
                "cases": r["n"],
                "nps_n": r["nps_n"],
                "avg_nps": one_decimal(r["avg_nps"]),
                "csat_n": r["csat_n"],
                "avg_csat": one_decimal(r["avg_csat"]),
                "ces_n": r["ces_n"],
                "avg_ces": one_decimal(1 + 6 * r["avg_ces"]) if r["avg_ces"] is not None else None,
            },
            {"cases": cause_link(filters, r["root_cause_id"])},
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
        _("How the frontline would prevent it"),
        [
            Column("root_cause", _("Root cause")),
            Column("closed_at", _("Closed")),
            Column("reference", _("Case")),
            Column("team", _("Team")),
            Column("suggestion", _("Suggestion")),
        ],
        description=f"The {PREVENTION_PER_CAUSE} newest suggestions per root cause.",
    )
    for r in rows:
        table.add(
            {
                "root_cause": cause_label(r["root_cause__category__name"], r["root_cause__name"]),
                "closed_at": timezone.localtime(r["closed_at"]).date(),
                "reference": r["reference"],
                "team": r["team__name"],
                "suggestion": r["prevention"],
            },
            {"reference": case_url(r["reference"]), "root_cause": cause_link(filters, r["root_cause_id"])},
        )
    return table
