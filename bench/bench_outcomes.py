"""Outcomes benchmark: the closed-loop results and impact pages over responses, cases and outcome events.

    DEBUG=1 .venv/bin/python -m bench.bench_outcomes [--responses N] [--events M] [--keep]
    DEBUG=1 .venv/bin/python -m bench.bench_outcomes --responses N --events M --fill-only
    DEBUG=1 flock /tmp/bench.lock .venv/bin/python -m bench.bench_outcomes --measure-only

In its own PostgreSQL database `closeloop_bench_outcomes` (BENCH_OUTCOMES_DB to name another;
created, migrated, filled and dropped; never the test or dev database; `--fill-only` fills and
keeps it, `--measure-only` measures a kept one, so that generation runs outside a shared lock): the reports bench's data (bench/reports_data.py: 50 teams,
1,000,000 customers, N responses over the last 365 days with NPS on every one, N/10 cases, most
closed with a root cause), plus M outcome events (default 2 x N / 5) spread over the same
customers and year (renewals mostly; churn, refunds, purchases, expansions, downgrades 4 % each),
inserted with SQL generate_series, indexes rebuilt after, then VACUUM ANALYZE.

Timed for the bench manager (5 of the 50 teams) through Django's test Client in-process
(middleware, session, view, SQL, template or JSON): the results page and the impact page with
their default periods (results: the 12 months that ended 90 days ago; impact: the last 365
days), the results report's JSON, and one page of the outcomes API. Target from the issue:
under 1 s."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import describe as _machine, write_figures

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_OUTCOMES_DB", "closeloop_bench_outcomes")
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DOC = ROOT / "docs" / "benchmarks_outcomes.md"
TARGET_MS = 1000
REQUESTS = 10
CHILD_TIMEOUT = 30 * 60
PAGES = [
    ("Results page (/reports/results/)", "/reports/results/"),
    ("Impact page (/reports/impact/)", "/reports/impact/"),
    ("closed-loop-results JSON (/api/v1/reports/closed-loop-results/)", "/api/v1/reports/closed-loop-results/"),
    ("Outcomes API, first page (/api/v1/outcomes/)", "/api/v1/outcomes/"),
]


def _bench_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def fill_events(n_events: int) -> float:
    from django.db import connection

    from bench.reports_data import CUSTOMERS, _bulk_load, _insert_select, _reset_sequence
    from outcomes.models import OutcomeEvent

    started = time.monotonic()
    kinds = "(ARRAY['churn','refund','purchase','expansion','downgrade'])[1 + (j / 25) % 5]"
    with _bulk_load(OutcomeEvent):
        _insert_select(OutcomeEvent, {
            "id": "j",
            "customer_id": f"1 + (j::bigint * 15485863) % {CUSTOMERS}",
            "kind": f"CASE WHEN j % 25 = 0 THEN {kinds} ELSE 'renewal' END",
            "amount": "(10 + j % 200)::numeric",
            "currency": "'EUR'",
            "occurred_at": "now() - ((j::bigint * 7907) % 525600) * interval '1 minute'",
            "source": "'bench'",
            "external_id": "'e' || j",
            "attributes": "'{}'::jsonb",
            "created_at": "now()",
            "updated_at": "now()",
        }, f"generate_series(1, {n_events}) AS j")
    _reset_sequence(OutcomeEvent)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE outcomes_outcomeevent")
    return time.monotonic() - started


def _time(client, url: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    response = client.get(url)
    first = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    return {"first": first, "p50": timings[len(timings) // 2], "p95": timings[math.ceil(0.95 * len(timings)) - 1],
            "max": timings[-1], "queries": len(queries)}


def _scope() -> dict:
    from accounts.models import User
    from reporting.filters import ReportFilterForm
    from reporting.reports import REPORTS
    from reporting.selectors import result_cells

    manager = User.objects.get(username="bench_manager")
    report = REPORTS["closed-loop-results"]
    form = ReportFilterForm({}, user=manager, default_days=report.default_days,
                            default_offset_days=report.default_offset_days)
    form.is_valid()
    filters = form.filters()
    answers = filters.responses().filter(nps__isnull=False)
    cells = result_cells(filters)
    return {"answers": answers.count(), "customers": answers.values("customer_id").distinct().count(),
            "followed_90": sum(c.customers for c in cells if c.days == 90),
            "followed_365": sum(c.customers for c in cells if c.days == 365)}


def child(n_responses: int, n_events: int, mode: str = "") -> dict:
    """Fill and measure; `mode` "fill" only fills (the figures of the fill are kept as a comment on
    the database), "measure" only measures a database an earlier "fill" left."""
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from bench.reports_data import fill

    setup_test_environment()
    if mode == "measure":
        with connection.cursor() as cursor:
            cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           [DB_NAME])
            filled_figures = json.loads(cursor.fetchone()[0])
        n_responses, n_events = filled_figures["responses"], filled_figures["events"]
        filled, events_seconds = {**filled_figures, "measured_apart": True}, 0
    else:
        call_command("migrate", verbosity=0, interactive=False)
        filled = fill(n_responses)
        events_seconds = fill_events(n_events)
        # The load ran with the triggers off: the answers' and closed cases' stored follow-ups
        # (reporting.followups) are built from the rows, as `manage.py rollups --rebuild` does.
        started = time.monotonic()
        from reporting import followups

        followups.rebuild()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reporting_answerfollowup")
            cursor.execute("VACUUM ANALYZE reporting_closedcasefollowup")
        events_seconds += time.monotonic() - started
        if mode == "fill":
            kept = {"responses": n_responses, "events": n_events, "cases": filled.get("cases", n_responses // 10),
                    "seconds": filled.get("seconds", 0) + events_seconds}
            with connection.cursor() as cursor:
                cursor.execute(f"COMMENT ON DATABASE \"{DB_NAME}\" IS '{json.dumps(kept)}'")
            return kept
    cache.clear()
    client = Client()
    client.force_login(User.objects.get(username="bench_manager"))
    load_start = _load()
    pages = [{"label": label, **_time(client, url)} for label, url in PAGES]
    return {"responses": n_responses, "cases": filled.get("cases", n_responses // 10), "events": n_events,
            "measured_apart": filled.get("measured_apart", False),
            "fill_seconds": filled.get("seconds", 0) + events_seconds, "scope": _scope(), "pages": pages,
            "load_start": load_start, "load_end": _load()}


def report(f: dict) -> str:
    from bench.reports_data import CUSTOMERS, TEAMS

    s = f["scope"]
    lines = [
        f"## Outcomes: closed-loop results and impact with {f['responses']:,} responses and {f['events']:,} "
        "outcome events",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}.",
        f"Data: {f['responses']:,} responses over 365 days (NPS on all), {f['cases']:,} cases, {CUSTOMERS:,} "
        f"customers, {TEAMS} teams, {f['events']:,} outcome events over the same year; generated with SQL "
        f"generate_series in {f['fill_seconds']:.0f} s"
        + (" (by an earlier --fill-only run; measured with --measure-only)." if f.get("measured_apart") else "."),
        f"Load average (1/5/15 min) before measuring {f['load_start']}, after {f['load_end']} (a shared machine: "
        "other helpers' suites ran meanwhile).",
        f"The manager has 5 teams: {s['answers']:,} NPS answers in the results page's default period (the 12 "
        f"months that ended 90 days ago), {s['customers']:,} customers followed ({s['followed_90']:,} of them with "
        f"their 90-day window passed, {s['followed_365']:,} with their 365-day one).",
        "",
        f"Server time per request (Django test Client in-process), {REQUESTS} requests after a first one. "
        f"Target: under {TARGET_MS} ms.",
        "",
        "| what | first | p50 | p95 | max | SQL queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for p in f["pages"]:
        lines.append(f"| {p['label']} | {p['first']:.0f} ms | {p['p50']:.0f} ms | {p['p95']:.0f} ms | {p['max']:.0f} ms "
                     f"| {p['queries']} |")
    ok = all(p["p95"] < TARGET_MS for p in f["pages"])
    lines += [
        "",
        f"Result: {'every page under' if ok else 'NOT every page under'} {TARGET_MS} ms at p95 at this size. The "
        "results sum each answer's stored follow-up (reporting.AnswerFollowUp, reporting/followups.py: group, "
        "root cause and per window churn and revenue, kept by triggers and folds): the customers' latest answers "
        "in the period are an index range on (team, the time of the customer's next answer in that team), not a "
        "sort of the period's answers; the impact's root causes sum each closed case's stored follow-up "
        "(reporting.ClosedCaseFollowUp) and its period NPS comes from the daily score rollup; customers a write "
        "made stale and not yet folded are computed from the source rows in the same statement. The outcomes "
        "API pages by cursor (no count), each event's visibility probed (a small work_mem: no hashed subplan).",
        "",
        "Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_outcomes --responses N --events M` (`--keep` keeps "
        "the `closeloop_bench_outcomes` database; BENCH_OUTCOMES_DB names another). On a shared machine, fill "
        "outside the lock and measure under it: `--responses N --events M --fill-only`, then "
        "`flock /tmp/bench.lock ... --measure-only`.",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 1_000_000
    n_events = getattr(args, "events", None) or n_responses * 2 // 5
    mode = "fill" if getattr(args, "fill_only", False) else "measure" if getattr(args, "measure_only", False) else ""
    keep = getattr(args, "keep", False) or bool(mode)
    if mode != "measure":
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        _admin(f'CREATE DATABASE "{DB_NAME}"')
    env = {
        **os.environ, "DATABASE_URL": _bench_url(), "DEBUG": "true", "CLOSELOOP_TESTING": "false",
        "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
        "CELERY_TASK_ALWAYS_EAGER": "true", "DJANGO_SETTINGS_MODULE": "config.settings",
        "CACHE_KEY_PREFIX": "closeloop-bench-outcomes", "LOG_LEVEL": "WARNING",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_outcomes", "--child", "--responses", str(n_responses),
             "--events", str(n_events), *([f"--{mode}-only"] if mode else [])],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bench_outcomes child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not keep:
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    if mode == "fill":
        return f"Filled {DB_NAME}: {json.dumps(figures)}; measure it with --measure-only."
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_outcomes", description=__doc__)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--fill-only", action="store_true", help="fill the database and keep it, without measuring")
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the database kept by an earlier --fill-only run, without filling it again")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode = "fill" if args.fill_only else "measure" if args.measure_only else ""
        print(json.dumps(child(args.responses, args.events or args.responses * 2 // 5, mode)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
