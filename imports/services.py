"""Every write to an import job: upload (a preview, or queued at once from the API), start,
discard, and the audit entries that go with them. The run itself is imports.runner.

    job = import_prepare(kind="customers", file_name="crm.csv", content=data, by=user)  # preview
    import_start(job_id=job.pk, by=user)                                                  # queued"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEntry
from audit.services import AuditEvent, AuditTarget, audit_record
from core.queueing import enqueue_on_commit
from imports.models import ImportFile, ImportJob
from imports.reading import FileRefused, read_file
from imports.registry import importer_for, importers

RUN_TASK = "imports.tasks.import_run_task"


def stale_before():
    """A queued or running job whose heartbeat is older than this has no worker on it."""
    return timezone.now() - timedelta(seconds=getattr(settings, "IMPORT_STALE_SECONDS", 300))


class JobStateError(ValueError):
    """An action the job's status does not allow (start a job that started already, ...)."""


def importer_or_refuse(kind: str):
    importer = importer_for(kind or "")
    if importer is None:
        raise FileRefused(_("Choose what the file holds: one of %(kinds)s.")
                          % {"kinds": ", ".join(i.kind for i in importers())})
    return importer


def audit_import(job: ImportJob, event: str, actor=None) -> None:
    """One entry on the audit trail per step of an import (uploaded, started, finished), with its
    figures; the file's content stays out of the trail (it is personal data)."""
    audit_record(AuditEvent(
        action=AuditEntry.Action.IMPORT, actor=actor,
        target=AuditTarget(model=ImportJob, pk=job.pk,
                           label=f"{job.kind} import {job.pk}" if job.pk else f"{job.kind} bulk upsert"),
        details={"event": event, "kind": job.kind, "file": job.file_name, "via": job.via, "status": job.status,
                 "rows": job.rows_total, "created": job.rows_created, "updated": job.rows_updated,
                 "unchanged": job.rows_unchanged, "failed": job.rows_failed}))


@transaction.atomic
def import_prepare(*, kind: str, file_name: str, content: bytes, by, via: str = "page") -> ImportJob:
    """Check the file as a whole (FileRefused with what to do when it cannot be imported) and keep
    it as a job in preview: nothing is written to the records yet."""
    importer = importer_or_refuse(kind)
    read = read_file(importer, content)
    job = ImportJob.objects.create(
        kind=importer.kind, status=ImportJob.Status.PREVIEW, file_name=(file_name or "")[:255], via=via,
        encoding=read.encoding, delimiter=read.delimiter, headers=read.headers, columns=read.mapping,
        rows_total=read.rows_total,
        created_by=by if getattr(by, "is_authenticated", False) else None)
    ImportFile.objects.create(job=job, content=content, size=len(content), sha256=hashlib.sha256(content).hexdigest())
    audit_import(job, "uploaded", by)
    return job


@transaction.atomic
def import_start(*, job_id: int, by) -> ImportJob:
    """Queue a previewed job for the worker (once: a second start changes nothing and says so)."""
    updated = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PREVIEW).update(
        status=ImportJob.Status.QUEUED, heartbeat_at=timezone.now())
    job = ImportJob.objects.get(pk=job_id)
    if not updated:
        raise JobStateError(_("This import was started already."))
    audit_import(job, "started", by)
    enqueue_on_commit(RUN_TASK, job.pk, if_down="start it again from its page once the worker is back")
    return job


def import_create(*, kind: str, file_name: str, content: bytes, by, via: str = "api") -> ImportJob:
    """Upload and start at once (the API: there is no one to look at a preview)."""
    with transaction.atomic():
        job = import_prepare(kind=kind, file_name=file_name, content=content, by=by, via=via)
        return import_start(job_id=job.pk, by=by)


def import_requeue(*, job_id: int, by) -> ImportJob:
    """Queue again a job whose worker never took it (the broker was down) or died under it: the
    run skips the rows already done, and writing a row twice changes nothing."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        raise JobStateError(_("Only a queued or running import can be queued again."))
    enqueue_on_commit(RUN_TASK, job.pk, if_down="start it again from its page once the worker is back")
    return job


def imports_redrive() -> list[int]:
    """The periodic re-drive (beat, every two minutes): a job queued while the broker was down, or
    whose worker died mid-run (no progress for IMPORT_STALE_SECONDS), is queued again. The run's
    claim lets only one worker have it, so a job queued twice runs once."""
    stale = stale_before()
    ids = list(ImportJob.objects.filter(status__in=(ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
                                        heartbeat_at__lt=stale).values_list("pk", flat=True))
    for job_id in ids:
        enqueue_on_commit(RUN_TASK, job_id, if_down="the next re-drive queues it again")
    return ids


@transaction.atomic
def import_discard(*, job_id: int, by) -> None:
    """Drop a job still in preview, with its file (nothing was imported)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.PREVIEW:
        raise JobStateError(_("Only an import still in preview can be discarded."))
    audit_import(job, "discarded", by)
    job.delete()
