"""Queue a Celery task by name, after the transaction commits, unless the broker is down.

Services never import their app's tasks module (tasks import services: a task takes ids and
calls one), so they name the task instead:

    enqueue_on_commit("surveys.tasks.retag_responses_task", since=since, theme_ids=[theme.pk])

The task is looked up in the Celery app's registry (its module imported by name on first use),
and queued with `apply_async`, which runs it at once under CELERY_TASK_ALWAYS_EAGER (tests).

Broker down: the work the task would do is already in the database (a pending row), and a
sweep re-drives owed work, so a failed publish is logged, not raised, and gives up at once
(no publish retries inside a web request). Under CELERY_TASK_ALWAYS_EAGER an error raised by
the task itself propagates, so tests see it."""

from __future__ import annotations

import importlib
import logging

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args, countdown: int | None = None, if_down: str = "its sweep will queue it later",
            **kwargs) -> bool:
    """Queue the task now; False (logged, with `if_down` saying who picks the work up) when the
    broker is unreachable."""
    try:
        task_named(task_name).apply_async(args, kwargs, countdown=countdown or None, retry=False)
    except Exception as exc:  # broker unreachable: the owed work waits in the database
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and not _is_broker_error(exc):
            raise
        logger.warning("%s%r not enqueued (%s); %s", task_name.rsplit(".", 1)[-1], args or kwargs, exc, if_down)
        return False
    return True


def enqueue_on_commit(task_name: str, *args, countdown: int | None = None,
                      if_down: str = "its sweep will queue it later", **kwargs) -> None:
    """`enqueue` once the current transaction commits (at once outside a transaction); nothing
    when it rolls back."""
    transaction.on_commit(lambda: enqueue(task_name, *args, countdown=countdown, if_down=if_down, **kwargs))


def task_named(name: str):
    """The registered Celery task called `name` (e.g. "surveys.tasks.process_delivery_task"),
    importing its module by name the first time a process asks (web and ingest processes have
    not imported the apps' tasks modules)."""
    from celery import current_app

    if name not in current_app.tasks:
        importlib.import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def _is_broker_error(exc: Exception) -> bool:
    from kombu.exceptions import OperationalError as KombuOperationalError

    return isinstance(exc, (KombuOperationalError, ConnectionError, OSError))
