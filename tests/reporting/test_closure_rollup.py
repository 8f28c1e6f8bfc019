"""The root-causes page's Pareto, weekly, heat-map, score and prevention panels and the recovery
page's tables by team and root cause read the closure rollup (reporting.ClosureRollup, kept by
database triggers); their figures must be what the closed cases themselves give, whatever happens
to the cases and their responses afterwards."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case
from customers.services.merging import customer_merge
from reporting import rollups, selectors
from reporting.filters import ReportFilters
from reporting.models import ClosureRollup, ClosureTotal
from reporting.selectors import recovery, root_causes
from surveys.models import SurveyResponse
from tests.reporting import builders as b

UTC = dt.UTC
START, END = dt.datetime(2025, 3, 1, tzinfo=UTC), dt.datetime(2025, 5, 1, tzinfo=UTC)
PANELS = (
    "root_cause_pareto",
    "root_cause_weekly",
    "root_cause_by_touchpoint",
    "root_cause_scores",
    "root_cause_prevention",
    "recovery_by_team",
    "recovery_by_root_cause",
)


def panels(filters: ReportFilters) -> dict:
    return {
        name: (
            getattr(selectors, name)(filters).rows,
            getattr(selectors, name)(filters).links,
        )
        for name in PANELS
    }


def direct(filters: ReportFilters, monkeypatch) -> dict:
    """The same panels computed from the closed cases themselves (the rollup set aside)."""
    with monkeypatch.context() as m:
        m.setattr(root_causes, "rollup_rows", lambda *args: None)
        m.setattr(recovery, "rollup_rows", lambda *args: None)
        return panels(filters)


def totals() -> dict[tuple, tuple]:
    """The closure totals (reporting.ClosureTotal) summed per key, keys whose cases all went left out."""
    sums: dict[tuple, list] = {}
    for row in ClosureTotal.objects.all():
        key = tuple(getattr(row, k) for k in rollups.TOTALS.key)
        counts = [getattr(row, c) for c in rollups.TOTALS.counts]
        sums[key] = [a + b for a, b in zip(sums[key], counts)] if key in sums else counts
    return {key: tuple(round(v, 9) for v in counts) for key, counts in sums.items() if counts[0]}


def totals_recomputed() -> dict[tuple, tuple]:
    """The same, computed from the closed cases and their responses now (what rebuild() writes)."""
    level = rollups.TOTALS
    with connection.cursor() as cursor:
        cursor.execute(level._aggregate(level._signed(1, "c", "r", "cases_case c JOIN surveys_surveyresponse r "
                                                                   "ON r.id = c.response_id", "c.status = 'closed'")))
        found = cursor.fetchall()
    width = len(level.key)
    return {tuple(row[:width]): tuple(round(v, 9) for v in row[width:width + len(level.counts)]) for row in found
            if row[width]}


def assert_same_as_direct(make_filters, monkeypatch) -> None:
    """`make_filters()` gives a new ReportFilters each time (a request's own, as the page's are)."""
    assert totals() == totals_recomputed()  # the every-team totals kept by their triggers too
    served = panels(make_filters())
    assert served == direct(make_filters(), monkeypatch)
    assert served["root_cause_pareto"][0]  # something to compare
    assert served["recovery_by_team"][0]


def manager(personas, **extra):
    return lambda: ReportFilters(
        team_ids=frozenset({personas.north.pk, personas.south.pk}),
        start=START,
        end=END,
        **extra,
    )


@pytest.fixture
def closures(personas):
    """48 closed cases over two teams, three causes, two surveys, three touchpoints and eight weeks
    (midnight edges too), opened by answers with every kind of score, two in three of whose
    customers answered again two days after the closure; and two open cases."""
    causes = [
        b.cause("Late"),
        b.cause("Defect", "Product"),
        b.cause("Attitude", "Staff"),
    ]
    surveys = [b.survey("Relationship"), b.survey("Onboarding")]
    teams = itertools.cycle([personas.north, personas.south, personas.north])
    touchpoints = itertools.cycle(["Store", "Web", "", "Store"])
    scores = itertools.cycle(
        [
            {"nps": 2, "csat": 1, "ces": 2},
            {"nps": 9},
            {
                "nps": 6,
                "csat": 4,
                "csat_scale": (1, 10),
                "ces": 5,
                "ces_scale": (1, 5),
                "ces_high_is_easy": False,
            },
            {"csat": 3, "csat_scale": (3, 3), "ces": 4, "ces_scale": (4, 4)},
            {},
        ]
    )
    cases = []
    for i in range(48):
        team = next(teams)
        when = START + dt.timedelta(
            days=i + 1, hours=(0, 23, 12)[i % 3], minutes=(0, 59, 30)[i % 3]
        )
        who = b.customer()
        resp = b.response(
            team,
            at=when - dt.timedelta(hours=5),
            touchpoint=next(touchpoints),
            on_survey=surveys[i % 2],
            who=who,
            **next(scores),
        )
        cases.append(
            b.case(
                team,
                created=when - dt.timedelta(hours=4),
                resp=resp,
                closed=when,
                root_cause=causes[(i * i) % 3],
                prevention="Check stock" if i % 4 == 0 else "",
            )
        )
        if i % 3 != 2:  # answered again (NPS) after the closure: the recovery tables
            b.response(team, at=when + dt.timedelta(days=2), nps=(i * 7) % 11, who=who)
    b.case(personas.north, created=START + dt.timedelta(days=3))
    b.case(personas.south, created=START + dt.timedelta(days=4))
    return cases


def test_the_panels_share_one_rollup_query(client, personas, closures):
    client.force_login(personas.adam)
    with CaptureQueriesContext(connection) as queries:
        assert (
            client.get(
                "/reports/root-causes/?date_from=2025-03-01&date_to=2025-04-30"
            ).status_code
            == 200
        )
    assert sum("reporting_closurerollup" in q["sql"] for q in queries) == 1
    assert not any(
        '"cases_case"."root_cause_id"' in q["sql"] and "GROUP BY" in q["sql"]
        for q in queries
    )


def test_the_rollup_gives_what_the_cases_give(personas, closures, monkeypatch):
    assert ClosureRollup.objects.filter(fresh=True).exists()
    assert_same_as_direct(manager(personas), monkeypatch)
    assert_same_as_direct(
        lambda: ReportFilters(team_ids=None, start=START, end=END), monkeypatch
    )  # an admin
    assert_same_as_direct(manager(personas, touchpoint="Web"), monkeypatch)
    assert_same_as_direct(
        manager(personas, survey_id=b.survey("Onboarding").pk), monkeypatch
    )
    assert_same_as_direct(
        lambda: ReportFilters(
            team_ids=frozenset({personas.south.pk}),
            start=START + dt.timedelta(days=10),
            end=END,
        ),
        monkeypatch,
    )
    assert_same_as_direct(
        lambda: ReportFilters(team_ids=frozenset({personas.north.pk})), monkeypatch
    )  # all time


def test_it_stays_exact_through_reopening_reclosing_and_rescoring(
    personas, closures, monkeypatch
):
    late = closures[0].root_cause
    Case.objects.filter(pk=closures[1].pk).update(
        status=Case.Status.IN_PROGRESS, closed_at=None
    )  # reopened
    Case.objects.filter(pk=closures[2].pk).update(
        root_cause=late, prevention="Call earlier"
    )  # re-closed otherwise
    Case.objects.filter(pk=closures[3].pk).update(
        closed_at=START + dt.timedelta(days=50)
    )  # closed again later
    Case.objects.filter(pk=closures[4].pk).update(
        team=personas.north
    )  # moved to another team
    Case.objects.filter(pk=closures[5].pk).update(
        version=9, first_contacted_at=START
    )  # nothing the rollup reads
    SurveyResponse.objects.filter(pk=closures[6].response_id).update(
        nps=10, touchpoint="Phone"
    )  # rescored
    SurveyResponse.objects.filter(pk=closures[7].response_id).update(csat=None, ces=7)
    open_case = Case.objects.exclude(status=Case.Status.CLOSED).first()
    Case.objects.filter(pk=open_case.pk).update(
        status=Case.Status.CLOSED,
        closed_at=START + dt.timedelta(days=8),
        root_cause=late,
        resolution="Done",
        outcome=Case.Outcome.RESOLVED,
    )
    Case.objects.filter(pk=closures[15].pk).update(answered_again_nps=10)  # a later answer linked instead
    Case.objects.filter(pk=closures[16].pk).update(
        answered_again=None, answered_again_at=None, answered_again_nps=None
    )  # unlinked (reopened, as cases.services.flow clears it)
    Case.objects.filter(pk=closures[13].pk).update(customer=None)  # no customer: not "answered again"
    Case.objects.filter(pk__in=[c.pk for c in closures[10:13]]).delete()
    assert_same_as_direct(manager(personas), monkeypatch)


def test_a_customer_merge_changes_no_root_cause_figure(personas, closures, monkeypatch):
    def root_cause_panels():
        return {k: v for k, v in panels(manager(personas)()).items() if k.startswith("root_cause")}

    before = root_cause_panels()
    customer_merge(
        merged_id=closures[1].customer_id,
        target_id=closures[2].customer_id,
        by=personas.adam,
    )
    assert root_cause_panels() == before
    # Recovery may change (the merged customer's answers are linked anew), as the cases say.
    assert_same_as_direct(manager(personas), monkeypatch)


def test_compaction_and_rebuild_keep_the_figures(personas, closures, monkeypatch):
    Case.objects.filter(pk__in=[c.pk for c in closures[:6]]).update(
        status=Case.Status.IN_PROGRESS, closed_at=None
    )
    fresh = ClosureRollup.objects.filter(fresh=True).count()
    assert rollups.ROLLUP.compact() == fresh
    assert not ClosureRollup.objects.filter(fresh=True).exists()
    assert not ClosureRollup.objects.filter(cases=0).exists()
    keys = ClosureRollup.objects.values(
        "day", "team_id", "root_cause_id", "survey_id", "touchpoint"
    )
    assert (
        keys.count() == keys.distinct().count() == 42
    )  # one row per key: 48 cases, 6 reopened
    assert_same_as_direct(manager(personas), monkeypatch)
    ClosureRollup.objects.all().delete()
    assert rollups.ROLLUP.rebuild() == 42
    assert rollups.ROLLUP.rebuild() == 42  # a re-run writes the same rows
    assert_same_as_direct(manager(personas), monkeypatch)


def test_the_closure_totals_ignore_team_moves_and_fold_and_rebuild_alike(personas, closures):
    """The every-team totals are not keyed by team: a team move writes them nothing."""
    before = ClosureTotal.objects.count()
    Case.objects.filter(pk__in=[c.pk for c in closures[:6]]).update(team=personas.north)
    assert ClosureTotal.objects.count() == before
    Case.objects.filter(pk__in=[c.pk for c in closures[:3]]).update(status=Case.Status.IN_PROGRESS, closed_at=None)
    expected = totals_recomputed()
    assert totals() == expected
    assert rollups.TOTALS.compact() > 0
    assert not ClosureTotal.objects.filter(fresh=True).exists()
    assert totals() == expected
    assert rollups.TOTALS.rebuild() == ClosureTotal.objects.count() == len(expected)
    assert totals() == expected


def test_the_closure_totals_keyed_by_bits_as_a_customers_segments_move_their_counts(
        personas, closures, django_capture_on_commit_callbacks):
    """The bits are a key (PostgreSQL's segment bits): a customer who joins a segment moves their
    closed cases' counts to the new bit pattern."""
    from django.db import transaction

    from segments.models import Segment
    from segments.services import segment_save
    from surveys.models import Customer

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        segment_save(Segment(name="Gold", conditions=[{"field": "tier", "operator": "equals", "value": "gold"}]))
    assert {key[3] for key in totals()} == {0}
    customer = closures[0].customer_id
    Customer.objects.filter(pk=customer).update(tier="gold")
    theirs = Case.objects.filter(customer_id=customer, status=Case.Status.CLOSED).count()
    assert theirs and sum(counts[0] for key, counts in totals().items() if key[3] == 1) == theirs
    assert totals() == totals_recomputed()
    Customer.objects.filter(pk=customer).update(tier="silver")
    assert {key[3] for key in totals()} == {0}
    assert totals() == totals_recomputed()


def test_team_scoping_is_kept(personas, closures):
    north = ReportFilters(team_ids=frozenset({personas.north.pk}), start=START, end=END)
    assert sum(r["cases"] for r in selectors.root_cause_pareto(north).rows) == 32
    nobody = ReportFilters(team_ids=frozenset(), start=START, end=END)
    assert selectors.root_cause_pareto(nobody).rows == []


def test_emptying_the_tables_empties_the_rollups(personas, closures):
    from surveys.models import ScoreRollup

    with connection.cursor() as cursor:
        # the test's own inserts have deferred checks pending: TRUNCATE refuses to run before them
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE cases_case CASCADE")
    assert not ClosureRollup.objects.exists()
    assert ScoreRollup.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE surveys_surveyresponse CASCADE")
    assert not ScoreRollup.objects.exists()
