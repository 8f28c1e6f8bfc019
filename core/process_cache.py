"""A value loaded from the database and kept in each process, kept honest through a version
token in the shared cache (Redis).

Alert rules and themes are read on every recorded response; loading them from the database each
time would cost queries on the hot path. Each process keeps its own copy and, at most every
`check_seconds`, compares the token it loaded with against the shared one: a change anywhere
(`changed()`, called by the services that write) moves the token, and every process reloads on
its next check. With the cache down the token is unknown and the value is loaded from the
database every time (never served stale).

    rules = ProcessCache("alerts:rules:version", load_active_rules, check_seconds=lambda: 2, what="alert rules")
    rules.get()      # the current value
    rules.changed()  # after a write: this process reloads now, the others on their next check
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    token: str | None
    checked_at: float
    value: Any


class ProcessCache:
    def __init__(self, key: str, load: Callable[[], Any], *, check_seconds: Callable[[], float], what: str):
        self.key, self.load, self.check_seconds, self.what = key, load, check_seconds, what
        self.cached: Loaded | None = None
        self._lock = threading.Lock()

    def get(self):
        cached = self.cached
        now = time.monotonic()
        interval = self.check_seconds()
        if cached is not None and interval and now - cached.checked_at < interval:
            return cached.value
        token = self._shared_token()  # read before loading: a change committed meanwhile moves it again
        if cached is not None and token is not None and cached.token == token:
            self.cached = Loaded(token, now, cached.value)
            return cached.value
        with self._lock:
            value = self.load()
            self.cached = Loaded(token, now, value)
        return value

    def changed(self) -> None:
        """This process reloads now, the others on their next check; once more after the
        transaction commits, for a process that reloaded the old value in between."""
        self._forget()
        transaction.on_commit(self._forget)

    def _forget(self) -> None:
        self.cached = None
        try:
            cache.set(self.key, uuid.uuid4().hex, timeout=None)
        except Exception as exc:  # noqa: BLE001 - the others reload within their check anyway once it is back
            logger.warning("could not publish a change of %s to the cache (%s)", self.what, exc)

    def _shared_token(self) -> str | None:
        """The current version (created when missing); None when the cache is unavailable."""
        try:
            token = cache.get(self.key)
            if token is None:
                cache.add(self.key, uuid.uuid4().hex, timeout=None)
                token = cache.get(self.key)
            return token
        except Exception as exc:  # noqa: BLE001 - any cache error: the database, never a stale value
            logger.warning("%s cache version unavailable (%s); loading from the database", self.what, exc)
            return None
