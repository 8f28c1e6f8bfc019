"""Reporting benchmark: server time of the manager pages with 10,000,000 responses and 1,000,000 cases.

    DEBUG=1 .venv/bin/python -m bench.bench_reports [--responses N] [--keep] [--measure-only]

What it does, in its own PostgreSQL database `closeloop_bench_reports` (created, migrated, filled
and dropped; never the test or dev database):
- 50 teams with 5 agents each, one manager of 5 of them; 1,000,000 customers; N (default
  10,000,000) survey responses over the last 365 days (NPS on every one, CSAT on a third, CES on
  a quarter; 12 touchpoints, 40 locations) and N/10 cases opened from them: those of the last 14
  days and 2 % older "stuck" ones still open (most of them overdue), the rest closed with one of
  30 root causes (skewed, as real causes are), a suggestion on one in ten.
  Generated with SQL generate_series; the big tables' secondary indexes are dropped during the
  insert and rebuilt afterwards (what a bulk load does), then VACUUM ANALYZE.
- for the manager: the overdue dashboard page, the root-cause Pareto and the weekly NPS trend
  (the three targets, < 500 ms each), plus the other report pages for information; each timed
  over REQUESTS requests after WARMUP warm-ups through Django's test Client in-process
  (middleware, session, view, SQL, template or JSON: everything but the socket).

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
from contextlib import contextmanager
from pathlib import Path
from bench.machine import describe as _machine

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_reports"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TEAMS = 50
MANAGED_TEAMS = 5
AGENTS_PER_TEAM = 5
CUSTOMERS = 1_000_000
CAUSES = 30
TOUCHPOINTS = 12
LOCATIONS = 40
REQUESTS = 15
# Proposed for cases (a cases migration, not added by reporting): the overdue dashboard's four
# panels read only these columns of open cases, so with it they are index-only scans. The bench
# creates it by hand, under this name, so the figures reflect it; the report says so.
PROPOSED_CASES_INDEX_NAME = "cases_case_open_team_cover"
PROPOSED_CASES_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {PROPOSED_CASES_INDEX_NAME} ON cases_case (team_id) "
    "INCLUDE (assignee_id, escalation_level, resolution_due, first_contact_due, first_contacted_at, "
    "value_at_risk, created_at) WHERE NOT (status = 'closed')"
)
OTHER_REQUESTS = 3  # the pages outside the targets are timed for information only
WARMUP = 2
TARGET_MS = 500
DOC = ROOT / "docs" / "benchmarks_reports.md"
CHILD_TIMEOUT = 14 * 60

TARGETS = [
    ("Overdue dashboard (page)", "/reports/overdue/"),
    ("Root-cause Pareto (API)", "/api/v1/reports/root-causes-pareto/"),
    ("NPS trend, weekly (API)", "/api/v1/reports/scores-weekly/"),
]
OTHERS = [
    ("Root causes (page: Pareto, weekly, heat map, scores, suggestions)", "/reports/root-causes/"),
    ("Scores (page: weekly trend + by touchpoint)", "/reports/scores/"),
    ("NPS trend, monthly, 365 days (API)", "/api/v1/reports/scores-monthly/?date_from={year_ago}"),
    ("Closed-loop KPIs by team (page, business-hour durations)", "/reports/kpis/"),
    ("Recovery (page)", "/reports/recovery/"),
]


def _bench_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


# --- child: fill ------------------------------------------------------------------------------


def _literal_default(field):
    from django.db import models

    value = field.get_default()
    return json.dumps(value) if isinstance(field, models.JSONField) else value


def _insert_select(model, known: dict[str, str], series: str) -> None:
    """INSERT INTO <table> (every concrete column) SELECT <expressions over i> FROM <series>;
    columns not in `known` (fields other areas may add) get NULL or their default."""
    from django.db import connection

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        columns.append(f'"{field.column}"')
        if field.column in known:
            expressions.append(known[field.column].replace("%", "%%"))  # literal SQL, not placeholders
        elif field.null:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            params.append(_literal_default(field))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(expressions)} FROM {series}',
            params,
        )


def _reset_sequence(model) -> None:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"
        )


@contextmanager
def _bulk_load(model):
    """Drop the table's secondary indexes and unique constraints, load, rebuild them; foreign-key
    triggers are off during the load (the generated ids are consistent by construction)."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
               WHERE c.conrelid = %s::regclass AND c.contype = 'u'""",
            [table],
        )
        constraints = cursor.fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = %s AND i.indexname NOT IN (
                   SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')""",
            [table, table],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("SET max_parallel_maintenance_workers = 2")
            for _, definition in indexes:
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def _array(objs) -> str:
    return "(ARRAY[" + ",".join(str(o.pk) for o in objs) + "])"


def _fill(n_responses: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import Membership, Role, Team, User
    from cases.models import Case, RootCause, RootCauseCategory
    from surveys.models import Customer, Survey, SurveyResponse, Vendor, WebhookSource

    started = time.monotonic()
    n_cases = n_responses // 10
    teams = Team.objects.bulk_create(
        [Team(name=f"Team {t:02d}", slug=f"team-{t:02d}", is_default=(t == 1)) for t in range(1, TEAMS + 1)]
    )
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [
            User(username=f"agent{t:02d}{a}", first_name=f"Agent {a}", last_name=f"T{t:02d}", password=password,
                 role=Role.AGENT, email=f"agent{t:02d}{a}@example.com")
            for t in range(1, TEAMS + 1)
            for a in range(AGENTS_PER_TEAM)
        ]
    )
    Membership.objects.bulk_create(
        [Membership(user=users[t * AGENTS_PER_TEAM + a], team=teams[t]) for t in range(TEAMS) for a in range(AGENTS_PER_TEAM)]
    )
    manager = User.objects.create_user("bench_manager", password="bench-password", role=Role.MANAGER)
    Membership.objects.bulk_create([Membership(user=manager, team=teams[t], is_manager=True) for t in range(MANAGED_TEAMS)])
    source = WebhookSource.objects.create(name="Bench", slug="bench", vendor=Vendor.STANDARD)
    surveys = Survey.objects.bulk_create([Survey(source=source, external_id=f"s{s}", name=f"Survey {s}") for s in range(10)])
    causes = []
    for c, category_name in enumerate(["Product", "Delivery", "Staff", "Billing", "Policy", "Store"]):
        category = RootCauseCategory.objects.create(name=f"Bench {category_name}", order=c)
        causes += RootCause.objects.bulk_create([RootCause(category=category, name=f"{category_name} {k}") for k in range(5)])

    teams_sql, users_sql, surveys_sql, causes_sql = _array(teams), _array(users), _array(surveys), _array(causes)
    with _bulk_load(Customer):
        _insert_select(Customer, {
            "id": "i",
            "external_id": "'c' || i",
            "email": "'customer' || i || '@example.com'",
            "name": "'Customer ' || i",
            "tier": "(ARRAY['Bronze','Silver','Gold','Platinum'])[1 + i % 4]",
            "segment": "(ARRAY['Retail','SMB','Enterprise'])[1 + i % 3]",
            "account_value": "(i % 50000)::numeric",
            "attributes": "'{}'::jsonb",
            "contact_opt_out": "false",
            "created_at": "now()",
            "updated_at": "now()",
        }, f"generate_series(1, {CUSTOMERS}) AS i")
    _reset_sequence(Customer)
    fill_customers = time.monotonic() - started

    # Response i: minute offset into the last 365 days, team by blocks of ten responses.
    minutes = "((i::bigint * 7919) % 525600)"
    answered = f"(now() - {minutes} * interval '1 minute')"
    team_of = f"{teams_sql}[1 + (i / 10) % {TEAMS}]"
    with _bulk_load(SurveyResponse):
        _insert_select(SurveyResponse, {
            "id": "i",
            "source_id": str(source.pk),
            "survey_id": f"{surveys_sql}[1 + (i / 3) % 10]",
            "customer_id": f"1 + (i::bigint * 104729) % {CUSTOMERS}",
            "external_id": "'r' || i",
            "answered_at": answered,
            "received_at": answered,
            "nps": "((i::bigint * 37 + i / 11) % 11)::smallint",
            "csat": "CASE WHEN i % 3 = 0 THEN 1 + (i / 3) % 5 END",
            "csat_scale_min": "CASE WHEN i % 3 = 0 THEN 1 END",
            "csat_scale_max": "CASE WHEN i % 3 = 0 THEN 5 END",
            "ces": "CASE WHEN i % 4 = 0 THEN 1 + (i / 4) % 7 END",
            "ces_scale_min": "CASE WHEN i % 4 = 0 THEN 1 END",
            "ces_scale_max": "CASE WHEN i % 4 = 0 THEN 7 END",
            "ces_high_is_easy": "CASE WHEN i % 4 = 0 THEN true END",
            "scores": "'{}'::jsonb",
            "comment": "''",
            "touchpoint": f"'Touchpoint ' || ((i / 3) % {TOUCHPOINTS})",
            "channel": "'email'",
            "location": f"'Store ' || ((i / 7) % {LOCATIONS})",
            "region": "'UK'",
            "attributes": "'{}'::jsonb",
            "team_id": team_of,
        }, f"generate_series(1, {n_responses}) AS i")
    _reset_sequence(SurveyResponse)
    fill_responses = time.monotonic() - started - fill_customers

    # Case k opens response 10k: same team, customer and time (+30 min). Open: the last 14 days
    # and every 53rd older one; contacted two times in three; escalation levels 0-2 spread.
    r = "(k::bigint * 10)"
    minutes_r = f"(({r} * 7919) % 525600)"
    created = f"(now() - {minutes_r} * interval '1 minute' + interval '30 minutes')"
    is_open = f"({minutes_r} < 14 * 1440 OR k % 53 = 0)"  # 53: stuck cases spread over every team
    contacted = f"(k % 3 <> 0 AND {created} + interval '2 hours' < now())"
    agent_of = f"{users_sql}[1 + ((k) % {TEAMS}) * {AGENTS_PER_TEAM} + (k / {TEAMS}) % {AGENTS_PER_TEAM}]"
    cause_of = f"{causes_sql}[1 + floor({CAUSES} * power(((k * 7) % 1000) / 1000.0, 2))::int]"
    with _bulk_load(Case):
        _insert_select(Case, {
            "id": "k",
            "reference": "'CL-' || lpad(k::text, 7, '0')",
            "customer_id": f"1 + ({r} * 104729) % {CUSTOMERS}",
            "response_id": r,
            "team_id": f"{teams_sql}[1 + k % {TEAMS}]",
            "assignee_id": f"CASE WHEN {is_open} AND k % 4 = 0 THEN NULL ELSE {agent_of} END",
            "priority": "(ARRAY['low','normal','normal','high','urgent'])[1 + (k / 3) % 5]",
            "status": f"CASE WHEN NOT {is_open} THEN 'closed' WHEN {contacted} THEN 'in_progress' ELSE 'new' END",
            "version": "3",
            "first_contact_due": f"{created} + interval '4 hours'",
            "resolution_due": f"{created} + interval '48 hours'",
            "first_contacted_at": f"CASE WHEN NOT {is_open} THEN {created} + (k % 10) * interval '1 hour' "
                                  f"WHEN {contacted} THEN {created} + interval '2 hours' END",
            "overdue_at": f"CASE WHEN {is_open} AND {created} + interval '4 hours' < now() THEN {created} + interval '4 hours' END",
            "escalation_level": f"CASE WHEN {is_open} AND {created} + interval '4 hours' < now() THEN k % 3 ELSE 0 END",
            "value_at_risk": "(k % 5000)::numeric",
            "root_cause_id": f"CASE WHEN {is_open} THEN NULL ELSE {cause_of} END",
            "resolution": f"CASE WHEN {is_open} THEN '' ELSE 'Called the customer, apologised and fixed it.' END",
            "outcome": f"CASE WHEN {is_open} THEN '' ELSE 'resolved' END",
            "prevention": f"CASE WHEN NOT {is_open} AND k % 10 = 0 THEN 'Suggestion ' || k ELSE '' END",
            "closed_at": f"CASE WHEN {is_open} THEN NULL ELSE {created} + (4 + k % 100) * interval '1 hour' END",
            "reopen_count": "CASE WHEN k % 40 = 0 THEN 1 ELSE 0 END",
            "created_at": created,
            "updated_at": "now()",
        }, f"generate_series(1, {n_cases}) AS k")
    _reset_sequence(Case)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NULL", [PROPOSED_CASES_INDEX_NAME])
        index_by_bench = cursor.fetchone()[0]  # False once cases has the index as a migration
        cursor.execute(PROPOSED_CASES_INDEX)
    fill_cases = time.monotonic() - started - fill_customers - fill_responses
    connection.ensure_connection()
    old_autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.set_autocommit(old_autocommit)
    return {
        "seconds": time.monotonic() - started,
        "customers_seconds": fill_customers,
        "responses_seconds": fill_responses,
        "cases_seconds": fill_cases,
        "responses": n_responses,
        "cases": n_cases,
        "index_by_bench": index_by_bench,
    }


# --- child: measure ---------------------------------------------------------------------------


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def _time(client, url: str, requests: int = REQUESTS) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first_started = time.perf_counter()
    response = client.get(url)
    first = (time.perf_counter() - first_started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    for _ in range(WARMUP - 1):
        client.get(url)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {"first": first, "p50": statistics.median(timings), "p95": _percentile(timings, 95),
            "max": max(timings), "queries": len(queries)}


def _scope() -> dict:
    """What the manager's 5 teams hold, to say what the figures were computed over."""
    from django.utils import timezone

    from accounts.models import User
    from reporting.filters import ReportFilterForm

    manager = User.objects.get(username="bench_manager")
    filters = ReportFilterForm({}, user=manager).filters()
    now = timezone.now()
    from cases.selectors import overdue_q

    return {
        "responses_90d": filters.responses().count(),
        "closed_90d": filters.cases(date_field="closed_at").filter(status="closed").count(),
        "open": filters.cases().exclude(status="closed").count(),
        "overdue": filters.cases().exclude(status="closed").filter(overdue_q(now)).count(),
    }


def _measure() -> dict:
    from django.core.cache import cache
    from django.test import Client

    from accounts.models import User

    cache.clear()  # the filter bar's suggestions are cached: the first request pays for them
    client = Client()
    client.force_login(User.objects.get(username="bench_manager"))
    year_ago = (datetime.date.today() - datetime.timedelta(days=364)).isoformat()
    results = {"scope": _scope(), "targets": [], "others": []}
    for key, items, requests in (("targets", TARGETS, REQUESTS), ("others", OTHERS, OTHER_REQUESTS)):
        for label, url in items:
            results[key].append({"label": label, "url": url.format(year_ago=year_ago), "requests": requests,
                                 **_time(client, url.format(year_ago=year_ago), requests)})
    return results


def measure_only() -> dict:
    """Measure an existing bench database (kept with --keep) without filling it again."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NULL", [PROPOSED_CASES_INDEX_NAME])
        if cursor.fetchone()[0]:  # a database kept before the proposed index existed
            cursor.execute(PROPOSED_CASES_INDEX)
            cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("SELECT count(*) FROM cases_case")
        cases = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM surveys_surveyresponse")
        responses = cursor.fetchone()[0]
    return {"responses": responses, "cases": cases, **_measured()}


def child(n_responses: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    migrate_started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = time.monotonic() - migrate_started
    filled = _fill(n_responses)
    return {"migrate_seconds": migrate_seconds, **filled, **_measured()}


def _measured() -> dict:
    load_start = _load()
    figures = _measure()
    return {**figures, "load_start": load_start, "load_end": _load()}


# --- parent -----------------------------------------------------------------------------------


def _postgres_version() -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def report(f: dict) -> str:
    ok = all(t["p95"] < TARGET_MS for t in f["targets"])
    s = f["scope"]
    generated = (
        f"generated with SQL generate_series in {f['seconds']:.0f} s (customers {f['customers_seconds']:.0f} s, "
        f"responses with index rebuild {f['responses_seconds']:.0f} s, cases {f['cases_seconds']:.0f} s, "
        "VACUUM ANALYZE the rest)"
        if "seconds" in f else "measured on a kept database (--measure-only)"
    )
    lines = [
        f"## Reporting: manager pages with {f['responses']:,} responses and {f['cases']:,} cases",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}; PostgreSQL {_postgres_version()}.",
        f"Data: {f['responses']:,} responses over 365 days (NPS on all, CSAT on a third, CES on a quarter), "
        f"{f['cases']:,} cases, {CUSTOMERS:,} customers, {TEAMS} teams, {CAUSES} root causes; {generated}.",
        f"Load average (1/5/15 min) before measuring {f.get('load_start', '?')}, after {f.get('load_end', '?')} "
        "(a shared machine: other helpers' suites ran meanwhile).",
        f"The manager has {MANAGED_TEAMS} teams: {s['responses_90d']:,} responses and {s['closed_90d']:,} closed cases "
        f"in the default 90 days; {s['open']:,} open cases, {s['overdue']:,} of them overdue.",
        "",
        f"Server time per request (Django test Client in-process: middleware, session, view, SQL, template or "
        f"JSON), {REQUESTS} requests after {WARMUP} warm-ups; 'first' is the cold first request (empty cache). "
        f"Target p95 < {TARGET_MS} ms:",
        "",
        "| what | first | p50 | p95 | max | SQL queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in f["targets"]:
        lines.append(f"| **{t['label']}** | {t['first']:.0f} ms | {t['p50']:.0f} ms | {t['p95']:.0f} ms | "
                     f"{t['max']:.0f} ms | {t['queries']} |")
    for t in f["others"]:
        lines.append(f"| {t['label']} | {t['first']:.0f} ms | {t['p50']:.0f} ms | {t['p95']:.0f} ms | "
                     f"{t['max']:.0f} ms | {t['queries']} |")
    lines += [
        "",
        f"Result: {'all three targets under' if ok else 'NOT all targets under'} {TARGET_MS} ms at p95. "
        "Aggregation is one SQL statement per panel (COUNT(...) FILTER (WHERE ...), date_trunc). Score trends "
        "are index-only scans of surveys_response_team_scores ((team, answered_at) INCLUDE the score columns, "
        "surveys migration 0003) with expression statistics on the week/month buckets; root causes use "
        "cases_case_team_closed (team, closed_at).",
        (f"**Labelled: the overdue dashboard is measured with `{PROPOSED_CASES_INDEX_NAME}`, an index proposed "
         "for cases and created by this bench by hand (not a migration yet):** "
         f"`{PROPOSED_CASES_INDEX}`."
         if f.get("index_by_bench", True) else
         f"The overdue dashboard reads `{PROPOSED_CASES_INDEX_NAME}`, the covering partial index of open cases "
         "that cases' migrations create (the bench did not add it)."),
        "",
        "Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_reports` (or `make bench`); "
        "`--responses N` for a smaller run, `--keep` to keep the `closeloop_bench_reports` database, "
        "`--measure-only` to measure a kept one again.",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 10_000_000
    measure = getattr(args, "measure_only", False)
    keep = getattr(args, "keep", False) or measure
    if not measure:
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        _admin(f'CREATE DATABASE "{DB_NAME}"')
    env = {
        **os.environ,
        "DATABASE_URL": _bench_url(),
        "DEBUG": "true",
        "CLOSELOOP_TESTING": "false",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CACHE_KEY_PREFIX": "closeloop-bench-reports",
        "LOG_LEVEL": "WARNING",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_reports", "--child", "--responses", str(n_responses)]
            + (["--measure-only"] if measure else []),
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bench_reports child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not keep:
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    text = report(figures)
    if figures["responses"] >= 9_900_000:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_reports", description=__doc__)
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the database kept by an earlier --keep run, without filling it again")
    args = parser.parse_args(argv)
    if args.child and args.measure_only:
        print(json.dumps(measure_only()))
        return 0
    if args.child:
        print(json.dumps(child(args.responses)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
