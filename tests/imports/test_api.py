"""POST /api/v1/{customers,accounts,contacts}/bulk/ and /api/v1/imports/: CX admins only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from customers.models import Account, Contact
from imports.models import ImportJob
from surveys.models import Customer

pytestmark = pytest.mark.django_db


def test_bulk_customers_answers_per_item_and_is_idempotent(personas, api_client):
    api_client.force_authenticate(personas.adam)
    items = [{"external_id": "crm-1", "email": "ann@example.com", "name": "Ann", "value": 1200.5,
              "attributes": {"plan": "pro"}, "region": "North"},
             {"external_id": "crm-2", "email": "nope", "phone": "+44 20 7946 0958"},
             {"tier": "gold"},
             "crm-3"]
    answer = api_client.post("/api/v1/customers/bulk/", items, format="json")
    assert answer.status_code == 200
    ann = Customer.objects.get(external_id="crm-1")
    assert answer.json() == {"created": 1, "updated": 0, "unchanged": 0, "failed": 3, "results": [
        {"index": 0, "status": "created", "id": ann.pk, "errors": []},
        {"index": 1, "status": "error", "id": None, "errors": [
            {"field": "email", "message": "“nope” is not an e-mail address."}]},
        {"index": 2, "status": "error", "id": None, "errors": [
            {"field": "external_id", "message": "Give one of external_id, email, phone: they identify the record."}]},
        {"index": 3, "status": "error", "id": None, "errors": [{"field": "", "message": "Each item must be a JSON object."}]},
    ]}
    assert (str(ann.account_value), ann.attributes) == ("1200.50", {"plan": "pro", "region": "North"})
    again = api_client.post("/api/v1/customers/bulk/", items[:1], format="json")
    assert again.json()["results"] == [{"index": 0, "status": "unchanged", "id": ann.pk, "errors": []}]
    changed = api_client.post("/api/v1/customers/bulk/", [{"email": "ANN@example.com", "tier": "gold"}], format="json")
    assert changed.json()["results"] == [{"index": 0, "status": "updated", "id": ann.pk, "errors": []}]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).first()
    assert (entry.actor_id, entry.object_repr, entry.additional_data["event"], entry.additional_data["updated"]) == (
        personas.adam.pk, "customers bulk upsert", "bulk", 1)


def test_bulk_accounts_and_contacts(personas, api_client):
    api_client.force_authenticate(personas.adam)
    Customer.objects.create(external_id="crm-1", email="ann@example.com")
    answer = api_client.post("/api/v1/accounts/bulk/", [
        {"external_id": "acct-2", "name": "Stores", "parent_external_id": "acct-1", "renewal_date": "2027-03-31"},
        {"external_id": "acct-1", "name": "Group", "value": "50000"},
        {"external_id": "acct-3", "colour": "blue"},
    ], format="json")
    assert answer.status_code == 200
    assert [(r["status"], r["errors"]) for r in answer.json()["results"]] == [
        ("created", []), ("created", []),
        ("error", [{"field": "colour", "message": "Unknown field: use external_id, name, parent_external_id, "
                                                  "owner_email, value, renewal_date."}])]
    assert Account.objects.get(external_id="acct-2").parent.name == "Group"
    contacts = api_client.post("/api/v1/contacts/bulk/", [
        {"account_external_id": "acct-2", "customer_email": "ANN@example.com", "role": "decision_maker"}], format="json")
    assert contacts.json()["results"][0]["status"] == "created"
    assert Contact.objects.get().role == "decision_maker"


@pytest.mark.parametrize("body, message", [
    ({"external_id": "x"}, "Send a JSON array of objects."),
    ([], "The array is empty: send at least one object."),
])
def test_bulk_refuses_what_is_not_an_array(personas, api_client, body, message):
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/customers/bulk/", body, format="json")
    assert (answer.status_code, answer.json()) == (400, {"detail": [message]})


def test_bulk_limit(personas, api_client, settings):
    settings.IMPORT_BULK_MAX_ITEMS = 2
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/customers/bulk/", [{"email": f"c{n}@example.com"} for n in range(3)],
                             format="json")
    assert (answer.status_code, answer.json()) == (400, {"detail": [
        "Send at most 2 objects at once (this array has 3): split it, or upload a CSV file to /api/v1/imports/."]})
    assert Customer.objects.count() == 0


def test_only_cx_admins_import(personas, api_client):
    assert api_client.post("/api/v1/customers/bulk/", [{"email": "a@example.com"}], format="json").status_code == 401
    for user in (personas.alice, personas.mia):
        api_client.force_authenticate(user)
        assert api_client.post("/api/v1/customers/bulk/", [{"email": "a@example.com"}], format="json").status_code == 404
        assert api_client.get("/api/v1/imports/").status_code == 404
    assert Customer.objects.count() == 0


def test_upload_a_file_runs_it_and_reports_progress_and_errors(personas, api_client, django_capture_on_commit_callbacks):
    api_client.force_authenticate(personas.adam)
    upload = SimpleUploadedFile("crm.csv", b"external_id,email\ncrm-1,a@example.com\ncrm-2,bad\n", "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_client.post("/api/v1/imports/", {"kind": "customers", "file": upload}, format="multipart")
    assert answer.status_code == 201
    job_id = answer.json()["id"]
    job = api_client.get(f"/api/v1/imports/{job_id}/").json()
    assert {k: job[k] for k in ("kind", "status", "via", "rows_total", "rows_done", "rows_created", "rows_failed",
                                "percent", "created_by", "encoding", "delimiter")} == {
        "kind": "customers", "status": "done", "via": "api", "rows_total": 2, "rows_done": 2, "rows_created": 1,
        "rows_failed": 1, "percent": 100, "created_by": "adam", "encoding": "utf-8", "delimiter": ","}
    errors = api_client.get(f"/api/v1/imports/{job_id}/errors/").json()
    assert errors["results"] == [{"row": 3, "column": "email", "message": "“bad” is not an e-mail address.",
                                  "values": {"external_id": "crm-2", "email": "bad"}}]
    assert list(AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT, object_id=job_id).order_by("id")
                .values_list("additional_data__event", flat=True)) == ["uploaded", "started", "finished"]
    assert api_client.get("/api/v1/imports/?status=done").json()["count"] == 1


@pytest.mark.parametrize("data, field, message", [
    ({"kind": "planets", "file": SimpleUploadedFile("a.csv", b"email\na@example.com\n")}, "file",
     "Choose what the file holds: one of accounts, contacts, customers, outcomes."),
    ({"kind": "customers", "file": SimpleUploadedFile("a.csv", b"PK\x03\x04....")}, "file",
     "This is a spreadsheet workbook (.xlsx or .ods), not a CSV file: save it as CSV (comma separated, UTF-8) and "
     "upload that."),
])
def test_upload_refusals_are_400s_naming_the_problem(personas, api_client, data, field, message):
    api_client.force_authenticate(personas.adam)
    answer = api_client.post("/api/v1/imports/", data, format="multipart")
    assert (answer.status_code, answer.json()) == (400, {field: [message]})
    assert ImportJob.objects.count() == 0
