"""Background work for cases. Each task takes ids (or nothing), is safe to run twice and calls
services or the notification outbox.

    sla_sweep_task()                 beat, every minute: overdue / due soon / escalation, then dispatch
    notifications_dispatch_task()    deliver due outbox rows in batches (re-queues itself if more wait)
    notification_send_task(id)       deliver one row now
    manager_digest_task()            beat, daily: one digest per manager (once per day)
    retrain_root_cause_model_task()  beat, nightly: retrain the root-cause suggestion model
    mail_poll_imap_task()            beat, every minute: customers' e-mail through IMAP (cases/mail)
"""

from __future__ import annotations

import logging
import time

from celery import shared_task

logger = logging.getLogger(__name__)

DISPATCH_BATCH = 200
DISPATCH_SECONDS = 50  # stay well inside the task time limit; the rest goes to the next run


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def sla_sweep_task() -> dict:
    from cases.services import cases_sweep_sla

    result = cases_sweep_sla()
    if any(result.values()):
        logger.info("sla sweep", extra={"sweep": dict(result)})
    return dict(result)


@shared_task(bind=True)
def notifications_dispatch_task(self) -> int:
    from cases.notifications import claim_batch, deliver_claimed

    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < DISPATCH_SECONDS:
        ids = claim_batch(DISPATCH_BATCH)
        if not ids:
            return sent
        sent += deliver_claimed(ids)
    if not self.request.is_eager:
        notifications_dispatch_task.apply_async(countdown=1)  # more are waiting
    return sent


@shared_task
def notification_send_task(notification_id: int) -> bool:
    from cases.notifications import deliver

    return deliver(notification_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def manager_digest_task() -> int:
    from cases.notifications import queue_manager_digests

    return queue_manager_digests()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=2, soft_time_limit=1800, time_limit=1900)
def retrain_root_cause_model_task() -> dict:
    """Learn root-cause suggestions again from the closed cases (cases.suggest). Running it twice
    only adds a model row (the newest is used, the last few are kept)."""
    from cases.suggest import train_root_cause_model

    model = train_root_cause_model()
    if model is None:
        return {"trained": False}
    return {"trained": True, "model_id": model.pk, "trained_on": model.trained_on, "classes": model.classes,
            "accuracy_top1": model.accuracy_top1, "accuracy_top3": model.accuracy_top3}


@shared_task
def mail_poll_imap_task() -> dict | None:
    """Beat, every minute: the IMAP door (cases.mail.imap); nothing when MAIL_IMAP_HOST is unset."""
    from cases.mail.imap import poll

    result = poll()
    return result.as_dict() if result is not None else None
