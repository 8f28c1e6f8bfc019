"""Background work for the outer loop.

    outer_loop_scan_task()   beat, daily: judge last week's root causes, themes and touchpoints
"""

from celery import shared_task


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def outer_loop_scan_task() -> dict:
    from improvement.outer_loop import outer_loop_scan

    return outer_loop_scan()
