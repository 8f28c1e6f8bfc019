"""Recovery: customers who answered again after their case closed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from reporting import selectors
from reporting.selectors.recovery import newest_answered_again
from segments.models import Segment
from segments.services import segment_save
from tests.reporting import builders as b
from tests.reporting.test_kpis import MON, TUE, scope


def test_score_change_and_recovery_rate(personas):
    north, late = personas.north, b.cause("Late")
    ann, ben, cat, dan = (b.customer(name) for name in ("Ann", "Ben", "Cat", "Dan"))

    def loop(who, before, after):
        resp = b.response(north, at=MON, nps=before, who=who)
        b.case(north, created=MON, resp=resp, closed=MON + dt.timedelta(hours=6), root_cause=late)
        if after is not None:
            b.response(north, at=TUE, nps=after, who=who)

    loop(ann, 2, 9)  # detractor -> promoter: recovered, +7
    loop(ben, 4, 6)  # still a detractor, +2
    loop(cat, 8, 10)  # passive before: not in the recovery rate's base, +2
    loop(dan, 1, None)  # never answered again: not counted
    row = selectors.recovery_by_team(scope(north)).rows[0]
    assert row["group"] == "North"
    assert row["answered_again"] == 3
    assert (row["avg_before"], row["avg_after"], row["avg_change"]) == (4.7, 8.3, 3.7)
    assert (row["detractors_before"], row["recovered"], row["recovery_pct"]) == (2, 1, 50.0)
    by_cause = selectors.recovery_by_root_cause(scope(north)).rows[0]
    assert (by_cause["group"], by_cause["recovery_pct"]) == ("T Delivery > Late", 50.0)
    customers = {r["customer"]: r["change"] for r in selectors.recovery_customers(scope(north)).rows}
    assert customers == {"Ann": 7, "Ben": 2, "Cat": 2}


def test_answer_before_closure_is_not_recovery(personas):
    who = b.customer("Eve")
    resp = b.response(personas.north, at=MON, nps=2, who=who)
    b.response(personas.north, at=MON + dt.timedelta(hours=1), nps=10, who=who)  # before the closure
    b.case(personas.north, created=MON, resp=resp, closed=MON + dt.timedelta(hours=6))
    assert selectors.recovery_by_team(scope(personas.north)).rows == []


@pytest.fixture
def gold(django_capture_on_commit_callbacks):
    """A segment of gold-tier customers, saved as the settings page saves it (on PostgreSQL its bit
    is built after the commit: reporting.segment_bits)."""
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            segment = segment_save(Segment(name="Gold", match="all",
                                           conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    return Segment.objects.select_related("bit").get(pk=segment.pk)


def _answered_again(team, who, *, closed_hour: int, again_hour: int, before: int = 2, after: int = 9):
    resp = b.response(team, at=MON, nps=before, who=who)
    case = b.case(team, created=MON, resp=resp, closed=MON + dt.timedelta(hours=closed_hour))
    b.response(team, at=TUE + dt.timedelta(hours=again_hour), nps=after, who=who)
    return case


def test_the_list_filtered_to_a_segment_is_its_newest_answers(personas, gold, monkeypatch):
    """Recovery narrowed to a segment: the list is the segment's cases answered again, newest answer
    first, cut at MAX_LIST_ROWS after the filter (the newest ids are chosen among the segment's cases,
    then read); the tables count the segment's cases only."""
    north = personas.north
    ann, ben, cat = (b.customer(name, tier="gold") for name in ("Ann", "Ben", "Cat"))
    silver = b.customer("Sil", tier="silver")
    _answered_again(north, ann, closed_hour=6, again_hour=1)
    _answered_again(north, ben, closed_hour=7, again_hour=3, after=5)
    _answered_again(north, cat, closed_hour=8, again_hour=2)
    _answered_again(north, silver, closed_hour=9, again_hour=4)  # the newest answer: not gold
    filters = scope(north, segment=gold)
    shown = [(r["customer"], r["change"]) for r in selectors.recovery_customers(filters).rows]
    assert shown == [("Ben", 3), ("Cat", 7), ("Ann", 7)]
    monkeypatch.setattr("reporting.selectors.recovery.MAX_LIST_ROWS", 2)
    assert [r["customer"] for r in selectors.recovery_customers(filters).rows] == ["Ben", "Cat"]
    assert [r["customer"] for r in selectors.recovery_customers(scope(north)).rows] == ["Sil", "Ben"]
    row = selectors.recovery_by_team(filters).rows[0]
    assert (row["answered_again"], row["detractors_before"], row["recovered"]) == (3, 3, 2)


def test_recovery_filtered_to_a_segment_reads_only_indexed_columns(personas, gold):
    """Recovery narrowed to a segment (its sums by team and root cause, and the ids of its list) and
    the segment comparison's recovery figures read only columns of the covering index of closed
    cases answered again (cases_case_recovery_closed, reporting 0017): at 1,000,000 cases these
    are index-only scans of the period, where each was a sequential scan of every case. Read from
    the plan (EXPLAIN VERBOSE), not assumed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.reporting.plans import columns_read, index_columns

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    _answered_again(personas.north, b.customer("Ann", tier="gold"), closed_hour=6, again_hour=1)
    filters = scope(personas.north, segment=gold)
    with CaptureQueriesContext(connection) as captured:
        selectors.recovery_by_team(filters)
        list(newest_answered_again(filters))
        list(selectors.segment_comparison(scope(personas.north)).rows)
    statements = [q["sql"] for q in captured.captured_queries
                  if '"cases_case"' in q["sql"] and '"answered_again_nps" IS NOT NULL' in q["sql"]]
    assert len(statements) == 3, statements  # the sums, the list's ids, the comparison's recovery
    read = columns_read(statements, ("cases_case",))["cases_case"]
    assert {"segment_bits", "answered_again_nps", "response_nps", "closed_at"} <= read, read
    # status: the index's condition (closed cases), which a tiny table's sequential scan tests itself
    assert read <= index_columns("cases_case_recovery_closed") | {"status"}, read
