"""The root-causes page: cases closed in the period by root cause (Pareto, by week, by touchpoint),
the scores behind each cause and the frontline's prevention suggestions.

The Pareto, weekly, heat-map and score panels (and the prevention panel's cause frequencies) come
from one query of the closure rollup (reporting.ClosureRollup, kept by database triggers: see
reporting.rollups), by week, root cause and touchpoint, whenever the filters are ones it is keyed
by (teams, survey, touchpoint, whole local days); the page's panels share that one result. A filter
on what it does not key (location, customer tier or segment) reads the closed cases themselves."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache

from django.db.models import Avg, Count, F, Sum, Window
from django.db.models.functions import RowNumber, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, RootCause
from reporting.filters import ReportFilters
from reporting.models import ClosureRollup
from reporting.rollups import CLOSURE_COUNTS as COUNTS  # the closure rollup's columns this page sums
from reporting.selectors.common import (
    CLOSED,
    case_url,
    cause_label,
    cause_link,
    cause_names,
    clamped_date_params,
    crosstab_by_touchpoint,
    crosstab_by_week,
    rollup_rows,
)
from reporting.selectors.scoring import ces_ease01, csat_pct, half_up
from reporting.tables import Column, Table, pct

PREVENTION_PER_CAUSE = 10




def _closed_cases(filters: ReportFilters):
    return filters.cases(
        Case.objects.filter(status=CLOSED), date_field="closed_at"
    ).order_by()


@lru_cache(maxsize=1)
def _closure_cells(filters: ReportFilters) -> tuple[dict, ...] | None:
    """The closure rollup's sums by week, root cause and touchpoint, or None when the filters need
    the cases themselves. One query for the page's panels: the last result is kept, keyed by the
    filters, whose `now` (the request's moment) makes each request's key its own."""
    rows = rollup_rows(filters, ClosureRollup.objects)
    if rows is None:
        return None
    return tuple(
        {
            "week": r["week"],
            "root_cause_id": r["root_cause_id"],
            "touchpoint": r["touchpoint"],
            **{c: r[f"sum_{c}"] for c in COUNTS},
        }
        for r in rows.annotate(week=TruncWeek("day"))
        .values("week", "root_cause_id", "touchpoint")
        .annotate(**{f"sum_{c}": Sum(c) for c in COUNTS})
        .filter(sum_cases__gt=0)
    )


@lru_cache(maxsize=1)
def _rolled_causes(filters: ReportFilters) -> dict[int, RootCause]:
    """The root causes in the rollup's cells, read once for the page's panels (kept like _closure_cells)."""
    ids = {cell["root_cause_id"] for cell in _closure_cells(filters) or ()}
    return {
        c.pk: c
        for c in RootCause.objects.filter(pk__in=[i for i in ids if i]).select_related(
            "category"
        )
    }


def _rolled_labels(filters: ReportFilters):
    causes = _rolled_causes(filters)
    return lambda ids: {
        i: cause_label(causes[i].category.name, causes[i].name)
        for i in ids
        if i in causes
    }


@lru_cache(maxsize=1)
def _by_cause(filters: ReportFilters) -> dict:
    """The rollup's cells summed per root cause (kept like _closure_cells)."""
    causes: dict = {}
    for cell in _closure_cells(filters) or ():
        sums = causes.get(cell["root_cause_id"])
        if sums is None:
            causes[cell["root_cause_id"]] = {c: cell[c] for c in COUNTS}
        else:
            for c in COUNTS:
                sums[c] += cell[c]
    return causes


def _cause_rows(filters: ReportFilters, ordered_by_name: bool) -> list[dict]:
    """Per root cause: its label parts and its sums, most cases first (then by category and name,
    or by name alone as the score panel orders)."""
    cells = _closure_cells(filters)
    if cells is None:
        return []
    causes = _by_cause(filters)
    names = _rolled_causes(filters)
    rows = []
    for cause_id, sums in causes.items():
        if not sums["cases"]:
            continue
        cause = names.get(cause_id)
        rows.append(
            {
                "root_cause_id": cause_id,
                "root_cause__name": cause.name if cause else None,
                "root_cause__category__name": cause.category.name if cause else None,
                "n": sums["cases"],
                **sums,
            }
        )
    if ordered_by_name:
        rows.sort(key=lambda r: (-r["n"], r["root_cause__name"] or ""))
    else:
        rows.sort(
            key=lambda r: (
                -r["n"],
                r["root_cause__category__name"] or "",
                r["root_cause__name"] or "",
            )
        )
    return rows


def root_cause_pareto(filters: ReportFilters) -> Table:
    if _closure_cells(filters) is not None:
        rows = _cause_rows(filters, ordered_by_name=False)
    else:
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
                "root_cause": cause_label(
                    r["root_cause__category__name"], r["root_cause__name"]
                ),
                "cases": r["n"],
                "share": pct(r["n"], total),
                "cumulative": pct(running, total),
            },
            {"cases": cause_link(filters, r["root_cause_id"])},
        )
    return table


def root_cause_weekly(filters: ReportFilters) -> Table:
    """Weekly count per cause (weeks start on Monday, by closure date)."""
    rolled = _closure_cells(filters)
    if rolled is not None:
        weeks: dict = defaultdict(int)
        for cell in rolled:
            weeks[cell["week"], cell["root_cause_id"]] += cell["cases"]
        cells = [
            {"week": week, "root_cause_id": cause_id, "n": n}
            for (week, cause_id), n in weeks.items()
        ]
    else:
        cells = list(
            _closed_cases(filters)
            .annotate(week=TruncWeek("closed_at"))
            .values("week", "root_cause_id")
            .annotate(n=Count("pk"))
        )
    table = Table(
        "root-causes-weekly",
        _("Root causes by week"),
        [Column("root_cause", _("Root cause"))],
        description=_("Cases closed per week (week starting Monday) and root cause."),
    )

    def link(cause_id, week_start=None) -> str:
        if week_start is None:
            return cause_link(filters, cause_id)
        return cause_link(
            filters,
            cause_id,
            **clamped_date_params(
                "closed", week_start, week_start + dt.timedelta(days=6), filters
            ),
        )

    labels = _rolled_labels(filters) if rolled is not None else cause_names
    return crosstab_by_week(
        cells, "root_cause_id", table, label_of=labels, link_of=link
    )


def root_cause_by_touchpoint(filters: ReportFilters) -> Table:
    """Cross-tab of cause x touchpoint of the opening response (the busiest touchpoints as columns,
    the rest summed in "Other")."""
    rolled = _closure_cells(filters)
    if rolled is not None:
        grid: dict = defaultdict(int)
        for cell in rolled:
            grid[cell["root_cause_id"], cell["touchpoint"]] += cell["cases"]
        cells = [
            {"root_cause_id": cause_id, "response__touchpoint": touchpoint, "n": n}
            for (cause_id, touchpoint), n in grid.items()
        ]
    else:
        cells = list(
            _closed_cases(filters)
            .values("root_cause_id", "response__touchpoint")
            .annotate(n=Count("pk"))
        )
    table = Table(
        "root-causes-by-touchpoint",
        _("Root cause by touchpoint"),
        [Column("root_cause", _("Root cause"))],
        description=_("Cases closed in the period; darker cells hold more cases."),
    )
    labels = _rolled_labels(filters) if rolled is not None else cause_names
    return crosstab_by_touchpoint(
        cells,
        "root_cause_id",
        table,
        label_of=labels,
        link_of=lambda cause_id, **extra: cause_link(filters, cause_id, **extra),
    )


def root_cause_scores(filters: ReportFilters) -> Table:
    """The scores of the responses that opened the cases, per root cause."""
    if _closure_cells(filters) is not None:
        rows = [
            {
                **r,
                "avg_nps": r["nps_sum"] / r["nps_n"] if r["nps_n"] else None,
                "avg_csat": r["csat_pct_sum"] / r["csat_pct_n"]
                if r["csat_pct_n"]
                else None,
                "avg_ces": r["ces_ease_sum"] / r["ces_ease_n"]
                if r["ces_ease_n"]
                else None,
            }
            for r in _cause_rows(filters, ordered_by_name=True)
        ]
    else:
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
                "root_cause": cause_label(
                    r["root_cause__category__name"], r["root_cause__name"]
                ),
                "cases": r["n"],
                "nps_n": r["nps_n"],
                "avg_nps": half_up(r["avg_nps"]),
                "csat_n": r["csat_n"],
                "avg_csat": half_up(r["avg_csat"]),
                "ces_n": r["ces_n"],
                "avg_ces": half_up(1 + 6 * r["avg_ces"])
                if r["avg_ces"] is not None
                else None,
            },
            {"cases": cause_link(filters, r["root_cause_id"])},
        )
    return table


def root_cause_prevention(filters: ReportFilters) -> Table:
    """The frontline's prevention suggestions, per cause (most frequent cause first), newest first,
    at most PREVENTION_PER_CAUSE per cause."""
    # The newest per cause are picked from the index of closed cases with a suggestion
    # (cases_case_closed_prevention, reporting migration 0002) alone; only they are then read.
    newest = (
        _closed_cases(filters)
        .exclude(prevention="")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("root_cause_id")],
                order_by=F("closed_at").desc(),
            )
        )
        .filter(rank__lte=PREVENTION_PER_CAUSE)
        .values("pk")
    )
    ranked = (
        Case.objects.filter(pk__in=newest)
        .order_by()
        .values(
            "reference",
            "root_cause_id",
            "root_cause__name",
            "root_cause__category__name",
            "closed_at",
            "team__name",
            "prevention",
        )
    )
    rows = list(ranked)
    frequency = defaultdict(int)
    rolled = _closure_cells(filters)
    if rolled is not None:
        for cell in rolled:
            frequency[cell["root_cause_id"]] += cell["with_prevention"]
    else:
        for r in (
            _closed_cases(filters)
            .exclude(prevention="")
            .values("root_cause_id")
            .annotate(n=Count("pk"))
        ):
            frequency[r["root_cause_id"]] = r["n"]
    rows.sort(
        key=lambda r: (
            -frequency[r["root_cause_id"]],
            r["root_cause__name"],
            -r["closed_at"].timestamp(),
        )
    )
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
                "root_cause": cause_label(
                    r["root_cause__category__name"], r["root_cause__name"]
                ),
                "closed_at": timezone.localtime(r["closed_at"]).date(),
                "reference": r["reference"],
                "team": r["team__name"],
                "suggestion": r["prevention"],
            },
            {
                "reference": case_url(r["reference"]),
                "root_cause": cause_link(filters, r["root_cause_id"]),
            },
        )
    return table
