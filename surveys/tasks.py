"""Celery entry points for the surveys stage: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from core.batching import collected
from surveys.services import deliveries_process, deliveries_redrive, delivery_process, discover, responses_retag


@shared_task(acks_late=True, ignore_result=True)
def process_delivery_task(delivery_id: int) -> str:
    """Turn one stored delivery into a response. Idempotent: the claim lets only one run work on it;
    transient errors re-enqueue it with backoff (services.delivery_process), never in a loop."""
    return delivery_process(delivery_pk=delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def redrive_pending_deliveries_task() -> dict:
    """Beat, every 30 s: deliveries stuck in processing go back to pending; pending ones older
    than WEBHOOK_REDRIVE_AFTER_SECONDS are enqueued again (broker was down, task lost). Also
    prunes the refused deliveries kept for the console to the newest few per address."""
    from surveys.ingest.refusals import refusals_prune  # the ingest package imports this module

    return {**deliveries_redrive(), "refusals_pruned": refusals_prune()}


@shared_task(acks_late=True, ignore_result=True)
def process_deliveries_task(delivery_ids: list[int]) -> dict:
    """A batch published by the process that accepted it (surveys.ingest.publish), topped up with
    other pending deliveries to WEBHOOK_PROCESS_BATCH_SIZE: claimed and read together, each recorded in its own
    transaction (services.deliveries_process). A re-run after a worker died mid-batch skips the
    ones already done."""
    results: dict[str, int] = {}
    with collected():  # what the batch's responses set off (e-mails, dispatch) goes out as one message each
        outcomes = deliveries_process(
            delivery_pks=delivery_ids, take_more=settings.WEBHOOK_PROCESS_BATCH_SIZE - len(delivery_ids))
    for status in outcomes.values():
        results[status] = results.get(status, 0) + 1
    return results


@shared_task(acks_late=True, ignore_result=True)
def retag_responses_task(since: str | None = None, theme_ids: list[int] | None = None) -> dict:
    """Re-tag responses answered since `since` (ISO date-time; all when None) against the active
    themes (or only `theme_ids`): queued when a theme is accepted, re-worded or reactivated.
    Idempotent: a second run changes nothing."""
    return responses_retag(since=parse_datetime(since) if since else None, theme_ids=theme_ids).as_dict()


@shared_task(acks_late=True, ignore_result=True)
def discover_themes_task() -> dict:
    """Beat, nightly: propose themes from recent comments no active theme matches (surveys.services.discovery).
    Proposes nothing new on a re-run (proposals are never repeated)."""
    result = discover()
    return {"proposed": [t.name for t in result.themes], "comments": result.comments, "reason": result.reason}
