"""Customer page, account page and journey map benchmark: server time of the page of a customer
with 500 responses, of an account with 2,000 contacts, of their API detail, and of the journey map
(as a manager of 5 of 50 teams and as an admin, every team), in a database of many customers and
responses (the issue's size by default: 1,000,000 customers, 10,000,000 responses).

    DEBUG=1 .venv/bin/python -m bench.bench_customers [--customers N] [--responses N] [--keep] [--reuse]
    DEBUG=1 .venv/bin/python -m bench.bench_customers --ingest N

What it does, in its own PostgreSQL database `closeloop_bench_customers` (created, migrated,
filled and dropped; never the test or dev database):
- the reporting bench's data (bench/reports_data.py): 50 teams (a manager of 5 of them), N
  customers, M responses over the last 365 days (NPS on all, CSAT on a third, CES on a quarter, 12
  touchpoints, 10 surveys), M/10 cases with root causes, bulk-loaded with SQL generate_series, the
  secondary indexes rebuilt after and the rollups rebuilt; an e-mail identity per customer; each
  closed case's stored seconds to close; the journey map bench's journey (6 stages);
- one customer with 500 responses (and 50 cases with contact attempts) in the agent's team, and
  one account with 2,000 contacts, each with an answer in the agent's team;
- the responses moved into a partition per month (core.partitions.maintain, what the beat runs
  daily: the load leaves past months in the default partition), then vacuumed;
- the pages and API details (PAGES), 30 timed requests each after 5 warm-ups through Django's test
  Client in-process, the garbage collector set as in a production web worker (config/gunicorn.py);
  p50 / p95 / max, Django CPU, SQL time and queries.
With --ingest N, instead: identity matching's cost on ingest (ingest_child), in its own database
`closeloop_bench_customers_ingest`. Timed phases hold the machine's bench lock (/tmp/bench.lock);
generation runs outside it. The measuring runs in a child process whose DATABASE_URL points at the
bench database."""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_inbox import _percentile, _postgres_version, _reset_sequence
from bench.machine import describe as _machine
from bench.machine import write_figures

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_CUSTOMERS_DB", "closeloop_bench_customers")
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# The child's cache (and broker): its own Redis database and key prefix, so clearing the cache for a
# first view deletes this bench's keys only (never another process's, never database 0's).
REDIS = os.environ.get("BENCH_CUSTOMERS_REDIS_URL", "redis://127.0.0.1:6379/12")
CACHE_PREFIX = "bench-customers"
REQUESTS = 30
COLD_REQUESTS = 10  # first views: each after this bench's cache keys are deleted
WARMUP = 5
TARGET_P95_MS = 150
DOC = ROOT / "docs" / "benchmarks_customers.md"
CHILD_TIMEOUT = 120 * 60
LOCK = "/tmp/bench.lock"  # the machine's shared lock: timed phases never overlap another helper's
JOURNEY_TARGET_P95_MS = 500
# (figure, user, url): the pages the issue names, as the agent of the customer's team, a manager of
# 5 of the 50 teams and an admin (every team); the API's detail of the same customer and account.
PAGES = [
    ("customer_page", "agent01", "/customers/{customer}/"),
    ("account_page", "agent01", "/customers/accounts/{account}/"),
    ("customer_api", "agent01", "/api/v1/customers/{customer}/"),
    ("account_api", "agent01", "/api/v1/accounts/{account}/"),
    ("journey_manager", "bench_manager", "/reports/journey/"),
    ("journey_admin", "bench_admin", "/reports/journey/"),
]
LABELS = {
    "customer_page": "Customer page: 500 responses, 50 cases (agent of its team)",
    "account_page": "Account page: 2,000 contacts (agent)",
    "customer_api": "`/api/v1/customers/<id>/` of that customer (agent)",
    "account_api": "`/api/v1/accounts/<id>/` of that account (agent)",
    "journey_manager": "Journey map, last 90 days (manager of 5 of 50 teams)",
    "journey_admin": "Journey map, last 90 days (admin, every team)",
    "journey_manager_cold": "Journey map, first view, cache empty (manager of 5 of 50 teams)",
    "journey_admin_cold": "Journey map, first view, cache empty (admin, every team)",
}
COLD = [("journey_manager_cold", "bench_manager", "/reports/journey/"),
        ("journey_admin_cold", "bench_admin", "/reports/journey/")]


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def _fill(n_customers: int, n_responses: int) -> dict:
    """The reporting bench's data (bench/reports_data.py: 50 teams, a manager of 5 of them, the
    customers, the responses over 365 days and a case per ten responses, bulk-loaded with the
    secondary indexes rebuilt after and the rollups rebuilt), an e-mail identity per customer, the
    journey map bench's journey (bench_journeys._journey), and the two subjects of the pages: the
    customer with 500 responses and the account with 2,000 contacts, in the agent's team."""
    from django.db import connection

    from accounts.models import Membership, Role, Team, User
    from bench import reports_data
    from bench.bench_journeys import _journey
    from cases import response_keys
    from cases.services import case_log_contact
    from customers.models import Account, Contact, Identity
    from surveys.models import Customer, Survey, SurveyResponse
    from tests.factories import CaseFactory

    started = time.monotonic()
    reports_data.CUSTOMERS = n_customers
    filled = reports_data.fill(n_responses)
    _close_durations()
    response_keys.backfill()  # the cases were loaded with triggers off
    with connection.cursor() as cursor:
        # The stored durations and the backfill rewrote every case after the fill built the
        # indexes: each index of cases then held three entries per case, two of them dead, and
        # VACUUM leaves their pages a third full (the journey map's case indexes three times their
        # size: 151 against 56 MB for the creation index, 182 against 69 MB for the closed cases'),
        # which a running installation, writing each case's keys when it opens and its duration
        # when it closes, never has. Rebuilt, as after any bulk load; then the visibility map
        # (without it every index-only read of cases fetches the table; autovacuum would get there
        # on a running installation, not before this run's timing).
        cursor.execute("REINDEX TABLE cases_case")
        cursor.execute("VACUUM ANALYZE cases_case")
    with reports_data._bulk_load(Identity):
        reports_data._insert_select(Identity, {"id": "i", "customer_id": "i", "kind": "'email'",
                                               "value": "'customer' || i || '@example.com'", "created_at": "now()"},
                                    f"generate_series(1, {n_customers}) AS i")
    _reset_sequence(Identity)
    _journey()
    team = Team.objects.get(slug="team-01")
    agent = User.objects.create(username="agent01", role=Role.AGENT)
    Membership.objects.create(user=agent, team=team)
    User.objects.create(username="bench_admin", role=Role.ADMIN)
    survey = Survey.objects.get(name="Survey 1")
    source = survey.source
    # The customer with 500 responses (and 50 cases, each with a contact attempt) in the agent's team.
    star = Customer.objects.create(name="Star Customer", email="star@example.com", external_id="star")
    now = datetime.datetime.now(datetime.UTC)
    rows = SurveyResponse.objects.bulk_create([
        SurveyResponse(source=source, survey=survey, customer=star, team=team, external_id=f"star-{i}",
                       answered_at=now - datetime.timedelta(days=i), nps=i % 11, comment=f"Star answer {i}",
                       touchpoint=f"Touchpoint {i % 12}", channel=["email", "sms", "web"][i % 3]) for i in range(500)])
    for i in range(50):
        case = CaseFactory(reference=f"CL-B{i:05d}", response=rows[i], customer=star, team=team)
        case_log_contact(case_id=case.pk, by=agent, channel="phone", outcome="reached")
    # The account with 2,000 contacts, each with one answer in the agent's team.
    account = Account.objects.create(name="Big Account", owner=None)
    people = Customer.objects.bulk_create([Customer(name=f"Contact {i}", email=f"contact{i}@big.example")
                                           for i in range(2000)])
    Contact.objects.bulk_create([Contact(account=account, customer=c, role=["decision_maker", "influencer", "user",
                                                                            "user"][i % 4])
                                 for i, c in enumerate(people)])
    SurveyResponse.objects.bulk_create([
        SurveyResponse(source=source, survey=survey, customer=c, team=team, external_id=f"big-{i}",
                       answered_at=now - datetime.timedelta(days=i % 300), nps=i % 11) for i, c in enumerate(people)])
    # The responses of past months sit in the partitioned table's default partition after the load
    # (the migration created this month's and the next months' only): the daily maintenance moves
    # them into a partition per month, as on a running installation, where each page's reads probe
    # every monthly partition (about 7 minutes here, with the VACUUM the moved rows need).
    from core import partitions

    partitions.maintain()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE surveys_surveyresponse")
        cursor.execute("ANALYZE")
    return {"seconds": time.monotonic() - started, "cases": filled["cases"], "customer": star.pk,
            "account": account.pk}


def _close_durations() -> None:
    """Each closed case's stored business seconds to close (what cases.services stores when a case
    closes; reports_data leaves it empty), here the calendar seconds: the journey map's median reads
    them. No trigger reads the column, so they are off for the 1,000,000-row update."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE cases_case SET close_business_seconds = EXTRACT(EPOCH FROM closed_at - created_at) "
                       "WHERE closed_at IS NOT NULL AND close_business_seconds IS NULL")
        updated = cursor.rowcount
        cursor.execute("SET session_replication_role = DEFAULT")
        if updated:
            cursor.execute("VACUUM ANALYZE cases_case")  # the update left a dead row per closed case


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


def _forget_cache() -> int:
    """Delete this bench's cache keys (its prefix in its own Redis database): the next request is
    a first view, as after a deploy or a cache flush."""
    import redis
    from django.conf import settings

    config = settings.CACHES["default"]
    assert config["KEY_PREFIX"] == CACHE_PREFIX, config["KEY_PREFIX"]  # never another process's keys
    client = redis.Redis.from_url(config["LOCATION"])
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)


def _time_cold(client, url: str) -> dict:
    """COLD_REQUESTS first views: each after the cache keys are deleted (nothing else warmed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, cpu, sql = [], [], []
    for _ in range(COLD_REQUESTS):
        _forget_cache()
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


def _unstored(clients: dict) -> dict:
    """Per user of COLD: the very first view of the journey map's filter set (no stored moments of
    truth: the page queues their computation and says so; the queued message lands in this bench's
    Redis database and is deleted after, no worker runs here), then the worker's computation of
    that table (reporting.selectors.moments.compute), timed in this process."""
    try:
        from reporting.models import MomentsOfTruth
    except ImportError:  # before the moments were stored: nothing to time here
        return {}
    import redis
    from django.conf import settings

    from config.celery import app
    from reporting.selectors import moments

    out = {}
    for key, who, url in COLD:
        MomentsOfTruth.objects.all().delete()
        _forget_cache()
        app.conf.task_always_eager = False  # as a web process: queue, do not compute
        try:
            started = time.perf_counter()
            response = clients[who].get(url)
            out[key.replace("_cold", "_unstored")] = (time.perf_counter() - started) * 1000
        finally:
            app.conf.task_always_eager = True
        assert response.status_code == 200 and b"Being computed" in response.content
        spec = MomentsOfTruth.objects.get().spec
        started = time.perf_counter()
        assert moments.compute(spec) is not None
        out[key.replace("_cold", "_compute")] = (time.perf_counter() - started) * 1000
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("reports")  # the queued messages, unread
    return out


def child(n_customers: int, n_responses: int, reuse: bool = False) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User
    from customers.models import Account
    from surveys.models import Customer

    call_command("migrate", verbosity=0, interactive=False)  # on reuse: this branch's new indexes, if any
    if reuse:  # the data of an earlier --keep run: only the timing again
        from cases.models import Case

        _close_durations()  # data kept before the bench filled them (idempotent)
        filled = {"seconds": 0.0, "customer": Customer.objects.get(external_id="star").pk,
                  "account": Account.objects.get(name="Big Account").pk, "cases": Case.objects.count()}
    else:
        filled = _fill(n_customers, n_responses)
    clients = {}
    for who in ("agent01", "bench_manager", "bench_admin"):
        clients[who] = Client()
        clients[who].force_login(User.objects.get(username=who))
    customer, account = filled["customer"], filled["account"]
    pages = [(key, who, url) for key, who, url in PAGES]
    # The garbage collector as production's web workers have it (config/gunicorn.py's
    # post_worker_init: what is loaded by now frozen, young collections every 10,000 allocations):
    # with Python's defaults, a full collection walking every loaded object landed in one request
    # of 30 (about 105 ms, seen with gc.callbacks), which a gunicorn worker does not pay.
    from config.gunicorn import post_worker_init

    post_worker_init(None)
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # generation ran outside the lock, the timing runs inside it
        load_start = os.getloadavg()
        timed = {key: _time(clients[who], url.format(customer=customer, account=account)) for key, who, url in pages}
        timed.update({key: _time_cold(clients[who], url) for key, who, url in COLD})
        timed.update(_unstored(clients))
        load = os.getloadavg()
    return {"customers": n_customers, "responses": n_responses, "cases": filled["cases"],
            "fill_seconds": filled["seconds"], **timed, "load": load[0], "load_start": list(load_start),
            "load_end": list(load)}


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)


# --- identity matching's cost on ingest -----------------------------------------------------------
INGEST_BATCH = 50  # a worker's batch (surveys.tasks)
INGEST_ROUNDS = 4  # per variant, alternating with and without, so drift on a shared machine hits both


def _ingest_payload(i: int, run: str) -> bytes:
    """A Closeloop-format delivery naming its customer by external id, e-mail and phone (one of
    2,000 customers: most deliveries name someone known); a quarter are detractors (a case each).
    The phone is in E.164 already, so both variants store the same value (the parse is still paid
    with the identity rules) and no customer row changes back and forth between them."""
    bad = i % 4 == 0
    who = i % 2000
    return json.dumps({"type": "response.completed", "data": {
        "response_id": f"{run}-{i}", "survey": {"id": "bench", "name": "Bench NPS"},
        "answered_at": datetime.datetime.now(datetime.UTC).isoformat(),
        "scores": {"nps": {"value": 2 if bad else 9, "min": 0, "max": 10}},
        "comment": "The parcel arrived two days late and the box was damaged." if bad else "Great, thanks!",
        "touchpoint": ["store", "delivery", "checkout"][i % 3], "channel": "email",
        "customer": {"external_id": f"cust-{who}", "email": f"Customer{who}@Example.com",
                     "phone": f"+4477009{who:05d}", "name": f"Customer {who}"},
    }}).encode()


def _batches(pks: list[int]) -> list[list[int]]:
    return [pks[k:k + INGEST_BATCH] for k in range(0, len(pks), INGEST_BATCH)]


def ingest_child(per_round: int) -> dict:
    """Responses per second through the worker's processing (deliveries_process: normalise, find
    or create the customer, record the response, alerts, cases), in batches of INGEST_BATCH, with
    the identity rules (phones put in E.164, identities recorded) and without them (the receiver
    disconnected, phones kept as given), INGEST_ROUNDS rounds each, the variants' batches alternating."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from accounts.models import SlaPolicy, Team
    from customers.models import Identity
    from surveys.models import WebhookDelivery, WebhookSource
    from surveys.services import processing
    from surveys.signals import response_recorded

    Team.objects.create(name="North", slug="north", is_default=True)
    SlaPolicy.objects.create(name="Standard", first_contact_hours=8, resolution_hours=40)
    source = WebhookSource.objects.create(name="Bench", slug="bench", vendor="standard")
    normalized_phone = processing.normalized_phone

    def identity_rules(on: bool) -> None:
        from customers.receivers import record_identities

        if on:
            response_recorded.connect(record_identities, dispatch_uid="customers.record_identities")
            processing.normalized_phone = normalized_phone
        else:
            response_recorded.disconnect(dispatch_uid="customers.record_identities")
            processing.normalized_phone = lambda raw: raw or ""

    def stored(run: str) -> list[int]:
        return [d.pk for d in WebhookDelivery.objects.bulk_create([
            WebhookDelivery(source=source, delivery_id=f"{run}-{i}", content_type="application/json", headers={},
                            body=_ingest_payload(i, run)) for i in range(per_round)])]

    def process(pks: list[int]) -> float:
        started = time.perf_counter()
        statuses = processing.deliveries_process(delivery_pks=pks)
        assert set(statuses.values()) == {"processed"}, statuses
        return time.perf_counter() - started

    identity_rules(True)
    for k, pks in enumerate(_batches(stored("warm"))):  # the customers exist from here on, as on a running installation
        process(pks)
    seconds = {"with": 0.0, "without": 0.0}
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_start = os.getloadavg()
        for r in range(INGEST_ROUNDS):
            batches = {variant: _batches(stored(f"{variant}{r}")) for variant in seconds}
            # Batch by batch, alternating (and which goes first alternating too): a load change on
            # the shared machine lands on both variants alike.
            for k in range(len(batches["with"])):
                for variant in ("with", "without") if (r + k) % 2 == 0 else ("without", "with"):
                    identity_rules(variant == "with")
                    seconds[variant] += process(batches[variant][k])
        load_end = os.getloadavg()
    identity_rules(True)
    n = per_round * INGEST_ROUNDS
    rate = {k: n / v for k, v in seconds.items()}
    return {"per_round": per_round, "rounds": INGEST_ROUNDS, "responses": n, "with": round(rate["with"], 1),
            "without": round(rate["without"], 1), "cost_pct": round(100.0 * (rate["without"] - rate["with"])
                                                                    / rate["without"], 1),
            "identities": Identity.objects.count(), "load_start": list(load_start), "load_end": list(load_end)}


def ingest_report(f: dict) -> str:
    met = f["cost_pct"] < 10
    return "\n".join([
        "## Identity matching's cost on ingest", "",
        (f"Measured {datetime.date.today().isoformat()} on {_machine()}; PostgreSQL {_postgres_version()}. "
        f"Responses per second through the worker's processing (`deliveries_process`, batches of {INGEST_BATCH}: "
        "normalise, find or create the customer, record the response, evaluate alert rules, open cases), each "
        "delivery naming its customer by external id, e-mail and phone (2,000 customers, known after a warm-up "
        f"round; a quarter detractors). {f['rounds']} rounds of {f['per_round']:,} deliveries per variant in one "
        "process, the two variants' batches alternating one by one: **with** the identity rules (phone put in E.164 with `phonenumbers`, the "
        "delivery's identifiers kept as Identity rows) and **without** them (the receiver disconnected, the phone "
        f"kept as given). Load average (1 / 5 / 15 min) {_load(f['load_start'])} at the start of the timing, "
        f"{_load(f['load_end'])} at its end (2 cores shared; the timing held /tmp/bench.lock)."), "",
        "| variant | responses/s |", "|---|---:|",
        f"| without identity rules | {f['without']:.1f} |",
        f"| with identity rules | {f['with']:.1f} |", "",
        (f"Identity matching costs **{f['cost_pct']:.1f}%** of the throughput (target: under 10%: "
         f"**{'met' if met else 'not met'}**)." if f["cost_pct"] > 0 else
         f"Identity matching shows no measurable cost in this run (with the rules the throughput was "
         f"{-f['cost_pct']:.1f}% higher: the difference is the run's noise; target: under 10%: **met**)."), "",
        f"Command: `DEBUG=1 .venv/bin/python -m bench.bench_customers --ingest {f['per_round']}`.",
    ]) + "\n"


def report(f: dict) -> str:
    def target(key: str) -> int:
        return JOURNEY_TARGET_P95_MS if key.startswith("journey") else TARGET_P95_MS

    met = all(f[key]["p95"] < target(key) for key in LABELS if key in f)
    lines = [
        f"## Customer, account and journey map pages at {f['customers']:,} customers / {f['responses']:,} responses",
        "",
        (f"Measured {datetime.date.today().isoformat()} on {_machine()}; PostgreSQL {_postgres_version()}. "
        f"{f['responses']:,} responses over 365 days from {f['customers']:,} customers, {f.get('cases', 0):,} cases, "
        "50 teams (bench/reports_data.py), one journey of 6 stages (bench_journeys); "
        + (f"data generated with generate_series in {f['fill_seconds']:.0f} s. " if f["fill_seconds"] else
           "data of an earlier `--keep` run (timed again with `--reuse`). ")
        + "Server time per request (test Client "
        f"in-process, DEBUG on), {REQUESTS} requests after {WARMUP} warm-ups; the journey map's first views, "
        f"{COLD_REQUESTS} requests each after this bench's cache keys are deleted (its own Redis database and "
        f"prefix), as after a deploy or a cache flush. Targets: p95 < {TARGET_P95_MS} ms "
        f"for the customer and account pages (and their API), < {JOURNEY_TARGET_P95_MS} ms for the journey map: "
        f"**{'met' if met else 'not met'}**. Load average "
        f"(1 / 5 / 15 min) {_load(f['load_start'])} at the start of the timing, {_load(f['load_end'])} at its end "
        "(2 cores shared; the timing held /tmp/bench.lock)."), "",
        "| page | p50 | p95 | max | Django CPU p50 | SQL p50 | queries |", "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in LABELS.items():
        if key not in f:
            continue
        x = f[key]
        lines.append(f"| {label} | {x['p50']:.1f} ms | {x['p95']:.1f} ms | {x['max']:.1f} ms | {x['cpu_p50']:.1f} ms | "
                     f"{x['sql_p50']:.1f} ms | {x['queries']} |")
    if "journey_admin_compute" in f:
        lines += ["", (
            "The first views above read the moments of truth a worker stored (docs/journeys.md). The very first view "
            "of a filter set, with nothing stored (the page queues the table and says it is being computed): "
            f"{f['journey_manager_unstored']:.0f} ms (manager), {f['journey_admin_unstored']:.0f} ms (admin); the "
            f"worker's computation of that table: {f['journey_manager_compute'] / 1000:.1f} s (manager), "
            f"{f['journey_admin_compute'] / 1000:.1f} s (admin).")]
    lines += ["", (f"Command: `DEBUG=1 .venv/bin/python -m bench.bench_customers --customers {f['customers']} "
                  f"--responses {f['responses']}`.")]
    return "\n".join(lines) + "\n"


INGEST_HEADER = "## Identity matching's cost on ingest"


def _child_env(db: str) -> dict:
    return {**os.environ, "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + db, "DEBUG": "true",
            "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=", "CLOSELOOP_TESTING": "false",
            "CELERY_TASK_ALWAYS_EAGER": "true", "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "REDIS_URL": REDIS, "CELERY_BROKER_URL": REDIS,
            "CACHE_KEY_PREFIX": CACHE_PREFIX,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


def _child(db: str, argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.bench_customers", "--child", *argv], cwd=ROOT,
                          env=_child_env(db), capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_customers child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _current_sections() -> tuple[str, str]:
    """The pages section and the ingest section of the current figures (notes excluded), so a run
    of one part keeps the other's last figures."""
    from bench.machine import NOTES_MARKER

    text = DOC.read_text() if DOC.exists() else ""
    text = text.split(NOTES_MARKER)[0]
    if INGEST_HEADER in text:
        pages, ingest = text.split(INGEST_HEADER, 1)
        return pages.strip(), (INGEST_HEADER + ingest).strip()
    return text.strip(), ""


def run(args=None) -> str:
    pages = ingest = None
    if getattr(args, "ingest", 0):
        db = DB_NAME + "_ingest"
        _admin(f'DROP DATABASE IF EXISTS "{db}"')
        _admin(f'CREATE DATABASE "{db}"')
        try:
            ingest = ingest_report(_child(db, ["--ingest", str(args.ingest)])).strip()
        finally:
            _admin(f'DROP DATABASE IF EXISTS "{db}"')
    else:
        n_customers = getattr(args, "customers", None) or 1_000_000
        n_responses = getattr(args, "responses", None) or 10_000_000
        reuse = getattr(args, "reuse", False)
        if not reuse:
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
            _admin(f'CREATE DATABASE "{DB_NAME}"')
        try:
            figures = _child(DB_NAME, ["--customers", str(n_customers), "--responses", str(n_responses),
                                       *(["--reuse"] if reuse else [])])
        finally:
            if not (getattr(args, "keep", False) or reuse):
                _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        pages = report(figures).strip()
    current_pages, current_ingest = _current_sections()  # read now: another part may have run meanwhile
    text = "\n\n".join(x for x in (pages or current_pages, ingest or current_ingest) if x) + "\n"
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_customers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (for --reuse)")
    parser.add_argument("--reuse", action="store_true", help="time again over the data of a --keep run")
    parser.add_argument("--ingest", type=int, default=0, metavar="N",
                        help="instead of the pages: identity matching's cost on ingest, N deliveries per round")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = ingest_child(args.ingest) if args.ingest else child(args.customers, args.responses, args.reuse)
        print(json.dumps(result, default=str))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
