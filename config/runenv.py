"""The second terminal: what `make run` is using, for `make manage` / `manage.py` to use too.

`make run` (config.embedded) writes var/run.env while it runs: the database, the embedded Redis's
port, DEBUG and the var directory, and its own process id. manage.py reads it when DATABASE_URL
is not set (the environment wins over the file), so a management command in another terminal reaches the same database and
Redis. Without it, and without DEBUG or SECRET_KEY, manage.py says what to do instead of failing
on a missing SECRET_KEY. Standard library only: manage.py reads this before Django is set up.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
FILE_NAME = "run.env"
SHARED = ("DEBUG", "DATABASE_URL", "REDIS_URL", "CLOSELOOP_VAR_DIR", "SITE_URL", "EMAIL_BACKEND", "EMAIL_FILE_PATH")

HELP = """closeloop: manage.py does not know which database and Redis to use.
  - Beside a running `make run`: make manage ARGS="<command> ..." (or .venv/bin/python manage.py
    <command>) uses its database and Redis, from var/run.env, which `make run` writes while it runs.
    `make run` is not running now{stale}.
  - On the SQLite file of `make run` while it is stopped: DEBUG=1 .venv/bin/python manage.py <command>
  - In production: set SECRET_KEY, DATABASE_URL and REDIS_URL (docs/deployment.md).
"""


def var_dir(environ) -> Path:
    return Path(environ.get("CLOSELOOP_VAR_DIR") or BASE_DIR / "var")


SECRET_KEY_FILE = "secret_key"


def secret_key(directory: Path) -> str:
    """The signing key of `make run` (and of DEBUG without SECRET_KEY): made on first start, a
    random value in <var>/secret_key readable by its owner only (0600), and the same one on every
    later start, so sessions and "Did we put it right?" links survive a restart. Never a key from
    the repository: a link signed with a published key could be forged by anyone."""
    import secrets

    path = directory / SECRET_KEY_FILE
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{SECRET_KEY_FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(50) + "\n")
    try:
        os.link(tmp, path)  # atomic, and refused when another process made the file first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def write(directory: Path, env: dict[str, str]) -> Path:
    path = directory / FILE_NAME
    lines = [f"# Written by `make run` (pid {os.getpid()}) while it runs; read by manage.py. Removed when it stops."]
    lines += [f"{key}={shlex.quote(env[key])}" for key in SHARED if env.get(key)]
    lines.append(f"CLOSELOOP_RUN_PID={os.getpid()}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path


def remove(directory: Path) -> None:
    (directory / FILE_NAME).unlink(missing_ok=True)


def read(directory: Path) -> dict[str, str] | None:
    """The values of a running `make run`, or None (no file, or its process is gone)."""
    try:
        text = (directory / FILE_NAME).read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = (shlex.split(value) or [""])[0]
    if not _alive(values.get("CLOSELOOP_RUN_PID", "")):
        return None
    return values


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def for_manage(environ) -> str | None:
    """Fill `environ` from a running `make run`; a message to print instead when nothing says
    which database to use (no make run, no DEBUG, no SECRET_KEY)."""
    truthy = {"1", "true", "yes", "on"}
    if environ.get("DATABASE_URL"):
        return None  # configured here (production, a bench, a test): not make run's
    directory = var_dir(environ)
    values = read(directory)
    if values is not None:
        for key, value in values.items():
            environ.setdefault(key, value)
        return None
    if environ.get("SECRET_KEY") or any(
        environ.get(name, "").strip().lower() in truthy for name in ("DEBUG", "CLOSELOOP_TESTING")
    ):
        return None
    stale = f" (its {directory / FILE_NAME} is left from a run that ended)" if (directory / FILE_NAME).exists() else ""
    return HELP.format(stale=stale)
