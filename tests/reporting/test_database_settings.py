"""Database settings the report pages' speed relies on, checked where they live (PostgreSQL's
catalogue), not assumed."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_migrations_switch_jit_off_for_the_database():
    """cases 0013: JIT compilation cost 369 ms of a 944 ms report query at 10M responses."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = current_database() AND s.setrole = 0"
        )
        settings = [item for row in cursor.fetchall() for item in row[0]]
    assert "jit=off" in settings


def test_the_score_index_covers_what_the_scores_journeys_and_results_read_for_index_only_scans():
    """surveys 0008: the Scores page's by-touchpoint panel reads only indexed columns; 0014: so do
    the journey map's stage expression (touchpoint, then survey, then source) and the closed-loop
    results' latest answer per customer; 0016: and the KPI page's low scores and coverage (the case
    flags); 0023: and the location (scores-by-location, the KPIs' low scores by location); 0026: and
    the segment bits (the reports by segment)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'surveys_response_team_scores'")
        (definition,) = cursor.fetchone()
    assert definition.endswith(
        "(team_id, answered_at) INCLUDE (touchpoint, survey_id, source_id, nps, csat, csat_scale_min, csat_scale_max, ces, "
        "ces_scale_min, ces_scale_max, ces_high_is_easy, customer_id, id, case_alert, case_linked, location, segment_bits)"
    )


def test_the_score_index_is_valid_and_built_on_every_partition_of_the_responses():
    """surveys 0023 replaced it partition by partition (core.online_indexes): the parent's index is
    valid and each partition's is attached to it, under the index's name and the partition's suffix."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'surveys_surveyresponse'::regclass ORDER BY 1")
        partitions = [name for (name,) in cursor.fetchall()]
        cursor.execute("SELECT x.indisvalid FROM pg_index x WHERE x.indexrelid = 'surveys_response_team_scores'::regclass")
        (valid,) = cursor.fetchone()
        cursor.execute("SELECT t.relname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "JOIN pg_index x ON x.indexrelid = c.oid JOIN pg_class t ON t.oid = x.indrelid "
                       "WHERE i.inhparent = 'surveys_response_team_scores'::regclass ORDER BY 1")
        children = cursor.fetchall()
    assert partitions and valid
    assert children == [(p, "surveys_response_team_scores_" + p.removeprefix("surveys_surveyresponse_"))
                        for p in partitions]


def test_the_cases_index_by_team_and_creation_covers_the_kpis_by_location():
    """cases 0031: the KPIs group the period's cases by the stored location of the opening response;
    cases 0034: the reports by segment by the stored segment bits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'cases_case_team_created'")
        (definition,) = cursor.fetchone()
    assert definition.endswith(
        "response_touchpoint, response_survey_id, response_source_id, id, response_location, segment_bits)")
