"""Background work for segments.

    segment_indexes_sync_task()   after a segment is saved or deleted: its member index (segments.indexes)
"""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def segment_indexes_sync_task() -> list[str]:
    """Create the member indexes the segments should have, drop the rest (idempotent)."""
    from segments.indexes import segment_indexes_sync

    return segment_indexes_sync()
