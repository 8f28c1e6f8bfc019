"""Running an import: the Celery task's job, batch by batch, and the bulk API's arrays.

A batch is checked row by row (imports.checking), its good rows written by the importer's
`upsert` in one transaction with the batch's errors and the job's counters, so the progress a
page reads is always what was committed, and a worker that dies mid-batch leaves that batch to
be done again by the next run (writing a row twice changes nothing). An exception inside
`upsert` rolls back only its rows, which are then tried one at a time: one bad row never stops
the others. Rows that share a natural-key value are never written in one statement: the later
row goes into the next statement and wins, as it would in file order."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from imports.checking import check_row
from imports.models import ImportJob, ImportRowError
from imports.reading import FileRefused, data_rows, decode, normalized, spellings
from imports.registry import CREATED, FAILED, UNCHANGED, UPDATED, BatchOutcome, Importer, Row, RowError, importer_for
from imports.services import audit_import, importer_or_refuse, stale_before

logger = logging.getLogger(__name__)


def batch_size() -> int:
    return getattr(settings, "IMPORT_BATCH_SIZE", 500)


def bulk_max_items() -> int:
    return getattr(settings, "IMPORT_BULK_MAX_ITEMS", 1000)


def _key_disjoint(importer: Importer, rows: list[Row]) -> list[list[Row]]:
    groups, current, keys = [], [], set()
    for row in rows:
        row_keys = importer.key_values(row)
        if row_keys & keys:
            groups.append(current)
            current, keys = [], set()
        current.append(row)
        keys |= row_keys
    if current:
        groups.append(current)
    return groups


def write_rows(importer: Importer, rows: list[Row]) -> BatchOutcome:
    """Hand checked rows to the importer (see the module): the outcome of every row."""
    outcome = BatchOutcome()
    for group in _key_disjoint(importer, rows):
        try:
            with transaction.atomic():
                outcome.merge(importer.upsert(group))
            continue
        except Exception:  # noqa: BLE001 (whatever one row did, the others go on, one at a time)
            if len(group) == 1:
                logger.exception("%s import: row %s could not be saved", importer.kind, group[0].number)
                outcome.fail(group[0], "", _("This row could not be saved; nothing of it was imported."))
                continue
        for row in group:
            outcome.merge(write_rows(importer, [row]))
    return outcome


def import_run(*, job_id: int) -> str:
    """Run a queued job to the end (or go on with one whose worker died: its heartbeat is older
    than IMPORT_STALE_SECONDS). Anything else, e.g. a second delivery of the same task while the
    first runs, changes nothing: "skipped"."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id).filter(
        Q(status=ImportJob.Status.QUEUED) | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale_before()),
    ).update(status=ImportJob.Status.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now)
    if not claimed:
        return "skipped"
    job = ImportJob.objects.select_related("upload", "created_by").get(pk=job_id)
    importer = importer_for(job.kind)
    try:
        if importer is None:
            raise FileRefused(_("No importer for %(kind)s is installed.") % {"kind": job.kind})
        text, _encoding = decode(bytes(job.upload.content))
        batch: list[tuple[int, dict, int]] = []
        for item in data_rows(text, job.delimiter):
            if item[0] <= job.last_row:
                continue
            batch.append(item)
            if len(batch) >= batch_size():
                _run_batch(importer, job, batch)
                batch = []
        if batch:
            _run_batch(importer, job, batch)
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, finished_at=timezone.now(),
            message=str(exc) if isinstance(exc, FileRefused) else _("The import stopped on an unexpected error; "
                                                                   "the rows done so far are kept."))
        job.refresh_from_db()
        audit_import(job, "failed", job.created_by)
        return "failed"
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    audit_import(job, "finished", job.created_by)
    return "done"


def _run_batch(importer: Importer, job: ImportJob, batch: list[tuple[int, dict, int]]) -> None:
    rows, errors, raw = [], [], {}
    for number, cells, extra in batch:
        raw[number] = cells
        row, row_errors = check_row(importer, job.columns, number, cells, extra)
        if row is None:
            errors.extend(row_errors)
        else:
            rows.append(row)
    with transaction.atomic():
        outcome = write_rows(importer, rows) if rows else BatchOutcome()
        errors.extend(outcome.errors)
        ImportRowError.objects.bulk_create(
            [ImportRowError(job_id=job.pk, row=e.number, column=e.column[:100], message=e.message,
                            values=raw.get(e.number, {})) for e in errors])
        failed = {e.number for e in errors}
        counts = {status: sum(1 for number, result in outcome.results.items()
                              if result == status and number not in failed) for status in (CREATED, UPDATED, UNCHANGED)}
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=F("rows_done") + len(batch), rows_failed=F("rows_failed") + len(failed),
            rows_created=F("rows_created") + counts[CREATED], rows_updated=F("rows_updated") + counts[UPDATED],
            rows_unchanged=F("rows_unchanged") + counts[UNCHANGED], last_row=batch[-1][0],
            heartbeat_at=timezone.now())


# --- The bulk API ----------------------------------------------------------------------------------

@dataclass
class ItemResult:
    index: int
    status: str
    id: int | None = None
    errors: list[dict] = field(default_factory=list)


def _item_mapping(importer: Importer, item: dict, index: int) -> tuple[dict, list[RowError]]:
    names, mapping, errors, seen = spellings(importer), {}, [], {}
    for key in item:
        if not normalized(key):
            errors.append(RowError(index, "", _("Give every field a name.")))
            continue
        name = names.get(normalized(key))
        if name is None:
            if importer.extra_columns:
                mapping[key] = ""
            else:
                errors.append(RowError(index, key, _("Unknown field: use %(columns)s.")
                                       % {"columns": ", ".join(c.name for c in importer.columns)}))
            continue
        if name in seen:
            errors.append(RowError(index, key, _(
                "“%(first)s” and “%(second)s” are both the field %(column)s: keep one.")
                % {"first": seen[name], "second": key, "column": name}))
            continue
        seen[name] = key
        mapping[key] = name
    return mapping, errors


def bulk_upsert(*, kind: str, items, by) -> list[ItemResult]:
    """Upsert a JSON array of objects (fields named as a file's columns; the importer's extra
    fields, and an "attributes" object, kept where it keeps extra columns) by natural key:
    per item, its index and created, updated, unchanged or error with the errors. FileRefused
    for what is not an array of at most IMPORT_BULK_MAX_ITEMS objects."""
    importer = importer_or_refuse(kind)
    if not isinstance(items, list):
        raise FileRefused(_("Send a JSON array of objects."))
    if not items:
        raise FileRefused(_("The array is empty: send at least one object."))
    if len(items) > bulk_max_items():
        raise FileRefused(_("Send at most %(limit)s objects at once (this array has %(count)s): split it, or upload "
                            "a CSV file to /api/v1/imports/.") % {"limit": bulk_max_items(), "count": len(items)})
    rows, errors = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(RowError(index, "", _("Each item must be a JSON object.")))
            continue
        cells = dict(item)
        nested = cells.pop("attributes", None) if importer.extra_columns else None
        if nested is not None and not isinstance(nested, dict):
            errors.append(RowError(index, "attributes", _("Give attributes as an object of names and values.")))
            continue
        for name, value in (nested or {}).items():
            cells.setdefault(name, value)
        mapping, item_errors = _item_mapping(importer, cells, index)
        row, row_errors = check_row(importer, mapping, index, {k: v for k, v in cells.items() if k in mapping})
        if item_errors or row is None:
            errors.extend(item_errors + row_errors)
        else:
            rows.append(row)
    with transaction.atomic():
        outcome = write_rows(importer, rows) if rows else BatchOutcome()
    errors.extend(outcome.errors)
    by_index: dict[int, list[dict]] = {}
    for error in errors:
        by_index.setdefault(error.number, []).append({"field": error.column, "message": error.message})
    results = [ItemResult(index=i, status=FAILED, errors=by_index[i]) if i in by_index else
               ItemResult(index=i, status=outcome.results.get(i, FAILED), id=outcome.ids.get(i))
               for i in range(len(items))]
    summary = ImportJob(kind=importer.kind, via="api", file_name="", rows_total=len(items),
                        rows_created=sum(r.status == CREATED for r in results),
                        rows_updated=sum(r.status == UPDATED for r in results),
                        rows_unchanged=sum(r.status == UNCHANGED for r in results),
                        rows_failed=sum(r.status == FAILED for r in results), status=ImportJob.Status.DONE)
    audit_import(summary, "bulk", by)
    return results
