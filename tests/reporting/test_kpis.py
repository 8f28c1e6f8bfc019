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
