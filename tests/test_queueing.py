"""core.queueing: a task named by its services runs once the transaction commits (never after a
rollback); a broker that is down is logged and reported, not raised; a task's own error is."""

from __future__ import annotations

import logging

import pytest
from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from core.queueing import enqueue, enqueue_on_commit

NAME = "tests.test_queueing.remember_task"
RAN: list = []


@shared_task(name=NAME)
def remember_task(value, *, suffix=""):
    if value == "boom":
        raise ValueError("the task itself failed")
    RAN.append(value + suffix)


@pytest.fixture(autouse=True)
def _clear():
    RAN.clear()


def test_the_task_runs_after_commit_and_not_after_a_rollback(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                enqueue_on_commit(NAME, "rolled back")
                raise RuntimeError("the write failed")
        enqueue_on_commit(NAME, "kept", suffix="!")
        assert RAN == []  # not before the commit
    assert RAN == ["kept!"]


def test_a_broker_that_is_down_is_logged_not_raised(db, monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(remember_task, "apply_async", broker_down)
    with caplog.at_level(logging.WARNING, logger="core.queueing"):
        assert enqueue(NAME, "lost", if_down="the sweep will queue it") is False
    assert RAN == []
    assert "not enqueued" in caplog.text and "the sweep will queue it" in caplog.text


def test_an_error_of_the_task_itself_propagates_when_eager(db, settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER
    with pytest.raises(ValueError, match="the task itself failed"):
        enqueue(NAME, "boom")
    assert enqueue(NAME, "fine") is True and RAN == ["fine"]


def test_a_task_whose_module_this_process_never_imported_is_found_by_name(db):
    import sys

    from celery import current_app

    name = "tests.queueing_fixture.tasks.unimported_task"
    sys.modules.pop("tests.queueing_fixture.tasks", None)
    current_app.tasks.pop(name, None)
    assert enqueue(name) is True
    assert "tests.queueing_fixture.tasks" in sys.modules and name in current_app.tasks
