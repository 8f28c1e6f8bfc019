"""An import: the file someone uploaded (or the API sent), how far its run got, and what each bad
row was told. Written only by imports.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One CSV import of one kind (customers, accounts, contacts, ... : imports.registry).

    `preview` while the person who uploaded it checks the detected columns and first rows; then
    `queued` -> `running` -> `done` (every row tried; the bad ones are in `errors`) or `failed`
    (the run itself stopped: `message` says why; rows done so far stay done). The counters move
    batch by batch, so the job page's progress bar reads them while it runs."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Preview")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=20, blank=True,
                                help_text=_("How the file was read: utf-8, utf-8-sig, latin-1."))
    delimiter = models.CharField(max_length=2, blank=True)
    # The file's headers in their order, and {header: column name, "" for an extra column kept as
    # an attribute, null for a column ignored}.
    headers = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    via = models.CharField(max_length=10, default="page", help_text=_("page or api: the door the file came through."))
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # The file's row number the last finished batch ended on: a run taken over after a worker
    # died goes on after it.
    last_row = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text=_("Why the run stopped, when it failed."))
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved at every batch: a running job whose heartbeat is old belongs to a worker that died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The list of past jobs, newest first.
            models.Index(fields=["-created_at", "-id"], name="imports_job_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0


class ImportFile(models.Model):
    """The uploaded bytes, kept in the database beside the job: every web and worker host reads
    the same file without a shared disk, and it goes when the job goes."""

    job = models.OneToOneField(ImportJob, on_delete=models.CASCADE, related_name="upload", primary_key=True)
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)


class ImportRowError(models.Model):
    """What was wrong with one row: its number in the file (the header is row 1), the column (empty
    when the row as a whole was refused), a sentence a person can act on, and the row as it was
    written, so the failed rows can be downloaded, fixed and imported again."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    values = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="imports_rowerror_job_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"
