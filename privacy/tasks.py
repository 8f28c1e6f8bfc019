"""Background work for personal data and how long it is kept.

    partitions_maintain_task()   beat, daily: monthly partitions ahead, whole months past retention dropped
"""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def partitions_maintain_task() -> list[dict]:
    """core.partitions.maintain: safe to run twice (a partition that exists is left alone, one
    already dropped is not there to drop)."""
    from core.partitions import maintain

    return [{"table": m.table, "created": m.created, "dropped": m.dropped, "deleted_from_default": m.deleted_from_default}
            for m in maintain()]
