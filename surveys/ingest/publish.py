"""Publishing: a committed delivery handed to the workers. One path, used by both doors.

A door commits the delivery row and calls `publish(pk)`, which only puts the id on an in-memory
queue; the answer does not wait for Redis. One daemon thread per process takes whatever ids have
queued up (at most BATCH_SIZE) and publishes them as one `process_deliveries_task` message.
Under load many deliveries share one message, so the cost of building and sending a Celery
message (the largest CPU cost of accepting a webhook after the INSERT; docs/benchmarks_webhooks.md)
is paid once per batch; when traffic is light each id goes out alone, a millisecond or so after
its commit. This is what the ingest server's throughput needs, and the Django view uses it too.

Nothing is lost this way: the row is committed before the id is queued, and a delivery whose
message never reaches Redis (the process dies with ids still queued, Redis is down) is still
pending in PostgreSQL, where the re-drive (surveys.tasks.redrive_pending_deliveries_task)
enqueues it after WEBHOOK_REDRIVE_AFTER_SECONDS, exactly as when the broker is unreachable.
The thread is started lazily in the process that first submits (after gunicorn's fork), and
what is queued at a clean exit is flushed by an atexit hook (and by the ingest server's lifespan).

With CELERY_TASK_ALWAYS_EAGER (tests, a process without a broker) there is no message to batch:
a task "sent" runs in the caller. `publish` then runs the delivery's task at once, in the
calling thread, so it sees the caller's database state and its errors reach the caller; a
background thread would run it outside the caller's transaction, at a moment nobody waits for.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections

from surveys.tasks import process_deliveries_task, process_delivery_task

logger = logging.getLogger("surveys.webhooks")

BATCH_SIZE = 100
# After the first id of a batch the thread waits this long for more before publishing, so a busy
# process sends a few full messages rather than one per delivery (each message costs the worker
# a task run even when its rows were already taken by another batch). Light traffic pays at most
# this much extra latency.
LINGER_SECONDS = 0.01


def _publish_batch(ids: list[int]) -> None:
    process_deliveries_task.apply_async((ids,), retry=False)


class BatchPublisher:
    """A queue of delivery ids and the one thread that publishes them."""

    def __init__(self, publish: Callable[[list[int]], None] = _publish_batch, batch_size: int = BATCH_SIZE,
                 linger: float = LINGER_SECONDS):
        self._publish = publish
        self._batch_size = batch_size
        self._linger = linger
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def submit(self, delivery_pk: int) -> None:
        self._ensure_thread()
        self._queue.put(delivery_pk)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            if self._pid != os.getpid():  # a fork copied the parent's queue: those ids are the parent's
                self._queue = queue.SimpleQueue()
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="delivery-publisher", daemon=True)
            self._thread.start()

    def _take(self, timeout: float | None, linger: float = 0.0) -> list[int]:
        """The next batch: wait up to `timeout` for a first id, then up to `linger` for more."""
        try:
            ids = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        until = time.monotonic() + linger
        while len(ids) < self._batch_size:
            try:
                left = until - time.monotonic()
                ids.append(self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return ids

    def _send(self, ids: list[int]) -> None:
        try:
            self._publish(ids)
        except Exception as exc:  # broker unreachable: the rows wait in PostgreSQL for the re-drive
            logger.warning("%d deliveries not enqueued (%s); the re-drive will pick them up", len(ids), exc)
        finally:
            if threading.current_thread() is self._thread:
                # Publishing needs no database; should a task run eagerly here after all, the
                # connection it opened in this thread must not stay open forever.
                connections.close_all()

    def _run(self) -> None:
        while True:
            ids = self._take(timeout=None, linger=self._linger)
            if ids:
                self._send(ids)

    def flush(self) -> None:
        """Publish what is queued now, in the calling thread (at exit; in tests)."""
        while ids := self._take(timeout=0.001):
            self._send(ids)


publisher = BatchPublisher()
atexit.register(publisher.flush)


def publish(delivery_pk: int) -> None:
    """Hand a committed delivery to the workers: queued for the publishing thread, or, when tasks
    run eagerly, processed here and now (see the module docstring)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        process_delivery_task.apply_async((delivery_pk,), retry=False)
    else:
        publisher.submit(delivery_pk)
