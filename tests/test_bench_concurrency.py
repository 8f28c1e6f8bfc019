"""The concurrency bench's machinery at a tiny size, so it cannot rot: Closeloop's side only (the
peer's venv is too slow to build in a test), two agents and a manager through Locust against real
gunicorn, ingest and Celery processes, on a copy of the migrated test database."""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


# Looked up, never imported here: importing locust monkey-patches the standard library (gevent)
# in this process; the bench runs it in its own.
@pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust is not installed")
@pytest.mark.skipif(not shutil.which("psql"), reason="psql (postgresql-client) is not installed")
def test_tiny_run_drives_every_closeloop_page_without_errors(pristine_database, django_db_blocker):
    from django.db import connection, connections

    from bench.bench_concurrency import report
    from bench.concurrency.run import Config, run_side

    if connection.vendor != "postgresql":
        pytest.skip("the bench runs on PostgreSQL")
    settings = connection.settings_dict
    connections.close_all()  # the bench's own processes do the database work from here
    config = Config(cases=400, teams=1, agents=2, managers=1, seconds=5, spawn_rate=50, webhooks=5,
                    think="0.05-0.2", manager_think="0.2-0.5", workers=1, threads=4, customers=200, stop_timeout=1, single_rounds=3,
                    # A database of its own, as a real run's migrated from empty: a copy of the
                    # session's pristine one (the test database at this point holds what earlier
                    # tests left, or lacks what their flushes removed). Migrating took 14 s of CPU.
                    template=pristine_database,
                    pg=f"postgres://{settings['USER']}:{settings['PASSWORD'] or ''}@{settings['HOST'] or '127.0.0.1'}:"
                       f"{settings['PORT'] or 5432}",
                    redis=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    result = run_side("closeloop", config)

    assert result.failures == [], _server_errors(result.logs)
    assert result.outcomes["unexpected"] == {}
    assert result.pages["inbox: first page"]["requests"] >= 1
    assert result.pages["case page"]["requests"] >= 1
    assert result.pages["webhook"]["requests"] >= 5
    assert all(page["failures"] == 0 for page in result.pages.values())
    assert result.open_per_team == 80  # 400 cases, one team, 20 % open
    assert result.cpu["web"] > 0
    # One agent alone first: every page it asks answers 200, three counted rounds each; 80 open
    # cases make two inbox pages, so "page N" is the second, reached by the first page's next link.
    assert sorted(result.single) == ["case page", "inbox: first page", "inbox: page N"]
    assert {name: (p["requests"], p["failures"]) for name, p in result.single.items()} == {
        "case page": (3, 0), "inbox: first page": (3, 0), "inbox: page N": (3, 0)}
    assert result.logs == ""  # nothing failed, so no logs were kept
    text = report(config, [result], "test machine")
    assert "| inbox: first page | " in text
    assert "One agent alone before the crowd" in text
    assert "ms per request" in text


def _server_errors(kept: str) -> str:
    """The end of each server log the run kept (bench.concurrency.run._keep_logs): a CI run's
    output then shows the traceback behind a 500, not only that there was one."""
    if not kept:
        return "no server logs were kept"
    root = Path(__file__).resolve().parent.parent
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
                     for log in sorted((root / kept).glob("*.log")))
