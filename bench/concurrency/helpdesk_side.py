"""The peer: django-helpdesk (pinned), installed by the bench into its own virtual environment
under var/bench/ (never Closeloop's lock files), in a minimal Django project generated here, on
the same PostgreSQL server (its own database), served by gunicorn with the same process and
thread counts as Closeloop's web process, filled with the same data shape: as many tickets as
Closeloop has cases, one queue per team, the same agents (one per persona) and managers, the same
share open, the same open tickets per queue and per agent, half of the open ones unassigned.

Tickets come in through its REST API (`/helpdesk/api/tickets/`, DRF token authentication): the
peer's door for another tool's data, where Closeloop has its webhooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "var" / "bench"
VENV = HOME / "helpdesk-venv"
PROJECT = HOME / "helpdesk-project"
VERSION = os.environ.get("BENCH_HELPDESK_VERSION", "2.6.1")
# gunicorn and psycopg: the versions in Closeloop's lock (requirements/runtime.txt), so only the app differs.
REQUIREMENTS = [f"django-helpdesk=={VERSION}", "gunicorn==23.0.0", "psycopg[binary]==3.3.9"]
REPORTS = [  # (label shared with Closeloop, the peer's nearest page)
    ("index", "/helpdesk/reports/"), ("KPIs", "/helpdesk/reports/queuestatus/"),
    ("root causes", "/helpdesk/reports/queuepriority/"), ("overdue", "/helpdesk/dashboard/"),
]

SETTINGS = '''
import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "bench-helpdesk-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "rest_framework.authtoken", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hdbench.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "hdbench.wsgi.application"
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": os.environ["HD_DB_NAME"],
    "HOST": os.environ.get("HD_DB_HOST", "127.0.0.1"), "PORT": os.environ.get("HD_DB_PORT", "5432"),
    "USER": os.environ.get("HD_DB_USER", "postgres"), "PASSWORD": os.environ.get("HD_DB_PASSWORD", ""),
    "CONN_MAX_AGE": 600,
}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(BASE_DIR, "static")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_ID = 1
USE_TZ = True
LOGIN_URL = "helpdesk:login"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": [
    "rest_framework.authentication.TokenAuthentication", "rest_framework.authentication.SessionAuthentication",
]}
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_ENABLE_PER_QUEUE_STAFF_PERMISSION = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
'''

URLS = '''
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
'''

WSGI = '''
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hdbench.settings")
application = get_wsgi_application()
'''

# Run by the peer's own Python (its venv): migrate, queues, staff, tickets by SQL, sessions, token.
FILL = '''
import json, sys, time
import django

django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection
from helpdesk.models import Queue, Ticket, UserSettings
from rest_framework.authtoken.models import Token

out, n_tickets, n_teams, per_team, n_managers = sys.argv[1], *map(int, sys.argv[2:6])
call_command("migrate", verbosity=0, interactive=False)
started = time.monotonic()
User = get_user_model()
queues = [Queue.objects.create(title=f"Team {t:02d}", slug=f"team-{t:02d}", allow_public_submission=False)
          for t in range(1, n_teams + 1)]
password = "!"  # unusable: the personas sign in with session rows
agents = User.objects.bulk_create([
    User(username=f"agent{t:02d}{a}", first_name=f"Agent {a}", last_name=f"T{t:02d}", email=f"agent{t:02d}{a}@example.com",
         is_staff=True, password=password) for t in range(1, n_teams + 1) for a in range(per_team)])
managers = User.objects.bulk_create([
    User(username=f"manager{m:02d}", email=f"manager{m:02d}@example.com", is_staff=True, password=password)
    for m in range(n_managers)])
integration = User.objects.create(username="integration", email="integration@example.com", is_staff=True,
                                  is_superuser=True, password=password)
token = Token.objects.create(user=integration).key
# What its post_save signal makes for each user (bulk_create sends none); 50 rows a page, as Closeloop.
UserSettings.objects.bulk_create([UserSettings(user=u, tickets_per_page=50) for u in [*agents, *managers]])
queue_ids = "(ARRAY[" + ",".join(str(q.pk) for q in queues) + "])"
user_ids = "(ARRAY[" + ",".join(str(u.pk) for u in agents) + "])"
k = f"(i / {n_teams})"
is_open = f"({k} % 10 >= 8)"
agent_of = f"{user_ids}[1 + (i % {n_teams}) * {per_team} + ({k} % {per_team})]"
with connection.cursor() as cursor:
    # The same shape as Closeloop's bench fill (bench_inbox._fill): ticket i in queue i % teams,
    # 80 % closed, the open ones half unassigned, created over the last year.
    cursor.execute(f"""
        INSERT INTO helpdesk_ticket (id, title, queue_id, created, modified, submitter_email, assigned_to_id,
            status, on_hold, description, resolution, priority, due_date, last_escalation, secret_key)
        SELECT i, 'Survey response ' || i, {queue_ids}[1 + (i % {n_teams})],
            now() - (i % 8760) * interval '1 hour', now(), 'customer' || i || '@example.com',
            CASE WHEN {is_open} AND ({k} / 10) % 2 = 0 THEN NULL ELSE {agent_of} END,
            CASE WHEN {is_open} THEN 1 ELSE 4 END, false,
            (ARRAY['The queue was far too long and nobody helped.','Parcel arrived broken; second time this year.',
                   'Staff were rude at the till.','Website kept logging me out.',''])[1 + i % 5] || ' #' || i,
            CASE WHEN {is_open} THEN NULL ELSE 'Called the customer, apologised and refunded.' END,
            1 + (i / 3) % 5,
            now() + ((({k} * 37) % 96) - 24 + 32) * interval '1 hour', NULL, md5(i::text)
        FROM generate_series(1, {n_tickets}) AS i""")
    cursor.execute("SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), (SELECT MAX(id) FROM helpdesk_ticket))")
    cursor.execute("VACUUM ANALYZE")

def session_for(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key

json.dump({
    "cookie_name": settings.SESSION_COOKIE_NAME,
    "agents": [{"session": session_for(a), "queue": queues[i // per_team].pk} for i, a in enumerate(agents)],
    "managers": [{"session": session_for(m)} for m in managers],
    "fill_seconds": round(time.monotonic() - started, 1),
    "open_per_team": Ticket.objects.filter(queue=queues[0], status=1).count(),
    "webhook": {"url": "/helpdesk/api/tickets/", "token": token, "queues": [q.pk for q in queues]},
}, open(out, "w"))
'''


def install() -> Path:
    """The peer's venv with the pinned django-helpdesk; a no-op once it is there. Returns its Python."""
    python = VENV / "bin" / "python"
    marker = VENV / f".installed-{VERSION}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
        proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                              capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"pip install {' '.join(REQUIREMENTS)} failed:\n{proc.stderr[-2000:]}")
        marker.touch()
    return python


def write_project() -> None:
    package = PROJECT / "hdbench"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(textwrap.dedent(SETTINGS).lstrip())
    (package / "urls.py").write_text(textwrap.dedent(URLS).lstrip())
    (package / "wsgi.py").write_text(textwrap.dedent(WSGI).lstrip())
    (PROJECT / "fill.py").write_text(textwrap.dedent(FILL).lstrip())


def env(pg_url: str, db: str) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(pg_url)
    out = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "PYTHON"))}
    out.update({
        "DJANGO_SETTINGS_MODULE": "hdbench.settings", "PYTHONPATH": str(PROJECT), "HD_DB_NAME": db,
        "HD_DB_HOST": parts.hostname or "127.0.0.1", "HD_DB_PORT": str(parts.port or 5432),
        "HD_DB_USER": parts.username or "postgres", "HD_DB_PASSWORD": parts.password or "",
    })
    return out


def setup(python: Path, env: dict, out: Path, n_cases: int, n_teams: int, per_team: int, n_managers: int) -> dict:
    write_project()
    proc = subprocess.run([str(python), str(PROJECT / "fill.py"), str(out), str(n_cases), str(n_teams), str(per_team),
                           str(n_managers)], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"django-helpdesk set-up failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    personas = json.loads(out.read_text())
    personas["reports"] = REPORTS
    out.write_text(json.dumps(personas))
    return personas


def start(python: Path, env: dict, port: int, workers: int, threads: int, logs: Path) -> list[subprocess.Popen]:
    """gunicorn with Closeloop's web process counts: `workers` processes of `threads` threads."""
    return [subprocess.Popen(
        [str(python), "-m", "gunicorn", "hdbench.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "-k", "gthread", "--threads", str(threads), "--timeout", "30", "--graceful-timeout", "10",
         "--log-level", "warning", "--backlog", "2048"],
        cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=(logs / "web.log").open("w"))]
