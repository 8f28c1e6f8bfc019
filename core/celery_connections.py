"""A worker's database connections get the care Django gives a web request's.

Django checks its connections when a request starts and when it ends (`close_old_connections`):
one that raised an error and no longer answers, or that is older than CONN_MAX_AGE, is closed,
and CONN_HEALTH_CHECKS' `SELECT 1` runs again before the next query. A Celery worker has no
requests, and with CELERY_DB_REUSE_MAX Celery's Django fixup no longer closes the connection
around each task either: a connection broken under the worker (PostgreSQL or PgBouncer
restarted, the network cut) was then kept, and every later task failed with "the connection is
closed" until the worker was restarted. Before every task the worker now does what a request
does. Eager tasks (tests, CELERY_TASK_ALWAYS_EAGER) run inside their caller's transaction:
those are left alone."""

from __future__ import annotations

from celery import signals
from django.db import close_old_connections


@signals.task_prerun.connect
def check_database_connections(task=None, **kwargs):
    if task is not None and not task.request.is_eager:
        close_old_connections()
