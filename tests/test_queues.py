"""Queues per kind of work and exactly one beat (docs/deployment.md "Queues").

Every task of the product goes to the queue of its kind; workers started on separate queues (as
separate processes, as on separate hosts) take only their own queue's tasks while the others wait;
a worker started without -Q (`make run`, the Procfile's `worker`) takes every queue. Of two beats
only the one holding the lock in Redis sends, and the other takes over when it dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import current_app
from django.db import connection

from core.metrics import celery_queue_depths
from core.queueing import task_named

ROOT = Path(__file__).resolve().parent.parent

# Written out, not derived from the settings under test: the kind of work each task is.
ROUTES = {
    "surveys.tasks.process_delivery_task": "ingest",
    "surveys.tasks.process_deliveries_task": "ingest",
    "surveys.tasks.redrive_pending_deliveries_task": "ingest",
    "cases.tasks.mail_poll_imap_task": "ingest",
    "cases.tasks.sla_sweep_task": "cases",
    "followup.tasks.verification_sweep_task": "cases",
    "alerts.tasks.alert_email_send_task": "notifications",
    "alerts.tasks.alert_emails_send_task": "notifications",
    "alerts.tasks.alert_emails_redrive_task": "notifications",
    "cases.tasks.notifications_dispatch_task": "notifications",
    "cases.tasks.notification_send_task": "notifications",
    "followup.tasks.verification_send_task": "notifications",
    "followup.tasks.recognition_notify_task": "notifications",
    "surveys.tasks.retag_responses_task": "text",
    "surveys.tasks.discover_themes_task": "text",
    "cases.tasks.retrain_root_cause_model_task": "text",
    "churn.tasks.churn_retrain_task": "text",
    "cases.tasks.manager_digest_task": "reports",
    "reporting.tasks.rollups_compact_task": "reports",
    "reporting.tasks.moments_compute_task": "reports",
    "reporting.tasks.moments_refresh_task": "reports",
    "reporting.tasks.segment_bits_sync_task": "reports",
    "imports.tasks.import_run_task": "reports",
    "imports.tasks.imports_redrive_task": "reports",
    "segments.tasks.segment_indexes_sync_task": "reports",
    "privacy.tasks.partitions_maintain_task": "reports",
    "privacy.tasks.delivery_bodies_forget_task": "reports",
}
APPS = ("accounts.", "imports.", "surveys.", "alerts.", "cases.", "followup.", "churn.", "reporting.", "privacy.", "organisation.",
        "demo.", "segments.")


def _queue_of(name: str) -> str:
    return current_app.amqp.router.route({}, name)["queue"].name


def test_every_task_of_the_product_goes_to_the_queue_of_its_kind():
    current_app.loader.import_default_modules()  # every app's tasks module, as a worker loads them
    product = sorted(name for name in current_app.tasks if name.startswith(APPS))
    assert {name: _queue_of(name) for name in product} == ROUTES
    assert _queue_of("reporting.tasks.some_future_export_task") == "reports"  # new report tasks too
    assert _queue_of("tests.queueing_fixture.tasks.unimported_task") == "celery"  # Celery's default


def test_a_worker_started_without_queues_consumes_every_queue():
    # The configured queues, which a worker started without -Q consumes (app.amqp.queues of this
    # test process may also hold a queue another test published to, e.g. the request-id probe's).
    assert sorted(queue.name for queue in current_app.conf.task_queues) == ["cases", "celery", "ingest", "notifications", "reports", "text"]


# --- real processes on the test Redis -------------------------------------------------------------


def _env(**extra) -> dict:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST") and k not in {"DJANGO_SETTINGS_MODULE", "CLOSELOOP_TEST_REDIS_BASE"}}
    env.update({
        "CLOSELOOP_TESTING": "true", "CELERY_TASK_ALWAYS_EAGER": "false", "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": os.environ["REDIS_URL"], "DB_CONN_MAX_AGE": "0", "LOG_LEVEL": "INFO", **extra,
    })
    return env


class Processes:
    """Subprocesses with their output in files; every one still running is killed at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], **env) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args], cwd=ROOT, env=_env(**env),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop_all(self) -> None:
        for name in self.procs:
            self.kill(name)


@pytest.fixture
def processes(tmp_path):
    running = Processes(tmp_path)
    yield running
    running.stop_all()


def _until(condition, seconds: float, what: str, on_fail=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds}s: {what}\n{on_fail()}")


def _worker(processes: Processes, name: str, queues: str | None) -> None:
    args = ["worker", "--pool", "solo", "-n", f"{name}@test", "--without-mingle", "--without-gossip",
            "--without-heartbeat", "--loglevel", "INFO"]
    processes.start(name, args + (["-Q", queues] if queues else []))


SENT = {  # one task of each kind, each harmless on an empty database
    "ingest": "surveys.tasks.redrive_pending_deliveries_task",
    "cases": "cases.tasks.sla_sweep_task",
    "notifications": "alerts.tasks.alert_emails_redrive_task",
    "text": "surveys.tasks.discover_themes_task",
    "reports": "cases.tasks.manager_digest_task",
}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_workers_on_separate_queues_take_only_their_own_kind_of_work(processes, monkeypatch):
    monkeypatch.setattr(current_app.conf, "task_always_eager", False)  # publish to Redis, as production does
    _worker(processes, "ingest-worker", "ingest")
    _worker(processes, "notify-worker", "notifications,reports")
    ids = {kind: task_named(name).apply_async().id for kind, name in SENT.items()}

    def ran(worker: str, kind: str) -> bool:
        return f"{SENT[kind]}[{ids[kind]}] succeeded" in processes.log(worker)

    def logs() -> str:
        return "\n".join(f"--- {n}\n{processes.log(n)[-2000:]}" for n in processes.procs)

    _until(lambda: ran("ingest-worker", "ingest") and ran("notify-worker", "notifications")
           and ran("notify-worker", "reports"), 90, "each worker ran its own queues' tasks", logs)
    assert processes.procs["ingest-worker"].pid != processes.procs["notify-worker"].pid
    for kind in ("notifications", "reports", "cases", "text"):
        assert ids[kind] not in processes.log("ingest-worker")
    for kind in ("ingest", "cases", "text"):
        assert ids[kind] not in processes.log("notify-worker")
    # No worker for cases and text: their tasks wait in their own queues; the others are empty.
    assert celery_queue_depths() == {"ingest": 0, "cases": 1, "notifications": 0, "text": 1, "reports": 0,
                                     "celery": 0}

    _worker(processes, "all-worker", None)  # `make run`'s and the Procfile's `worker`: every queue
    _until(lambda: ran("all-worker", "cases") and ran("all-worker", "text"), 90, "the worker without -Q drained",
           logs)
    assert celery_queue_depths() == {name: 0 for name in ["ingest", "cases", "notifications", "text", "reports",
                                                            "celery"]}


def _origins(queue: str) -> list[int]:
    """The process id of the sender of each message waiting in `queue` (Celery's `origin`
    header, gen<pid>@<host>), oldest first."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    messages = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
    return [int(m["headers"]["origin"].split("@")[0].removeprefix("gen")) for m in messages]


@pytest.mark.slow
def test_of_two_beats_only_the_lock_holder_sends_and_the_other_takes_over_when_it_dies(processes, tmp_path):
    lock_seconds = 3
    beat_env = {"REDRIVE_INTERVAL_SECONDS": "1", "BEAT_LOCK_SECONDS": str(lock_seconds)}
    first = processes.start("beat-1", ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "s1")], **beat_env)
    second = processes.start("beat-2", ["beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "s2")], **beat_env)

    def logs() -> str:
        return "\n".join(f"--- {n}\n{processes.log(n)[-2000:]}" for n in processes.procs)

    # The re-drive is due every second: several ticks' worth, all from one of the two.
    _until(lambda: len(_origins("ingest")) >= 4, 60, "four re-drives sent", logs)
    _until(lambda: "standing by" in processes.log("beat-1") + processes.log("beat-2"), 30, "one standing by", logs)
    senders = set(_origins("ingest"))
    assert len(senders) == 1 and senders <= {first.pid, second.pid}, (senders, first.pid, second.pid)
    holder, standby = ("beat-1", "beat-2") if senders == {first.pid} else ("beat-2", "beat-1")
    assert "lock taken" in processes.log(holder) and "standing by" in processes.log(standby)
    assert "lock taken" not in processes.log(standby)

    processes.kill(holder)  # SIGKILL: no goodbye, the lock is left to expire
    holder_pid, standby_pid = processes.procs[holder].pid, processes.procs[standby].pid
    _until(lambda: _origins("ingest").count(standby_pid) >= 2, lock_seconds + 15, "the standby took over", logs)
    origins = _origins("ingest")
    took_over = origins.index(standby_pid)
    assert set(origins[:took_over]) == {holder_pid} and set(origins[took_over:]) == {standby_pid}  # never both
    assert "lock taken" in processes.log(standby)
