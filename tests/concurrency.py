"""The one way tests run code at the same time: `run_concurrently(f, g, ...)`.

Each callable gets its own thread (and so its own database connection). A barrier releases
them together, so they really race instead of running one after another as threads happen to
start. Each thread closes its connection when done (a transactional test's flush would
otherwise wait on it). The first exception raised in a thread is raised again in the test;
a callable that expects an exception (a lost race) catches it and returns it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import close_old_connections, connection


def run_concurrently(*callables: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Run every callable at once, each in its own thread; return their results in order."""
    if not callables:
        return []
    barrier = threading.Barrier(len(callables))
    results: list[Any] = [None] * len(callables)
    errors: list[BaseException] = []

    def run(index: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = fn()
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread below
            errors.append(exc)
            barrier.abort()  # the others must not wait for a thread that will never arrive
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn), daemon=True) for i, fn in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        raise TimeoutError(f"{stuck} of {len(threads)} threads still running after {timeout}s")
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]
    return results
