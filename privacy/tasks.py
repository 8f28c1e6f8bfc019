"""Background work for personal data and how long it is kept.

    partitions_maintain_task()       beat, daily: monthly partitions ahead, whole months past retention dropped
    delivery_bodies_forget_task()    beat, daily: raw webhook bodies past WEBHOOK_BODY_RETENTION_DAYS forgotten
"""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def partitions_maintain_task() -> list[dict]:
    """core.partitions.maintain: safe to run twice (a partition that exists is left alone, one
    already dropped is not there to drop)."""
    from core.partitions import maintain

    return [{"table": m.table, "created": m.created, "dropped": m.dropped, "deleted_from_default": m.deleted_from_default,
             "kept": m.kept} for m in maintain()]


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def delivery_bodies_forget_task() -> int:
    """surveys.services.deliveries_forget_bodies for deliveries older than WEBHOOK_BODY_RETENTION_DAYS
    (0: kept for ever). Safe to run twice: a forgotten body is not forgotten again."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from surveys.services import deliveries_forget_bodies

    if settings.WEBHOOK_BODY_RETENTION_DAYS <= 0:
        return 0
    return deliveries_forget_bodies(received_before=timezone.now() - timedelta(days=settings.WEBHOOK_BODY_RETENTION_DAYS))
