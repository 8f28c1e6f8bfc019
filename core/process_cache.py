"""Values loaded from the database and kept in each process, kept honest through a version token
in the shared cache (Redis): the one per-process cache every app uses.

Alert rules, themes, routing, the staff directory, webhook sources and the root-cause model are
read on hot paths (every recorded response, every webhook); loading them each time would cost
queries. Each process keeps its own copy and, at most every `check_seconds`, compares the token
it loaded under with the shared one: a change anywhere (`changed()`, called by the services and
receivers that write) moves the token, and every process reloads on its next check. With the
cache down the token is unknown and the value is loaded from the database every time (never
served stale).

    rules = ProcessCache("alerts:rules:version", load_active_rules, check_seconds=lambda: 2, what="alert rules")
    rules.get()      # the current value
    rules.changed()  # after a write: this process reloads now, the others on their next check

`KeyedProcessCache` keeps entries loaded one key at a time (webhook sources by slug): a miss is
not kept, so a new key works at once and an unknown one costs one query each time.

The token normally is a random value the writer publishes (`SharedVersion`); a cache whose
version is a fact of its own (the newest root-cause model's id) passes any object with
`current()` and `bump()` instead.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


class Version(Protocol):
    def current(self) -> str | None: ...

    def bump(self) -> None: ...


class SharedVersion:
    """A random token under `key` in the shared cache; `bump()` replaces it."""

    def __init__(self, key: str, what: str):
        self.key, self.what = key, what

    def current(self) -> str | None:
        """The current token (created when missing); None when the cache is unavailable."""
        try:
            token = cache.get(self.key)
            if token is None:
                cache.add(self.key, uuid.uuid4().hex, timeout=None)
                token = cache.get(self.key)
            return token
        except Exception as exc:  # noqa: BLE001 - any cache error: the database, never a stale value
            logger.warning("%s cache version unavailable (%s); loading from the database", self.what, exc)
            return None

    def bump(self) -> None:
        try:
            cache.set(self.key, uuid.uuid4().hex, timeout=None)
        except Exception as exc:  # noqa: BLE001 - the others reload within their check anyway once it is back
            logger.warning("could not publish a change of %s to the cache (%s)", self.what, exc)


@dataclass(frozen=True)
class Loaded:
    token: str | None
    checked_at: float
    value: Any


def _version(key_or_version: str | Version, what: str) -> Version:
    return SharedVersion(key_or_version, what) if isinstance(key_or_version, str) else key_or_version


class ProcessCache:
    """One value, loaded whole by `load()`."""

    def __init__(self, version: str | Version, load: Callable[[], Any], *, check_seconds: Callable[[], float],
                 what: str):
        self.version, self.load, self.check_seconds, self.what = _version(version, what), load, check_seconds, what
        self.cached: Loaded | None = None
        self._lock = threading.Lock()

    def get(self):
        cached = self.cached
        now = time.monotonic()
        interval = self.check_seconds()
        if cached is not None and interval and now - cached.checked_at < interval:
            return cached.value
        token = self.version.current()  # read before loading: a change committed meanwhile moves it again
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
        self.version.bump()


@dataclass
class _Entries:
    token: str | None = None
    checked_at: float = float("-inf")
    values: dict = field(default_factory=dict)


class KeyedProcessCache:
    """Entries loaded one key at a time by `load(key)`; None (not found) is never kept."""

    def __init__(self, version: str | Version, load: Callable[[Any], Any], *, check_seconds: Callable[[], float],
                 what: str):
        self.version, self.load, self.check_seconds, self.what = _version(version, what), load, check_seconds, what
        self._entries = _Entries()
        self._lock = threading.Lock()

    def get(self, key) -> tuple[Any, bool]:
        """The value for `key`, and whether it came from this process's copy."""
        now = time.monotonic()
        interval = self.check_seconds()
        current = self._entries
        if not interval or now - current.checked_at >= interval:
            token = self.version.current()
            kept = current.values if token is not None and token == current.token else {}
            current = self._entries = _Entries(token=token, checked_at=now, values=kept)
        if current.token is not None and (value := current.values.get(key)) is not None:
            return value, True
        value = self.load(key)
        if value is not None and current.token is not None:
            with self._lock:
                if self._entries is current:
                    current.values[key] = value
        return value, False

    def peek(self, key):
        """The value as `get` would answer it without any I/O: this process's copy while its
        version check is not due, else None (ask `get`)."""
        current = self._entries
        interval = self.check_seconds()
        if current.token is None or not interval or time.monotonic() - current.checked_at >= interval:
            return None
        return current.values.get(key)

    def reload(self, key):
        """Load one key again from the database (a copy found wanting, say a rotated secret)."""
        value = self.load(key)
        with self._lock:
            if value is None:
                self._entries.values.pop(key, None)
            elif self._entries.token is not None:
                self._entries.values[key] = value
        return value

    def changed(self) -> None:
        """As `ProcessCache.changed`: now, and again once the transaction commits."""
        self.forget()
        transaction.on_commit(self.forget)

    def forget(self) -> None:
        self._entries = _Entries()
        self.version.bump()
