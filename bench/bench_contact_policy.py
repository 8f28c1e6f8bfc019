"""The contact-policy endpoint survey tools call before each send: p99 at 200 requests/s.

Run: `python -m bench contact_policy` (or `DEBUG=1 .venv/bin/python -m bench.bench_contact_policy`).
Builds the database closeloop_bench_contact (BENCH_CONTACT_DB names another; kept for `--reuse`;
dropped with BENCH_DROP=1):
BENCH_CONTACT_CUSTOMERS customers (default 200,000), ten answers each over the last 90 days, a
case for one customer in ten (half of them open, half closed in the last 30 days) and one reported
invitation each. Starts the web server as the Procfile does (gunicorn with config/gunicorn.py,
its buffered threaded worker, `config.wsgi`), and drives
`GET /api/v1/contact-policy/?email=<a random customer>` with wrk at a paced 200 requests/s
(16 connections, each waiting its share between requests) for BENCH_SECONDS (30 s), then at
the most it can (16 connections) for the same time: latency at the target rate, and the ceiling
beside it. An unknown address is one in ten requests (a tool asking about a new person).
BENCH_WORKERS and BENCH_THREADS set gunicorn's processes and threads (default: config/gunicorn.py's,
one process per core of eight threads each). Bounded: about 4 minutes with the data built, plus
2-35 minutes to build it (the longer on a shared machine).
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_webhooks import _free_port, _load, _psql, _start, _stop, _wrk
from bench.bench_webhooks import _env as _webhook_env
from bench.machine import describe, write_figures

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("BENCH_CONTACT_DB", "closeloop_bench_contact")
DOC = ROOT / "docs" / "benchmarks_contact_policy.md"
CUSTOMERS = int(os.environ.get("BENCH_CONTACT_CUSTOMERS", "200000"))
# The customers' addresses, n from 1 to CUSTOMERS ("{}" stands for n): this bench's own build, or,
# with BENCH_REUSE=1, BENCH_CONTACT_DB naming another bench's kept database, that one's pattern
# (bench_reports' 10,000,000 answers: BENCH_CONTACT_EMAIL="customer{}@example.com",
# BENCH_CONTACT_CUSTOMERS=1000000).
EMAIL = os.environ.get("BENCH_CONTACT_EMAIL", "c{}@bench.example")
RATE = int(os.environ.get("BENCH_CONTACT_RATE", "200"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "30"))
PROBES = 5
CONNECTIONS = 16

LUA = r"""
math.randomseed(%(seed)d)
function request()
  local n = math.random(1, %(customers)d * 10 / 9)
  return wrk.format("GET", "/api/v1/contact-policy/?email=%(email_before)s" .. n .. "%(email_after)s", {
    ["Authorization"] = "Token %(token)s",
  })
end
%(delay)s
"""

# Run inside Django (manage.py shell) against the bench database: the rows, in bulk.
BUILD = r"""
import datetime as dt, random
from decimal import Decimal
from django.utils import timezone
from accounts.models import Team
from accounts.services.tokens import token_create
from accounts.models import User
from cases.models import Case
from contactpolicy.models import ContactEvent
from surveys.models import Customer, Survey, SurveyResponse, WebhookSource

from django.db import connection
# The rows go in with the tables' triggers off (rollups, follow-ups, case keys): one 5,000-row INSERT
# with them on took minutes here. The parent then runs `manage.py rollups --rebuild`, which derives
# what the triggers would have written.
connection.cursor().execute("SET session_replication_role = replica")
N = %(customers)d
rng = random.Random(7)
now = timezone.now()
team = Team.objects.create(name="Bench", slug="bench")
source = WebhookSource.objects.create(slug="bench", name="Bench", vendor="generic")
survey = Survey.objects.create(source=source, external_id="bench", name="Bench")
admin = User.objects.create_user("bench-admin", "bench-admin@example.com", "x", role="admin")
print("TOKEN", token_create(user=admin, name="bench").key)
for start in range(0, N, 5000):
    ids = range(start, min(N, start + 5000))
    customers = Customer.objects.bulk_create([Customer(email=f"c{i}@bench.example", name=f"C {i}") for i in ids])
    responses, events, cases = [], [], []
    for c in customers:
        for k in range(10):
            responses.append(SurveyResponse(source=source, survey=survey, customer=c, team=team,
                                            external_id=f"{c.pk}-{k}", nps=rng.randint(0, 10),
                                            answered_at=now - dt.timedelta(minutes=rng.randint(0, 90 * 24 * 60))))
        events.append(ContactEvent(customer=c, kind="invitation", sender="bench", source=source,
                                   at=now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 60))))
    SurveyResponse.objects.bulk_create(responses, batch_size=5000)
    ContactEvent.objects.bulk_create(events)
    for c in customers[::10]:
        response = next(r for r in responses if r.customer_id == c.pk)
        closed = rng.random() < 0.5
        created = now - dt.timedelta(days=rng.randint(1, 40))
        cases.append(Case(reference=f"B{c.pk}", response=response, customer=c, team=team,
                          status="closed" if closed else "new", created_at=created,
                          first_contact_due=created + dt.timedelta(hours=4),
                          resolution_due=created + dt.timedelta(days=2), value_at_risk=Decimal("0"),
                          closed_at=now - dt.timedelta(days=rng.randint(0, 30)) if closed else None,
                          outcome="resolved" if closed else "", resolution="Bench." if closed else "",
                          root_cause_id=root.pk if closed else None))
    Case.objects.bulk_create(cases)
print("BUILT", Customer.objects.count(), SurveyResponse.objects.count(), Case.objects.count())
"""


def _env() -> dict:
    env = _webhook_env()
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{DB}"
    return env


def _build(py: str, env: dict) -> str:
    """Create and fill the database; returns the API token."""
    _psql(f"DROP DATABASE IF EXISTS {DB}")
    _psql(f"CREATE DATABASE {DB}")
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=600)
    code = BUILD % {"customers": CUSTOMERS}
    # A closed case needs a root cause: the migrations seed the taxonomy.
    code = code.replace("N = ", "from cases.models import RootCause\nroot = RootCause.objects.first()\nN = ", 1)
    out = subprocess.run([py, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, timeout=3600,
                         capture_output=True, text=True).stdout
    print(out.strip().splitlines()[-1], flush=True)
    subprocess.run(["psql", env["DATABASE_URL"], "-qc", "ANALYZE"], check=True, timeout=600)
    subprocess.run([py, "manage.py", "rollups", "--rebuild"], cwd=ROOT, env=env, check=True, timeout=1800,
                   capture_output=True)
    subprocess.run(["psql", env["DATABASE_URL"], "-qc", "VACUUM ANALYZE"], check=True, timeout=600)
    return next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN"))


def _token(py: str, env: dict) -> str:
    # Another bench's database has no bench-admin yet: made once, an admin as this bench's own.
    code = ("from accounts.models import User; from accounts.services.tokens import token_create; "
            "admin = User.objects.filter(username='bench-admin').first() or User.objects.create_user("
            "'bench-admin', 'bench-admin@example.com', 'x', role='admin'); "
            "print('TOKEN', token_create(user=admin, name='bench').key)")
    out = subprocess.run([py, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, timeout=120,
                         capture_output=True, text=True).stdout
    return next(line.split()[1] for line in out.splitlines() if line.startswith("TOKEN"))


def run(args=None) -> str:
    if not shutil.which("wrk"):
        return "## Contact policy\n\nNot measured: `wrk` is not installed (apt-get install -y wrk).\n"
    py = sys.executable
    env = _env()
    reuse = "--reuse" in sys.argv or os.environ.get("BENCH_REUSE") == "1"
    exists = subprocess.run(["psql", _webhook_env()["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres", "-tAc",
                             f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"],
                            capture_output=True, text=True).stdout.strip() == "1"
    token = _token(py, env) if reuse and exists else _build(py, env)
    sizes = subprocess.run(["psql", env["DATABASE_URL"], "-tAc",
                            "SELECT (SELECT count(*) FROM surveys_customer), (SELECT count(*) FROM surveys_surveyresponse),"
                            " (SELECT count(*) FROM cases_case), (SELECT count(*) FROM contactpolicy_contactevent)"],
                           capture_output=True, text=True).stdout.strip().split("|")
    load_start = _load()
    workdir = Path(tempfile.mkdtemp(prefix="bench-contact-"))
    # The web server as config/gunicorn.py starts it, unless BENCH_WORKERS / BENCH_THREADS say otherwise.
    from config import gunicorn as web_settings

    threads = int(os.environ.get("BENCH_THREADS") or web_settings.threads)
    workers = int(os.environ.get("BENCH_WORKERS") or web_settings.workers)
    server = None
    try:
        def script(name: str, delay_ms: float = 0, seed: int = 1) -> Path:
            path = workdir / f"{name}.lua"
            delay = f"function delay()\n  return {delay_ms:.2f}\nend" if delay_ms else ""
            before, after = EMAIL.split("{}")
            path.write_text(LUA % {"customers": CUSTOMERS, "token": token, "delay": delay, "seed": seed,
                                   "email_before": before, "email_after": after})
            return path

        port = _free_port()
        server = _start(py, {**env, "GUNICORN_ACCESS_LOG": ""}, port, "config.wsgi:application",
                        ["-w", str(workers), "--threads", str(threads)])
        _wrk(port, 4, script("warmup"), seconds=5)
        # Paced: wrk is closed-loop, so each connection's cycle (answer time + wait) must last
        # CONNECTIONS / RATE seconds. Short probes measure the answer time at the current wait and
        # correct the wait, until the rate is within 5% of RATE (at most PROBES probes): one probe
        # alone overshoots when the machine was busy during it.
        cycle = CONNECTIONS * 1000 / RATE
        delay = cycle
        for attempt in range(PROBES):
            probe = _wrk(port, CONNECTIONS, script(f"probe{attempt}", delay_ms=delay, seed=2 + attempt), seconds=3)
            if abs(probe["accepted_per_s"] - RATE) <= RATE * 0.05:
                break
            answer_ms = max(0.0, CONNECTIONS * 1000 / max(probe["accepted_per_s"], 1) - delay)
            delay = max(0.1, cycle - answer_ms)
        paced = _wrk(port, CONNECTIONS, script("paced", delay_ms=delay, seed=9), seconds=SECONDS)
        most = _wrk(port, CONNECTIONS, script("most", seed=4), seconds=SECONDS)
    finally:
        _stop(server)
        shutil.rmtree(workdir, ignore_errors=True)
    if os.environ.get("BENCH_DROP") == "1":
        _psql(f"DROP DATABASE IF EXISTS {DB}")
    load_end = _load()
    met = paced["p99_ms"] < 20 and paced["accepted_per_s"] >= RATE * 0.95 and not paced["non2xx"]
    figures = "\n".join([
        "## Contact policy endpoint (bench/bench_contact_policy.py)",
        "",
        f"Date {datetime.date.today().isoformat()}; machine {describe()}; PostgreSQL on the same machine. "
        f"Data: {int(sizes[0]):,} customers, {int(sizes[1]):,} responses, {int(sizes[2]):,} cases, "
        f"{int(sizes[3]):,} reported invitations. The web server as the Procfile starts it: gunicorn "
        f"{workers} workers (config.gunicorn_worker.BufferedThreadWorker) x {threads} threads, `config.wsgi`; an admin's API token. "
        f"`GET /api/v1/contact-policy/?email=...` for a random customer (one in ten unknown); wrk, "
        f"{CONNECTIONS} connections, {SECONDS} s per run. Load average (1/5/15 min) at the start "
        f"{load_start}, at the end {load_end} (the machine is shared).",
        "",
        "| load | answered/s | p50 | p99 | non-2xx | socket errors |",
        "|---|---|---|---|---|---|",
        f"| paced at {RATE}/s | {paced['accepted_per_s']:.0f} | {paced['p50_ms']:.1f} ms | {paced['p99_ms']:.1f} ms | "
        f"{paced['non2xx']} | {paced['socket_errors']} |",
        f"| as fast as it answers | {most['accepted_per_s']:.0f} | {most['p50_ms']:.1f} ms | {most['p99_ms']:.1f} ms | "
        f"{most['non2xx']} | {most['socket_errors']} |",
        "",
        f"Target (issue #23): p99 under 20 ms at {RATE} requests/s: **{'met' if met else 'NOT met'}**.",
    ])
    write_figures(DOC, figures)
    print(figures)
    return figures


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    run()
