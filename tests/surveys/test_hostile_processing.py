"""After the 2xx (issue #17 item 7): a data error is never retried as if the database were down,
and replaying a delivery runs the alert rules again.

The errors here are real ones, raised by PostgreSQL (or Python) on real data; only outages
(OperationalError, InterfaceError) and a lost race (a unique violation) are retried."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from alerts.models import Alert, AlertRule
from cases.models import Case
from surveys.models import SurveyResponse, WebhookDelivery
from surveys.services import delivery_process, delivery_replay
from surveys.services.deliveries import delivery_fail_or_retry
from tests.alerts.helpers import defaults_off, rule
from tests.surveys.payloads import closeloop_body, make_source, standard_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def delivery():
    source = make_source("standard")
    row = WebhookDelivery.objects.create(source=source, delivery_id="d-1", content_type="application/json",
                                         body=closeloop_body(), status="processing", attempts=1)
    return row


def _raised(sql: str) -> Exception:
    """The exception PostgreSQL raises for `sql`, as Django hands it to the code."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except Exception as exc:  # noqa: BLE001 - what the test wants
        return exc
    raise AssertionError(f"{sql!r} raised nothing")


def test_a_data_error_fails_at_once_with_its_reason(delivery):
    exc = _raised("SELECT 'not a number'::integer")
    assert delivery_fail_or_retry(delivery, exc) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.not_before) == ("failed", 1, None)
    assert delivery.error == (
        "The database refused this delivery's data (DataError: invalid input syntax for type integer: "
        "\"not a number\"). Fix the sender's data or the source's mapping, then replay it.")


def test_a_check_violation_fails_at_once(delivery):
    exc = _raised("INSERT INTO surveys_surveyresponse (nps) VALUES (11)")
    assert isinstance(exc, IntegrityError)
    assert delivery_fail_or_retry(delivery, exc) == "failed"
    delivery.refresh_from_db()
    assert delivery.error.startswith("The database refused this delivery's data (IntegrityError: ")


def test_a_unique_violation_is_a_lost_race_and_retried(delivery):
    exc = _raised("SELECT 1; DO $$ BEGIN RAISE unique_violation USING MESSAGE = 'duplicate key'; END $$")
    assert delivery_fail_or_retry(delivery, exc) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.not_before is not None
    assert delivery.error.startswith("Attempt 1 failed, retrying: database error: duplicate key")


def test_an_outage_is_retried(delivery):
    exc = OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    assert delivery_fail_or_retry(delivery, exc) == "retrying"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == (
        "pending", "Attempt 1 failed, retrying: database error: connection to server at 127.0.0.1 failed: Connection refused")


def test_a_value_error_fails_at_once(delivery):
    try:
        "\ud800".encode("utf-8")
    except UnicodeEncodeError as exc:
        assert delivery_fail_or_retry(delivery, exc) == "failed"
    delivery.refresh_from_db()
    assert delivery.error.startswith("This delivery's data could not be turned into a response (UnicodeEncodeError: ")


def test_a_score_its_column_cannot_hold_fails_once_end_to_end_instead_of_six_retries(client):
    """PostgreSQL refuses a CSAT scale of 1-100000 (a smallint column): a DataError, failed at once."""
    source = make_source("standard")
    document = json.loads(closeloop_body())
    document["data"]["scores"] = {"csat": {"value": 50000, "min": 1, "max": 100000}}
    body = json.dumps(document).encode()
    answer = client.post(f"/webhooks/{source.slug}/", data=body, content_type="application/json",
                         **standard_headers(source.secret, body))
    assert answer.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.not_before) == ("failed", 1, None)
    assert delivery.error.startswith("The database refused this delivery's data (DataError: ")
    assert delivery.error.endswith("Fix the sender's data or the source's mapping, then replay it.")
    assert not SurveyResponse.objects.exists()


def test_replaying_a_processed_delivery_runs_the_alert_rules_again():
    defaults_off()
    source = make_source("standard")
    row = WebhookDelivery.objects.create(source=source, delivery_id="d-1", content_type="application/json",
                                         body=closeloop_body(nps=3))
    assert delivery_process(delivery_pk=row.pk) == "processed"
    response = SurveyResponse.objects.get()
    assert not Alert.objects.exists()  # no rule yet
    detractor = rule(name="Detractor", action=AlertRule.Action.OPEN_CASE)
    row.refresh_from_db()
    assert delivery_replay(delivery=row) is True  # eager: processed again now
    row.refresh_from_db()
    assert (row.status, row.response_id, row.replayed_at is not None) == ("processed", response.pk, True)
    assert list(Alert.objects.values_list("rule_id", "response_id")) == [(detractor.pk, response.pk)]
    assert Case.objects.filter(responses=response).count() == 1
    assert delivery_replay(delivery=row) is True  # again: the rule has fired, nothing new
    assert (Alert.objects.count(), Case.objects.count()) == (1, 1)


def test_replaying_a_failed_delivery_records_it_and_runs_the_rules():
    defaults_off()
    detractor = rule(name="Detractor", action=AlertRule.Action.OPEN_CASE)
    source = make_source("generic", auth={"mode": "token"})
    row = WebhookDelivery.objects.create(source=source, delivery_id="g-1", content_type="application/json",
                                         body=json.dumps({"t": {"id": "T-1", "score": 2}}).encode())
    assert delivery_process(delivery_pk=row.pk) == "failed"
    row.refresh_from_db()
    assert row.error.startswith("No score found")
    source.mapping = {"nps": "t.score", "response_id": "t.id"}
    source.save()
    assert delivery_replay(delivery=row) is True
    row.refresh_from_db()
    response = SurveyResponse.objects.get()
    assert (row.status, row.response_id, response.nps) == ("processed", response.pk, 2)
    assert list(Alert.objects.values_list("rule_id", "response_id")) == [(detractor.pk, response.pk)]
