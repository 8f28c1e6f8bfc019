"""The root-causes page: cases closed in the period by root cause (Pareto, by week, by touchpoint),
the scores behind each cause and the frontline's prevention suggestions.

The Pareto, weekly, heat-map and score panels (and the prevention panel's cause frequencies) come
from one query, by week, root cause and touchpoint, whose result the page's panels share: of the
closure rollup (reporting.ClosureRollup, kept by database triggers: see reporting.rollups)
whenever the filters are ones it is keyed by (teams, survey, touchpoint, whole local days); of the
closure totals (reporting.ClosureTotal, keyed by the segment bits, not by team nor survey) for
every team's cases narrowed to a segment; else (location, customer tier, a segment on a viewer's
teams) of the closed cases themselves, with the rollup's columns computed the rollup's way
(reporting.rollups._values)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import lru_cache

from django.db import router
from django.db.models import Count, F, Q, Sum, Window
from django.db.models.functions import RowNumber, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, RootCause
from reporting.filters import ReportFilters
from reporting.models import ClosureRollup, ClosureTotal
from reporting.rollups import CLOSURE_COUNTS as COUNTS  # the closure rollup's columns this page sums
from reporting.selectors.common import (
    CELLS_WORK_MEM,
    CLOSED,
    case_url,
    cause_label,
    cause_link,
    clamped_date_params,
    crosstab_by_touchpoint,
    crosstab_by_week,
    rollup_rows,
    segment_totals,
    statement_memory,
)
from reporting.selectors.scoring import ces_ease01, csat_pct, half_up
from reporting.tables import Column, Table, pct

PREVENTION_PER_CAUSE = 10




def _closed_cases(filters: ReportFilters):
    return filters.cases(
        Case.objects.filter(status=CLOSED), date_field="closed_at"
    ).order_by()


def _case_counts() -> dict:
    """The closure rollup's COUNTS as aggregates of closed cases (reporting.rollups._values)."""
    r = "response__"
    return {
        "cases": Count("pk"),
        "with_prevention": Count("pk", filter=~Q(prevention="")),
        "nps_n": Count(f"{r}nps"),
        "nps_sum": Sum(f"{r}nps"),
        "csat_n": Count(f"{r}csat"),
        "csat_pct_n": Count(csat_pct(r)),
        "csat_pct_sum": Sum(csat_pct(r)),
        "ces_n": Count(f"{r}ces"),
        "ces_ease_n": Count(ces_ease01(r)),
        "ces_ease_sum": Sum(ces_ease01(r)),
    }


@lru_cache(maxsize=1)
def _closure_cells(filters: ReportFilters) -> tuple[dict, ...]:
    """The closed cases' COUNTS by week, root cause and touchpoint: the closure rollup's sums, or
    when the filters narrow by what it does not key, the closed cases' own. One query for the
    page's panels: the last result is kept, keyed by the filters, whose `now` (the request's
    moment) makes each request's key its own."""
    rows = rollup_rows(filters, ClosureRollup.objects)
    if rows is None:
        rows = segment_totals(filters, ClosureTotal.objects)
    if rows is not None:
        grouped = (rows.annotate(week=TruncWeek("day"), tp=F("touchpoint")).values("week", "root_cause_id", "tp")
                   .annotate(**{f"sum_{c}": Sum(c) for c in COUNTS}).filter(sum_cases__gt=0))
    else:
        grouped = (_closed_cases(filters).annotate(week=TruncWeek("closed_at"), tp=F("response__touchpoint"))
                   .values("week", "root_cause_id", "tp").annotate(**{f"sum_{c}": a for c, a in _case_counts().items()}))
    # Grouped in a hash table, not sorted: an admin's 90 days are 200,000 rollup rows into 4,300
    # cells, sorted with 24 MB spilled to disk in the default memory (380 -> 146 ms at 10M).
    with statement_memory(router.db_for_read(ClosureRollup), CELLS_WORK_MEM):
        return tuple(
            {"week": r["week"], "root_cause_id": r["root_cause_id"], "touchpoint": r["tp"],
             **{c: r[f"sum_{c}"] or 0 for c in COUNTS}}
            for r in grouped
        )


@lru_cache(maxsize=1)
def _rolled_causes(filters: ReportFilters) -> dict[int, RootCause]:
    """The root causes in the rollup's cells, read once for the page's panels (kept like _closure_cells)."""
    ids = {cell["root_cause_id"] for cell in _closure_cells(filters)}
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
    for cell in _closure_cells(filters):
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
    rows = _cause_rows(filters, ordered_by_name=False)
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
    weeks: dict = defaultdict(int)
    for cell in _closure_cells(filters):
        weeks[cell["week"], cell["root_cause_id"]] += cell["cases"]
    cells = [{"week": week, "root_cause_id": cause_id, "n": n} for (week, cause_id), n in weeks.items() if n]
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

    return crosstab_by_week(
        cells, "root_cause_id", table, label_of=_rolled_labels(filters), link_of=link
    )


def root_cause_by_touchpoint(filters: ReportFilters) -> Table:
    """Cross-tab of cause x touchpoint of the opening response (the busiest touchpoints as columns,
    the rest summed in "Other")."""
    grid: dict = defaultdict(int)
    for cell in _closure_cells(filters):
        grid[cell["root_cause_id"], cell["touchpoint"]] += cell["cases"]
    cells = [
        {"root_cause_id": cause_id, "response__touchpoint": touchpoint, "n": n}
        for (cause_id, touchpoint), n in grid.items() if n
    ]
    table = Table(
        "root-causes-by-touchpoint",
        _("Root cause by touchpoint"),
        [Column("root_cause", _("Root cause"))],
        description=_("Cases closed in the period; darker cells hold more cases."),
    )
    return crosstab_by_touchpoint(
        cells,
        "root_cause_id",
        table,
        label_of=_rolled_labels(filters),
        link_of=lambda cause_id, **extra: cause_link(filters, cause_id, **extra),
    )


def root_cause_scores(filters: ReportFilters) -> Table:
    """The scores of the responses that opened the cases, per root cause."""
    rows = [
        {
            **r,
            "avg_nps": r["nps_sum"] / r["nps_n"] if r["nps_n"] else None,
            "avg_csat": r["csat_pct_sum"] / r["csat_pct_n"] if r["csat_pct_n"] else None,
            "avg_ces": r["ces_ease_sum"] / r["ces_ease_n"] if r["ces_ease_n"] else None,
        }
        for r in _cause_rows(filters, ordered_by_name=True)
    ]
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
    for cell in _closure_cells(filters):
        frequency[cell["root_cause_id"]] += cell["with_prevention"]
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
