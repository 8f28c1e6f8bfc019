"""The root-causes page's panels share one statement over the closure rollup, summed by week, root
cause and touchpoint (reporting.selectors.root_causes._closure_cells). It runs with the memory to
keep those cells in a hash table: in the default 4 MB an admin's 90 days at 10,000,000 responses
(200,000 rollup rows into 4,300 cells) were sorted with 24 MB spilled to disk, 380 ms where the
hash takes 146 ms (docs/benchmarks_reports.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reporting.filters import ReportFilters
from reporting.selectors import root_causes
from tests.reporting import builders as b

pytestmark = pytest.mark.django_db

START, END = dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_cells_are_summed_with_the_memory_set_for_them(personas):
    cause = b.cause("Late delivery")
    b.case(personas.north, created=dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
           closed=dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC), root_cause=cause)
    every_team = ReportFilters(team_ids=None, start=START, end=END, now=END)
    root_causes._closure_cells.cache_clear()
    with CaptureQueriesContext(connection) as ctx:
        cells = root_causes._closure_cells(every_team)
    statements = [q["sql"] for q in ctx.captured_queries]
    rollup = next(i for i, sql in enumerate(statements) if "reporting_closurerollup" in sql)
    assert statements[rollup - 1] == "SET LOCAL work_mem = '64MB'"
    assert [(c["root_cause_id"], c["cases"]) for c in cells] == [(cause.pk, 1)]
    root_causes._closure_cells.cache_clear()
