"""Celery entry points for reporting: the upkeep of the rollups the report pages read."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def rollups_compact_task() -> dict:
    """Beat, every minute: fold the fresh deltas of the score and closure rollups and of the score
    totals into one row per key (surveys.rollups, reporting.rollups, reporting.score_totals), and
    recompute the answers' follow-ups of the customers marked stale (reporting.followups).
    Idempotent: with nothing fresh it does nothing."""
    from reporting import followups
    from reporting import rollups as closures
    from reporting import score_totals
    from surveys import rollups as scores

    return {"scores": scores.compact(), "closures": closures.compact(), "score_totals": score_totals.compact(),
            "followups": followups.fold_all()}
