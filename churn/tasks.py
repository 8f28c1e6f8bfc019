"""Celery tasks of the churn model.

churn_retrain_task()  beat, nightly: retrain the churn model and rescore every customer
"""

from celery import shared_task


@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=2,
    soft_time_limit=3600,
    time_limit=3700,
)
def churn_retrain_task() -> dict:
    """Running it twice adds a model row and rewrites the same scores (the newest model is used)."""
    from churn.services import churn_retrain

    return churn_retrain().as_dict()
