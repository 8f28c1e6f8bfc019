"""The import pages: upload with a preview, start, progress, row errors and their CSV, past jobs;
CX admins only; query budgets."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imports.models import ImportJob
from surveys.models import Customer
from tests.imports.conftest import run_file

pytestmark = pytest.mark.django_db

FILE = b"Customer ID;E-mail;Region\ncrm-1;ann@example.com;North\ncrm-2;not-an-email;South\n"


def test_upload_shows_the_detected_columns_and_first_rows_then_imports_on_start(
        personas, client, django_capture_on_commit_callbacks):
    client.force_login(personas.adam)
    answer = client.post("/imports/new/", {"kind": "customers", "file": SimpleUploadedFile("crm.csv", FILE)})
    job = ImportJob.objects.get()
    assert (answer.status_code, answer["Location"], job.status) == (302, f"/imports/{job.pk}/", "preview")
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "→ external_id" in page and "→ email" in page and "→ kept as an attribute" in page
    assert "“not-an-email” is not an e-mail address." in page
    assert "Import 2 rows" in page
    assert Customer.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"/imports/{job.pk}/start/")
    assert started.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.rows_created, job.rows_failed) == ("done", 1, 1)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'value="2"' in page and "hx-trigger" not in page
    assert "Download the failed rows (CSV)" in page
    csv = client.get(f"/imports/{job.pk}/failed-rows.csv")
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.content.decode().splitlines() == ["Customer ID,E-mail,Region,import_errors",
                                                 "crm-2,not-an-email,South,email: “not-an-email” is not an e-mail address."]
    assert client.post(f"/imports/{job.pk}/start/", follow=True).content.decode().count(
        "This import was started already.") == 1


def test_a_refused_file_is_a_400_with_the_reason_on_the_form(personas, client):
    client.force_login(personas.adam)
    answer = client.post("/imports/new/", {"kind": "accounts", "file": SimpleUploadedFile("a.csv", b"name\nAcme\n")})
    assert answer.status_code == 400
    assert "The file has no column external_id, which an import of Accounts needs." in answer.content.decode()
    assert ImportJob.objects.count() == 0


def test_a_running_job_polls_and_reloads_without_javascript(personas, client):
    client.force_login(personas.adam)
    job = ImportJob.objects.create(kind="customers", status="running", rows_total=1000, rows_done=250,
                                   rows_created=200, rows_failed=50, created_by=personas.adam)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f'hx-get="/imports/{job.pk}/progress/" hx-trigger="every 1s"' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert '<progress id="import-bar" max="1000" value="250">25%</progress>' in page
    fragment = client.get(f"/imports/{job.pk}/progress/").content.decode()
    assert fragment.startswith('<div id="import-progress"') and "250 of 1,000 rows done" in fragment


def test_discarding_a_preview_imports_nothing(personas, client):
    client.force_login(personas.adam)
    client.post("/imports/new/", {"kind": "customers", "file": SimpleUploadedFile("crm.csv", FILE)})
    job = ImportJob.objects.get()
    assert client.post(f"/imports/{job.pk}/discard/")["Location"] == "/imports/new/"
    assert (ImportJob.objects.count(), Customer.objects.count()) == (0, 0)


def test_only_cx_admins_see_the_import_pages(personas, client):
    job = run_file("customers", FILE, personas.adam)
    for user in (personas.alice, personas.mia):
        client.force_login(user)
        for url in ("/imports/", "/imports/new/", f"/imports/{job.pk}/", f"/imports/{job.pk}/failed-rows.csv"):
            assert client.get(url).status_code == 404
    client.logout()
    assert client.get("/imports/").status_code == 302


def test_query_budgets_of_the_list_and_the_job_page(personas, client):
    for _ in range(3):
        run_file("customers", FILE, personas.adam)
    job = ImportJob.objects.first()
    client.force_login(personas.adam)
    client.get("/imports/")  # the session and the user's first queries
    with CaptureQueriesContext(connection) as listing:
        page = client.get("/imports/")
    assert page.content.decode().count("/failed-rows.csv") == 0 and page.status_code == 200
    with CaptureQueriesContext(connection) as detail:
        assert client.get(f"/imports/{job.pk}/").status_code == 200
    assert (len(listing), len(detail)) == (5, 5)
