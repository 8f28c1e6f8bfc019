"""Verified recovery: what customers answered to "Did we put it right?", beside the share of
closures the team marked resolved, by team, root cause and touchpoint."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cases.models import Case
from followup.models import Verification
from reporting import selectors
from reporting.reports import REPORTS
from tests.reporting import builders as b
from tests.reporting import builders_text as t
from tests.reporting.test_kpis import MON, scope
from tests.reporting.test_pages import csv_rows, page_tables

MARCH = "?date_from=2025-03-01&date_to=2025-03-31"


def check(case: Case, *, sent=MON, answer=None, touchpoint=None):
    """A recovery check for the case's latest closure; `answer` 0-10 (None: not answered yet)."""
    answered = answer is not None
    return Verification.objects.create(
        case=case, round=case.reopen_count, customer=case.customer, team=case.team, root_cause=case.root_cause,
        touchpoint=touchpoint if touchpoint is not None else case.response.touchpoint, email="c@example.com",
        question="scale", status="answered" if answered else "sent", sent_at=sent,
        expires_at=sent + dt.timedelta(days=14), answered_at=sent + dt.timedelta(hours=5) if answered else None,
        answer_value=answer, recovered=(answer >= 7) if answered else None,
    )


def closed(team, *, outcome=Case.Outcome.RESOLVED, cause=None, touchpoint="Store"):
    resp = b.response(team, at=MON - dt.timedelta(hours=6), nps=2, touchpoint=touchpoint)
    case = b.case(team, created=MON - dt.timedelta(hours=5), resp=resp, closed=MON, root_cause=cause or b.cause("Late"))
    t.closure(case, at=MON, outcome=outcome)
    return case


@pytest.fixture
def answers(personas):
    """North: 5 closures, 4 marked resolved (80 %); 4 checks sent for them, 3 answered (75 %):
    9 and 8 say recovered, 3 does not (2 of 3 = 66.7 %). South: 1 closure, checked, answered 10."""
    north, south = personas.north, personas.south
    late, rude = b.cause("Late"), b.cause("Attitude", "Staff")
    check(closed(north, cause=late), answer=9)
    check(closed(north, cause=late, touchpoint="Web"), answer=3, touchpoint="Web")
    check(closed(north, cause=rude), answer=8)
    check(closed(north, cause=rude))  # sent, not answered
    closed(north, outcome=Case.Outcome.NOT_RESOLVED, cause=late)  # not resolved: never asked
    check(closed(south, cause=late), answer=10)
    return personas


def test_verified_beside_self_reported_by_team(answers):
    row = selectors.verified_recovery_by_team(scope(answers.north)).rows[0]
    assert row == {"group": "North", "closures": 5, "resolved": 4, "resolved_pct": 80.0, "sent": 4, "answered": 3,
                   "response_pct": 75.0, "recovered": 2, "verified_pct": 66.7, "confirmed_pct": 53.4,
                   "gap": 26.6}  # 80 % marked resolved x 66.7 % confirmed


def test_three_of_four_recovered_is_75_percent(personas):
    for answer in (10, 7, 9, 2):
        check(closed(personas.north), answer=answer)
    row = selectors.verified_recovery_by_team(scope(personas.north)).rows[0]
    assert (row["answered"], row["recovered"], row["verified_pct"], row["gap"]) == (4, 3, 75.0, 25.0)


def test_by_root_cause_and_touchpoint(answers):
    by_cause = {r["group"]: r for r in selectors.verified_recovery_by_root_cause(scope(answers.north)).rows}
    assert (by_cause["T Delivery > Late"]["closures"], by_cause["T Delivery > Late"]["resolved_pct"]) == (3, 66.7)
    assert (by_cause["T Delivery > Late"]["answered"], by_cause["T Delivery > Late"]["verified_pct"]) == (2, 50.0)
    assert (by_cause["T Staff > Attitude"]["response_pct"], by_cause["T Staff > Attitude"]["verified_pct"]) == (50.0, 100.0)
    assert by_cause["All"]["verified_pct"] == 66.7
    by_touchpoint = {r["group"]: r for r in selectors.verified_recovery_by_touchpoint(scope(answers.north)).rows}
    assert (by_touchpoint["Web"]["sent"], by_touchpoint["Web"]["verified_pct"]) == (1, 0.0)
    assert (by_touchpoint["Store"]["sent"], by_touchpoint["Store"]["verified_pct"]) == (3, 100.0)


def test_checks_outside_the_period_are_not_counted(personas):
    check(closed(personas.north), sent=dt.datetime(2025, 2, 20, tzinfo=dt.timezone.utc), answer=1)  # both in February
    row = selectors.verified_recovery_by_team(scope(personas.north)).rows[0]
    assert (row["closures"], row["sent"], row["verified_pct"]) == (1, 0, None)


def test_manager_sees_only_his_teams(client, answers):
    client.force_login(answers.mia)  # North only
    tables = page_tables(client, "reporting:recovery", MARCH)
    assert [r[0] for r in tables["verified-recovery-by-team"]] == ["North"]
    assert tables["verified-recovery-by-team"][0][-3:] == ["66.7", "53.4", "26.6"]
    for name in ("verified-recovery-by-team", "verified-recovery-by-root-cause", "verified-recovery-by-touchpoint"):
        assert csv_rows(client, name, MARCH)[1:] == tables[name], name
    client.force_login(answers.adam)
    rows = page_tables(client, "reporting:recovery", MARCH)["verified-recovery-by-team"]
    assert [r[0] for r in rows] == ["North", "South", "All"]


def test_the_page_shows_the_chart_and_the_api_the_numbers(client, api_client, answers):
    client.force_login(answers.mia)
    html = client.get(reverse("reporting:recovery") + MARCH).content.decode()
    assert "Did we put it right?" in html and "% self-reported" in html
    assert {"verified-recovery-by-team", "verified-recovery-by-root-cause", "verified-recovery-by-touchpoint"} <= set(REPORTS)
    api_client.force_authenticate(answers.mia)
    body = api_client.get("/api/v1/reports/verified-recovery-by-team/", {"date_from": "2025-03-01",
                                                                         "date_to": "2025-03-31"}).json()
    assert [(r["group"], r["verified_pct"], r["resolved_pct"]) for r in body["rows"]] == [("North", 66.7, 80.0)]


def test_answers_count_in_the_period_they_were_given(personas):
    """A check sent on the last day of February and answered in March is a March answer."""
    late = check(closed(personas.north), sent=dt.datetime(2025, 2, 28, 22, tzinfo=dt.timezone.utc), answer=8)
    assert late.answered_at.month == 3
    row = selectors.verified_recovery_by_team(scope(personas.north)).rows[0]
    assert (row["sent"], row["answered"], row["recovered"], row["verified_pct"]) == (0, 1, 1, 100.0)
