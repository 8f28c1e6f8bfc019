"""A benchmark's measured part runs in a child process on a PostgreSQL database of its own, with
the settings a real installation has (not the test settings): this module creates that database,
starts the child and reads back the figures it prints as its last line of JSON.

    figures = child.run("bench.bench_imports", ["--rows", "100"], database="closeloop_bench_imports",
                        timeout=600, env=child.environment("closeloop_bench_imports", LOG_LEVEL="WARNING"))

The database is dropped afterwards unless ``keep`` is given (``--keep``, ``--reuse``, ``--fill-only``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# The benches' own Fernet key (the same the fault scripts use): bench data is not secret.
ENCRYPTION_KEYS = "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE="


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def admin(sql: str) -> None:
    """Run one statement on the server's maintenance database (CREATE / DROP DATABASE)."""
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def recreate(name: str) -> None:
    admin(f'DROP DATABASE IF EXISTS "{name}"')
    admin(f'CREATE DATABASE "{name}"')


def environment(name: str, **extra: str) -> dict[str, str]:
    """The child's environment: production-like settings on the database ``name``, Celery tasks run
    in the process (eager), logs at WARNING; ``extra`` adds or overrides variables."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(name),
        "DEBUG": "true",
        "CLOSELOOP_TESTING": "false",
        "CLOSELOOP_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


# The test Client's host and an in-memory mailbox, for benches that drive pages in-process without
# setup_test_environment() (which would instrument every template render, as no real server does).
CLIENT = {"ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
          "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


def run(module: str, args: list[str], *, database: str, timeout: float, env: dict[str, str],
        keep: bool = False) -> dict:
    """Run ``python -m module --child *args`` and return the JSON object on its last line; the
    database is dropped afterwards, whatever happened, unless ``keep``."""
    try:
        proc = subprocess.run([sys.executable, "-m", module, "--child", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{module} child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not keep:
            admin(f'DROP DATABASE IF EXISTS "{database}"')
