"""The session store (settings.SESSION_ENGINE): Django's database sessions, the row read by a
statement compiled once per process (core.compiled).

Every signed-in request loads its session; Django's store builds and compiles the same
`Session.objects.get(session_key=..., expire_date__gt=now)` each time, about two thirds of a
millisecond of CPU, a few percent of an inbox page (bench/page_cpu.py). The table, the rows and
what they hold are Django's: sessions stored before keep working, and ending a person's sessions
(accounts.services.sessions, which lists this engine in DB_ENGINES) deletes the same rows.

A session signed in by a backend the project has replaced with its own (Django's ModelBackend by
accounts.backends.ModelBackend: accounts.backends.LEGACY_BACKENDS) is read as signed in by the
replacement, so the change signed nobody out; and a session is stored naming Django's path still,
so the code before the change (a rollback) reads the sessions signed in after it too."""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import router
from django.utils import timezone

from core.compiled import compiled_values


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        rows = []
        if self.session_key:
            rows = compiled_values(("accounts.session",), _session_query,
                                   {"key": self.session_key, "now": timezone.now()}, using=router.db_for_read(Session))
        if not rows:
            self._session_key = None
            return None
        return Session(**rows[0])

    def decode(self, session_data):
        from accounts.backends import LEGACY_BACKENDS

        data = super().decode(session_data)
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in LEGACY_BACKENDS:
            data[BACKEND_SESSION_KEY] = LEGACY_BACKENDS[backend]
        return data

    def encode(self, session_dict):
        from accounts.backends import LEGACY_BACKENDS

        backend = session_dict.get(BACKEND_SESSION_KEY)
        legacy = next((old for old, new in LEGACY_BACKENDS.items() if new == backend), None)
        if legacy is not None:
            session_dict = {**session_dict, BACKEND_SESSION_KEY: legacy}
        return super().encode(session_dict)


def _session_query(args: dict):
    return (Session.objects.filter(session_key=args["key"], expire_date__gt=args["now"])
            .values("session_key", "session_data", "expire_date"))
