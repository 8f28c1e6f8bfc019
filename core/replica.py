"""Reads that may go to a streaming replica: the reports, their CSV exports and their API.

With DATABASE_REPLICA_URL set (config/settings/database.py), a view wrapped in
`@reads_from_replica` reads from the `replica` alias when all of these hold; otherwise from the
primary, as every other read does:

1. the replica answers and is in recovery (a standby, not a promoted copy);
2. it is at most REPLICA_MAX_LAG_SECONDS behind: 0 when it has replayed all it received, else the
   age of the last transaction it replayed. Checked at most every CHECK_SECONDS per process;
3. the person asking wrote nothing in the last REPLICA_READ_YOUR_WRITES_SECONDS (the
   `WriteMarkerMiddleware` notes each successful unsafe request per user in the shared cache),
   so a manager who closes a case and opens a report sees the closure.

A query on the replica that fails (the replica stopped mid-report) marks it down for
CHECK_SECONDS and the view runs again on the primary: the page answers, from the primary.
Writes always go to the primary; migrations run only there.

    @reads_from_replica
    def report(request): ...
    reading_from()  # "replica" or "default": where this request's reads go (tests, logs)
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

ALIAS = "replica"
CHECK_SECONDS = 2.0
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}

_reading: ContextVar[bool] = ContextVar("closeloop_replica_reads", default=False)


@dataclass(frozen=True)
class ReplicaState:
    usable: bool
    lag_seconds: float | None
    reason: str  # why not, for logs and the health page ("" when usable)
    checked_at: float


_state: ReplicaState | None = None
_lock = threading.Lock()


def configured() -> bool:
    return ALIAS in settings.DATABASES


def _check() -> ReplicaState:
    now = time.monotonic()
    try:
        with connections[ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END")
            in_recovery, lag = cursor.fetchone()
    except (OperationalError, InterfaceError) as exc:
        connections[ALIAS].close()
        return ReplicaState(False, None, f"unreachable: {exc.__class__.__name__}", now)
    lag = float(lag or 0)
    if not in_recovery:
        return ReplicaState(False, lag, "not a standby (not in recovery)", now)
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        return ReplicaState(False, lag, f"{lag:.1f} s behind (bound {settings.REPLICA_MAX_LAG_SECONDS} s)", now)
    return ReplicaState(True, lag, "", now)


def replica_state() -> ReplicaState:
    """The replica's last known state, checked again when older than CHECK_SECONDS."""
    global _state
    state = _state
    if state is not None and time.monotonic() - state.checked_at < CHECK_SECONDS:
        return state
    with _lock:
        if _state is None or time.monotonic() - _state.checked_at >= CHECK_SECONDS:
            previous = _state
            _state = _check()
            if previous is not None and previous.usable != _state.usable:
                logger.warning("replica %s", "usable again" if _state.usable else f"not used: {_state.reason}")
        return _state


def mark_down(reason: str) -> None:
    global _state
    with _lock:
        _state = ReplicaState(False, None, reason, time.monotonic())


def _write_key(user_id: int) -> str:
    return f"replica:wrote:{user_id}"


def note_write(user_id: int | None) -> None:
    if user_id and configured():
        try:
            cache.set(_write_key(user_id), 1, timeout=settings.REPLICA_READ_YOUR_WRITES_SECONDS)
        except Exception:  # noqa: BLE001 - cache down: that person's next reads may be a little old
            logger.warning("could not note a write for read-your-writes (cache down)")


def wrote_recently(user_id: int | None) -> bool:
    if not user_id:
        return False
    try:
        return cache.get(_write_key(user_id)) is not None
    except Exception:  # noqa: BLE001 - cache down: read from the primary, which is never old
        return True


def use_replica(user_id: int | None) -> bool:
    return configured() and not wrote_recently(user_id) and replica_state().usable


def reading_from() -> str:
    return ALIAS if _reading.get() else "default"


@contextmanager
def replica_reads(enabled: bool = True):
    token = _reading.set(enabled)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_from_replica(view):
    """Run a read-only view's queries on the replica when it may (above); on the primary again if
    the replica fails under it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        # A function view's first argument is the request; a DRF method's is the view, then the
        # request (already authenticated there, so an API token's user is known).
        request = args[0] if hasattr(args[0], "method") else args[1]
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        if not use_replica(user_id):
            return view(*args, **kwargs)
        try:
            with replica_reads():
                return view(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            connections[ALIAS].close()
            mark_down(f"failed during a read: {exc.__class__.__name__}")
            logger.warning("replica failed during %s; answering from the primary", request.path)
            return view(*args, **kwargs)

    return wrapped


class ReplicaRouter:
    """Reads inside `replica_reads()` go to the replica; everything else to the primary."""

    def db_for_read(self, model, **hints):
        return ALIAS if _reading.get() else None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows, whichever copy they were read from

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != ALIAS


class WriteMarkerMiddleware:
    """After a successful unsafe request, the user's next reads come from the primary for
    REPLICA_READ_YOUR_WRITES_SECONDS (nothing to do without a replica)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and response.status_code < 400 and configured():
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                note_write(user.pk)
        return response
