"""The opening response's touchpoint, survey, source and answer time stored on its case
(cases.response_keys): kept right by the database whatever writes the case or the response. The
journey map groups cases by stage from them (tests/journeys/test_selectors.py checks its figures
against the responses); a join of a case to its response names the response's partition by the
answer time (tests/inbox/test_partition_pruning.py)."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from cases import response_keys
from cases.models import Case
from core import partitions
from surveys.models import SurveyResponse
from tests.factories import (
    CaseFactory,
    SurveyFactory,
    SurveyResponseFactory,
    WebhookSourceFactory,
)

pytestmark = pytest.mark.django_db


def keys(case_pk: int) -> tuple:
    return Case.objects.filter(pk=case_pk).values_list("response_touchpoint", "response_survey_id",
                                                       "response_source_id").get()


def test_a_case_takes_its_response_touchpoint_survey_and_source():
    response = SurveyResponseFactory(touchpoint="Delivery")
    case = CaseFactory(response=response)
    assert keys(case.pk) == ("Delivery", response.survey_id, response.source_id)


def test_the_case_follows_a_change_to_its_response():
    response = SurveyResponseFactory(touchpoint="Delivery")
    case = CaseFactory(response=response)
    other = SurveyFactory()
    SurveyResponse.objects.filter(pk=response.pk).update(touchpoint="Checkout", survey=other, source=other.source)
    assert keys(case.pk) == ("Checkout", other.pk, other.source_id)


def test_a_stale_save_of_the_case_cannot_overwrite_them():
    response = SurveyResponseFactory(touchpoint="Delivery")
    case = CaseFactory(response=response)  # the instance in memory still holds the empty defaults
    assert (case.response_touchpoint, case.response_survey_id) == ("", None)
    case.priority = "high"
    case.save()
    assert keys(case.pk) == ("Delivery", response.survey_id, response.source_id)


def test_a_case_moved_to_another_response_takes_its_keys():
    case = CaseFactory(response=SurveyResponseFactory(touchpoint="Delivery"))
    moved_to = SurveyResponseFactory(touchpoint="Store", source=WebhookSourceFactory())
    Case.objects.filter(pk=case.pk).update(response=moved_to)
    assert keys(case.pk) == ("Store", moved_to.survey_id, moved_to.source_id)


def test_backfill_fills_cases_loaded_without_triggers():
    response = SurveyResponseFactory(touchpoint="Delivery")
    case = CaseFactory(response=response)
    with connection.cursor() as cursor:  # a bulk load: the triggers off (rolled back with the test)
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        cursor.execute("UPDATE cases_case SET response_touchpoint = '', response_survey_id = NULL, "
                       "response_source_id = NULL")
    assert keys(case.pk) == ("", None, None)
    response_keys.install()
    assert keys(case.pk) == ("Delivery", response.survey_id, response.source_id)


def test_rollups_rebuild_copies_the_keys_of_cases_loaded_without_triggers():
    """`manage.py rollups --rebuild`, the one command docs/reporting.md gives for after a bulk load
    with the triggers off, also fills the cases' response keys."""
    from io import StringIO

    from django.core.management import call_command

    response = SurveyResponseFactory(touchpoint="Delivery")
    case = CaseFactory(response=response)
    with connection.cursor() as cursor:  # what a load with session_replication_role = replica leaves
        cursor.execute("UPDATE cases_case SET response_touchpoint = '', response_survey_id = NULL, "
                       "response_source_id = NULL")
    out = StringIO()
    call_command("rollups", "--rebuild", stdout=out)
    assert keys(case.pk) == ("Delivery", response.survey_id, response.source_id)
    assert "Copied the cases' response keys" in out.getvalue()


# --- The answer time (cases 0028): what a join names the response's partition by -----------------

R = "surveys_surveyresponse"
FEB, JUN = datetime(2024, 2, 10, 9, 30, tzinfo=UTC), datetime(2024, 6, 10, 14, 0, tzinfo=UTC)


def answered_at(case_pk: int):
    return Case.objects.filter(pk=case_pk).values_list("response_answered_at", flat=True).get()


@pytest.fixture
def months():
    """February and June 2024 as partitions of their own (rolled back with the test)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for month in (date(2024, 2, 1), date(2024, 6, 1)):
                partitions.create_partition(cursor, R, "answered_at", month)


def test_a_case_takes_its_response_answer_time(months):
    case = CaseFactory(response=SurveyResponseFactory(answered_at=FEB))
    assert answered_at(case.pk) == FEB


def test_the_case_follows_its_response_answered_later_the_same_month(months):
    response = SurveyResponseFactory(answered_at=FEB, touchpoint="Delivery")
    case = CaseFactory(response=response)
    SurveyResponse.objects.filter(pk=response.pk).update(answered_at=datetime(2024, 2, 20, tzinfo=UTC))
    assert answered_at(case.pk) == datetime(2024, 2, 20, tzinfo=UTC)


def test_a_case_moved_to_another_response_takes_its_answer_time(months):
    case = CaseFactory(response=SurveyResponseFactory(answered_at=FEB))
    moved_to = SurveyResponseFactory(answered_at=JUN)
    Case.objects.filter(pk=case.pk).update(response=moved_to)
    assert answered_at(case.pk) == JUN
    case.refresh_from_db()
    case.response = SurveyResponseFactory(answered_at=datetime(2024, 2, 11, tzinfo=UTC))
    case.save()  # the instance still holds June: the database reads the new response's
    assert answered_at(case.pk) == datetime(2024, 2, 11, tzinfo=UTC)


def test_deleting_responses_leaves_the_other_cases_as_they_are(months):
    """The move trigger fires on every delete of a response: a response really deleted is found
    nowhere, and nothing else changes."""
    case = CaseFactory(response=SurveyResponseFactory(answered_at=FEB))
    gone = [SurveyResponseFactory(answered_at=at).pk for at in (FEB, JUN)]
    assert SurveyResponse.objects.filter(pk__in=gone).delete()[0] >= 2
    assert answered_at(case.pk) == FEB and not SurveyResponse.objects.filter(pk__in=gone).exists()


def test_the_migration_fills_the_answer_time_of_cases_loaded_without_triggers(months):
    """Cases 0028's forward function on cases a load left without the copy: every case filled."""
    cases = [CaseFactory(response=SurveyResponseFactory(answered_at=at)) for at in (FEB, JUN)]
    with connection.cursor() as cursor:  # what a load with triggers off leaves
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        cursor.execute("UPDATE cases_case SET response_answered_at = NULL")
    assert [answered_at(case.pk) for case in cases] == [None, None]
    importlib.import_module("cases.migrations.0028_case_response_answered_at").install(None, None)
    assert [answered_at(case.pk) for case in cases] == [FEB, JUN]


# --- The location (cases 0031): what the KPIs by location group the cases by ---------------------

def location(case_pk: int) -> str:
    return Case.objects.filter(pk=case_pk).values_list("response_location", flat=True).get()


def test_a_case_takes_and_follows_its_response_location():
    response = SurveyResponseFactory(location="Leeds")
    case = CaseFactory(response=response)
    assert location(case.pk) == "Leeds"
    SurveyResponse.objects.filter(pk=response.pk).update(location="York")
    assert location(case.pk) == "York"
    Case.objects.filter(pk=case.pk).update(response=SurveyResponseFactory(location="Hull"))
    assert location(case.pk) == "Hull"


def test_the_migration_fills_the_location_of_cases_loaded_without_triggers():
    """Cases 0031's forward function on cases a load left without the copy: every case filled."""
    cases = [CaseFactory(response=SurveyResponseFactory(location=where)) for where in ("Leeds", "York")]
    with connection.cursor() as cursor:  # what a load with triggers off leaves
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        cursor.execute("UPDATE cases_case SET response_location = ''")
    assert [location(case.pk) for case in cases] == ["", ""]
    importlib.import_module("cases.migrations.0031_case_response_location").install(None, None)
    assert [location(case.pk) for case in cases] == ["Leeds", "York"]


# --- The NPS score (cases 0032): Recovery's score before, without a join ---------------------------


def nps_of(case_pk: int):
    return Case.objects.filter(pk=case_pk).values_list("response_nps", flat=True).get()


def test_a_case_takes_its_response_score_and_follows_a_rescoring():
    response = SurveyResponseFactory(nps=3)
    case = CaseFactory(response=response)
    assert nps_of(case.pk) == 3
    SurveyResponse.objects.filter(pk=response.pk).update(nps=8)
    assert nps_of(case.pk) == 8
    SurveyResponse.objects.filter(pk=response.pk).update(nps=None)
    assert nps_of(case.pk) is None
    moved_to = SurveyResponseFactory(nps=10)
    Case.objects.filter(pk=case.pk).update(response=moved_to)
    assert nps_of(case.pk) == 10
    case.refresh_from_db()
    case.response_nps = 0  # a stale instance's copy: the database reads the response's again
    case.priority = "high"
    case.save()
    assert nps_of(case.pk) == 10


def test_the_migration_fills_the_score_of_cases_loaded_without_triggers():
    """Cases 0032's forward function on cases a load left without the copy: every case filled,
    and the triggers keep it afterwards."""
    responses = [SurveyResponseFactory(nps=n) for n in (2, 9, None)]
    cases = [CaseFactory(response=r) for r in responses]
    with connection.cursor() as cursor:  # what a load with triggers off leaves
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        cursor.execute("UPDATE cases_case SET response_nps = NULL")
    assert [nps_of(case.pk) for case in cases] == [None, None, None]
    importlib.import_module("cases.migrations.0032_case_response_nps").install(None, None)
    assert [nps_of(case.pk) for case in cases] == [2, 9, None]
    SurveyResponse.objects.filter(pk=responses[2].pk).update(nps=5)
    assert nps_of(cases[2].pk) == 5
