"""Closeloop's side of bench_concurrency: its bench database filled with bench_inbox's builder
(cases, responses, alerts, customers) in the concurrency shape, the personas (agents in teams,
managers) signed in with session rows, a generic-preset webhook source; then the processes as
production runs them (Procfile): `web` (gunicorn, config/gunicorn.py), `ingest` (gunicorn with
uvicorn workers, config.asgi) and a Celery `worker`.

`python -m bench.concurrency.closeloop_side OUT.json CASES TEAMS PER_TEAM MANAGERS CUSTOMERS` runs the set-up
in a process whose DATABASE_URL is the bench database (bench.concurrency.run starts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-concurrency-secret"
SLUG = "bench-concurrency"
REPORTS = [  # (label shared with the peer, Closeloop page)
    ("index", "/reports/"), ("KPIs", "/reports/kpis/"), ("root causes", "/reports/root-causes/"),
    ("overdue", "/reports/overdue/"),
]


def env(pg: str, db: str, redis: str) -> dict:
    """Production settings on loopback, as the Procfile runs them (DEBUG off, real Celery)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "CLOSELOOP_TEST"))}
    out.update({
        "DATABASE_URL": f"{pg}/{db}", "REDIS_URL": redis, "CELERY_BROKER_URL": redis, "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50, "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings",
        "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
        "CLOSELOOP_TESTING": "false", "DB_CONN_MAX_AGE": "600", "CACHE_KEY_PREFIX": "bench-concurrency",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "GUNICORN_ACCESS_LOG": "",
        "STATIC_ROOT": str(ROOT / "var" / "bench" / "concurrency-static"),
    })
    out.pop("CELERY_TASK_ALWAYS_EAGER", None)
    out.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return out


def _collectstatic() -> None:
    """The pages' hashed static files (DEBUG off: the manifest storage needs them). Collecting
    and compressing them takes about a minute on 2 cores, so it runs again only when a static
    source file changed since the last run (a fingerprint of their paths, sizes and times)."""
    import hashlib

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders
    from django.core.management import call_command

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in sorted(finder.list([]), key=lambda item: item[0]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    stamp = Path(settings.STATIC_ROOT) / ".bench-fingerprint"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    call_command("collectstatic", "--noinput", "--clear", verbosity=0)
    stamp.write_text(digest.hexdigest())


def setup(out: str, n_cases: int, n_teams: int, per_team: int, n_managers: int, customers: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from importlib import import_module

    import redis
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.management import call_command

    from accounts.models import Membership, Role, Team, User
    from bench.bench_inbox import _fill

    call_command("migrate", verbosity=0, interactive=False)
    _collectstatic()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    filled = _fill(n_cases, n_teams=n_teams, per_team=per_team, customers=customers)
    teams = list(Team.objects.order_by("name"))
    managers = []
    for m in range(n_managers):
        manager = User(username=f"manager{m:02d}", email=f"manager{m:02d}@example.com", role=Role.MANAGER)
        manager.set_unusable_password()
        manager.save()
        Membership.objects.create(user=manager, team=teams[m % len(teams)])
        managers.append(manager)
    call_command("add_webhook_source", "--slug", SLUG, "--vendor", "generic", "--secret", SECRET,
                 "--rate-limit", "0", "--auth", "header=X-Signature", "--auth", "delivery_id_header=X-Delivery-Id")
    store_class = import_module(settings.SESSION_ENGINE).SessionStore

    def session_for(user) -> str:
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    agents = User.objects.filter(role=Role.AGENT).exclude(username__startswith="manager").order_by("username")
    team_of = dict(Membership.objects.values_list("user_id", "team__slug"))
    open_per_team = Team.objects.get(pk=teams[0].pk).cases.exclude(status="closed").count()
    Path(out).write_text(json.dumps({
        "cookie_name": settings.SESSION_COOKIE_NAME,
        "agents": [{"session": session_for(a), "queue": team_of.get(a.pk, "")} for a in agents],
        "managers": [{"session": session_for(m)} for m in managers],
        "reports": REPORTS,
        "fill_seconds": round(filled["seconds"], 1),
        "open_per_team": open_per_team,
        "webhook": {"url": f"/webhooks/{SLUG}/", "secret": SECRET},
    }))


def start(env: dict, web_port: int, ingest_port: int, workers: int, threads: int, logs: Path) -> list[subprocess.Popen]:
    """web, ingest and worker, as the Procfile starts them (config/gunicorn.py, config/gunicorn_ingest.py);
    what they print goes to logs/<name>.log."""
    py = sys.executable

    def quiet(name: str) -> dict:
        return {"cwd": ROOT, "stdout": subprocess.DEVNULL, "stderr": (logs / f"{name}.log").open("w")}

    web = subprocess.Popen([py, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
                            "-b", f"127.0.0.1:{web_port}", "-w", str(workers), "--threads", str(threads),
                            "--log-level", "warning", "--backlog", "2048"], env=env, **quiet("web"))
    ingest = subprocess.Popen([py, "-m", "gunicorn", "-c", "config/gunicorn_ingest.py", "config.asgi:application",
                               "-b", f"127.0.0.1:{ingest_port}", "-w", "1",
                               "--log-level", "warning", "--backlog", "2048"],
                              env={**env, "DB_CONN_MAX_AGE": "0"}, **quiet("ingest"))
    worker = subprocess.Popen([py, "-m", "celery", "-A", "config", "worker", "-c", str(workers), "-n",
                               "benchconcurrency@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
                              env=env, **quiet("worker"))
    return [web, ingest, worker]


if __name__ == "__main__":
    out, n_cases, n_teams, per_team, n_managers, customers = sys.argv[1], *map(int, sys.argv[2:7])
    setup(out, n_cases, n_teams, per_team, n_managers, customers)
