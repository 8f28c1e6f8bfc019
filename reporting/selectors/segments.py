"""Named customer segments in reports: the segment comparison (every segment side by side with
the same figures, and all customers as the baseline) and the segment breakdowns of the scores,
KPI, root-cause and recovery pages.

A customer can be in several segments, so a segment is not a GROUP BY column of its own. Each
breakdown reads its rows once instead: every row carries a flag per segment and the rows are
grouped by those flags. On PostgreSQL the flags are stored: each response and case carries its
customer's segment_bits (reporting.segment_bits, kept by triggers), read with the rest of the row
from the covering index; a segment whose bit is not built (conditions on accounts, a definition
changed a moment ago, SQLite) is tested by its conditions instead (segments.conditions.segment_q
over the row's customer, the definition the segment filter reads too). A segment's figure is the
sum of the groups whose flag it has set, all customers' the sum of every group: every count and
sum adds up that way (distinct customers too, since a customer's flags are the same on all their
rows). The medians, which do not add up, are computed per segment in one more query
(percentile_cont ... FILTER on PostgreSQL; from the stored durations in Python on SQLite). An
admin's score sums and low scores by segment come from the every-team score totals instead, which
are keyed by the bits (_from_totals), and the comparison's customers who answered from each
customer's latest answer (_customers_answered, reporting.last_answers).
The figures therefore mean exactly what they mean on the page they come from (the filters
narrowed to a segment, as `?segment=` narrows them), and the queries do not grow with the number
of segments nor with the rows: one pass per kind of row (responses answered, cases opened, cases
closed). A pass per segment read each segment's members and rows again: 26 s for the comparison
at 10M responses (docs/benchmarks.md, "Segment reports in one pass"); one pass testing every row's
customer, 1.5 s for a manager and 6.7 s for an admin (docs/benchmarks_reports.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db import connections, router
from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.utils.translation import gettext_lazy as _

from reporting.filters import ReportFilters
from reporting.models import CustomerLastAnswer, LastAnswerDay, ScoreTotal
from reporting.selectors.common import cause_link, cause_names, date_params, inbox_url, percentile, rollup_rows
from reporting.selectors.kpis import (
    DURATIONS,
    KPI_COLUMNS,
    Percentile,
    case_counts,
    coverage_counts,
    kpi_figures,
    percentiles_in_sql,
)
from reporting.selectors.recovery import answered_again_cases, case_sums, recovery_figures
from reporting.selectors.root_causes import _closed_cases
from reporting.selectors.scores import ROLLUP_SUMS
from reporting.selectors.scoring import SCORE_COLUMNS, ces_ease01, covered_q, low_score_q, score_aggregates, score_figures
from reporting.segment_bits import bit_of, has_bits
from reporting.tables import Column, Table, pct
from segments.conditions import segment_q
from segments.models import Segment
from surveys.models import SurveyResponse

ALL_CUSTOMERS = _("All customers")
MAX_SEGMENTS = 50  # a comparison wider than this is not read; the first 50 by name are shown
# Customers whose latest answer is after the period's end, at most, for whom the comparison asks
# whether they answered in the period too (one probe each); with more, it counts the answers.
LATER_AT_MOST = 2_000


@dataclass(frozen=True)
class Group:
    """A row (or column) of a breakdown: all customers (no segment) or one segment, with the
    report's filters narrowed to it (what its drill-down links carry)."""

    label: str
    filters: ReportFilters
    segment: Segment | None = None
    flag: str | None = None  # the annotation that says a row's customer is in the segment
    bit: int | None = None  # the segment's bit in the rows' segment_bits, when built (then no flag)

    def has(self, row: dict) -> bool:
        """Whether a row of a breakdown's pass (its flags and bits) belongs to this group."""
        if self.segment is None:
            return True
        return bool(row["segment_bits"] & self.bit) if self.bit is not None else bool(row[self.flag])

    def condition(self):
        """The rows of this group, as an aggregate's filter (None: every row)."""
        if self.segment is None:
            return None
        return Q(has_bits(self.bit)) if self.bit is not None else Q(**{self.flag: True})


def _groups(filters: ReportFilters) -> list[Group]:
    """All customers (the baseline), then the segments by name. A segment chosen in the filter bar
    is ignored here: the rows are the segments."""
    base = replace(filters, segment=None)
    segments = list(Segment.objects.select_related("bit").order_by("name", "id")[:MAX_SEGMENTS])
    groups = [Group(str(ALL_CUSTOMERS), base)]
    for i, segment in enumerate(segments):
        bit = bit_of(segment)
        groups.append(Group(segment.name, replace(base, segment=segment), segment,
                            None if bit is not None else f"in_segment_{i}", bit))
    return groups


def _flags(groups: list[Group]) -> dict:
    """Per segment without a built bit, whether a row's customer meets its conditions (a row without
    a customer is in none)."""
    return {
        g.flag: Case(When(Q(customer__isnull=False) & segment_q(g.segment.conditions, g.segment.match,
                                                                 prefix="customer__"), then=Value(True)),
                     default=Value(False), output_field=BooleanField())
        for g in groups if g.flag
    }


def _sums(rows: QuerySet, groups: list[Group], aggregates: dict, by: Iterable[str] = ()) -> dict[tuple, list[dict]]:
    """One pass over `rows` (a queryset of cases or responses: both refer to a customer): the
    aggregates, each a count or a sum, per group, keyed by the values of `by` (() without)."""
    flags = _flags(groups)
    by, read = tuple(by), _read(groups, flags)
    if by or read:
        found = rows.order_by().annotate(**flags).values(*by, *read).annotate(**aggregates)
    else:
        found = [rows.order_by().aggregate(**aggregates)]
    sums: dict[tuple, list[dict]] = {}
    for row in found:
        _add(sums.setdefault(tuple(row[k] for k in by), [dict.fromkeys(aggregates, 0) for _g in groups]), groups, row)
    return sums


def _add(per_group: list[dict], groups: list[Group], row: dict) -> None:
    """Add a pass's row (its sums, flags and bits) to the sums of each group it belongs to."""
    for sums, group in zip(per_group, groups):
        if group.has(row):
            for key in sums:
                sums[key] += row[key] or 0


def _read(groups: list[Group], flags: dict) -> tuple[str, ...]:
    """What a pass reads of each row to tell the groups apart: the stored bits when a segment has
    one, and the conditions' flags."""
    return ("segment_bits",) * any(g.bit is not None for g in groups) + tuple(flags)


def _totals(rows: QuerySet, groups: list[Group], aggregates: dict) -> list[dict]:
    return _sums(rows, groups, aggregates).get((), [dict.fromkeys(aggregates, 0) for _g in groups])


def _durations(cases: QuerySet, groups: list[Group], names: Iterable[str]) -> list[dict]:
    """The durations' percentiles (kpis.DURATIONS `names`) per group, in one query."""
    wanted = {name: DURATIONS[name] for name in names}
    flags = _flags(groups)
    cases = cases.order_by().annotate(**flags)
    if percentiles_in_sql():
        found = cases.aggregate(**{
            f"g{index}_{name}": Percentile(column, fraction, filter=group.condition())
            for index, group in enumerate(groups) for name, (column, fraction) in wanted.items()})
        return [{name: found[f"g{index}_{name}"] for name in wanted} for index in range(len(groups))]
    columns = sorted({column for column, _f in wanted.values()})
    values = [{column: [] for column in columns} for _g in groups]
    for row in cases.values(*_read(groups, flags), *columns):
        for index, group in enumerate(groups):
            if group.has(row):
                for column in columns:
                    if row[column] is not None:
                        values[index][column].append(row[column])
    return [{name: percentile(sorted(values[index][column]), fraction) for name, (column, fraction) in wanted.items()}
            for index in range(len(groups))]


def _score_sums() -> dict:
    """score_aggregates() as counts and sums (the average ease as its sum and count)."""
    aggregates = score_aggregates()
    del aggregates["ces_ease"]
    return {**aggregates, "ces_ease_sum": Sum(ces_ease01()), "ces_ease_n": Count(ces_ease01())}


def _score_row(sums: dict) -> dict:
    ease = sums["ces_ease_sum"] / sums["ces_ease_n"] if sums["ces_ease_n"] else None
    return score_figures({**sums, "ces_ease": ease})


def _recovery_row(sums: dict) -> dict:
    figures = recovery_figures(sums)
    return {k: figures[k] for k in ("answered_again", "avg_change", "detractors_before", "recovered", "recovery_pct")}


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
    base = groups[0].filters
    answers = _answers_from_totals(groups) or _totals(base.responses(), groups, {
        # Customers who answered in the period, in the teams the viewer may see (a segment's
        # members elsewhere are not the viewer's to count: /api/v1/segments/ has the totals).
        "responses": Count("pk"), "with_case": Count("pk", filter=covered_q()),
        "customers": Count("customer_id", distinct=True), **_score_sums()})
    opened = base.cases(date_field="created_at")
    cases = _totals(opened, groups, case_counts(filters.now))
    medians = _durations(opened, groups, ["close_median_h"])
    recovery = _totals(answered_again_cases(base), groups, case_sums())
    table = Table("segments", _("Segment comparison"), COMPARISON_COLUMNS, description=_(
        "Responses answered and cases opened in the period, per segment (a customer can be in several). "
        "Case rate: responses that opened or joined a case. Recovery: detractors whose case was closed in "
        "the period and who answered again with a better group."))
    for index, group in enumerate(groups):
        scores, kpi = _score_row(answers[index]), kpi_figures(cases[index], {}, medians[index])
        again = _recovery_row(recovery[index])
        table.add({
            "segment": group.label,
            "customers": answers[index]["customers"],
            "responses": answers[index]["responses"], "nps_n": scores["nps_n"], "nps": scores["nps"],
            "csat_n": scores["csat_n"], "csat_top2_pct": scores["csat_top2_pct"], "ces_n": scores["ces_n"],
            "ces_avg": scores["ces_avg"], "case_rate_pct": pct(answers[index]["with_case"], answers[index]["responses"]),
            "cases": kpi["cases"], "close_median_h": kpi["close_median_h"],
            "resolution_sla_pct": kpi["resolution_sla_pct"],
            "answered_again": again["answered_again"], "recovery_pct": again["recovery_pct"],
        }, {"answered_again": _answered_again_link(group.filters)})
    return table


def _from_totals(groups: list[Group], sums: dict[str, str]) -> list[dict] | None:
    """Each group's `sums` ({name: a column of the totals}) from the every-team score totals
    (reporting.ScoreTotal, keyed by the responses' segment bits): for every team's answers (an
    admin's) when each segment has its bit built and the filters are the totals' keys; None
    otherwise (the answers are read instead). Some thousands of rows for 90 days where the answers
    are millions."""
    base = groups[0].filters
    if base.team_ids is not None or any(g.segment is not None and g.bit is None for g in groups):
        return None
    totals = rollup_rows(base, ScoreTotal.objects)
    if totals is None:
        return None
    found = [dict.fromkeys(sums, 0) for _g in groups]
    for row in totals.values("segment_bits").annotate(**{name: Sum(column) for name, column in sums.items()}):
        _add(found, groups, row)
    return found


def _answers_from_totals(groups: list[Group]) -> list[dict] | None:
    """The comparison's answer figures per group without reading the period's answers (an admin's:
    every team, the period only): the sums from the every-team score totals (_from_totals) and the
    customers who answered from each customer's latest answer (_customers_answered). None when
    either cannot answer the filters."""
    sums = _from_totals(groups, {**{key: key for key in ROLLUP_SUMS}, "with_case": "covered"})
    customers = _customers_answered(groups) if sums is not None else None
    if customers is None:
        return None
    return [{**group_sums, "customers": n} for group_sums, n in zip(sums, customers)]


def _customers_answered(groups: list[Group]) -> list[int] | None:
    """Per group, the customers with an answer in the period, of every team, from each customer's
    latest answer (reporting.last_answers, which says why this is exact): those whose latest answer
    is in the period (their counts per local day and bits, reporting.LastAnswerDay), plus those
    whose latest is at or after its end and who answered in it too (probed, at most LATER_AT_MOST
    of them). None (the answers are counted instead) for a viewer of some teams, filters other than
    the period, bounds that are not local midnights, a segment without a built bit (SQLite has
    none), or a period with more customers after its end than that."""
    base = groups[0].filters
    if (base.team_ids is not None or base.survey_id or base.touchpoint or base.location or base.tier
            or any(g.segment is not None and g.bit is None for g in groups)
            or connections[router.db_for_read(CustomerLastAnswer)].vendor != "postgresql"):
        return None
    days = rollup_rows(base, LastAnswerDay.objects)  # whole local days (as the score totals need)
    if days is None:
        return None
    parts = [days.values("segment_bits").annotate(customers=Sum("customers"))]
    if base.end:
        after = CustomerLastAnswer.objects.order_by().filter(answered_at__gte=base.end)
        if after[:LATER_AT_MOST + 1].count() > LATER_AT_MOST:
            return None
        answered = base.dates(SurveyResponse.objects.filter(customer_id=OuterRef("customer_id")), "answered_at")
        parts.append(after.filter(Exists(answered)).values("segment_bits").annotate(customers=Count("pk")))
    found = [{"customers": 0} for _g in groups]
    for rows in parts:
        for row in rows:
            _add(found, groups, row)
    return [sums["customers"] for sums in found]


def scores_by_segment(filters: ReportFilters) -> Table:
    groups = _groups(filters)
    answers = _from_totals(groups, {key: key for key in ROLLUP_SUMS}) or _totals(
        groups[0].filters.responses(), groups, {"responses": Count("pk"), **_score_sums()})
    table = Table("scores-by-segment", _("Scores by customer segment"),
                  [Column("group", _("Segment")), Column("responses", _("Responses"), True), *SCORE_COLUMNS])
    for group, sums in zip(groups, answers):
        table.add({"group": group.label, "responses": sums["responses"], **_score_row(sums)})
    return table


def kpis_by_segment(filters: ReportFilters) -> Table:
    groups = _groups(filters)
    base = groups[0].filters
    opened = base.cases(date_field="created_at")
    cases = _totals(opened, groups, case_counts(filters.now))
    durations = _durations(opened, groups, DURATIONS)
    coverage = _from_totals(groups, {"low": "low", "covered": "low_covered"}) or _totals(
        base.responses().filter(low_score_q()), groups, coverage_counts())
    table = Table("kpis-by-segment", _("Closed-loop KPIs by customer segment"),
                  [Column("group", _("Segment")), *KPI_COLUMNS])
    for index, group in enumerate(groups):
        table.add({"group": group.label, **kpi_figures(cases[index], coverage[index], durations[index])},
                  {"open": inbox_url(group.filters, view="team", **date_params("created", base.start, base.end))})
    return table


def recovery_by_segment(filters: ReportFilters) -> Table:
    groups = _groups(filters)
    recovery = _totals(answered_again_cases(groups[0].filters), groups, case_sums())
    table = Table("recovery-by-segment", _("Recovery by customer segment"), [
        Column("group", _("Segment")), Column("answered_again", _("Answered again"), True),
        Column("avg_change", _("Average change"), True), Column("detractors_before", _("Detractors before"), True),
        Column("recovered", _("No longer detractors"), True), Column("recovery_pct", _("Recovery rate %"), True),
    ], description=_("Closed cases whose customer answered again (NPS) after the closure."))
    for group, sums in zip(groups, recovery):
        table.add({"group": group.label, **_recovery_row(sums)}, {"answered_again": _answered_again_link(group.filters)})
    return table


def root_causes_by_segment(filters: ReportFilters) -> Table:
    """Cross-tab of root cause x segment: cases closed in the period with each cause, per segment
    (a column each), all customers first; causes by their total."""
    groups = _groups(filters)
    cells = {key[0]: [sums["n"] for sums in per_group] for key, per_group in
             _sums(_closed_cases(groups[0].filters), groups, {"n": Count("pk")}, by=["root_cause_id"]).items()}
    names = cause_names(cells)
    columns = [Column("root_cause", _("Root cause"))] + [Column(f"g{i}", g.label, True) for i, g in enumerate(groups)]
    table = Table("root-causes-by-segment", _("Root causes by customer segment"), columns,
                  description=_("Cases closed in the period, per root cause and segment (a customer can be in several)."))
    for cause_id in sorted(cells, key=lambda c: (-cells[c][0], names.get(c, ""))):
        row = {"root_cause": names.get(cause_id, "(none)") if cause_id else "(none)"}
        links = {}
        for index, group in enumerate(groups):
            row[f"g{index}"] = cells[cause_id][index]
            if cause_id and row[f"g{index}"]:
                links[f"g{index}"] = cause_link(group.filters, cause_id)
        table.add(row, links)
    return table
