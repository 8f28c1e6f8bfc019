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


def _run_order(item) -> tuple[int, int]:
    """The longest work first, so two workers end together: the tests on the session's `make
    run` (one group, one worker, several minutes in file order), then the slow tests that use no
    test database transaction (a demo load, a scratch database, subprocesses), then pytest-django's
    order. Left last, the group ran on one worker for its last five minutes while the other idled
    (the suite took 15.5 minutes on two cores)."""
    group = item.get_closest_marker("xdist_group")
    if group is not None and group.args and group.args[0] == "make_run":
        return (0, 0)
    database = _database_order(item)
    if database == 2 and item.get_closest_marker("slow") is not None:
        return (1, 0)
    return (2, database)


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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database; under TEST_PGBOUNCER=1 PgBouncer's server connections to it
    are closed first at the end (config.testenv.pgbouncer_release), or PostgreSQL would refuse
    to drop a database that the pool still holds sessions on.

    On PostgreSQL the test database commits without waiting for its WAL to reach the disk
    (synchronous_commit off, for every session on it: this process's, PgBouncer's and the servers'
    the tests start). A crash could lose the last commits but never corrupt anything, and a test
    database needs no durability; the transactional tests spent about a fifth of their time
    waiting for those flushes.

    A transactional test's flush empties the tables with DELETE rather than TRUNCATE
    (_delete_flush): same tables, same empty result, in 5 ms where TRUNCATE took 1.2-1.5 s."""
    from django.db import connection

    name, vendor = connection.settings_dict["NAME"], connection.vendor
    if vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(name)} SET synchronous_commit = off")
            cursor.execute("SET synchronous_commit = off")
        _delete_flush(type(connection.ops))
    yield
    if vendor == "postgresql":  # (a subprocess's run on SQLite inherits TEST_PGBOUNCER: no pool there)
        from config.testenv import pgbouncer_release

        pgbouncer_release(name)


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
