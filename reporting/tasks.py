"""Celery entry points for reporting: the upkeep of the rollups the report pages read."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def rollups_compact_task() -> dict:
    """Beat, every minute: fold the fresh deltas of the score, closure and theme rollups and of the
    score totals into one row per key (surveys.rollups, reporting.rollups, reporting.theme_rollup,
    reporting.score_totals), and
    recompute the answers' follow-ups of the customers marked stale (reporting.followups) and
    their breaches of the contact policy (reporting.contact_breaches; all of them again after a
    change of the policy). Idempotent: with nothing fresh it does nothing."""
    from reporting import contact_breaches, followups
    from reporting.rollup_set import rollups

    return {**{key: module.compact() for key, _name, module in rollups()}, "followups": followups.fold_all(),
            "contact_breaches": contact_breaches.fold_all()}


@shared_task(acks_late=True, ignore_result=True)
def moments_compute_task(spec: dict) -> bool:
    """Compute and store the journey map's moments of truth for one journey, scope and filter set
    (reporting.selectors.moments.spec), queued by a page view or by moments_refresh_task."""
    from reporting.selectors import moments

    return moments.compute(spec) is not None


@shared_task(acks_late=True, ignore_result=True)
def moments_refresh_task() -> dict:
    """Beat, every five minutes: queue the stored moments of truth that are due (never computed,
    the journey's stages or mappings changed, the default period moved on, over an hour old) and
    forget those nobody viewed for a week (reporting.selectors.moments.refresh_due)."""
    from reporting.selectors import moments

    return moments.refresh_due()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3, ignore_result=True)
def segment_bits_sync_task() -> int:
    """After a segment is saved or deleted (reporting.receivers): the customers', responses' and
    cases' segment bits brought in step (reporting.segment_bits; idempotent)."""
    from reporting.segment_bits import segment_bits_sync

    return segment_bits_sync()
