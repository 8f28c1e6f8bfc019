"""How PostgreSQL groups the theme rollup's cells (reporting.selectors.themes.rollup_cells): the
statement runs with the memory to keep the cells in a hash table, and the statistics of reporting
0018 are on the very expression it groups by, so the planner knows how few cells there are. Without
either it sorted every rollup row of the period (an admin's 90 days at 10,000,000 responses: 282,000
rows into 3,120 cells, spilling to disk; docs/benchmarks_reports.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reporting.filters import ReportFilters
from reporting.models import ThemeRollup
from reporting.selectors import themes as theme_selectors
from reporting.selectors.themes import rollup_cells
from tests.factories import TeamFactory
from tests.reporting.plans import explain

pytestmark = pytest.mark.django_db

THEMES, TOUCHPOINTS, WEEKS, TEAMS, SURVEYS = (101, 102), ("web", "store"), 3, 4, 5
ZEROS = dict.fromkeys(("unsolicited", "rated", "positive", "negative", "nps_n", "promoters", "passives", "detractors",
                       "csat_n", "csat_top2", "ces_n", "ces_ease_n", "ces_high_effort"), 0)


def _fill() -> int:
    """Rollup rows for every day of three weeks, theme, touchpoint, team and survey: 2 x 2 x 3 = 12
    cells from 2,520 rows. Returns the cells."""
    monday = dt.date(2026, 3, 2)
    ThemeRollup.objects.bulk_create([
        ThemeRollup(day=monday + dt.timedelta(days=d), theme_id=theme, team_id=team, survey_id=survey, touchpoint=tp,
                    tags=1, sentiment_sum=0.0, ces_ease_sum=0.0, **ZEROS)
        for d in range(7 * WEEKS) for theme in THEMES for tp in TOUCHPOINTS for team in range(1, TEAMS + 1)
        for survey in range(1, SURVEYS + 1)
    ])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reporting_themerollup")
    return len(THEMES) * len(TOUCHPOINTS) * WEEKS


def _estimated_groups(queryset) -> int:
    """The planner's estimate of the groups of `queryset`'s aggregate node."""
    node = explain(*queryset.query.sql_with_params())
    while node["Node Type"] != "Aggregate":
        node = node["Plans"][0]
    return node["Plan Rows"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_planner_knows_how_few_cells_there_are():
    cells = _fill()
    assert len(rollup_cells(ThemeRollup.objects.all())) == cells
    # The statistics on (theme, touchpoint, week) give the 12 cells there are; multiplying the
    # columns' separate counts (2 themes x 2 touchpoints x 21 days) it expected 84. Either way the
    # planner keeps a third of them for the condition on the sum of tags (HAVING: 4 of 12, 28 of 84).
    assert _estimated_groups(rollup_cells(ThemeRollup.objects.all())) == 4
    with connection.cursor() as cursor:
        cursor.execute("DROP STATISTICS reporting_themerollup_cells")
        cursor.execute("ANALYZE reporting_themerollup")
    assert _estimated_groups(rollup_cells(ThemeRollup.objects.all())) == 28


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_cells_are_grouped_with_the_memory_set_for_them():
    team = TeamFactory()
    filters = ReportFilters(team_ids=frozenset({team.pk}), start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                            end=dt.datetime(2026, 4, 1, tzinfo=dt.UTC), now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    theme_selectors._theme_cells.cache_clear()
    with CaptureQueriesContext(connection) as ctx:
        theme_selectors._theme_cells(filters)
    statements = [q["sql"] for q in ctx.captured_queries]
    rollup = next(i for i, sql in enumerate(statements) if "reporting_themerollup" in sql)
    assert statements[rollup - 1] == "SET LOCAL work_mem = '64MB'"
    theme_selectors._theme_cells.cache_clear()
