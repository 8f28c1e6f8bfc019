"""Survey responses partitioned by month on answered_at, pointed at through their key table
(core.partition_refs, docs/deployment.md "Partitioned history").

Every foreign key into responses still refuses a response that does not exist; a repeat of a
response (same source and response id) is still refused with an IntegrityError and answered at the
webhook door as before; deletes cascade, set null and protect as before; the conversion of an
existing installation keeps every row, id, key, foreign key and trigger; a report of a period
reads its months only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError, Sum

from alerts.models import Alert
from cases.models import Case, CaseResponse
from core import partitions
from followup.models import Recognition
from surveys import rollups
from surveys.ingest import delivery_store
from surveys.models import ResponseTheme, ScoreRollup, SurveyResponse, Theme, WebhookDelivery
from surveys.services import delivery_process
from tests.factories import AlertFactory, SurveyResponseFactory, opened_case
from tests.surveys.payloads import closeloop_body, make_source, post, standard_headers
from tests.test_partitions import _all, _migrate, _migrate_latest, _one, _partitions, _primary_key, _shape

pytestmark = pytest.mark.django_db

R = "surveys_surveyresponse"
REFERENCES = [  # every foreign key into responses: (table, column)
    ("alerts_alert", "response_id"), ("cases_case", "answered_again_id"), ("cases_case", "response_id"),
    ("cases_caseresponse", "response_id"), ("followup_recognition", "response_id"),
    ("surveys_responsetheme", "response_id"), ("surveys_webhookdelivery", "response_id"),
]


def _keys():
    return _all("SELECT row_id, source_id, external_id, answered_at FROM surveys_responsekey ORDER BY 1")


def _rows():
    return _all(f"SELECT id, source_id, external_id, answered_at FROM {R} ORDER BY 1")


def _references(target):
    return sorted(_all(
        "SELECT conrelid::regclass::text, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.confrelid = to_regclass(%s) AND c.contype = 'f' AND c.conparentid = 0", [target]))


def _score_rollup():
    """The score rollup's counts per key, in the columns it had before surveys 0021 added three
    (a later migration going forward rebuilds it, so its rows are compared folded)."""
    key = ", ".join(rollups.KEY)
    return _all(f"SELECT {key}, {', '.join(f'SUM({c})' for c in rollups.COUNTS)} FROM surveys_scorerollup "
                f"GROUP BY {key} HAVING SUM(responses) <> 0 ORDER BY {key}")


def _triggers(table):
    return [name for (name,) in _all("SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
                                     "AND NOT tgisinternal ORDER BY 1", [table])]


def test_responses_are_partitioned_and_every_foreign_key_points_at_their_keys():
    this_month = partitions.month_start(datetime.now(UTC).date())
    assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [R]) == ("p",)
    assert _primary_key(R) == (f"{R}_pkey", "PRIMARY KEY (id, answered_at)")
    assert {partitions.partition_name(R, this_month), f"{R}_default"} <= set(_partitions(R))
    assert _references("surveys_responsekey") == REFERENCES
    assert _references(R) == []


def test_each_response_has_its_key_in_its_month_and_an_old_answer_lands_in_the_default_partition():
    recent = SurveyResponseFactory()
    old = SurveyResponseFactory(answered_at=datetime(2019, 5, 2, 10, tzinfo=UTC))
    where = dict(_all(f"SELECT id, tableoid::regclass::text FROM {R}"))
    assert where == {recent.pk: partitions.partition_name(R, partitions.month_start(recent.answered_at.date())),
                     old.pk: f"{R}_default"}
    assert _keys() == _rows()
    # The beat's maintenance gives the old month a partition; the row moves, its key stays.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the beat's run has no checks pending from before
    partitions.maintain()
    assert _one(f"SELECT tableoid::regclass::text FROM {R} WHERE id = %s", [old.pk]) == (f"{R}_p201905",)
    assert _keys() == _rows()


def test_a_repeated_response_is_refused_as_before_whatever_inserts_it():
    first = SurveyResponseFactory(external_id="r-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponseFactory(source=first.source, survey=first.survey, external_id="r-1",
                              answered_at=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {R} SELECT * FROM {R} WHERE id = %s", [first.pk])  # the same id again
    assert _rows() == _keys() == [(first.pk, first.source_id, "r-1", first.answered_at)]


def test_the_same_response_in_two_deliveries_is_recorded_once_and_the_door_answers_as_before(client):
    source = make_source("standard")
    body = closeloop_body(response_id="r-7")
    answers = [post(client, source, body, standard_headers(source.secret, body, msg_id=msg))
               for msg in ("msg_a", "msg_b", "msg_a")]
    assert [a.status_code for a in answers] == [202, 202, 200]
    assert answers[2].json()["status"] == "duplicate" and answers[2].json()["id"] == answers[0].json()["id"]
    for delivery in WebhookDelivery.objects.filter(status="pending"):
        delivery_process(delivery_pk=delivery.pk)
    response = SurveyResponse.objects.get()
    assert sorted(WebhookDelivery.objects.values_list("status", "response_id")) == [
        ("processed", response.pk), ("processed", response.pk)]
    assert _keys() == _rows() == [(response.pk, source.pk, "r-7", datetime(2025, 3, 1, 10, tzinfo=UTC))]


def test_a_reference_to_a_response_that_does_not_exist_is_refused_at_commit():
    response = SurveyResponseFactory()
    alert = AlertFactory(response=response)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("UPDATE alerts_alert SET response_id = %s WHERE id = %s", [10**9, alert.pk])
    # Nor may a response be deleted under its alert behind Django's back.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {R} WHERE id = %s", [response.pk])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Alert.objects.get().response_id == response.pk


def test_deleting_a_response_cascades_sets_null_and_protects_as_before():
    case = opened_case()
    with pytest.raises(ProtectedError):
        case.response.delete()  # a case's opening response is protected
    other = SurveyResponseFactory(source=case.response.source, survey=case.response.survey)
    AlertFactory(response=other)
    CaseResponse.objects.create(case=case, response=other)
    theme = Theme.objects.create(name="Delivery", slug="delivery", keywords=["late"])
    ResponseTheme.objects.create(response=other, theme=theme, matches=["late"], answered_at=other.answered_at)
    Case.objects.filter(pk=case.pk).update(answered_again=other)
    delivery, _ = delivery_store(source=other.source, delivery_id="d-9", content_type="application/json",
                                 headers={}, body=b"{}")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(response=other)

    other.delete()

    assert not Alert.objects.filter(response_id=other.pk).exists()
    assert list(CaseResponse.objects.values_list("response_id", flat=True)) == [case.response_id]
    assert not ResponseTheme.objects.exists()
    assert Case.objects.get().answered_again_id is None
    assert WebhookDelivery.objects.get().response_id is None
    assert _keys() == _rows() and len(_rows()) == 1


def test_a_response_moved_to_another_month_keeps_its_key_and_its_references():
    with connection.cursor() as cursor:
        for month in (date(2024, 2, 1), date(2024, 6, 1)):
            partitions.create_partition(cursor, R, "answered_at", month)
    response = SurveyResponseFactory(answered_at=datetime(2024, 2, 10, tzinfo=UTC))
    alert = AlertFactory(response=response)
    SurveyResponse.objects.filter(pk=response.pk).update(answered_at=datetime(2024, 6, 10, tzinfo=UTC))
    assert _one(f"SELECT tableoid::regclass::text FROM {R} WHERE id = %s", [response.pk]) == (f"{R}_p202406",)
    assert _keys() == _rows()
    # The score rollup's statement trigger saw the move: the answer counts on its new day only.
    per_day = ScoreRollup.objects.values("day").annotate(n=Sum("responses")).filter(n__gt=0)
    assert {row["day"]: row["n"] for row in per_day} == {date(2024, 6, 10): 1}
    assert _keys()[0][3] == datetime(2024, 6, 10, tzinfo=UTC)
    assert Alert.objects.get().response_id == alert.response_id == response.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponseFactory(source=response.source, survey=response.survey, external_id=response.external_id)


def test_a_report_of_a_period_reads_only_its_months():
    this_month = partitions.month_start(datetime.now(UTC).date())
    until = partitions.add_months(this_month, 2)
    bounds = [datetime.combine(day, datetime.min.time(), tzinfo=UTC) for day in (this_month, until)]
    plan = "\n".join(row for (row,) in _all(
        f"EXPLAIN SELECT team_id, count(*) FROM {R} WHERE answered_at >= %s AND answered_at < %s GROUP BY team_id",
        bounds))
    read = [name for name in _partitions(R) if f" {name} " in plan]
    assert read == [partitions.partition_name(R, this_month), partitions.partition_name(R, partitions.add_months(this_month, 1))]


# --- The migration, back and forth on a database with rows --------------------------------------

BEFORE = ("surveys", "0019_deliveries_partitioned_by_month")


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_every_row_id_key_foreign_key_and_trigger():
    case = opened_case()
    old = SurveyResponseFactory(source=case.response.source, survey=case.response.survey,
                                answered_at=datetime(2021, 6, 30, 23, 59, tzinfo=UTC), nps=2)
    AlertFactory(response=old)
    CaseResponse.objects.create(case=case, response=old)
    # A row in every table that points at a response, so each foreign key has one to carry over.
    theme = Theme.objects.create(name="Delivery", slug="delivery", keywords=["late"])
    ResponseTheme.objects.create(response=old, theme=theme, matches=["late"], answered_at=old.answered_at)
    Recognition.objects.create(response=old, quote="Thanks to the courier", score=2)
    Case.objects.filter(pk=case.pk).update(answered_again=old)
    delivery, _ = delivery_store(source=old.source, delivery_id="d-migrated", content_type="application/json",
                                 headers={}, body=b"{}")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(response=old)
    after_shape, after_triggers = _shape(R), _triggers(R)
    months_before = set(_partitions(R))
    try:
        _migrate(BEFORE)
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [R]) == ("r",)
        assert _primary_key(R) == (f"{R}_pkey", "PRIMARY KEY (id)")
        assert ("surveys_response_unique_source_external", "u", "UNIQUE (source_id, external_id)") in _shape(R)[1]
        assert _references(R) == REFERENCES and _references("surveys_responsekey") == []
        assert _triggers(R) == sorted(  # less the keys' (this migration's), the theme rollup's (reporting 0009),
            name for name in set(after_triggers) - {  # the contact breaches' (reporting 0012), the segment
                "surveys_responsekey_claim", "surveys_responsekey_clear", "surveys_responsekey_release",
                "reporting_segment_bits"}  # bits' (reporting 0014), the location totals' (reporting 0019), the
            if not name.startswith(("reporting_themerollup_", "reporting_breach_", "reporting_locationtotal_",
                                    "reporting_customerlastanswer_",  # latest answers' (reporting 0020), the
                                    "reporting_segmentrollup_",  # segment rollup's (reporting 0021), the theme
                                    "reporting_themetotal_",  # totals' (reporting 0024) and the closure
                                    "reporting_closuretotal_")))  # totals' (reporting 0025)
        assert _one("SELECT to_regclass('surveys_responsekey')") == (None,)  # gone with its migration
        with connection.cursor() as cursor:  # rows written while the table is plain, its triggers firing
            cursor.execute(f"INSERT INTO {R} (source_id, survey_id, external_id, answered_at, received_at, scores, "
                           "partial, comment, sentiment_source, language, touchpoint, feedback_kind, channel, "
                           "location, region, attributes, case_alert, case_linked, nps) "
                           "VALUES (%s, %s, 'plain-1', '2023-11-15 10:00+00', now(), '{}', false, '', '', '', '', "
                           "'survey', '', '', '', '{}', false, false, 9) RETURNING id",
                           [case.response.source_id, case.response.survey_id])
            plain_id = cursor.fetchone()[0]
        columns = ", ".join(name for (name,) in _all(  # the columns then (later migrations add some)
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum", [R]))
        before_rows = _all(f"SELECT {columns} FROM {R} ORDER BY id")
        before_refs = [_all(f"SELECT id, {column} FROM {table} ORDER BY id") for table, column in REFERENCES]
        before_rollup = _score_rollup()

        _migrate_latest()

        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [R]) == ("p",)
        assert _all(f"SELECT {columns} FROM {R} ORDER BY id") == before_rows
        assert [_all(f"SELECT id, {column} FROM {table} ORDER BY id") for table, column in REFERENCES] == before_refs
        # Every reference still resolves: to the partitioned responses by id, and to their keys.
        for table, column in REFERENCES:
            pointing = _one(f"SELECT count({column}) FROM {table}")[0]
            assert pointing >= 1, table
            assert _one(f"SELECT count(*) FROM {table} t JOIN {R} r ON r.id = t.{column}") == (pointing,)
            assert _one(f"SELECT count(*) FROM {table} t JOIN surveys_responsekey k ON k.row_id = t.{column}") == (pointing,)
        assert _keys() == _rows()
        assert _shape(R) == after_shape and _triggers(R) == after_triggers
        assert _references("surveys_responsekey") == REFERENCES and _references(R) == []
        assert _one(f"SELECT tableoid::regclass::text FROM {R} WHERE id = %s", [old.pk]) == (f"{R}_p202106",)
        assert _score_rollup() == before_rollup  # nothing counted twice
        # The triggers fire on the partitioned table: a new response is counted, keyed, refused twice.
        new = SurveyResponseFactory(source=old.source, survey=old.survey, answered_at=datetime(2023, 11, 20, tzinfo=UTC))
        assert new.pk > plain_id
        assert _score_rollup() != before_rollup
        with pytest.raises(IntegrityError), transaction.atomic():
            SurveyResponseFactory(source=old.source, survey=old.survey, external_id="plain-1")
        # The way back: a plain table again with every row and the foreign keys pointing at it.
        _migrate(BEFORE)
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [R]) == ("r",)
        assert len(_rows()) == len(before_rows) + 1 and _references(R) == REFERENCES
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {R} SELECT * FROM {R} WHERE id = %s", [new.pk])
    finally:
        _migrate_latest()
        with connection.cursor() as cursor:
            for name in set(_partitions(R)) - months_before:
                cursor.execute(f'DROP TABLE "{name}"')
