"""The inbox's list query keeps the shape that keeps it flat at 1,000,000 cases (docs/inbox.md,
"Query plans"; figures in docs/benchmarks_inbox.md): a later page seeks with one row-value
comparison, never the OR-expanded "k1 > v1 OR (k1 = v1 AND ...)" that PostgreSQL turned into bitmap
scans of every row after the cursor; no SELECT DISTINCT (a filter of the case's own columns
cannot repeat a row); and on PostgreSQL the page is an index scan of the sort's partial index,
started at the cursor, with no sort of every matching case."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from cases import keyset
from cases.filtersets import inbox_filterset
from cases.ordering import SORTS
from cases.views.inbox_lists import row_queryset
from tests.inbox.helpers import make_case

ALL_SORTS = ["", *SORTS]
OPEN_VIEWS = ["mine", "unassigned", "team", "overdue", "due_soon"]
ROW_COMPARISON = re.compile(r"\) (<|>) \(")


@pytest.fixture
def north_cases(personas):
    """Two cases in each of the views: Alice's, unassigned, overdue, due soon (the rest later)."""
    alice, north = personas.alice, personas.north
    for assignee in (alice, alice, None, None):
        make_case(north, assignee=assignee, first_contact_in=timedelta(hours=20), resolution_in=timedelta(hours=40))
    for due in (timedelta(hours=-3), timedelta(hours=-1)):  # overdue
        make_case(north, assignee=alice, first_contact_in=due, priority="high")
    for due in (timedelta(minutes=20), timedelta(minutes=50)):  # due soon
        make_case(north, first_contact_in=due, priority="urgent")


def list_queryset(user, query: str):
    """The page's list query, built as cases.views.inbox builds it."""
    filterset = inbox_filterset(user, QueryDict(query))
    assert filterset.is_valid(), filterset.errors
    return row_queryset(filterset)


def page_two_sql(user, query: str) -> str:
    queryset = list_queryset(user, query)
    first = keyset.paginate(queryset, size=1)
    assert first.has_next, query
    with CaptureQueriesContext(connection) as queries:
        keyset.paginate(queryset, after=first.next_cursor, size=1)
    (captured,) = queries.captured_queries
    return captured["sql"]


def query_of(view: str, sort: str, extra: str = "") -> str:
    return f"view={view}" + (f"&sort={sort}" if sort else "") + (f"&{extra}" if extra else "")


@pytest.mark.parametrize("sort", ALL_SORTS)
@pytest.mark.parametrize("view", OPEN_VIEWS)
def test_a_later_page_seeks_with_one_row_comparison(personas, north_cases, view, sort):
    sql = page_two_sql(personas.alice, query_of(view, sort))
    where = sql[sql.index(" WHERE "):]
    assert len(ROW_COMPARISON.findall(where)) == 1, where
    assert " OR " not in where.upper(), where
    assert "DISTINCT" not in sql.upper()


@pytest.mark.parametrize("extra", ["team={north}", "assignee={alice}", "priority=urgent&priority=high",
                                   "root_cause={cause}"])
def test_the_multiple_choice_filters_add_no_distinct(personas, north_cases, extra):
    from tests.inbox.helpers import root_causes

    values = {"north": personas.north.pk, "alice": personas.alice.pk, "cause": root_causes()["wait"].pk}
    sql = str(list_queryset(personas.alice, query_of("team", "", extra.format(**values))).query)
    assert "DISTINCT" not in sql.upper()


# Which partial index serves each (view, sort): the team's, or for "My open" the assignee's (the
# planner may walk the team's and filter the assignee on a small table; both keep the order).
INDEX_KEY = {"": "next_due", "due": "next_due", "due_desc": "next_due", "newest": "created",
             "oldest": "created", "priority": "prio", "value": "value", "churn": "churn"}


def _plan(sql: str) -> dict:
    with connection.cursor() as cursor:
        # A test table is tiny: PostgreSQL rightly reads it whole and sorts it. Priced out of those,
        # the plan shows whether an index serves the order and the seek (a Sort would remain if
        # none could), which is what lets it walk one page at 1,000,000 cases.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        raw = cursor.fetchone()[0]
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize("sort", ALL_SORTS)
@pytest.mark.parametrize("view", ["mine", "unassigned", "team", "overdue"])
def test_a_later_page_walks_the_sorts_index_from_the_cursor(personas, north_cases, view, sort):
    plan = _plan(page_two_sql(personas.alice, query_of(view, sort)))
    nodes = list(_nodes(plan))
    scans = [n for n in nodes if n["Node Type"] in ("Index Scan", "Index Only Scan")
             and n.get("Relation Name") == "cases_case"]
    names = {f"cases_case_open_team_{INDEX_KEY[sort]}", f"cases_case_open_asg_{INDEX_KEY[sort]}"}
    assert [n["Index Name"] for n in scans if n["Index Name"] in names], [n.get("Index Name") for n in scans]
    (scan,) = [n for n in scans if n["Index Name"] in names]
    # The cursor bounds the scan (">=" / "<=" on the order's first key, or the row comparison).
    assert re.search(r"(>=|<=|>|<)", scan.get("Index Cond", "")), scan
    # No sort of every matching case: at most an incremental sort of ties, and no DISTINCT.
    assert not [n for n in nodes if n["Node Type"] in ("Sort", "Unique", "HashAggregate")], \
        [n["Node Type"] for n in nodes]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's statistics")
def test_the_planner_has_the_statistics_the_inbox_relies_on(db):
    """Without them PostgreSQL expected 24 of an agent's 5,000 open cases (assignee and team taken
    as independent) and a handful of a team's cases for a touchpoint or location, and sorted every
    matching case (130-300 ms at 1,000,000 cases) instead of walking one page of an index."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT stxname, stxkind FROM pg_statistic_ext ORDER BY stxname")
        kinds = {name: sorted(kind) for name, kind in cursor.fetchall()}
    assert kinds["cases_case_assignee_team"] == ["f"]  # functional dependencies
    assert "e" in kinds["surveys_response_upper_touchpoint"]  # expression statistics
    assert "e" in kinds["surveys_response_upper_location_region"]
