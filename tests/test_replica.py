"""Reports on a real streaming replica (issue #24 item 2): a primary and a standby made with
pg_basebackup, both started here on loopback ports in a temporary directory, and the scenario
of tests/replica_scenario.py run against them in a process of its own: the reports read from the
replica once it has caught up, from the primary after the reader wrote, while the replica lags
past the bound, and when it is stopped under a report (the report still answers)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _bindir() -> Path | None:
    """Where initdb, pg_ctl and pg_basebackup live together (Debian: /usr/lib/postgresql/<v>/bin)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"))
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_basebackup")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def cluster():
    bindir = _bindir()
    if bindir is None or not (bindir / "pg_basebackup").exists():
        pytest.skip("PostgreSQL server binaries (pg_ctl, initdb, pg_basebackup) are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser to start PostgreSQL as postgres")
    work = Path(tempfile.mkdtemp(prefix="closeloop-replica-"))
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
    primary, standby = work / "primary", work / "standby"
    p_port, s_port = _port(), _port()
    run = lambda *args: subprocess.run(_as_postgres([str(a) for a in args]), check=True, capture_output=True,  # noqa: E731
                                       text=True, timeout=120)
    started = []
    try:
        run(bindir / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {p_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{work}'\n"
                       "wal_level = replica\nmax_wal_senders = 4\nfsync = off\n")
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        run(bindir / "pg_ctl", "-D", primary, "-l", work / "primary.log", "-w", "start")
        started.append(primary)
        run(bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", p_port, "-U", "postgres", "-D", standby, "-R",
            "-X", "stream", "--no-sync")
        with open(standby / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {s_port}\n")
        run(bindir / "pg_ctl", "-D", standby, "-l", work / "standby.log", "-w", "start")
        started.append(standby)
        run(bindir / "psql", "-h", "127.0.0.1", "-p", p_port, "-U", "postgres", "-qc", "CREATE DATABASE closeloop")
        stop = " ".join(_as_postgres([str(bindir / "pg_ctl"), "-D", str(standby), "-m", "immediate", "-w", "stop"]))
        yield {"primary": f"postgres://postgres@127.0.0.1:{p_port}/closeloop",
               "replica": f"postgres://postgres@127.0.0.1:{s_port}/closeloop", "stop": stop}
    finally:
        for datadir in reversed(started):
            subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def test_reports_read_from_the_replica_and_fall_back_to_the_primary(cluster):
    env = {**os.environ, "DATABASE_URL": cluster["primary"], "DATABASE_REPLICA_URL": cluster["replica"],
           "REPLICA_MAX_LAG_SECONDS": "1", "REPLICA_READ_YOUR_WRITES_SECONDS": "60", "REPLICA_STOP_COMMAND": cluster["stop"],
           "DEBUG": "false", "SECRET_KEY": "replica-test-" + "x" * 40, "SECURE_SSL_REDIRECT": "false",
           "SECURE_COOKIES": "false", "ALLOWED_HOSTS": "127.0.0.1", "CELERY_TASK_ALWAYS_EAGER": "true",
           "CLOSELOOP_ENCRYPTION_KEYS": "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0wMTIzNDU=", "LOG_LEVEL": "ERROR",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    for name in ("PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER", "CLOSELOOP_TESTING", "TEST_PGBOUNCER"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-m", "tests.replica_scenario"], cwd=ROOT, env=env, capture_output=True,
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
