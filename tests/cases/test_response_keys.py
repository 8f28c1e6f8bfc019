"""The opening response's touchpoint, survey and source stored on its case (cases.response_keys):
kept right by the database whatever writes the case or the response. The journey map groups cases
by stage from them (tests/journeys/test_selectors.py checks its figures against the responses)."""

from __future__ import annotations

import pytest
from django.db import connection

from cases import response_keys
from cases.models import Case
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
