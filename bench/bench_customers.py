"""Customer page and account page benchmark: server time of the page of a customer with 500
responses and of an account with 2,000 contacts, in a database of many customers and responses.

    DEBUG=1 .venv/bin/python -m bench.bench_customers [--customers N] [--responses N] [--keep]

What it does, in its own PostgreSQL database `closeloop_bench_customers` (created, migrated,
filled and dropped; never the test or dev database):
- 10 teams; N customers (default 1,000,000) with an e-mail identity each; M responses (default
  10,000,000) spread over them and the teams, bulk-generated with SQL generate_series;
- one customer with 500 responses (and 50 cases with contact attempts) in the agent's team, and
  one account with 2,000 contacts, each with an answer in the agent's team;
- for an agent of that team, the customer page and the account page: 30 timed requests each
  after 5 warm-ups through Django's test Client in-process; p50 / p95 / max and SQL queries.
The measuring runs in a child process whose DATABASE_URL points at the bench database."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_inbox import _insert_select, _percentile, _postgres_version, _reset_sequence
from bench.machine import describe as _machine

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_customers"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TEAMS = 10
REQUESTS = 30
WARMUP = 5
TARGET_P95_MS = 150
DOC = ROOT / "docs" / "benchmarks_customers.md"
CHILD_TIMEOUT = 14 * 60


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def _fill(n_customers: int, n_responses: int) -> dict:
    from django.db import connection

    from accounts.models import Membership, Role, Team, User
    from cases.services import case_log_contact
    from customers.models import Account, Contact, Identity
    from surveys.models import Customer, Survey, SurveyResponse, Vendor, WebhookSource
    from tests.factories import CaseFactory

    started = time.monotonic()
    teams = Team.objects.bulk_create([Team(name=f"Team {t:02d}", slug=f"team-{t:02d}", is_default=(t == 1))
                                      for t in range(1, TEAMS + 1)])
    agent = User.objects.create(username="agent01", role=Role.AGENT)
    Membership.objects.create(user=agent, team=teams[0])
    source = WebhookSource.objects.create(name="Bench", slug="bench", vendor=Vendor.STANDARD)
    survey = Survey.objects.create(source=source, external_id="s1", name="Relationship NPS")
    team_ids = "(ARRAY[" + ",".join(str(t.pk) for t in teams) + "])"
    _insert_select(Customer, {
        "id": "i", "external_id": "'c' || i", "email": "'customer' || i || '@example.com'", "name": "'Customer ' || i",
        "phone": "''", "tier": "(ARRAY['Bronze','Silver','Gold'])[1 + i % 3]", "segment": "'Retail'",
        "attributes": "'{}'::jsonb", "contact_consent": "'{}'::jsonb", "contact_opt_out": "false",
        "created_at": "now()", "updated_at": "now()",
    }, f"generate_series(1, {n_customers}) AS i")
    _reset_sequence(Customer)
    _insert_select(Identity, {"id": "i", "customer_id": "i", "kind": "'email'",
                              "value": "'customer' || i || '@example.com'", "created_at": "now()"},
                   f"generate_series(1, {n_customers}) AS i")
    _reset_sequence(Identity)
    _insert_select(SurveyResponse, {
        "id": "i", "source_id": str(source.pk), "survey_id": str(survey.pk),
        "customer_id": f"1 + (i::bigint * 7919) % {n_customers}", "external_id": "'r' || i",
        "answered_at": "now() - (i % 8760) * interval '1 hour'", "received_at": "now()", "nps": "i % 11",
        "scores": "'{}'::jsonb", "comment": "'Answer ' || i", "touchpoint": "'Checkout'", "channel": "'email'",
        "location": "'Leeds'", "region": "'UK'", "attributes": "'{}'::jsonb",
        "team_id": f"{team_ids}[1 + (i % {TEAMS})]",
    }, f"generate_series(1, {n_responses}) AS i")
    _reset_sequence(SurveyResponse)
    # The customer with 500 responses (and 50 cases, each with a contact attempt) in the agent's team.
    star = Customer.objects.create(name="Star Customer", email="star@example.com", external_id="star")
    now = datetime.datetime.now(datetime.UTC)
    rows = SurveyResponse.objects.bulk_create([
        SurveyResponse(source=source, survey=survey, customer=star, team=teams[0], external_id=f"star-{i}",
                       answered_at=now - datetime.timedelta(days=i), nps=i % 11, comment=f"Star answer {i}",
                       channel=["email", "sms", "web"][i % 3]) for i in range(500)])
    for i in range(50):
        case = CaseFactory(reference=f"CL-B{i:05d}", response=rows[i], customer=star, team=teams[0])
        case_log_contact(case_id=case.pk, by=agent, channel="phone", outcome="reached")
    # The account with 2,000 contacts, each with one answer in the agent's team.
    account = Account.objects.create(name="Big Account", owner=None)
    people = Customer.objects.bulk_create([Customer(name=f"Contact {i}", email=f"contact{i}@big.example")
                                           for i in range(2000)])
    Contact.objects.bulk_create([Contact(account=account, customer=c, role=["decision_maker", "influencer", "user",
                                                                            "user"][i % 4])
                                 for i, c in enumerate(people)])
    SurveyResponse.objects.bulk_create([
        SurveyResponse(source=source, survey=survey, customer=c, team=teams[0], external_id=f"big-{i}",
                       answered_at=now - datetime.timedelta(days=i % 300), nps=i % 11) for i, c in enumerate(people)])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"seconds": time.monotonic() - started, "customer": star.pk, "account": account.pk}


def _time(client, url: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        assert client.get(url).status_code == 200
    timings, cpu, sql = [], [], []
    for _ in range(REQUESTS):
        with CaptureQueriesContext(connection) as queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        assert response.status_code == 200
    return {"p50": statistics.median(timings), "p95": _percentile(timings, 95), "max": max(timings),
            "cpu_p50": statistics.median(cpu), "sql_p50": statistics.median(sql),
            "queries": len(queries.captured_queries)}


def child(n_customers: int, n_responses: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    call_command("migrate", verbosity=0, interactive=False)
    filled = _fill(n_customers, n_responses)
    client = Client()
    client.force_login(User.objects.get(username="agent01"))
    return {"customers": n_customers, "responses": n_responses, "fill_seconds": filled["seconds"],
            "customer_page": _time(client, f"/customers/{filled['customer']}/"),
            "account_page": _time(client, f"/customers/accounts/{filled['account']}/"),
            "load": os.getloadavg()[0]}


def report(f: dict) -> str:
    lines = [
        f"## Customer and account pages at {f['customers']:,} customers / {f['responses']:,} responses", "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}; PostgreSQL {_postgres_version()}. "
        f"Data generated with generate_series in {f['fill_seconds']:.0f} s. Server time per request (test Client "
        f"in-process), {REQUESTS} requests after {WARMUP} warm-ups, target p95 < {TARGET_P95_MS} ms; load average "
        f"{f['load']:.1f} (2 cores shared).", "",
        "| page | p50 | p95 | max | Django CPU p50 | SQL p50 | queries |", "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in (("customer_page", "Customer with 500 responses, 50 cases"),
                       ("account_page", "Account with 2,000 contacts")):
        x = f[key]
        lines.append(f"| {label} | {x['p50']:.1f} ms | {x['p95']:.1f} ms | {x['max']:.1f} ms | {x['cpu_p50']:.1f} ms | "
                     f"{x['sql_p50']:.1f} ms | {x['queries']} |")
    lines += ["", "Command: `python -m bench.bench_customers --customers N --responses M`."]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_customers = getattr(args, "customers", None) or 1_000_000
    n_responses = getattr(args, "responses", None) or 10_000_000
    _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    _admin(f'CREATE DATABASE "{DB_NAME}"')
    env = {**os.environ, "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME, "DEBUG": "true",
           "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=", "CLOSELOOP_TESTING": "false",
           "CELERY_TASK_ALWAYS_EAGER": "true", "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.bench_customers", "--child", "--customers", str(n_customers),
                               "--responses", str(n_responses)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT)
        if proc.returncode != 0:
            raise RuntimeError(f"bench_customers child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not getattr(args, "keep", False):
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    text = report(figures)
    DOC.write_text(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_customers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.customers, args.responses), default=str))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
