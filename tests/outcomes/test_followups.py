"""The answers' stored follow-ups (reporting.followups) against the direct computation of
test_reports_sql on its seeded world (run on PostgreSQL here and on SQLite by tests/sqlite_suite.py):
the results report reads the stored rows once they are folded, computes the customers a write made
stale from the source rows until then, and gives the same figures either way -- after an event
arrives after an answer, a case is closed later and its recovery check comes back, a later answer is recorded, an answer moves team,
customers are merged, an account value changes, a case loses its customer and an account's contact is
added; the impact report's root causes the same way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cases.models import Case
from customers.services import contact_set, customer_merge
from followup.models import Verification
from outcomes.models import OutcomeEvent
from reporting import case_followups, followups
from reporting.filters import ReportFilters
from reporting.models import AnswerFollowUp, ClosedCaseFollowUp, FollowUpStale
from reporting.selectors import closed_loop_results, closed_loop_results_by, impact_tables
from reporting.selectors.outcomes import GROUPS, WINDOWS
from surveys.models import Customer, SurveyResponse
from tests.inbox.helpers import make_response
from tests.outcomes.test_reports_sql import (
    BASE,
    END,
    NOW,
    START,
    _reference_impact,
    _reference_people,
    _reference_row,
    random_world,
)

pytestmark = pytest.mark.django_db
__all__ = ["random_world"]  # the seeded world, a fixture of test_reports_sql


def _stored_rows() -> list[tuple]:
    return sorted(AnswerFollowUp.objects.values_list(
        "response_id", "customer_id", "team_id", "answered_at", "reign_ends_at", "group", "root_cause_id",
        *followups.SUMS)) + sorted(ClosedCaseFollowUp.objects.values_list(*case_followups.COLUMNS))


def _check(personas, *, folded: bool) -> None:
    """The results report equals the direct computation, for Mia (North) and Adam (every team)."""
    if folded:
        followups.fold_all()
        assert not FollowUpStale.objects.exists()
        stored = _stored_rows()
        followups.rebuild()
        assert _stored_rows() == stored, "the rows kept by the triggers and folds are the rows a rebuild writes"
        assert len(stored) == (SurveyResponse.objects.filter(nps__isnull=False, customer__isnull=False).count()
                               + Case.objects.filter(status=Case.Status.CLOSED, root_cause__isnull=False).count())
    else:
        assert FollowUpStale.objects.exists(), "the change marked its customers stale"
    for team_ids in (frozenset({personas.north.pk}), None):
        filters = ReportFilters(team_ids=team_ids, start=START, end=END, now=NOW)
        people = _reference_people(team_ids)
        expected = [{"group": str(label), **_reference_row([p for p in people if p["group"] == key], days)}
                    for key, label in GROUPS for days in WINDOWS]
        assert closed_loop_results(filters).rows == expected
        by_team = closed_loop_results_by(filters, by="team").rows
        assert sum(r["customers"] for r in by_team) == sum(
            1 for p in people if p["at"] + dt.timedelta(days=180) <= NOW)
        tables = impact_tables(filters)
        assert {r["name"]: (r["cases"] if r["kind"] == "Root cause" else 0, r["detractors"], r["revenue_at_risk"],
                            r["customers"], r["churned"]) for r in tables.root_causes.rows + tables.themes.rows
                } == _reference_impact(filters)


def test_the_stored_figures_equal_the_direct_computation_through_every_kind_of_change(personas, random_world):
    people = random_world
    # Partly folded: some customers read from their stored rows, the rest from the source rows.
    assert 0 < followups.fold(limit=40) <= 40
    _check(personas, folded=False)
    _check(personas, folded=True)

    # An event after an answer: a renewal and a churn within the windows of a customer's answers.
    latest = SurveyResponse.objects.filter(customer=people[10], nps__isnull=False).order_by("-answered_at").first()
    for kind, days in (("renewal", 20), ("churn", 150)):
        OutcomeEvent.objects.create(customer=people[10], kind=kind, amount=Decimal("120.50"), currency="EUR",
                                    occurred_at=latest.answered_at + dt.timedelta(days=days), source="test",
                                    external_id=f"late-{kind}")
    _check(personas, folded=False)
    _check(personas, folded=True)

    # A case closed later: a detractor's open case becomes resolved (and verified by nobody).
    case = Case.objects.filter(status=Case.Status.IN_PROGRESS, response__nps__lte=6).order_by("pk").first()
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED, outcome=Case.Outcome.RESOLVED,
                                           closed_at=NOW - dt.timedelta(days=5), resolution="Done.",
                                           root_cause=Case.objects.filter(root_cause__isnull=False)
                                           .values("root_cause")[:1])
    _check(personas, folded=False)
    _check(personas, folded=True)

    # Its recovery check comes back "put right": the customer is resolved and verified.
    Verification.objects.create(case=case, round=0, team=case.team, status=Verification.Status.ANSWERED,
                                answered_at=NOW - dt.timedelta(days=2), answer_value=9, recovered=True)
    _check(personas, folded=False)
    _check(personas, folded=True)

    # A later answer in the period: the customer's latest answer, and the reign of the one before, change.
    make_response(customer=people[11], team=personas.north, nps=2, answered_at=END - dt.timedelta(days=1))
    # An answer moving team.
    moved = SurveyResponse.objects.filter(customer=people[12], team=personas.north, nps__isnull=False).first()
    if moved is not None:
        SurveyResponse.objects.filter(pk=moved.pk).update(team=personas.south)
    _check(personas, folded=False)
    _check(personas, folded=True)

    # A merge: the merged customer's answers and events become the target's.
    customer_merge(merged_id=people[13].pk, target_id=people[14].pk, by=personas.adam)
    _check(personas, folded=False)
    _check(personas, folded=True)

    # A customer's recorded account value changes (revenue at risk), and a case loses its customer.
    Customer.objects.filter(pk=people[15].pk).update(account_value=Decimal("9999"))
    Case.objects.filter(pk=Case.objects.filter(status=Case.Status.CLOSED, root_cause__isnull=False)
                        .order_by("-pk").values("pk")[:1]).update(customer=None)
    _check(personas, folded=False)
    _check(personas, folded=True)

    # An account's churn reaches a new contact of it.
    account_id = OutcomeEvent.objects.filter(account__isnull=False, customer__isnull=True).values_list(
        "account_id", flat=True).first()
    contact_set(account_id=account_id, customer_id=people[20].pk, role="user")
    _check(personas, folded=False)
    _check(personas, folded=True)


def test_a_customer_is_read_from_the_stored_rows_once_folded(personas, random_world):
    """The stored path is the one taken: a row changed by hand (never done by the product) shows."""
    followups.fold_all()
    filters = ReportFilters(team_ids=None, start=START, end=END, now=NOW)
    before = sum(r["customers"] for r in closed_loop_results(filters).rows if r["days"] == 90)
    answer = (AnswerFollowUp.objects.filter(answered_at__gte=START, answered_at__lt=END, reign_ends_at__gte=END,
                                            answered_at__lte=NOW - dt.timedelta(days=90)).order_by("pk").first())
    AnswerFollowUp.objects.filter(pk=answer.pk).update(reign_ends_at=BASE)  # no longer its customer's latest
    after = sum(r["customers"] for r in closed_loop_results(filters).rows if r["days"] == 90)
    assert after == before - 1


def test_the_impact_reads_the_closed_cases_stored_rows_once_folded(personas, random_world):
    """The stored path is the one taken: a case's stored churn flag changed by hand shows."""
    followups.fold_all()
    filters = ReportFilters(team_ids=None, start=START, end=END, now=NOW)
    before = sum(r["churned"] for r in impact_tables(filters).root_causes.rows)
    assert ClosedCaseFollowUp.objects.filter(closed_at__gte=START, closed_at__lt=END).update(churned=1)
    after = sum(r["churned"] for r in impact_tables(filters).root_causes.rows)
    assert after > before
