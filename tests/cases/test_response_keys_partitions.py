"""The case's copy of its opening response's answered_at (cases.response_keys, cases 0028) where
responses are partitioned by month (PostgreSQL): a response moved to another month's partition
takes its cases along, and the migration goes back and forth on a database with cases. What both
databases share is in tests/cases/test_response_keys.py (run on SQLite too)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from cases.models import Case
from surveys.models import SurveyResponse
from core import partitions
from tests.cases.test_response_keys import FEB, JUN, R, answered_at, keys
from tests.factories import CaseFactory, SurveyResponseFactory
from tests.test_partitions import _migrate, _migrate_latest, _one

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's partitions")]


@pytest.fixture
def months():
    """February and June 2024 as partitions of their own (rolled back with the test)."""
    with connection.cursor() as cursor:
        for month in (date(2024, 2, 1), date(2024, 6, 1)):
            partitions.create_partition(cursor, R, "answered_at", month)


def partition_of(response_pk: int) -> str:
    return _one(f"SELECT tableoid::regclass::text FROM {R} WHERE id = %s", [response_pk])[0]


def test_the_case_follows_its_response_moved_to_another_months_partition(months):
    """PostgreSQL runs the move as a delete and an insert, without the AFTER UPDATE row trigger:
    the cases follow all the same, with every key that changed in the same statement."""
    response = SurveyResponseFactory(answered_at=FEB, touchpoint="Delivery")
    case, other = CaseFactory(response=response), CaseFactory()
    assert partition_of(response.pk) == f"{R}_p202402"
    SurveyResponse.objects.filter(pk=response.pk).update(answered_at=JUN, touchpoint="Checkout")
    assert partition_of(response.pk) == f"{R}_p202406"
    assert answered_at(case.pk) == JUN
    assert keys(case.pk) == ("Checkout", response.survey_id, response.source_id)
    assert answered_at(other.pk) == other.response.answered_at  # another response's case untouched
    # and the case is found through its response in the new month (the join names it)
    assert Case.objects.filter(pk=case.pk, response__touchpoint="Checkout").count() == 1


CASES_0027 = ("cases", "0027_response_constraints_with_partitions")


@pytest.mark.django_db(transaction=True)
def test_the_migration_back_and_forth_keeps_the_keys_and_fills_the_answer_time():
    response = SurveyResponseFactory(touchpoint="Delivery")
    case = CaseFactory(response=response)
    try:
        _migrate(CASES_0027)
        assert _one("SELECT count(*) FROM information_schema.columns WHERE table_name = 'cases_case' "
                    "AND column_name = 'response_answered_at'") == (0,)
        # cases 0023's triggers again: the three keys still follow the response
        SurveyResponse.objects.filter(pk=response.pk).update(touchpoint="Checkout")
        assert _one("SELECT response_touchpoint FROM cases_case WHERE id = %s", [case.pk]) == ("Checkout",)
        with connection.cursor() as cursor:  # a case opened meanwhile, by SQL (the model has the new column)
            cursor.execute("INSERT INTO cases_case (reference, response_id, team_id, priority, status, version, "
                           "first_contact_due, resolution_due, escalation_level, value_at_risk, customer_churn_risk, "
                           "resolution, outcome, prevention, reopen_count, root_cause_suggestions, created_at, "
                           "updated_at, response_touchpoint) SELECT 'CL-9999999', response_id, team_id, priority, "
                           "status, version, first_contact_due, resolution_due, 0, 0, 0, '', '', '', 0, '[]', "
                           "now(), now(), '' FROM cases_case WHERE id = %s RETURNING id", [case.pk])
            opened_meanwhile = cursor.fetchone()[0]
        _migrate_latest()
        assert answered_at(case.pk) == answered_at(opened_meanwhile) == response.answered_at
        assert keys(opened_meanwhile) == ("Checkout", response.survey_id, response.source_id)
    finally:
        _migrate_latest()
