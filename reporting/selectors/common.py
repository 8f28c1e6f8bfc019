"""What the report pages share: drill-down links into the inbox, names for ids, the closures
timeline, percentiles and the cross-tab layouts (by week, by touchpoint)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cache, lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.db import connections, transaction
from django.db.models import FloatField, Func
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from cases.models import Case, CaseEvent, RootCause
from reporting.filters import ReportFilters
from reporting.segment_bits import bit_of, has_bits
from reporting.tables import Column, Table

# The total row of the per-team tables (and the label the overdue chart leaves out).
ALL_TEAMS = _("All teams")

CLOSED = Case.Status.CLOSED
MAX_TOUCHPOINT_COLUMNS = 12
MAX_LIST_ROWS = 500


# work_mem for a rollup's period summed into its cells (week x key x touchpoint: an admin's 90 days
# are 200,000-280,000 rollup rows into a few thousand cells): held in a hash table instead of
# sorted with 20-25 MB spilled to disk (the theme and closure cells; docs/reporting.md).
CELLS_WORK_MEM = "64MB"


@contextmanager
def statement_memory(alias: str, amount: str) -> Iterator:
    """A transaction on database `alias` in which PostgreSQL's work_mem is `amount` (SET LOCAL:
    until the transaction ends; inside another one, until that one ends), for a report statement
    that groups or sorts more than the default 4 MB holds and then plans a sort spilled to disk;
    yields the connection. Elsewhere (SQLite) only the transaction."""
    connection = connections[alias]
    with transaction.atomic(using=alias):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{amount}'")
        yield connection


# --- drill-down links -------------------------------------------------------------------------
@cache
def inbox_filter_names() -> frozenset[str] | None:
    """The query parameters the inbox's CaseFilterSet reads (fixed for the process: its filters
    are declared on the class), worked out once rather than for each of a page's links."""
    try:
        from cases.filtersets import CaseFilterSet
    except ImportError:
        return None
    names = {"view"}
    for name, filter_obj in CaseFilterSet.base_filters.items():
        names.add(name)
        # Range filters read name_after/name_before (name_min/name_max) from the query string.
        widget = getattr(filter_obj.field_class, "widget", None)
        names.update(f"{name}_{suffix}" for suffix in getattr(widget, "suffixes", ()) if suffix)
    return frozenset(names)


@lru_cache(maxsize=8)
def _inbox_base(prefix: str, urlconf) -> str:
    """The inbox's path for a script prefix and URLconf (reverse() once, not once per link: a
    root-causes page has about a thousand links)."""
    try:
        return reverse("cases:inbox", urlconf=urlconf)
    except NoReverseMatch:
        return ""


@lru_cache(maxsize=1)
def _report_params(filters: ReportFilters) -> tuple[tuple[str, str], ...]:
    """filters.inbox_params(), worked out once per report request (kept like the rollup results:
    the request's `now` makes each request's filters their own)."""
    return tuple(filters.inbox_params().items())


def inbox_url(filters: ReportFilters, **params) -> str:
    """The inbox listing the cases behind a figure: the report's segment plus `params`.
    Parameters the inbox's CaseFilterSet does not know are left out rather than ignored there."""
    base = _inbox_base(get_script_prefix(), get_urlconf())
    if not base:
        return ""
    query = {**dict(_report_params(filters)), **{k: str(v) for k, v in params.items() if v not in (None, "")}}
    known = inbox_filter_names()
    if known is not None:
        query = {k: v for k, v in query.items() if k in known}
    return f"{base}?{'&'.join(_encoded(k, v) for k, v in query.items())}" if query else base


@lru_cache(maxsize=4096)
def _encoded(key: str, value: str) -> str:
    """One `key=value` of a query string, as urlencode writes it: a page's links repeat the same
    few (its dates, its teams, its causes) hundreds of times."""
    return urlencode({key: value})


def date_params(prefix: str, start: dt.datetime | None, end: dt.datetime | None) -> dict[str, str]:
    """Inbox date-range parameters (inclusive dates) for [start, end)."""
    params = {}
    if start:
        params[f"{prefix}_after"] = timezone.localdate(start).isoformat()
    if end:
        params[f"{prefix}_before"] = (timezone.localdate(end) - dt.timedelta(days=1)).isoformat()
    return params


def clamped_date_params(prefix: str, first: dt.date, last: dt.date, filters: ReportFilters) -> dict[str, str]:
    """Inbox date-range parameters for the days first..last (inclusive) within the report's period:
    a week or month that starts before the period (or ends after it) is counted only inside the
    period, so its link must list only those days."""
    if filters.start:
        first = max(first, timezone.localdate(filters.start))
    if filters.end:
        last = min(last, timezone.localdate(filters.end) - dt.timedelta(days=1))
    return {f"{prefix}_after": first.isoformat(), f"{prefix}_before": last.isoformat()}


# --- names and numbers ----------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolation percentile (PostgreSQL's percentile_cont) of sorted values."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lower = int(pos)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (pos - lower)


def team_names_by_id(ids) -> dict[int, str]:
    return dict(Team.objects.filter(id__in=[i for i in ids if i is not None]).values_list("id", "name"))


def cause_label(category: str, name: str) -> str:
    return f"{category} > {name}"


def cause_link(filters: ReportFilters, cause_id, **extra) -> str:
    params = {"view": "recently_closed", "root_cause": cause_id}
    if not any(k.startswith("closed_") for k in extra):
        params.update(date_params("closed", filters.start, filters.end))
    return inbox_url(filters, **params, **extra)


def cause_names(ids) -> dict[int, str]:
    return {
        c.pk: cause_label(c.category.name, c.name)
        for c in RootCause.objects.filter(pk__in=[i for i in ids if i]).select_related("category")
    }


def case_url(reference: str) -> str:
    for args in ([reference],):
        try:
            return reverse("cases:detail", args=args)
        except NoReverseMatch:
            continue
    try:
        return f"{reverse('cases:inbox')}?{urlencode({'q': reference})}"
    except NoReverseMatch:
        return ""


# --- rollups ---------------------------------------------------------------------------------
def _local_day(moment: dt.datetime | None, tz) -> dt.date | None | bool:
    """The local date of a midnight bound; False when the bound is not a local midnight."""
    if moment is None:
        return None
    local = moment.astimezone(tz)
    return local.date() if local.time() == dt.time.min else False


def rollup_rows(filters: ReportFilters, queryset):
    """A rollup's rows behind the filters (surveys.ScoreRollup, reporting.ClosureRollup,
    reporting.ThemeRollup: all keyed by local day, team, survey and touchpoint), or None when the filters narrow by something the
    rollups are not keyed by (location, customer tier or segment, a bound that is not a local
    midnight): the caller then reads the rows themselves. Team scoping is ReportFilters': the
    visible (or chosen) teams only."""
    if filters.location or filters.tier or filters.segment is not None:
        return None
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)  # the rollups' days (surveys.rollups)
    first, end = _local_day(filters.start, tz), _local_day(filters.end, tz)
    if first is False or end is False:
        return None
    qs = queryset.order_by()
    if filters.team_ids is not None:
        qs = qs.filter(team_id__in=filters.team_ids)
    if filters.survey_id:
        qs = qs.filter(survey_id=filters.survey_id)
    if filters.touchpoint:
        qs = qs.filter(touchpoint=filters.touchpoint)
    if first:
        qs = qs.filter(day__gte=first)
    if end:
        qs = qs.filter(day__lt=end)
    return qs


def segment_totals(filters: ReportFilters, queryset):
    """An every-team level's rows keyed by the segment bits and not by team nor survey
    (reporting.ClosureTotal, reporting.ThemeTotal: per local day, touchpoint and segment bits) of
    the bit patterns holding the filters' segment, or None when they do not answer the filters: not
    narrowed to a segment with a built bit (reporting.segment_bits), a viewer's teams, a survey,
    location or tier, or partial days (rollup_rows)."""
    if filters.segment is None or filters.team_ids is not None or filters.survey_id or filters.location or filters.tier:
        return None
    bit = bit_of(filters.segment)
    if bit is None:
        return None
    rows = rollup_rows(replace(filters, segment=None), queryset)
    return rows.filter(has_bits(bit)) if rows is not None else None


def local_date(value) -> dt.date:
    """A period's first day: a rollup's date as it is, a truncated timestamp in local time."""
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


# --- timeline ---------------------------------------------------------------------------------
def closure_events(filters: ReportFilters):
    """Every closure in the period (a reopened and re-closed case counts each time), from the
    timeline: the CLOSED event keeps what the close form offered and whether it was taken. The
    date range walks the index (kind, created_at)."""
    return filters.cases(
        CaseEvent.objects.filter(kind=CaseEvent.Kind.CLOSED), date_field="created_at", via="case__"
    ).order_by()


# --- cross-tabs -------------------------------------------------------------------------------
def crosstab_by_week(cells: list[dict], key: str, table: Table, *, label_of, link_of=None) -> Table:
    """Fill a weekly cross-tab of `key` from rows {"week", key, "n"}: a column per week (weeks
    start on Monday), newest first, and a total; rows by total, then label. `label_of(ids)` gives {id: label};
    `link_of(id, week_start=None)`, when given, the drill-down URL of a row's total or of a cell."""
    weeks = sorted({c["week"] for c in cells}, reverse=True)  # newest first: the week people look at
    totals: dict[int, int] = defaultdict(int)
    grid: dict[int, dict] = defaultdict(dict)
    for c in cells:
        totals[c[key]] += c["n"]
        grid[c[key]][c["week"]] = c["n"]
    labels = label_of(totals)
    week_keys = [(w, "w" + local_date(w).isoformat()) for w in weeks]
    label_column = table.columns[0].key
    table.columns += [*[Column(k, k[1:], True) for _, k in week_keys], Column("total", _("Total"), True)]
    for row_id in sorted(totals, key=lambda i: (-totals[i], labels.get(i, ""))):
        row = {label_column: labels.get(row_id, "?"), "total": totals[row_id]}
        links = {"total": link_of(row_id)} if link_of else {}
        for week, week_key in week_keys:
            row[week_key] = grid[row_id].get(week, 0)
            if link_of:
                links[week_key] = link_of(row_id, local_date(week))
        table.add(row, links)
    return table


def crosstab_by_touchpoint(cells: list[dict], key: str, table: Table, *, label_of, link_of) -> Table:
    """Fill a cross-tab of `key` x touchpoint from rows {key, "response__touchpoint", "n"}: the
    busiest touchpoints as columns (the rest summed in "Other"), rows by total. `label_of(ids)`
    gives {id: label}; `link_of(id, **extra)` the drill-down URL of a row or a cell."""
    by_touchpoint: dict[str, int] = defaultdict(int)
    totals: dict[int, int] = defaultdict(int)
    for c in cells:
        by_touchpoint[c["response__touchpoint"] or ""] += c["n"]
        totals[c[key]] += c["n"]
    ordered = sorted(by_touchpoint, key=lambda t: (-by_touchpoint[t], t))
    shown = ordered[:MAX_TOUCHPOINT_COLUMNS]
    other = len(ordered) > len(shown)
    keys = {tp: f"tp{i}" for i, tp in enumerate(shown)}
    label_column = table.columns[0].key
    table.columns += [*[Column(keys[tp], tp or "(none)", True) for tp in shown]]
    if other:
        table.columns.append(Column("other", _("Other"), True))
    table.columns.append(Column("total", _("Total"), True))
    grid: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for c in cells:
        grid[c[key]][keys.get(c["response__touchpoint"] or "", "other")] += c["n"]
    labels = label_of(totals)
    for row_id in sorted(totals, key=lambda i: (-totals[i], labels.get(i, ""))):
        row = {label_column: labels.get(row_id, "?"), "total": totals[row_id]}
        links = {"total": link_of(row_id)}
        for tp in shown:
            row[keys[tp]] = grid[row_id].get(keys[tp], 0)
            if tp:
                links[keys[tp]] = link_of(row_id, touchpoint=tp)
        if other:
            row["other"] = grid[row_id].get("other", 0)
        table.add(row, links)
    return table


class Epoch(Func):
    """A timestamp as POSIX seconds (a float), for the rows a selector times in Python by the
    ten thousand: a number is read back far more cheaply than a datetime is parsed."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(julianday(%(expressions)s) - 2440587.5) * 86400.0",
                           **extra_context)
