"""Celery messages sent once per batch instead of once per row.

A worker task that records many rows in a loop (surveys.tasks.process_deliveries_task) runs it
inside `collected()`. There, `enqueue(key, item, send_many=..., send_one=...)` only gathers the
item under `key`; when the block ends, each key's items go out as one message (`send_many(items)`).
Outside such a block `send_one(item)` sends at once, as before. Callers enqueue from
`transaction.on_commit`, so only committed rows are ever announced; a row whose message is lost
(the worker dies before the block ends) is found by the sweep that re-drives owed work, exactly
as when the broker is down.

Publishing a Celery message costs about 1.5 ms of CPU, and running one costs the worker more:
for a batch of 100 deliveries that raise 75 praise e-mails, one message instead of 75."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

logger = logging.getLogger(__name__)

_batch: ContextVar[dict | None] = ContextVar("closeloop_enqueue_batch", default=None)


@contextmanager
def collected() -> Iterator[None]:
    """Gather `enqueue` calls made inside the block; send them, one message per key, at its end
    (also when the block raises: what was committed is announced). Nested blocks join the outer one."""
    if _batch.get() is not None:
        yield
        return
    batch: dict[str, tuple[Callable[[list], None], list]] = {}
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        for key, (send_many, items) in batch.items():
            try:
                send_many(items)
            except Exception:  # noqa: BLE001 - the owed work stays in the database for its sweep
                logger.warning("could not send the batched %s messages (%d items)", key, len(items), exc_info=True)


def enqueue(key: str, item, *, send_many: Callable[[list], None], send_one: Callable[[object], None]) -> None:
    batch = _batch.get()
    if batch is None:
        send_one(item)
    else:
        batch.setdefault(key, (send_many, []))[1].append(item)
