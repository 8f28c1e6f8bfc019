"""Reporting benchmark: server time of the manager pages with 10,000,000 responses and 1,000,000 cases.

    DEBUG=1 .venv/bin/python -m bench.bench_reports [--responses N] [--keep] [--fill-only] [--measure-only]

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

The measuring runs in a child process whose DATABASE_URL points at the bench database. This module
is the parent (database, child process, report); the data is built in bench/reports_data.py and the
pages are timed in bench/reports_pages.py (neither named bench_*, so `python -m bench` runs only this)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import describe as _machine
from bench.machine import write_figures
from bench.reports_data import (
    CAUSES,
    CUSTOMERS,
    MANAGED_TEAMS,
    TEAMS,
    fill,
)
from bench.reports_pages import OTHER_REQUESTS, REQUESTS, WARMUP, measure

ROOT = Path(__file__).resolve().parent.parent
# BENCH_REPORTS_DB names another database (helpers sharing a machine each keep their own).
DB_NAME = os.environ.get("BENCH_REPORTS_DB", "closeloop_bench_reports")
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TARGET_MS = 500
DOC = ROOT / "docs" / "benchmarks_reports.md"
CHILD_TIMEOUT = 60 * 60  # the fill: about 13 min at load 12-14, plus 5 min for the stored report fields; 25-30 min
# when the machine is shared, and a timed-out fill leaves months in the default partition


def _bench_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)



def measure_only() -> dict:
    """Measure an existing bench database (kept with --keep) without filling it again."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case")
        cases = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM surveys_surveyresponse")
        responses = cursor.fetchone()[0]
    return {"responses": responses, "cases": cases, **_measured()}


def child(n_responses: int, measure: bool = True) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    migrate_started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = time.monotonic() - migrate_started
    filled = fill(n_responses)
    return {"migrate_seconds": migrate_seconds, **filled, **(_measured() if measure else {})}


def _measured() -> dict:
    load_start = _load()
    figures = measure()
    return {**figures, "load_start": load_start, "load_end": _load()}


# --- parent -----------------------------------------------------------------------------------


def _postgres_version() -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _ms(t: dict, key: str) -> str:
    return f"over {t[key] / 1000:.0f} s (cancelled)" if t.get("cancelled") else f"{t[key]:.0f} ms"


def report(f: dict) -> str:
    over = [f"{t['label']}{suffix}" for key, suffix in (("targets", ""), ("others", ""), ("admin", " as the admin"),
                                                         ("api", ""), ("api_admin", " as the admin"))
            for t in f.get(key, ()) if t["p95"] >= TARGET_MS]
    s = f["scope"]
    generated = (
        f"generated with SQL generate_series in {f['seconds']:.0f} s (customers {f['customers_seconds']:.0f} s, "
        f"responses with index rebuild {f['responses_seconds']:.0f} s, cases {f['cases_seconds']:.0f} s, "
        f"report fields {f.get('fields_seconds', 0):.0f} s, rollups {f.get('rollups_seconds', 0):.0f} s, "
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
        f"JSON), {REQUESTS} requests after {WARMUP} warm-ups for the three bold targets, {OTHER_REQUESTS} for the "
        f"others; 'first' is the cold first request (empty cache). Target p95 < {TARGET_MS} ms for every row:",
        "",
        "| what | first | p50 | p95 | max | SQL queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in f["targets"]:
        lines.append(f"| **{t['label']}** | {_ms(t, 'first')} | {_ms(t, 'p50')} | {_ms(t, 'p95')} | "
                     f"{_ms(t, 'max')} | {t['queries']} |")
    for t in f["others"]:
        lines.append(f"| {t['label']} | {_ms(t, 'first')} | {_ms(t, 'p50')} | {_ms(t, 'p95')} | "
                     f"{_ms(t, 'max')} | {t['queries']} |")
    admin = {t["label"]: t for t in f.get("admin", ())}
    if admin:
        lines += ["", f"The same pages as the admin (every team: all {TEAMS}), {OTHER_REQUESTS} requests after "
                  f"{WARMUP} warm-ups:", "", "| what | first | p50 | p95 | max | SQL queries |", "|---|---:|---:|---:|---:|---:|"]
        for t in f["admin"]:
            lines.append(f"| {t['label']} | {_ms(t, 'first')} | {_ms(t, 'p50')} | {_ms(t, 'p95')} | "
                         f"{_ms(t, 'max')} | {t['queries']} |")
    if f.get("api") or f.get("api_admin"):
        lines += ["", "Every named report as JSON (/api/v1/reports/<name>/) and as CSV (/reports/export/<name>.csv), "
                  f"default filters, {OTHER_REQUESTS} requests after {WARMUP} warm-ups, p50 / p95 (SQL queries); the "
                  "journey-* reports are bench_journeys' and the closed-loop-*, impact-* and fix-first ones "
                  "bench_outcomes' (their data):", "",
                  "| report | as the manager | as the admin |", "|---|---:|---:|"]
        by_admin = {t["label"]: t for t in f.get("api_admin", ())}
        for t in f.get("api", ()) or f.get("api_admin", ()):
            cells = [(f"over {x['p95'] / 1000:.0f} s (cancelled)" if x.get("cancelled") else f"{x['p50']:.0f} / {x['p95']:.0f} ms ({x['queries']})"
                      + (" (timed once: first over 5 s)" if x.get("timed") == 1 else "")) if x else "-"
                     for x in ({t["label"]: t for t in f.get("api", ())}.get(t["label"]), by_admin.get(t["label"]))]
            lines.append(f"| {t['label']} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        (f"Result: every page and API above under {TARGET_MS} ms at p95." if not over else
         f"Result: NOT every page under {TARGET_MS} ms at p95; over: {'; '.join(over)}."),
        "The Scores page and the score-trend API sum the daily score rollup (surveys.ScoreRollup); the root-causes "
        "panels and Recovery's tables by team and root cause sum the closure rollup (reporting.ClosureRollup), the "
        "Themes page's tag counts the theme rollup (reporting.ThemeRollup) and its share of comments and 'All "
        "responses' row the score rollup's comment and sentiment counts (a manager's segment filter still joins "
        "the tags to their responses), the "
        "prevention list reads the partial index cases_case_closed_prevention and Recovery's customer list "
        "cases_case_answered_again (narrowed to a segment, location or tier, Recovery reads the covering index "
        "cases_case_recovery_closed); the admin's (every team's) reports by location sum the location totals "
        "(reporting.LocationTotal) and narrowed to a segment the score, closure and theme totals "
        "(reporting.ScoreTotal, ClosureTotal, ThemeTotal); the over-contacted list counts the contacts of the "
        "customers with a stored peak in its period only (reporting.ContactPeak). The rollups are "
        "kept by database triggers (docs/reporting.md \"Rollups\"). The "
        "KPI page counts the low scores and their coverage from flags stored on the responses, in the covering score "
        "index (docs/reporting.md \"Stored per response\"), and its cases from the covering index "
        "cases_case_team_created. The generator's bulk load bypasses triggers and services, so it sets the flags, "
        "the per-case report fields and the rollups itself.",
        "The overdue dashboard reads `cases_case_open_team_cover`, the covering partial index of open cases "
        "that cases' migrations create.",
        "",
        "Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_reports` (or `make bench`); "
        "`--responses N` for a smaller run, `--keep` to keep the `closeloop_bench_reports` database "
        "(`BENCH_REPORTS_DB` names another), `--fill-only` to build and keep it without measuring, "
        "`--measure-only` to measure a kept one again (under `flock /tmp/bench.lock` on a shared machine).",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 10_000_000
    measure = getattr(args, "measure_only", False)
    fill_only = getattr(args, "fill_only", False)
    keep = getattr(args, "keep", False) or measure or fill_only
    if not measure:
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        _admin(f'CREATE DATABASE "{DB_NAME}"')
    env = {
        **os.environ,
        "DATABASE_URL": _bench_url(),
        "DEBUG": "true",
        "CLOSELOOP_TESTING": "false",
        "CLOSELOOP_ENCRYPTION_KEYS": "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CACHE_KEY_PREFIX": "closeloop-bench-reports",
        "LOG_LEVEL": "WARNING",
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_reports", "--child", "--responses", str(n_responses)]
            + (["--measure-only"] if measure else []) + (["--fill-only"] if fill_only else []),
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"bench_reports child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if not keep:
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    if fill_only:
        return f"filled {DB_NAME}: {figures['responses']:,} responses, {figures['cases']:,} cases in {figures['seconds']:.0f} s"
    text = report(figures)
    if figures["responses"] >= 9_900_000:
        write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_reports", description=__doc__)
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the database kept by an earlier --keep run, without filling it again")
    parser.add_argument("--fill-only", action="store_true",
                        help="build and keep the database without measuring (measure it later, e.g. under a lock)")
    args = parser.parse_args(argv)
    if args.child and args.measure_only:
        print(json.dumps(measure_only()))
        return 0
    if args.child:
        print(json.dumps(child(args.responses, measure=not args.fill_only)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
