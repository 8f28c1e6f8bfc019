"""Celery entry points for alerts: thin wrappers that take ids and call services."""

from __future__ import annotations

import logging

from celery import shared_task

from alerts.services import alert_email_give_up, alert_email_send, alert_emails_redrive, alert_emails_send

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=5, default_retry_delay=60)
def alert_email_send_task(self, alert_id: int) -> str:
    """Send a notify or praise alert's e-mail. Idempotent (the claim lets one run send it);
    a transport error retries with backoff (1, 2, 4, 8, 16 min), then the alert is marked failed."""
    try:
        return alert_email_send(alert_id=alert_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            logger.error("alert %s e-mail failed for good: %s", alert_id, exc)
            alert_email_give_up(alert_id=alert_id, error=f"{exc.__class__.__name__}: {exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=60 * 2 ** self.request.retries)


@shared_task(acks_late=True, ignore_result=True)
def alert_emails_send_task(alert_ids: list[int]) -> dict:
    """The e-mails of a batch of alerts (core.batching), each as alert_email_send_task would
    send it; one whose transport fails goes back to alert_email_send_task for its retries."""
    outcomes, errors = alert_emails_send(alert_ids=alert_ids)
    for alert_id, exc in errors.items():  # back to pending: each retries on its own, with backoff
        logger.warning("alert %s e-mail failed (%s); retrying on its own", alert_id, exc)
        alert_email_send_task.apply_async((alert_id,), countdown=60)
    results: dict[str, int] = {}
    for status in outcomes.values():
        results[status] = results.get(status, 0) + 1
    return results


@shared_task(acks_late=True, ignore_result=True)
def alert_emails_redrive_task() -> int:
    """Beat, every 5 min: queue e-mails still owed (broker was down, or a worker died mid-send)."""
    return alert_emails_redrive()
