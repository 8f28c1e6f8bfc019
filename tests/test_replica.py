"""Reports on a real streaming replica (issue #24 item 2): a primary and a standby made with
pg_basebackup, both started on loopback ports in a temporary directory (config.testenv.StreamingPair), and the scenario
of tests/replica_scenario.py run against them in a process of its own: the reports read from the
replica once it has caught up, from the primary after the reader wrote, while the replica lags
past the bound, and when it is stopped under a report (the report still answers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from config.testenv import StreamingPair, database_settings_sql, streaming_pair_missing

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(pristine_database):
    why = streaming_pair_missing()
    if why:
        pytest.skip(why)
    pair = StreamingPair("closeloop")
    try:
        _restore(pristine_database, pair)
        yield {"primary": pair.primary_url, "replica": pair.replica_url, "stop": pair.kill_standby_command}
    finally:
        pair.stop()


def _restore(pristine: str, pair: StreamingPair) -> None:
    """The primary's database made the session's pristine one (pg_dump | psql, about 1.5 s) with
    its database settings, instead of migrated from empty by the scenario (about 15 s of CPU; its
    own `migrate` then has nothing to apply). Where this pg_dump cannot read that server (an
    embedded PostgreSQL of another version), the database stays empty and the scenario migrates it."""
    server = os.environ.get("CLOSELOOP_TEST_DIRECT_DATABASE_URL") or os.environ["DATABASE_URL"]
    source = urlunsplit(urlsplit(server)._replace(path=f"/{pristine}"))
    dump = subprocess.run([os.path.join(pair.bindir, "pg_dump"), "--no-owner", source], capture_output=True,
                          timeout=120)
    settings = subprocess.run([os.path.join(pair.bindir, "psql"), source, "-Atc", database_settings_sql()],
                              capture_output=True, text=True, timeout=60)
    if dump.returncode or settings.returncode:
        return
    alter = "".join(f"ALTER DATABASE closeloop SET {key} = '{value}';\n"
                    for key, _, value in (line.partition("=") for line in settings.stdout.split()))
    subprocess.run([os.path.join(pair.bindir, "psql"), pair.primary_url, "-q", "-v", "ON_ERROR_STOP=1"],
                   input=dump.stdout + alter.encode(), check=True, capture_output=True, timeout=120)




def test_reports_read_from_the_replica_and_fall_back_to_the_primary(cluster):
    env = {**os.environ, "DATABASE_URL": cluster["primary"], "DATABASE_REPLICA_URL": cluster["replica"],
           "REPLICA_MAX_LAG_SECONDS": "1", "REPLICA_READ_YOUR_WRITES_SECONDS": "60", "REPLICA_STOP_COMMAND": cluster["stop"],
           "DEBUG": "false", "SECRET_KEY": "replica-test-" + "x" * 40, "SECURE_SSL_REDIRECT": "false",
           "SECURE_COOKIES": "false", "ALLOWED_HOSTS": "127.0.0.1", "CELERY_TASK_ALWAYS_EAGER": "true",
           "CLOSELOOP_ENCRYPTION_KEYS": "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=", "LOG_LEVEL": "ERROR",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    for name in ("PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "CLOSELOOP_TESTING", "TEST_PGBOUNCER"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "tests.replica_scenario"], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    caught_up = result["caught_up"]
    assert (caught_up["status"], caught_up["nps_n"]) == (200, 3)
    assert caught_up["replica_queries"] > 0
    assert result["after_write"] == {"status": 200, "replica_queries": 0}
    lagging = result["lagging"]
    assert lagging["waited"] is True
    # The primary's figures: the fourth response, which the paused replica has not replayed.
    assert (lagging["status"], lagging["nps_n"], lagging["replica_queries"]) == (200, 4, 0)
    assert lagging["reason"] == "behind"
    resumed = result["resumed"]
    assert (resumed["status"], resumed["nps_n"]) == (200, 4) and resumed["replica_queries"] > 0
    down = result["replica_down"]
    assert (down["status"], down["nps_n"], down["usable"]) == (200, 4, False)
    assert down["reason"].startswith(("failed during a read", "unreachable"))
    assert result["still_down"] == {"status": 200, "nps_n": 4, "replica_queries": 0}
