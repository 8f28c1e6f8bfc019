"""Shared test set-up: personas, the API client, and the browser (Debian's Chromium)."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.factories import make_personas

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


def _database_order(item) -> int:
    """pytest-django's order: tests in a rolled-back transaction (0), then transactional tests,
    whose flush empties every table, migration-seeded rows included (1), then the rest (2)."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
    transactional = transactional or "transactional_db" in fixtures or "live_server" in fixtures
    if transactional:
        return 1
    return 0 if marker or "db" in fixtures else 2


def pytest_itemcollected(item):
    """Tests on the session's `make run` share one pytest-xdist worker (`--dist loadgroup`), in
    file order, so the stack starts once and tests/test_make_run.py stops it last. The group is
    marked as each test is collected, before pytest-xdist's collection hook reads the marks into
    the test's id (a mark added after it is ignored: each worker started a `make run` of its own)."""
    if "demo_stack" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.xdist_group("make_run"))


def _run_order(item) -> tuple[int, int, int]:
    """The longest work first, so two workers end together: the tests on the session's `make
    run` (one group, one worker, several minutes in file order), then the slow tests that use no
    test database transaction (a demo load, a scratch database, subprocesses), then pytest-django's
    order. Left last, the group ran on one worker for its last five minutes while the other idled
    (the suite took 15.5 minutes on two cores)."""
    group = item.get_closest_marker("xdist_group")
    if group is not None and group.args and group.args[0] == "make_run":
        return (0, 0, 0)
    database = _database_order(item)
    slow = item.get_closest_marker("slow") is not None
    if database == 2 and slow:
        return (1, 0, 0)
    # Within each of pytest-django's parts, the slow tests first (a demo load, the API's fuzzing:
    # minutes each), so that they start while the quick tests can still fill the other workers,
    # rather than near the end of the run (test_demo.py sorts among the last files).
    return (2, database, 0 if slow else 1)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """pytest-django puts transactional tests after the others, but pytest then groups the tests of a
    parametrized session fixture (Playwright's browser_name), which pulled the transactional
    browser tests in among the rest: their flush removed the seeded root causes and alert rules
    the later tests rely on. Sorting again here (a stable sort, so pytest's grouping stays
    within each part) restores pytest-django's order, after the longest work (_run_order).
    Browser tests need a Chromium: skipped visibly without one, except in CI where that fails."""
    items.sort(key=_run_order)
    if chromium_path():
        return
    browser_items = [item for item in items if "browser" in item.keywords]
    if not browser_items:
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError("CI=true but no Chromium was found (install Debian's chromium or set CHROMIUM_PATH).")
    skip = pytest.mark.skip(reason="no Chromium found: install Debian's chromium or set CHROMIUM_PATH")
    for item in browser_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": BROWSER_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser(django_db_setup, browser):
    """The test database exists before Playwright starts, and from then on the ORM may run here.

    Playwright's sync API keeps an asyncio loop in the main thread for the rest of the session,
    which makes Django refuse synchronous ORM calls there (test data, the transactional flush,
    and every later test's database access). Those calls are ordinary synchronous code, so the
    check is switched off from the moment the browser starts until the session ends (the setting
    Playwright documents for pytest-django). Every browser test in the suite gets it from here."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield browser
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- One migration for the run's test databases ---------------------------------------------------
# Each pytest-xdist worker has its own test database, and pytest-django made each one by migrating
# from empty: about 15 s of CPU per worker, three at once on two cores. The first worker to need
# one still does that; it then copies its fresh database to a template of the run
# (CLOSELOOP_TEST_TEMPLATE, named by the controller), and the others copy the template
# (CREATE DATABASE ... TEMPLATE, 0.15 s) while holding a lock file, so none waits for a
# half-made one. pytest-django then finds the worker's database there (keepdb) and its migrate has
# nothing to apply. The controller drops the template at the end.


def pytest_configure(config):
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        import uuid

        from django.conf import settings

        base = settings.DATABASES["default"].get("TEST", {}).get("NAME") or "test_closeloop"
        os.environ["CLOSELOOP_TEST_TEMPLATE"] = f"{base}_tpl_{uuid.uuid4().hex[:12]}"


def pytest_unconfigure(config):
    template = os.environ.get("CLOSELOOP_TEST_TEMPLATE")
    if hasattr(config, "workerinput") or not template or not getattr(config.option, "numprocesses", None):
        return
    from django.conf import settings

    server = settings.DATABASES["default"]
    if "postgresql" not in server["ENGINE"]:
        return
    import psycopg

    with psycopg.connect(host=server["HOST"] or "127.0.0.1", port=server["PORT"] or 5432, user=server["USER"],
                         password=server["PASSWORD"], dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    try:
        os.remove(_template_lock_path(template))
    except OSError:
        pass


def _template_lock_path(template: str) -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"closeloop-{template}.lock")


_TEMPLATE = {}  # "lock": the open lock file while this worker makes the template; "copied": True


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_keepdb, django_db_modify_db_settings, django_db_blocker):
    """True where this worker's test database was copied from the run's template (above), so that
    pytest-django uses it as it is; otherwise pytest-django's own choice (--reuse-db)."""
    template = os.environ.get("CLOSELOOP_TEST_TEMPLATE")
    if django_db_keepdb or not template or not os.environ.get("PYTEST_XDIST_WORKER"):
        return django_db_keepdb
    import fcntl

    from django.db import connection

    try:  # which databases pytest-django will set up for the chosen tests (its own, private, reading)
        from pytest_django.fixtures import _get_databases_for_setup
    except ImportError:
        return django_db_keepdb
    if connection.vendor != "postgresql" or "default" not in _get_databases_for_setup(request.session.items)[0]:
        return django_db_keepdb
    lock = open(_template_lock_path(template), "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    with django_db_blocker.unblock():
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
            ready = cursor.fetchone() is not None
        if not ready:
            _TEMPLATE["lock"] = lock  # held until django_db_setup has made the template
            return django_db_keepdb
        try:
            _copy_database(template, connection.settings_dict["TEST"]["NAME"])
        finally:
            lock.close()
    _TEMPLATE["copied"] = True
    return True


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker):
    """pytest-django's test database; under TEST_PGBOUNCER=1 PgBouncer's server connections to it
    are closed first at the end (config.testenv.pgbouncer_release), or PostgreSQL would refuse
    to drop a database that the pool still holds sessions on.

    On PostgreSQL the test database commits without waiting for its WAL to reach the disk
    (synchronous_commit off, for every session on it: this process's, PgBouncer's and the servers'
    the tests start). A crash could lose the last commits but never corrupt anything, and a test
    database needs no durability; the transactional tests spent about a fifth of their time
    waiting for those flushes.

    A transactional test's flush empties the tables with DELETE rather than TRUNCATE
    (_delete_flush): same tables, same empty result, in 5 ms where TRUNCATE took 1.2-1.5 s.

    When a chosen test asks for pristine_database, it is made here, before any test has written
    to the test database or flushed the rows the migrations seed."""
    from django.db import connection

    name, vendor = connection.settings_dict["NAME"], connection.vendor
    if "lock" in _TEMPLATE:  # this worker migrated its database first: the run's template is a copy of it
        lock = _TEMPLATE.pop("lock")
        try:
            with django_db_blocker.unblock():
                _copy_database(name, os.environ["CLOSELOOP_TEST_TEMPLATE"])
        finally:
            lock.close()
    pristine = vendor == "postgresql" and any(
        "pristine_database" in getattr(item, "fixturenames", ()) for item in request.session.items)
    if pristine:
        with django_db_blocker.unblock():
            _make_pristine()
    # Only a test database pytest-django made: with no chosen test on the database, NAME is still
    # the configured (real) one, whose settings are not the test run's to change.
    made = name == connection.settings_dict.get("TEST", {}).get("NAME")
    if vendor == "postgresql" and made:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} SET synchronous_commit = off")
            cursor.execute("SET synchronous_commit = off")
        _delete_flush(type(connection.ops))
    yield
    if vendor == "postgresql":  # (a subprocess's run on SQLite inherits TEST_PGBOUNCER: no pool there)
        from config.testenv import pgbouncer_release

        pgbouncer_release(name)
        if _TEMPLATE.get("copied"):  # kept by pytest-django (keepdb): dropped here as it drops its own
            from django.db import connections

            connections.close_all()
            with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if pristine:
            with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{_pristine_name()}" WITH (FORCE)')


def _pristine_name() -> str:
    from django.db import connection

    return connection.settings_dict["TEST"]["NAME"] + "_pristine"


def _make_pristine() -> None:
    """The session's pristine database (pristine_database): a copy of the test database when
    pytest-django made one for this session's tests, before any of them ran; otherwise (only
    tests without the test database were chosen) an empty database migrated as `manage.py
    migrate` does it, which is what the copy saves."""
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    test_name, target = connection.settings_dict["TEST"]["NAME"], _pristine_name()
    if connection.settings_dict["NAME"] == test_name:
        _copy_database(test_name, target)
        return
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{target}"')
    server = connection.settings_dict
    url = (f"postgres://{server['USER']}:{server['PASSWORD'] or ''}@{server['HOST'] or '127.0.0.1'}:"
           f"{server['PORT'] or 5432}/{target}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], check=True, timeout=600,
                   cwd=Path(__file__).resolve().parent.parent, env={**env, "DEBUG": "1", "DATABASE_URL": url})
    # Under TEST_PGBOUNCER=1 the migration went through the pool, which keeps its server connection:
    # PostgreSQL copies a template nobody is connected to.
    from config.testenv import pgbouncer_release

    pgbouncer_release(target)


def database_settings(cursor, name: str) -> list[str]:
    """The settings stored on database `name` itself (ALTER DATABASE ... SET: cases 0013's
    jit = off), which neither CREATE DATABASE ... TEMPLATE nor a plain pg_dump carries over."""
    from config.testenv import database_settings_sql

    cursor.execute(database_settings_sql(name))
    return [row[0] for row in cursor.fetchall()]


def _copy_database(source: str, target: str) -> None:
    """`target` made a copy of `source` (CREATE DATABASE ... TEMPLATE, 0.15 s for the migrated
    test database) with its database settings. PostgreSQL copies a database nobody is connected
    to: this process's connection is closed and, under TEST_PGBOUNCER=1, the pool's to it."""
    from django.db import connection, connections

    from config.testenv import pgbouncer_release

    connections.close_all()
    pgbouncer_release(source)
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        for setting in database_settings(cursor, source):
            key, _, value = setting.partition("=")
            cursor.execute(f'ALTER DATABASE "{target}" SET {key} = %s', [value])


@pytest.fixture(scope="session")
def pristine_database(django_db_setup):
    """The name of a database as `manage.py migrate` leaves an empty one, and nothing else: a
    copy of this session's test database made before any test ran (django_db_setup, in the
    sessions that have a test asking for it; _make_pristine), dropped with it. A test that needs a migrated
    database of its own copies this one (CREATE DATABASE ... TEMPLATE, or pg_dump for another
    server) instead of migrating from empty: about 15 s of CPU on this machine, each time.
    The copy holds no connection, so it can be a template any number of times. PostgreSQL only."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a template database is PostgreSQL's")
    return _pristine_name()


def _delete_flush(operations) -> None:
    """The flush after each transactional test (TransactionTestCase's teardown: `manage.py flush`
    on the test database) empties Django's tables with one DELETE each, with triggers and foreign
    key checks off for its transaction (session_replication_role = replica, SET LOCAL), instead
    of PostgreSQL's TRUNCATE. The tables hold a test's few rows; TRUNCATE gives each of about 95
    tables, their partitions and their indexes new files, 1.2-1.5 s a flush on this machine, a
    few minutes over the suite's transactional tests. The rollup tables are emptied with the
    rest, so the triggers that keep them have nothing to do. Sequences are not restarted, as
    TRUNCATE without RESTART IDENTITY; a test that asks for that (reset_sequences) gets Django's
    own flush. Only in the test process: `manage.py flush` elsewhere is Django's."""
    original = operations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        # execute_sql_flush runs the list in one transaction: SET LOCAL ends with it.
        return ["SET LOCAL session_replication_role = replica",
                *(f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))}" for table in tables)]

    operations.sql_flush = sql_flush


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's language. A request activates the viewer's language for the
    thread (LocaleMiddleware and the preferences middleware do not switch it back afterwards), so
    a Spanish page requested by one test would otherwise translate the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty shared cache (rate limits, lockouts, cached rules) and
    without the report selectors' last results (their `lru_cache(maxsize=1)`, keyed by the
    filters: two tests with the same frozen clock and, on SQLite, the same ids reused after a
    rollback would otherwise share a result)."""
    import pkgutil
    from importlib import import_module

    from django.core.cache import cache

    import reporting.selectors

    cache.clear()
    for info in pkgutil.iter_modules(reporting.selectors.__path__, "reporting.selectors."):
        for value in vars(import_module(info.name)).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    yield


@pytest.fixture
def personas(db):
    """alice (agent, North), bob (agent, North), charlie (agent, South), mia (manager of North),
    adam (admin); teams north and south."""
    return make_personas()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def _make_run(tmp_path_factory):
    from tests import demo_stack as stack_module

    stack = stack_module.start(tmp_path_factory.mktemp("make-run"))
    yield stack
    stack.stop()


@pytest.fixture
def demo_stack(_make_run):
    """A fresh `make run` (the embedded stack with the default demo data), started once for the
    session (tests/demo_stack.py). tests/test_make_run.py stops it with Ctrl-C to check the stop,
    so it runs after the tests that use it (file order: every such test sorts before it)."""
    assert _make_run.proc.poll() is None, (
        "`make run` was stopped already: tests using demo_stack must run before tests/test_make_run.py")
    return _make_run
