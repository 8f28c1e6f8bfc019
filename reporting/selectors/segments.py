"""Named customer segments in reports: the segment comparison (every segment side by side with
the same figures, and all customers as the baseline) and the segment breakdowns of the scores,
KPI, root-cause and recovery pages.

A customer can be in several segments, so a segment is not a GROUP BY column: each segment's row
is the page's own selector run with the report's filters narrowed to that segment
(ReportFilters.segment, an IN subquery over the segment's customers). The figures therefore mean
exactly what they mean on the page they come from, and the queries grow with the number of
segments (a few per segment), never with the number of responses or cases."""

from __future__ import annotations

from dataclasses import replace

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from reporting.filters import ReportFilters
from reporting.selectors.common import cause_link, cause_names, date_params, inbox_url
from reporting.selectors.kpis import KPI_COLUMNS, kpis
from reporting.selectors.recovery import recovery_figures, recovery_totals
from reporting.selectors.root_causes import _closed_cases
from reporting.selectors.scoring import SCORE_COLUMNS, covered_q, score_aggregates, score_figures
from reporting.tables import Column, Table, pct
from segments.models import Segment

ALL_CUSTOMERS = _("All customers")
MAX_SEGMENTS = 50  # a comparison wider than this is not read; the first 50 by name are shown


def _segments() -> list[Segment]:
    return list(Segment.objects.order_by("name", "id")[:MAX_SEGMENTS])


def _groups(filters: ReportFilters) -> list[tuple[str, Segment | None, ReportFilters]]:
    """(label, segment, filters narrowed to it) per segment, after all customers (the baseline).
    A segment chosen in the filter bar is ignored here: the rows are the segments."""
    base = replace(filters, segment=None)
    return [(str(ALL_CUSTOMERS), None, base)] + [(s.name, s, replace(base, segment=s)) for s in _segments()]


def _scores(filters: ReportFilters) -> dict:
    agg = filters.responses().order_by().aggregate(responses=Count("pk"), with_case=Count("pk", filter=covered_q()),
                                                   customers=Count("customer_id", distinct=True), **score_aggregates())
    return {"responses": agg["responses"], "with_case": agg["with_case"], "customers": agg["customers"],
            **score_figures(agg)}


def _recovery(filters: ReportFilters) -> dict:
    figures = recovery_figures(recovery_totals(filters))
    return {k: figures[k] for k in ("answered_again", "avg_change", "detractors_before", "recovered", "recovery_pct")}


def _kpi_row(filters: ReportFilters) -> dict:
    table = kpis(filters, by="all")
    return table.rows[0] if table.rows else {c.key: 0 for c in KPI_COLUMNS}


def _answered_again_link(filters: ReportFilters) -> str:
    return inbox_url(filters, view="recently_closed", answered_again="true",
                     **date_params("closed", filters.start, filters.end))


COMPARISON_COLUMNS = [
    Column("segment", _("Segment")),
    Column("customers", _("Customers"), True),
    Column("responses", _("Responses"), True),
    Column("nps_n", _("NPS n"), True),
    Column("nps", _("NPS"), True),
    Column("csat_n", _("CSAT n"), True),
    Column("csat_top2_pct", _("CSAT top-2-box %"), True),
    Column("ces_n", _("CES n"), True),
    Column("ces_avg", _("CES average (1-7, 7 easiest)"), True),
    Column("case_rate_pct", _("Case rate %"), True),
    Column("cases", _("Cases opened"), True),
    Column("close_median_h", _("Median to close (business h)"), True),
    Column("resolution_sla_pct", _("Resolution SLA met %"), True),
    Column("answered_again", _("Answered again after closure"), True),
    Column("recovery_pct", _("Recovery rate %"), True),
]


def segment_comparison(filters: ReportFilters) -> Table:
    """Every segment side by side: customers, responses and scores, how often a response led to a
    case, how fast cases closed, and how many detractors recovered; all customers first."""
    groups = _groups(filters)
    table = Table("segments", _("Segment comparison"), COMPARISON_COLUMNS, description=_(
        "Responses answered and cases opened in the period, per segment (a customer can be in several). "
        "Case rate: responses that opened or joined a case. Recovery: detractors whose case was closed in "
        "the period and who answered again with a better group."))
    for label, segment, narrowed in groups:
        scores = _scores(narrowed)
        kpi = _kpi_row(narrowed)
        recovery = _recovery(narrowed)
        table.add({
            "segment": label,
            # Customers who answered in the period, in the teams the viewer may see (a segment's
            # members elsewhere are not the viewer's to count: /api/v1/segments/ has the totals).
            "customers": scores["customers"],
            "responses": scores["responses"], "nps_n": scores["nps_n"], "nps": scores["nps"],
            "csat_n": scores["csat_n"], "csat_top2_pct": scores["csat_top2_pct"], "ces_n": scores["ces_n"],
            "ces_avg": scores["ces_avg"], "case_rate_pct": pct(scores["with_case"], scores["responses"]),
            "cases": kpi.get("cases", 0), "close_median_h": kpi.get("close_median_h"),
            "resolution_sla_pct": kpi.get("resolution_sla_pct"),
            "answered_again": recovery["answered_again"], "recovery_pct": recovery["recovery_pct"],
        }, {"answered_again": _answered_again_link(narrowed)})
    return table


def scores_by_segment(filters: ReportFilters) -> Table:
    table = Table("scores-by-segment", _("Scores by customer segment"),
                  [Column("group", _("Segment")), Column("responses", _("Responses"), True), *SCORE_COLUMNS])
    for label, _segment, narrowed in _groups(filters):
        scores = _scores(narrowed)
        table.add({"group": label, **{k: v for k, v in scores.items() if k not in ("with_case", "customers")}})
    return table


def kpis_by_segment(filters: ReportFilters) -> Table:
    table = Table("kpis-by-segment", _("Closed-loop KPIs by customer segment"),
                  [Column("group", _("Segment")), *KPI_COLUMNS])
    for label, _segment, narrowed in _groups(filters):
        row = _kpi_row(narrowed)
        table.add({**row, "group": label}, {"open": inbox_url(narrowed, view="team",
                                                              **date_params("created", narrowed.start, narrowed.end))})
    return table


def recovery_by_segment(filters: ReportFilters) -> Table:
    table = Table("recovery-by-segment", _("Recovery by customer segment"), [
        Column("group", _("Segment")), Column("answered_again", _("Answered again"), True),
        Column("avg_change", _("Average change"), True), Column("detractors_before", _("Detractors before"), True),
        Column("recovered", _("No longer detractors"), True), Column("recovery_pct", _("Recovery rate %"), True),
    ], description=_("Closed cases whose customer answered again (NPS) after the closure."))
    for label, _segment, narrowed in _groups(filters):
        table.add({"group": label, **_recovery(narrowed)}, {"answered_again": _answered_again_link(narrowed)})
    return table


def root_causes_by_segment(filters: ReportFilters) -> Table:
    """Cross-tab of root cause x segment: cases closed in the period with each cause, per segment
    (a column each), all customers first; causes by their total."""
    groups = _groups(filters)
    cells: dict[int | None, dict[int, int]] = {}
    for index, (_label, _segment, narrowed) in enumerate(groups):
        for row in _closed_cases(narrowed).values("root_cause_id").annotate(n=Count("pk")):
            cells.setdefault(row["root_cause_id"], {})[index] = row["n"]
    names = cause_names(cells)
    columns = [Column("root_cause", _("Root cause"))] + [Column(f"g{i}", label, True) for i, (label, _s, _f) in
                                                         enumerate(groups)]
    table = Table("root-causes-by-segment", _("Root causes by customer segment"), columns,
                  description=_("Cases closed in the period, per root cause and segment (a customer can be in several)."))
    for cause_id in sorted(cells, key=lambda c: (-cells[c].get(0, 0), names.get(c, ""))):
        row = {"root_cause": names.get(cause_id, "(none)") if cause_id else "(none)"}
        links = {}
        for index, (_label, _segment, narrowed) in enumerate(groups):
            row[f"g{index}"] = cells[cause_id].get(index, 0)
            if cause_id and row[f"g{index}"]:
                links[f"g{index}"] = cause_link(narrowed, cause_id)
        table.add(row, links)
    return table
