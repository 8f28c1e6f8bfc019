"""Files as people upload them: encodings, delimiters, header aliases, limits; refused as a whole
with a sentence saying what to do."""

import pytest

from imports.reading import FileRefused
from imports.services import import_prepare
from surveys.models import Customer
from tests.imports.conftest import run_file

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("content, encoding", [
    ("external_id,name\ncrm-1,Zoë Brontë\n".encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + "external_id,name\ncrm-1,Zoë Brontë\n".encode("utf-8"), "utf-8-sig"),
    ("external_id,name\ncrm-1,Zoë Brontë\n".encode("cp1252"), "cp1252"),
    ("external_id\tname\r\ncrm-1\tZoë Brontë\r\n".encode("utf-16"), "utf-16"),
    ("external_id,name\ncrm-1,Zoë Brontë\x81\n".encode("latin-1"), "latin-1"),
])
def test_encodings_are_read_and_recorded(personas, content, encoding):
    job = run_file("customers", content, personas.adam)
    assert (job.encoding, job.rows_created) == (encoding, 1)
    assert Customer.objects.get(external_id="crm-1").name.startswith("Zoë Brontë")


@pytest.mark.parametrize("header, delimiter", [("id;e-mail", ";"), ("id\tEMAIL", "\t"), ("id|Email Address", "|"),
                                               ("id,mail", ",")])
def test_delimiters_and_header_aliases_are_detected(personas, header, delimiter):
    job = run_file("customers", f"{header}\ncrm-1{delimiter}a@example.com\n", personas.adam)
    assert (job.delimiter, job.rows_created) == (delimiter, 1)
    assert Customer.objects.get(external_id="crm-1").email == "a@example.com"


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty."),
    (b"external_id,name\n", "The file has a header but no rows."),
    (b"PK\x03\x04rest-of-a-zip", "This is a spreadsheet workbook (.xlsx or .ods), not a CSV file: save it as CSV "
                                 "(comma separated, UTF-8) and upload that."),
    (b"external_id,name\ncrm\x00-1,x\n", "The file contains NUL bytes: it is not a text file. Save it as CSV (UTF-8) "
                                        "and upload that."),
    (b"\xef\xbb\xbfexternal_id\ncrm-\xff\n", "The file starts as UTF-8 but is not: save it as CSV (UTF-8)."),
    (b"name,tier\nAnn,gold\n", "The file needs a column that identifies each record: one of external_id, email, phone."),
    (b"id,customer_id\n1,2\n", "“id” and “customer_id” are both the column external_id: keep one of them."),
    (b"email,name,name\na@example.com,A,B\n", "Two columns are headed “name”: give each column its own header."),
])
def test_files_that_cannot_be_imported_are_refused_with_what_to_do(personas, content, message):
    with pytest.raises(FileRefused) as refused:
        import_prepare(kind="customers", file_name="x.csv", content=content, by=personas.adam)
    assert str(refused.value) == message


def test_a_required_column_missing_is_refused(personas):
    with pytest.raises(FileRefused) as refused:
        import_prepare(kind="accounts", file_name="x.csv", content=b"name\nAcme\n", by=personas.adam)
    assert str(refused.value) == "The file has no column external_id, which an import of Accounts needs."


def test_size_and_row_limits(personas, settings):
    settings.IMPORT_MAX_ROWS = 3
    content = "email\n" + "".join(f"c{n}@example.com\n" for n in range(4))
    with pytest.raises(FileRefused) as refused:
        import_prepare(kind="customers", file_name="x.csv", content=content.encode(), by=personas.adam)
    assert str(refused.value) == "The file has more than 3 rows; up to 3 can be imported at once: split it."
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    with pytest.raises(FileRefused) as refused:
        import_prepare(kind="customers", file_name="x.csv", content=b"email\n" + b"x" * (2 * 1024 * 1024),
                       by=personas.adam)
    assert str(refused.value) == "The file is 2.0 MB; files up to 1.0 MB can be imported: split it."


def test_a_row_with_more_cells_than_the_header_fails_alone(personas):
    job = run_file("customers", "external_id,name\ncrm-1,Lee, Ann\ncrm-2,\"Chen, Bo\"\ncrm-3,Cy,,\n", personas.adam)
    assert (job.rows_created, job.rows_failed) == (2, 1)
    assert job.errors.get().message == ("This row has 1 cell more than the header has columns: a delimiter inside a "
                                        "value needs quotes.")
    assert Customer.objects.get(external_id="crm-2").name == "Chen, Bo"


def test_the_failed_rows_download_imports_again_once_fixed(personas):
    from imports.selectors import failed_rows_csv

    job = run_file("customers", "external_id,email,Region\ncrm-1,bad,North\ncrm-2,b@example.com,=cmd()\n",
                   personas.adam)
    text = failed_rows_csv(job)
    assert text.splitlines() == ["external_id,email,Region,import_errors",
                                 "crm-1,bad,North,email: “bad” is not an e-mail address."]
    fixed = run_file("customers", text.replace(",bad,", ",a@example.com,"), personas.adam)
    assert (fixed.rows_created, fixed.rows_failed) == (1, 0)
    assert Customer.objects.get(external_id="crm-1").attributes == {"Region": "North"}
