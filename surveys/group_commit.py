"""Group commit: concurrent requests of one process share one INSERT and one commit.

A webhook is answered only once its delivery is committed, and on a busy server most of a
request's cost was PostgreSQL's per-statement and per-commit work (parse, plan, WAL flush) and
the driver's per-statement work. Here the requests that arrive while a write is under way wait
for it to finish and then go to PostgreSQL together, as one multi-row statement committed once:

- no request waits for a timer: the first request of a quiet moment is written at once, alone;
- a request is answered only after the commit that holds its row has returned (nothing is
  acknowledged before it is durable, as before);
- the writer is a request thread itself (the "leader"), using its own database connection; when
  it has written a batch it hands the lead to the oldest request still waiting, so no request
  writes for others for longer than one batch.

`GroupCommit(write)` is framework-free: `write(slots)` must give every slot its outcome (a result
or an exception); whatever it leaves unset is failed with the exception it raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Slot:
    """One request's row, and what became of it."""

    __slots__ = ("row", "result", "error", "_done", "_lead", "_event")

    def __init__(self, row):
        self.row = row
        self.result = None
        self.error: BaseException | None = None
        self._done = False
        self._lead = False
        self._event = threading.Event()

    def succeed(self, result) -> None:
        self.result = result
        self._done = True

    def fail(self, error: BaseException) -> None:
        self.error = error
        self._done = True

    @property
    def done(self) -> bool:
        return self._done


class GroupCommit:
    def __init__(self, write: Callable[[list[Slot]], None], max_rows: int = 100):
        self._write = write
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._waiting: list[Slot] = []
        self._writing = False

    def submit(self, row):
        """Write `row` (alone or with others' rows) and return its result, or raise its error."""
        slot = Slot(row)
        with self._lock:
            self._waiting.append(slot)
            lead = not self._writing
            self._writing = True
        if not lead:
            slot._event.wait()
        if not slot.done:  # this thread leads: it writes the oldest waiting rows, its own first
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[: self.max_rows]
            del self._waiting[: self.max_rows]
        try:
            self._write(batch)
        except BaseException as exc:  # noqa: BLE001 - every waiting request gets the outcome
            for slot in batch:
                if not slot.done:
                    slot.fail(exc)
        finally:
            for slot in batch:
                if not slot.done:
                    slot.fail(RuntimeError("group commit: the write gave this row no outcome"))
            with self._lock:
                successor = self._waiting[0] if self._waiting else None
                self._writing = successor is not None
            for slot in batch:
                slot._event.set()
            if successor is not None:
                successor._event.set()  # not done: it wakes up as the next leader
