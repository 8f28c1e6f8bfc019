"""Behind PgBouncer in transaction mode (docs/deployment.md "Behind PgBouncer").

Each test here puts a PgBouncer of its own in front of the test database and makes it hand every
transaction a new server session (its admin console's RECONNECT closes each server connection
as soon as it is released), which is what a busy pool does by chance: whatever a session kept
past its transaction is gone. With DATABASE_POOL_MODE=transaction nothing is kept and the same
work goes through; the direct settings fail the same way a pooled production would."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections
from core.postgresql.base import DatabaseWrapper

from config.testenv import PgBouncer
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow]


def _direct_url() -> str:
    """The test database on PostgreSQL itself (not through the suite's own PgBouncer, when the
    suite runs under TEST_PGBOUNCER=1: a pool behind a pool would keep the sessions alive)."""
    db = connection.settings_dict
    if os.environ.get("CLOSELOOP_TEST_DIRECT_DATABASE_URL"):
        from urllib.parse import urlsplit

        direct = urlsplit(os.environ["CLOSELOOP_TEST_DIRECT_DATABASE_URL"])
        host, port = direct.hostname, direct.port or 5432
    else:
        host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def bouncer():
    if not (shutil.which("pgbouncer") or os.path.exists("/usr/sbin/pgbouncer")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Debian's pgbouncer is not installed (.ci/run installs it)")
        pytest.skip("Debian's pgbouncer is not installed")
    pool = PgBouncer(_direct_url(), pool_size=4)
    yield pool
    pool.stop()


def _through(bouncer: PgBouncer, *, pooled: bool) -> DatabaseWrapper:
    """A Django connection to the test database through `bouncer`, with the settings
    DATABASE_POOL_MODE=transaction gives (pooled) or a direct connection's (not)."""
    settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": bouncer.port,
                     "OPTIONS": {**connection.settings_dict["OPTIONS"]}, "CONN_MAX_AGE": 0}
    settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = pooled
    if pooled:
        settings_dict["OPTIONS"]["prepare_threshold"] = None
    return DatabaseWrapper(settings_dict, alias="pgbouncer_test")


def _iterate_with_a_new_session_per_fetch(bouncer: PgBouncer, pooled: bool) -> list[str]:
    """QuerySet.iterator() outside a transaction, one row per fetch, the pool told to drop its
    server sessions between fetches."""
    from accounts.models import User

    wrapper = _through(bouncer, pooled=pooled)
    connections["pgbouncer_test"] = wrapper
    names = []
    try:
        database = wrapper.settings_dict["NAME"]
        users = User.objects.using("pgbouncer_test").filter(username__startswith="pool-").order_by("username")
        for user in users.iterator(chunk_size=1):
            names.append(user.username)
            bouncer.admin(f'RECONNECT "{database}"')
    finally:
        wrapper.close()
        del connections["pgbouncer_test"]
    return names


@pytest.mark.django_db(transaction=True)
def test_querysets_iterate_through_a_transaction_pool_when_pooled(bouncer):
    for name in ("pool-a", "pool-b", "pool-c"):
        UserFactory(username=name)
    assert _iterate_with_a_new_session_per_fetch(bouncer, pooled=True) == ["pool-a", "pool-b", "pool-c"]


@pytest.mark.django_db(transaction=True)
def test_a_server_side_cursor_does_not_survive_a_transaction_pool(bouncer):
    """Why DISABLE_SERVER_SIDE_CURSORS: Django's default iterator() declares a cursor WITH HOLD in
    one session and fetches from it in the next transaction, which the pool may give another."""
    for name in ("pool-a", "pool-b", "pool-c"):
        UserFactory(username=name)
    with pytest.raises(Exception, match="does not exist"):
        _iterate_with_a_new_session_per_fetch(bouncer, pooled=False)


def _prepared_inserts(url: str, bouncer: PgBouncer, prepare_threshold: int | None) -> int:
    """Run one statement seven times, each a transaction of its own on a new server session."""
    database = connection.settings_dict["NAME"]
    with psycopg.connect(url, autocommit=True, prepare_threshold=prepare_threshold) as conn:
        for _ in range(7):
            conn.execute("SELECT count(*) FROM accounts_user WHERE username <> %s", ["x"]).fetchone()
            bouncer.admin(f'RECONNECT "{database}"')
    return 7


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_do_not_survive_a_transaction_pool_and_the_ingest_prepares_none_when_pooled(
        bouncer, settings):
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    through = f"postgresql://{db['USER']}{password}@127.0.0.1:{bouncer.port}/{db['NAME']}"
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):  # prepared on one session, run on the next
        _prepared_inserts(through, bouncer, prepare_threshold=0)
    assert _prepared_inserts(through, bouncer, prepare_threshold=None) == 7

    from surveys.ingest.asgi import _connect

    async def threshold() -> int | None:
        conn = await _connect()
        try:
            return conn.prepare_threshold
        finally:
            await conn.close()

    def run(coroutine):
        # In a thread of its own: a browser test earlier in this process may keep an event loop
        # running in the main thread (Playwright's), where asyncio.run() refuses to start another.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    # The ingest server's own connection prepares as Django's do (config/settings/database.py
    # decides once, from DATABASE_POOL_MODE: test_database_pool_mode_... below).
    # 5 direct (psycopg's default, its INSERT prepared once), None behind a transaction pool.
    options = connections["default"].settings_dict["OPTIONS"]
    chosen = options["prepare_threshold"]
    try:
        for value in (5, None):
            options["prepare_threshold"] = value
            assert run(threshold()) == value
    finally:
        options["prepare_threshold"] = chosen


def _settings(**env) -> subprocess.CompletedProcess:
    code = ("from django.conf import settings; d = settings.DATABASES['default']; "
            "print(d.get('DISABLE_SERVER_SIDE_CURSORS', False), d['OPTIONS'].get('prepare_threshold', 'unset'), "
            "settings.DATABASE_TRANSACTION_POOLED)")
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_POOL_MODE"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "CLOSELOOP_TESTING": "true",
                               "DATABASE_URL": "postgres://u@db.example:6432/closeloop", **env})


def test_database_pool_mode_transaction_turns_off_what_a_transaction_pool_breaks():
    assert _settings(DATABASE_POOL_MODE="transaction").stdout.split() == ["True", "None", "True"]
    # Direct: psycopg's default threshold, for the statements core.prepared's cursors run.
    assert _settings().stdout.split() == ["False", "5", "False"]
    assert _settings(DATABASE_URL="sqlite:////tmp/x.sqlite3", DATABASE_POOL_MODE="transaction").stdout.split() == [
        "False", "unset", "False"]  # the embedded setup has no pool: nothing to turn off
    refused = _settings(DATABASE_POOL_MODE="statement")
    assert refused.returncode != 0
    assert "DATABASE_POOL_MODE must be session or transaction, got 'statement'" in refused.stderr
