"""Customers from a CSV file: idempotent, matched as deliveries are, errors by row."""

from decimal import Decimal

import pytest

from customers.models import Identity
from imports.models import ImportJob, ImportRowError
from surveys.models import Customer
from surveys.normalized import CustomerIdentity
from surveys.services.customers import customer_find_or_create
from tests.factories import CustomerFactory
from tests.imports.conftest import run_file

pytestmark = pytest.mark.django_db

CRM = (
    "Customer ID,E-mail,Full name,Phone,Tier,Segment,Value,Language,Region,Industry\n"
    "crm-1,ann@example.com,Ann Lee,+44 20 7946 0958,gold,retail,\"1,250.50\",fr,North,Retail\n"
    "crm-2,bo@example.com,Bo Chen,,silver,,300,,South,\n"
    "crm-3,cy@example.com,Cy Diaz,0044 7700 900123,,,,pt-br,,Logistics\n"
)


def figures(job):
    return (job.status, job.rows_total, job.rows_done, job.rows_created, job.rows_updated, job.rows_unchanged,
            job.rows_failed)


def test_a_file_creates_its_customers_with_typed_values_and_attributes(personas):
    job = run_file("customers", CRM, personas.adam)
    assert figures(job) == ("done", 3, 3, 3, 0, 0, 0)
    ann = Customer.objects.get(external_id="crm-1")
    assert (ann.email, ann.name, ann.phone, ann.tier, ann.segment, ann.account_value) == (
        "ann@example.com", "Ann Lee", "+442079460958", "gold", "retail", Decimal("1250.50"))
    assert ann.attributes == {"Region": "North", "Industry": "Retail", "language": "fr"}
    assert Customer.objects.get(external_id="crm-3").attributes == {"Industry": "Logistics", "language": "pt-BR"}
    assert sorted(Identity.objects.filter(customer=ann).values_list("kind", "value")) == [
        ("email", "ann@example.com"), ("external_id", "crm-1"), ("phone", "+442079460958")]
    assert job.headers[:3] == ["Customer ID", "E-mail", "Full name"]
    assert job.columns["Customer ID"] == "external_id" and job.columns["Region"] == ""


def test_the_same_file_twice_creates_nothing_and_changes_nothing(personas):
    run_file("customers", CRM, personas.adam)
    stamps = dict(Customer.objects.values_list("external_id", "updated_at"))
    again = run_file("customers", CRM, personas.adam)
    assert figures(again) == ("done", 3, 3, 0, 0, 3, 0)
    assert Customer.objects.count() == 3
    assert dict(Customer.objects.values_list("external_id", "updated_at")) == stamps


def test_a_changed_row_updates_and_an_empty_cell_changes_nothing(personas):
    run_file("customers", CRM, personas.adam)
    job = run_file("customers", "external_id,tier,name\ncrm-1,platinum,\ncrm-2,silver,\n", personas.adam)
    assert figures(job) == ("done", 2, 2, 0, 1, 1, 0)
    ann = Customer.objects.get(external_id="crm-1")
    assert (ann.tier, ann.name) == ("platinum", "Ann Lee")


def test_rows_find_customers_as_deliveries_do(personas):
    """External id, else e-mail ignoring case unless both carry different ids, else phone."""
    by_email = CustomerFactory(email="Dee@Example.com", external_id=None, name="Dee")
    other_id = CustomerFactory(email="eve@example.com", external_id="shop-9", name="Eve")
    by_phone = CustomerFactory(email="", external_id=None, phone="+447700900555", name="Fay")
    job = run_file("customers", "external_id,email,phone,tier\n"
                                "crm-10,dee@example.com,,gold\n"
                                "crm-11,EVE@example.com,,gold\n"
                                ",,+44 7700 900555,gold\n", personas.adam)
    assert figures(job) == ("done", 3, 3, 1, 2, 0, 0)
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert (by_email.external_id, by_email.tier, by_phone.tier) == ("crm-10", "gold", "gold")
    twin = Customer.objects.get(external_id="crm-11")  # another id on Eve's address: a second person
    assert (twin.email, twin.attributes) == ("", {"email": "EVE@example.com"})
    assert set(Identity.objects.filter(kind="email", value="eve@example.com").values_list("customer", flat=True)) == {
        twin.pk}
    # The delivery path agrees on every row.
    for identity, expected in [(CustomerIdentity(external_id="crm-10", email="dee@example.com"), by_email),
                               (CustomerIdentity(phone="+447700900555"), by_phone)]:
        assert customer_find_or_create(identity).pk == expected.pk
    assert other_id.pk != twin.pk


def test_a_merged_customer_is_followed_to_the_one_it_was_merged_into(personas):
    target = CustomerFactory(external_id="crm-20", tier="")
    merged = CustomerFactory(external_id="crm-21", merged_into=target)
    job = run_file("customers", "external_id,tier\ncrm-21,gold\n", personas.adam)
    assert figures(job) == ("done", 1, 1, 0, 1, 0, 0)
    target.refresh_from_db()
    merged.refresh_from_db()
    assert (target.tier, merged.tier, target.external_id) == ("gold", "", "crm-20")


def test_bad_rows_are_reported_by_row_and_column_and_the_others_are_imported(personas):
    job = run_file("customers", "external_id,email,phone,value,language\n"
                                "crm-30,not-an-email,,,\n"
                                "crm-31,ok@example.com,12,abc,english\n"
                                ",,,,\n"
                                "crm-32,fine@example.com,,10,\n"
                                ",,,5,en\n", personas.adam)
    assert figures(job) == ("done", 4, 4, 1, 0, 0, 3)
    assert list(ImportRowError.objects.filter(job=job).values_list("row", "column", "message")) == [
        (2, "email", "“not-an-email” is not an e-mail address."),
        (3, "phone", "“12” is not a phone number: write it with its country code, e.g. +44 20 7946 0958."),
        (3, "value", "“abc” is not a number."),
        (3, "language", "“english” is not a language code: write it as ISO 639-1, e.g. en, fr or pt-BR."),
        (6, "external_id", "Give one of external_id, email, phone: they identify the record."),
    ]
    assert Customer.objects.filter(external_id="crm-32").exists()
    assert ImportRowError.objects.get(job=job, column="email").values == {
        "external_id": "crm-30", "email": "not-an-email", "phone": "", "value": "", "language": ""}


def test_rows_sharing_a_key_in_one_batch_are_written_in_order(personas):
    job = run_file("customers", "external_id,tier\ncrm-40,silver\ncrm-40,gold\n", personas.adam)
    assert figures(job) == ("done", 2, 2, 1, 1, 0, 0)
    assert Customer.objects.get(external_id="crm-40").tier == "gold"


def test_batches_commit_progress_as_they_go(personas, settings):
    settings.IMPORT_BATCH_SIZE = 2
    rows = "".join(f"crm-{n},c{n}@example.com\n" for n in range(5))
    job = run_file("customers", "external_id,email\n" + rows, personas.adam)
    assert figures(job) == ("done", 5, 5, 5, 0, 0, 0)
    assert job.last_row == 6


def test_a_second_run_of_a_finished_job_changes_nothing(personas):
    from imports.runner import import_run

    job = run_file("customers", CRM, personas.adam)
    assert import_run(job_id=job.pk) == "skipped"
    assert ImportJob.objects.get(pk=job.pk).rows_created == 3


def test_an_attribute_too_long_to_keep_fails_its_row_rather_than_being_cut(personas):
    job = run_file("customers", "external_id,Notes\ncrm-50," + "x" * 1001 + "\ncrm-51,short\n", personas.adam)
    assert figures(job) == ("done", 2, 2, 1, 0, 0, 1)
    assert list(job.errors.values_list("row", "column", "message")) == [
        (2, "Notes", "An extra column is kept as an attribute: its name up to 100 characters, its value up to 1000.")]
