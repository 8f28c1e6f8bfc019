"""Reading import jobs for the pages and the API: the preview of a file, the failed rows as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from django.utils.translation import gettext as _

from core.csv_export import csv_text
from imports.checking import check_row
from imports.models import ImportJob
from imports.reading import ERRORS_HEADER, data_rows, decode
from imports.registry import importer_for

PREVIEW_ROWS = 10


@dataclass(frozen=True)
class PreviewColumn:
    header: str
    column: str | None  # the importer's column, "" for an extra column kept, None for one ignored
    description: str


@dataclass(frozen=True)
class PreviewCell:
    text: str
    error: str


@dataclass(frozen=True)
class PreviewRow:
    number: int
    cells: list[PreviewCell]
    problems: list[str]  # errors of the row as a whole or of a column the file lacks


@dataclass(frozen=True)
class Preview:
    columns: list[PreviewColumn]
    rows: list[PreviewRow]
    missing: list[str]  # optional columns the file does not have


def _describe(column: str | None) -> str:
    if column is None:
        return _("ignored")
    if column == "":
        return _("kept as an attribute")
    return column


def job_preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> Preview:
    """The detected columns and the first rows of a job's file, each cell checked as the run will."""
    importer = importer_for(job.kind)
    text, _encoding = decode(bytes(job.upload.content))
    columns = [PreviewColumn(h, job.columns.get(h), _describe(job.columns.get(h))) for h in job.headers]
    rows = []
    for number, cells, extra in islice(data_rows(text, job.delimiter), limit):
        _row, errors = check_row(importer, job.columns, number, cells, extra)
        by_column = {}
        for error in errors:
            by_column.setdefault(error.column, []).append(error.message)
        shown = {c.column for c in columns if c.column}
        rows.append(PreviewRow(
            number=number,
            cells=[PreviewCell(cells.get(c.header, ""), " ".join(by_column.get(c.column, [])) if c.column else "")
                   for c in columns],
            problems=[m for column, messages in by_column.items() if column not in shown for m in messages]))
    present = set(job.columns.values())
    missing = [c.name for c in importer.columns if c.name not in present]
    return Preview(columns=columns, rows=rows, missing=missing)


def failed_rows_csv(job: ImportJob) -> str:
    """The rows that could not be imported, as written in the file, with what was wrong in a last
    column (ignored when the fixed file is imported again)."""
    errors = list(job.errors.order_by("row", "id").values_list("row", "column", "message", "values"))
    headers = [h for h in job.headers if h != ERRORS_HEADER]
    by_row: dict[int, tuple[dict, list[str]]] = {}
    for row, column, message, values in errors:
        entry = by_row.setdefault(row, (values, []))
        entry[1].append(f"{column}: {message}" if column else message)
    return csv_text([*headers, ERRORS_HEADER],
                    ([values.get(h, "") for h in headers] + [" ".join(messages)]
                     for values, messages in by_row.values()))
