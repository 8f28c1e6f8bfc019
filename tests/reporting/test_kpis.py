"""KPI arithmetic against figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from reporting import selectors
from reporting.filters import ReportFilters
from tests.reporting import builders as b

UTC = dt.timezone.utc
# A week in the past with a known calendar: Fri 7 March 2025, Mon 10 March, Tue 11 March.
FRI = dt.datetime(2025, 3, 7, tzinfo=UTC)
MON = dt.datetime(2025, 3, 10, tzinfo=UTC)
TUE = dt.datetime(2025, 3, 11, tzinfo=UTC)
NOW = dt.datetime(2025, 3, 14, 12, tzinfo=UTC)
START, END = dt.datetime(2025, 3, 1, tzinfo=UTC), dt.datetime(2025, 4, 1, tzinfo=UTC)


def scope(*teams, **extra) -> ReportFilters:
    return ReportFilters(team_ids=frozenset(t.pk for t in teams), start=START, end=END, now=NOW, **extra)


def only_row(table):
    assert len(table.rows) == 1, table.rows
    return table.rows[0]


@pytest.fixture
def north(personas):
    # Mon-Fri 09:00-17:00 UTC, no public holidays: the default calendar.
    return personas.north


def test_no_data_gives_empty_tables_not_errors(north):
    filters = scope(north)
    assert selectors.kpis(filters, "team").rows == []
    assert selectors.scores_trend(filters, "week").rows == []
    assert selectors.scores_by(filters, "touchpoint").rows == []
    assert selectors.root_cause_pareto(filters).rows == []
    assert selectors.recovery_by_team(filters).rows == []


def test_business_hour_durations_across_a_weekend(north):
    # Created Friday 16:00, first contact Monday 10:00 -> 1 h Friday + 1 h Monday = 2 business h.
    # Closed Tuesday 10:00 -> 1 + 8 + 1 = 10 business h.
    b.case(north, created=FRI.replace(hour=16), contacted=MON.replace(hour=10), closed=TUE.replace(hour=10),
           first_contact_due=MON.replace(hour=12), resolution_due=TUE.replace(hour=17))
    # Monday 09:00 -> contact 13:00 (4 h), closed 15:00 (6 h).
    b.case(north, created=MON.replace(hour=9), contacted=MON.replace(hour=13), closed=MON.replace(hour=15),
           first_contact_due=MON.replace(hour=11), resolution_due=MON.replace(hour=14))
    row = only_row(selectors.kpis(scope(north), "team"))
    assert row["first_contact_median_h"] == 3.0  # (2 + 4) / 2
    assert row["first_contact_p90_h"] == 3.8  # 2 + 0.9 * (4 - 2)
    assert row["close_median_h"] == 8.0  # (10 + 6) / 2
    assert row["close_p90_h"] == 9.6  # 6 + 0.9 * (10 - 6)
    # First contact: 10:00 <= 12:00 met, 13:00 > 11:00 missed. Resolution: met, 15:00 > 14:00 missed.
    assert row["first_contact_sla_pct"] == 50.0
    assert row["resolution_sla_pct"] == 50.0
    assert row["root_cause_pct"] == 100.0


def test_sla_compliance_leaves_out_clocks_still_running(north):
    b.case(north, created=MON.replace(hour=9), contacted=MON.replace(hour=10), first_contact_due=MON.replace(hour=11))  # met
    b.case(north, created=MON.replace(hour=9), contacted=MON.replace(hour=12), first_contact_due=MON.replace(hour=11))  # missed
    b.case(north, created=MON.replace(hour=9), first_contact_due=MON.replace(hour=11))  # not contacted, ran out
    b.case(north, created=MON.replace(hour=9), first_contact_due=NOW + dt.timedelta(hours=2),
           resolution_due=NOW + dt.timedelta(hours=9))  # still running: left out
    row = only_row(selectors.kpis(scope(north), "team"))
    assert row["cases"] == 4
    assert row["open"] == 4
    assert row["first_contact_sla_pct"] == 33.3
    # Resolution: three are open past their due (MON+48 h < NOW), one still running: 0 of 3 met.
    assert row["resolution_sla_pct"] == 0.0
    assert row["close_median_h"] is None  # nothing closed yet
    assert row["root_cause_pct"] is None


def test_reopen_rate_and_open_value_at_risk(north):
    closed_at = MON.replace(hour=15)
    b.case(north, created=MON.replace(hour=9), closed=closed_at, reopen_count=1, value="100")  # reopened, closed again
    b.case(north, created=MON.replace(hour=9), closed=closed_at, value="200")  # closed once
    b.case(north, created=MON.replace(hour=9), reopen_count=1, value="300.50")  # reopened, open now
    b.case(north, created=MON.replace(hour=9), value="400")  # never closed
    row = only_row(selectors.kpis(scope(north), "team"))
    assert row["reopen_pct"] == 66.7  # 2 reopened of 3 ever closed
    assert str(row["value_at_risk"]) == "700.50"  # the two open ones


def test_coverage_counts_low_scores_that_got_a_case(north):
    at = MON.replace(hour=10)
    with_case = b.response(north, at=at, nps=3)
    b.case(north, created=at, resp=with_case)
    b.response(north, at=at, nps=5)  # detractor, no case
    attached = b.response(north, at=at, csat=1)  # bottom-2 CSAT attached to an existing case
    b.attach(b.case(north, created=at), attached)
    by_rule = b.response(north, at=at, nps=9)  # a rule opened-case alert on a promoter (e.g. keyword)
    b.open_case_alert(by_rule)
    b.response(north, at=at, nps=8)  # passive: not low
    b.response(north, at=at, csat=3)  # middle CSAT: not low
    row = only_row(selectors.kpis(scope(north), "team"))
    # low: nps 3, nps 5, csat 1, alert (+ the nps 2 that opened the extra case) = 5; covered: 3.
    assert row["low_scores"] == 5
    assert row["coverage_pct"] == 60.0


def test_kpis_by_period_location_and_touchpoint(north):
    b.case(north, created=MON.replace(hour=9), resp=b.response(north, at=MON, nps=1, location="York", touchpoint="Web"))
    b.case(north, created=TUE.replace(hour=9), resp=b.response(north, at=TUE, nps=1, location="Leeds", touchpoint="Web"))
    b.case(north, created=FRI.replace(hour=9), resp=b.response(north, at=FRI, nps=1, location="Leeds", touchpoint="Store"))
    weekly = selectors.kpis(scope(north), "week")
    assert [(r["group"], r["cases"]) for r in weekly.rows] == [("2025-03-10", 2), ("2025-03-03", 1)]  # newest first
    by_location = {r["group"]: r["cases"] for r in selectors.kpis(scope(north), "location").rows}
    assert by_location == {"Leeds": 2, "York": 1}
    by_touchpoint = {r["group"]: r["low_scores"] for r in selectors.kpis(scope(north), "touchpoint").rows}
    assert by_touchpoint == {"Web": 2, "Store": 1}
    monthly = selectors.kpis(scope(north), "month")
    assert [(r["group"], r["cases"]) for r in monthly.rows] == [("2025-03-01", 3)]


def test_cases_by_touchpoint_equal_a_direct_query_when_a_response_moves(north):
    """The KPIs by touchpoint group cases by their stored copy of the opening response's
    touchpoint: after the response is moved (a QuerySet.update, as an import does) the cases
    follow it, as grouping by the response itself does."""
    from django.db.models import Count

    from cases.models import Case
    from surveys.models import SurveyResponse

    web = b.response(north, at=MON, nps=1, touchpoint="Web")
    b.case(north, created=MON.replace(hour=9), resp=web)
    b.case(north, created=TUE.replace(hour=9), resp=b.response(north, at=TUE, nps=1, touchpoint="Web"))
    b.case(north, created=FRI.replace(hour=9), resp=b.response(north, at=FRI, nps=9, touchpoint="Store"))
    SurveyResponse.objects.filter(pk=web.pk).update(touchpoint="Phone")

    def shown():
        return {r["group"]: (r["cases"], r["low_scores"]) for r in selectors.kpis(scope(north), "touchpoint").rows}

    cases = dict(Case.objects.filter(team=north).values_list("response__touchpoint").annotate(n=Count("pk")))
    assert cases == {"Phone": 1, "Web": 1, "Store": 1}
    assert shown() == {"Phone": (1, 1), "Web": (1, 1), "Store": (1, 0)}


def test_kpis_by_location_equal_a_direct_query_when_a_response_moves(north):
    """The KPIs by location group cases by their stored copy of the opening response's location
    (Case.response_location, cases 0031) and low scores by the responses' own: after a response is
    moved to another location (a QuerySet.update, as an import does) its case follows, and every
    row equals a direct grouping of the cases by their response's location and of the low scores
    by theirs. A response without a location is "(none)" on both sides."""
    from django.db.models import Count

    from cases.models import Case
    from reporting.selectors.scoring import low_score_q
    from surveys.models import SurveyResponse

    york = b.response(north, at=MON, nps=1, location="York")
    b.case(north, created=MON.replace(hour=9), resp=york)
    b.case(north, created=TUE.replace(hour=9), resp=b.response(north, at=TUE, nps=1, location="York"))
    b.case(north, created=FRI.replace(hour=9), resp=b.response(north, at=FRI, nps=9, location="Leeds"))
    b.case(north, created=FRI.replace(hour=10), resp=b.response(north, at=FRI, nps=2, location=""))
    b.response(north, at=TUE, nps=3, location="Hull")  # a low score without a case
    SurveyResponse.objects.filter(pk=york.pk).update(location="Selby")

    cases = dict(Case.objects.filter(team=north, created_at__gte=START, created_at__lt=END)
                 .values_list("response__location").annotate(n=Count("pk")))
    low = dict(SurveyResponse.objects.filter(team=north, answered_at__gte=START, answered_at__lt=END)
               .filter(low_score_q()).values_list("location").annotate(n=Count("pk")))
    expected = {loc or "(none)": (cases.get(loc, 0), low.get(loc, 0)) for loc in set(cases) | set(low)}
    assert expected == {"Selby": (1, 1), "York": (1, 1), "Leeds": (1, 0), "(none)": (1, 1), "Hull": (0, 1)}
    table = selectors.kpis(scope(north), "location")
    assert {r["group"]: (r["cases"], r["low_scores"]) for r in table.rows} == expected
    assert list(Case.objects.filter(response=york).values_list("response_location", flat=True)) == ["Selby"]


def test_cases_filtered_by_location_equal_a_direct_query_when_a_response_moves(north):
    """ReportFilters.cases() filters by location on the case's stored copy (no join to the
    responses): the same cases as a filter on the opening response's own location, after a move."""
    from cases.models import Case
    from surveys.models import SurveyResponse

    moved = b.response(north, at=MON, nps=1, location="York")
    b.case(north, created=MON.replace(hour=9), resp=moved)
    b.case(north, created=TUE.replace(hour=9), resp=b.response(north, at=TUE, nps=1, location="York"))
    b.case(north, created=FRI.replace(hour=9), resp=b.response(north, at=FRI, nps=2, location="Selby"))
    SurveyResponse.objects.filter(pk=moved.pk).update(location="Selby")
    for where in ("Selby", "York", "Hull"):
        direct = set(Case.objects.filter(team=north, response__location=where).values_list("pk", flat=True))
        assert set(scope(north, location=where).cases().values_list("pk", flat=True)) == direct
        assert sum(r["cases"] for r in selectors.kpis(scope(north, location=where), "team").rows) == len(direct)
    assert len(direct) == 0 and Case.objects.filter(response_location="Selby").count() == 2


def test_the_reports_by_location_read_only_indexed_columns(north):
    """scores-by-location and kpis-by-location (PostgreSQL): every column their statements read of
    the responses is in the covering score index (with the location since surveys 0023) and every
    column they read of the cases in the index by team and creation (with the response's location
    since cases 0031), so at 10M rows both can be index-only scans. Read from the plan (EXPLAIN
    VERBOSE: each scan's output, filter and index condition), not assumed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.reporting.plans import columns_read, index_columns

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL plans")
    b.case(north, created=MON.replace(hour=9), resp=b.response(north, at=MON, nps=1, location="York"))
    b.response(north, at=TUE, nps=9, csat=5, ces=6, location="Leeds")
    with CaptureQueriesContext(connection) as captured:
        selectors.scores_by(scope(north), "location")
        selectors.kpis(scope(north), "location")
    statements = [q["sql"] for q in captured.captured_queries
                  if "surveys_surveyresponse" in q["sql"] or '"cases_case"' in q["sql"]]
    assert len(statements) == 3  # the scores, the KPIs' cases, the KPIs' low scores

    covering = {"surveys_surveyresponse": index_columns("surveys_response_team_scores"),
                "cases_case": index_columns("cases_case_team_created")}
    read = columns_read(statements, ("cases_case", "surveys_surveyresponse"))
    assert "location" in read["surveys_surveyresponse"] and "response_location" in read["cases_case"], read
    assert read["surveys_surveyresponse"] <= covering["surveys_surveyresponse"], read
    assert read["cases_case"] <= covering["cases_case"], read


def test_low_scores_and_coverage_from_the_score_rollup_equal_a_direct_query(personas):
    """The low scores and their coverage by team, touchpoint, week and month are sums of the daily
    score rollup (surveys.ScoreRollup's low and low_covered, surveys 0024) for an admin of every team
    and for a manager: each row equals a direct count of the responses, after a case is opened from
    a low score, another attached, an alert raised, scores changed in bulk, a response moved to
    another team and one deleted, after compaction and after a rebuild. The statement reads the
    rollup, not the responses."""
    from django.db import connection
    from django.db.models import Count, F
    from django.db.models.functions import TruncMonth, TruncWeek
    from django.test.utils import CaptureQueriesContext

    from reporting.selectors.kpis import KPI_DIMENSIONS, _coverage
    from reporting.selectors.scoring import covered_q, low_score_q
    from surveys import rollups
    from surveys.models import SurveyResponse

    north, south = personas.north, personas.south
    made = []
    for i, (team, nps, csat, touchpoint) in enumerate([
        (north, 3, None, "Web"), (north, 9, None, "Web"), (south, None, 1, "Store"), (south, 6, 4, ""),
        (None, 2, None, "Web"), (north, 7, 2, "Store"), (south, 10, 5, "Web"), (north, None, None, ""),
    ] * 3):
        made.append(b.response(team, at=START + dt.timedelta(days=3 * i, hours=i % 24), nps=nps, csat=csat,
                               touchpoint=touchpoint, csat_scale=(1, 5)))
    b.case(north, created=START + dt.timedelta(days=1), resp=made[0])
    b.attach(b.case(south, created=START + dt.timedelta(days=2)), made[2])
    b.open_case_alert(made[1])  # a promoter whose alert opens a case: low
    b.case(north, created=START + dt.timedelta(days=4), resp=made[1])

    dims = {"team": F("team_id"), "touchpoint": F("touchpoint"), "week": TruncWeek("answered_at"),
            "month": TruncMonth("answered_at")}

    def direct(filters, by):
        rows = (filters.responses().order_by().annotate(dim=dims[by])
                .filter(low_score_q()).values("dim").annotate(low=Count("pk"), covered=Count("pk", filter=covered_q())))
        return {r["dim"]: (r["low"], r["covered"]) for r in rows}

    def shown(filters, by):
        with CaptureQueriesContext(connection) as queries:
            got = _coverage(filters, by, KPI_DIMENSIONS[by][2])
        assert [("surveys_scorerollup" in q["sql"], "surveys_surveyresponse" in q["sql"]) for q in queries] == [
            (True, False)]
        return {k: (v["low"], v["covered"]) for k, v in got.items()}

    admin = ReportFilters(team_ids=None, start=START, end=END + dt.timedelta(days=60), now=NOW)
    manager = ReportFilters(team_ids=frozenset({north.pk}), start=START, end=END, now=NOW)

    def check():
        for filters in (admin, manager):
            for by in dims:
                assert shown(filters, by) == direct(filters, by), (by, filters.team_ids)
        row = {r["group"]: r for r in selectors.kpis(admin, "team").rows}[north.name]
        low, covered = direct(admin, "team")[north.pk]
        assert (row["low_scores"], row["coverage_pct"]) == (low, round(100.0 * covered / low, 1))

    check()
    assert direct(admin, "team")[north.pk][1] >= 2  # something covered, something not
    b.attach(b.case(north, created=START + dt.timedelta(days=5)), made[5])
    SurveyResponse.objects.filter(pk__in=[made[9].pk, made[17].pk]).update(nps=1)
    SurveyResponse.objects.filter(pk=made[6].pk).update(team=north, touchpoint="Phone")
    SurveyResponse.objects.filter(pk=made[23].pk).delete()
    check()
    rollups.compact()
    check()
    rollups.rebuild()
    check()


def test_every_teams_reports_by_location_sum_the_location_totals(personas):
    """For every team (an admin), scores and KPIs by location, and the scores and KPIs narrowed to a
    location, sum the every-team location totals (reporting.LocationTotal, reporting 0019) instead
    of reading the responses: the same tables as read from the responses (the end a microsecond
    earlier, which the totals' whole days cannot answer), with figures worked out by hand."""
    from dataclasses import replace

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from surveys.models import SurveyResponse

    north, south = personas.north, personas.south
    b.case(north, created=MON.replace(hour=9), resp=b.response(north, at=MON, nps=1, location="York", touchpoint="Web"))
    b.response(south, at=MON, nps=10, location="York", touchpoint="Web")
    b.response(None, at=TUE, nps=3, location="York", touchpoint="Store")  # a low score without a case
    b.response(south, at=TUE, nps=9, csat=5, location="Leeds", touchpoint="Store")
    b.case(south, created=FRI.replace(hour=9), resp=b.response(south, at=FRI, nps=2, location="", touchpoint="Web"))
    SurveyResponse.objects.filter(location="Leeds").update(location="Selby")  # moved: the totals follow
    every = ReportFilters(team_ids=None, start=START, end=END, now=NOW)
    from_answers = replace(every, end=END - dt.timedelta(microseconds=1))

    def read(filters):
        with CaptureQueriesContext(connection) as captured:
            tables = (selectors.scores_by(filters, "location"), selectors.kpis(filters, "location"),
                      selectors.scores_trend(replace(filters, location="York"), "week"),
                      selectors.scores_by(replace(filters, location="York"), "touchpoint"),
                      selectors.kpis(replace(filters, location="York"), "touchpoint"))
        answers_read = sum("surveys_surveyresponse" in q["sql"] for q in captured.captured_queries)
        return [(t.columns, t.rows) for t in tables], answers_read

    totals, answers_read = read(every)
    assert answers_read == 0  # the location totals only (and the cases)
    expected, answers_read = read(from_answers)
    assert answers_read == 5
    assert totals == expected
    scores = {r["group"]: (r["responses"], r["nps"]) for r in totals[0][1]}
    assert scores == {"York": (3, -33.3), "Selby": (1, 100.0), "(none)": (1, -100.0)}
    kpis = {r["group"]: (r["cases"], r["low_scores"], r["coverage_pct"]) for r in totals[1][1]}
    assert kpis == {"York": (1, 2, 50.0), "(none)": (1, 1, 100.0)}  # Selby: no low score, no case
    by_touchpoint = {r["group"]: r["responses"] for r in totals[3][1]}
    assert by_touchpoint == {"Web": 2, "Store": 1}
