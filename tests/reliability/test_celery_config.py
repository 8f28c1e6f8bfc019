"""The Celery settings "nothing is lost" rests on."""

from __future__ import annotations

import pytest

from config.celery import app


def test_tasks_are_acknowledged_after_they_ran_and_handed_back_when_a_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


def test_no_task_is_scheduled_beyond_the_visibility_timeout():
    """Redis re-delivers an unacknowledged task after visibility_timeout: a countdown or eta
    longer than that would be delivered twice. Beat intervals and task retry delays stay under it."""
    from datetime import timedelta

    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility >= 600
    app.loader.import_default_modules()
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        delay = getattr(task, "default_retry_delay", 0) or 0
        backoff_max = getattr(task, "retry_backoff_max", 0) or 0
        assert delay < visibility and backoff_max < visibility, name
    assert app.conf.task_time_limit < visibility
    for entry in app.conf.beat_schedule.values():
        schedule = entry["schedule"]
        seconds = schedule.total_seconds() if isinstance(schedule, timedelta) else getattr(schedule, "run_every", None)
        if isinstance(schedule, (int, float)):
            seconds = schedule
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        assert seconds is None or seconds > 0


def test_the_source_never_schedules_far_ahead():
    """No apply_async(countdown=/eta=) beyond the visibility timeout anywhere in the apps."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts or "bench" in path.parts:
            continue
        text = path.read_text(errors="ignore")
        assert "eta=" not in text or "apply_async" not in text, f"{path}: eta= on a task (SLA timing lives in due times)"
        for match in re.finditer(r"countdown\s*=\s*(\d+)", text):
            assert int(match.group(1)) < visibility, f"{path}: countdown {match.group(1)}"


@pytest.mark.parametrize("task, runs", [
    ("cases.tasks.retrain_root_cause_model_task", "daily"),  # the root-cause model is retrained nightly
    ("surveys.tasks.discover_themes_task", "daily"),  # theme discovery proposes new themes nightly
    ("followup.tasks.verification_sweep_task", "every few minutes"),  # "Did we put it right?" checks
])
def test_periodic_work_is_on_the_beat_schedule(task, runs):
    from celery.schedules import crontab

    app.loader.import_default_modules()
    entries = [entry for entry in app.conf.beat_schedule.values() if entry["task"] == task]
    assert task in app.tasks and len(entries) == 1
    schedule = entries[0]["schedule"]
    assert isinstance(schedule, crontab)
    if runs == "daily":
        assert len(schedule.hour) == 1 and len(schedule.minute) == 1
    else:
        assert len(schedule.hour) == 24 and 1 < len(schedule.minute) <= 60


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_database_connection_broke_runs_its_next_tasks_on_a_new_one():
    """PostgreSQL (or PgBouncer) drops the connection a worker keeps between tasks (a restart, a
    network cut): the next tasks run on a new connection, as the next web request would, instead
    of each failing with "the connection is closed" until the worker is restarted. The tasks run
    as a worker runs them (Celery's tracer, not eager), one after the other in this process."""
    from celery.app.trace import build_tracer
    from django.db import connection

    from surveys.models import SurveyResponse, WebhookDelivery
    from surveys.tasks import process_delivery_task
    from tests.surveys.doors import terminate_backend
    from tests.surveys.payloads import closeloop_body, make_source

    source = make_source("standard")
    deliveries = [
        WebhookDelivery.objects.create(source=source, delivery_id=f"after-cut-{i}", content_type="application/json",
                                       body=closeloop_body(response_id=f"after-cut-{i}", external_id=f"C-{i}"))
        for i in range(2)
    ]
    run = build_tracer(process_delivery_task.name, process_delivery_task, app=app, eager=False, propagate=True)
    terminate_backend(connection.connection.info.backend_pid)  # the worker's idle connection, gone
    for n, delivery in enumerate(deliveries):
        run(f"task-{n}", [delivery.pk], {}, {"id": f"task-{n}"})
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", "status")) == [
        ("after-cut-0", "processed"), ("after-cut-1", "processed")]
    assert sorted(SurveyResponse.objects.values_list("external_id", flat=True)) == ["after-cut-0", "after-cut-1"]
