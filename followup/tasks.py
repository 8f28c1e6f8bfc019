"""Celery entry points for follow-up: thin wrappers that take ids and call followup.services.

The tasks import the services, never the other way round: the services enqueue these tasks by name."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from core.queueing import enqueue
from followup import services
from followup.services import SendFailed, recognition_notify, verification_give_up, verification_send

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def verification_sweep_task() -> dict:
    """Beat, every 5 min: expire unanswered checks whose link ran out, create the checks that are
    due (one per closure), and hand every check still waiting to the send task; also re-queue
    recognition e-mails still owed. Running twice at once asks nobody twice."""
    result = {"expired": 0, "created": 0, "pending": 0, "skipped": 0, "queued": 0, "recognitions": 0}
    if getattr(settings, "VERIFICATION_ENABLED", True):
        result["expired"] = services.verifications_expire()
        result.update(services.verifications_create_due())
        for verification_id in services.verifications_owed():
            enqueue(verification_send_task.name, verification_id, if_down="the next sweep will")
            result["queued"] += 1
    for recognition_id in services.recognitions_owed():
        enqueue(recognition_notify_task.name, recognition_id, if_down="the next sweep will")
        result["recognitions"] += 1
    return result


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5, default_retry_delay=60)
def verification_send_task(self, verification_id: int) -> str:
    """Send one recovery check. Idempotent (only a pending check is sent, under a row lock); a
    transport error retries with backoff (1, 2, 4, 8, 16 min), then the check is marked failed."""
    try:
        return verification_send(verification_id=verification_id)
    except SendFailed as exc:
        if self.request.retries >= self.max_retries:
            logger.error("recovery check %s failed for good: %s", verification_id, exc)
            verification_give_up(verification_id=verification_id, error=str(exc))
            return "failed"
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            return "retrying"  # eager (tests, demo): the next sweep sends it again
        raise self.retry(exc=exc, countdown=60 * 2 ** self.request.retries) from exc


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5, default_retry_delay=60)
def recognition_notify_task(self, recognition_id: int) -> str:
    """E-mail one recognition to the managers (the person in copy), once; retries on a transport
    error, after which the sweep tries again within the day."""
    try:
        return recognition_notify(recognition_id=recognition_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            logger.error("recognition %s e-mail failed: %s", recognition_id, exc)
            return "failed"
        raise self.retry(exc=exc, countdown=60 * 2 ** self.request.retries) from exc
