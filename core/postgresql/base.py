"""PostgreSQL: Django's backend, with times read by psycopg's C loader.

Django registers a `timestamptz` loader of its own on every connection (a subclass of psycopg's
pure-Python loader that sets the zone Django expects); psycopg swaps in its C implementation only
for its own classes, so every time read from PostgreSQL went through Python: about 4 us a value
against 0.4 us in C, about a millisecond of an inbox page's fifty rows (bench/page_cpu.py). With the
connection in UTC (Django keeps it there when settings.USE_TZ is on and the database has no
TIME_ZONE of its own), psycopg's C loader gives the same values, aware and in UTC, so each cursor
loads them with it. With another zone Django's loader stays: it is the one that labels the values
with that zone.

The C loader cannot be subclassed and has no `timezone` attribute, which Django's create_cursor
reads from the connection's loader; so the connection keeps Django's and each cursor gets the C
one (a cursor's adapters are its own copy: about 2.5 us a cursor)."""

from __future__ import annotations

import datetime

from django.db.backends.postgresql import base

try:  # the C implementation (psycopg[binary] or psycopg[c]); None with psycopg's pure-Python one
    from psycopg._cmodule import _psycopg
except ImportError:  # pragma: no cover - psycopg without the module
    _psycopg = None

C_TIMESTAMPTZ_LOADER = getattr(_psycopg, "TimestamptzLoader", None)


def load_times_in_c(wrapper, cursor) -> None:
    """Read `timestamptz` values on `cursor` (a psycopg cursor of `wrapper`'s connection) with
    psycopg's C loader, when that gives what Django's loader gives: the connection in UTC."""
    if C_TIMESTAMPTZ_LOADER is not None and wrapper.timezone is datetime.timezone.utc:
        cursor.adapters.register_loader("timestamptz", C_TIMESTAMPTZ_LOADER)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        cursor = super().create_cursor(name)
        load_times_in_c(self, cursor)
        return cursor
