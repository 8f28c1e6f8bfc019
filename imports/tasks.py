"""Celery entry point for imports: takes a job id and runs it (imports.runner)."""

from __future__ import annotations

from celery import shared_task

from imports.runner import import_run
from imports.services import imports_redrive


@shared_task(acks_late=True, ignore_result=True)
def import_run_task(job_id: int) -> str:
    """Run an import job in batches. Idempotent: only a queued job (or one whose worker died) is
    claimed; a second delivery of the task while it runs changes nothing."""
    return import_run(job_id=job_id)


@shared_task(acks_late=True, ignore_result=True)
def imports_redrive_task() -> list[int]:
    """Beat, every two minutes: queue again the imports no worker is running (imports_redrive)."""
    return imports_redrive()
