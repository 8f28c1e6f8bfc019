"""Celery tasks of customers.

account_rules_sweep_task()  beat, hourly: the NPS-drop and silence account rules over every account
"""

from celery import shared_task


@shared_task(soft_time_limit=600, time_limit=660)
def account_rules_sweep_task() -> dict:
    """Idempotent: a second run opens nothing (one case per rule, account and episode)."""
    from customers.services.account_rules import account_rules_sweep

    return account_rules_sweep()
