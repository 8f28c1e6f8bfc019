"""Outcome events from a CSV file through the import machinery: the same parser and service as
the bulk API, idempotent on (source, external id), errors by row, other columns as attributes."""

from decimal import Decimal

import pytest

from imports.models import ImportRowError
from outcomes.models import OutcomeEvent
from tests.factories import CustomerFactory
from tests.imports.conftest import run_file

pytestmark = pytest.mark.django_db

CSV = ("event_id,type,amount,currency,date,email,plan\n"
       "inv-1,renewal,1200.50,EUR,2026-03-01,ana@example.com,gold\n"
       "inv-2,refund,30,usd,2026-03-05,ana@example.com,gold\n"
       "inv-3,upsell,10,EUR,2026-03-06,ana@example.com,gold\n"
       "inv-4,churn,0,EUR,2026-03-07,nobody@example.com,\n")


def test_outcomes_import_once_with_errors_by_row(personas):
    ana = CustomerFactory(email="ana@example.com")
    job = run_file("outcomes", CSV, personas.adam)
    assert (job.status, job.rows_created, job.rows_unchanged, job.rows_failed) == ("done", 2, 0, 2)
    renewal = OutcomeEvent.objects.get(external_id="inv-1")
    assert (renewal.customer_id, renewal.kind, renewal.amount, renewal.currency, renewal.source) == (
        ana.pk, "renewal", Decimal("1200.50"), "EUR", "csv")
    assert renewal.attributes == {"plan": "gold"}
    assert OutcomeEvent.objects.get(external_id="inv-2").currency == "USD"
    errors = {(e.row, e.column) for e in ImportRowError.objects.filter(job=job)}
    assert (4, "kind") in errors  # "upsell" is not a kind
    assert any(number == 5 for number, _column in errors)  # no customer with that e-mail
    again = run_file("outcomes", CSV, personas.adam)
    assert (again.rows_created, again.rows_unchanged, again.rows_failed) == (0, 2, 2)
    assert OutcomeEvent.objects.count() == 2
