"""Partitioned history: how long the conversion of an existing installation takes, and partition
pruning in the plans of the queries that read the partitioned tables with a time bound.

    DEBUG=1 .venv/bin/python -m bench.bench_partitions [--responses N] [--events M] [--outcomes K] [--keep]

In its own PostgreSQL database `closeloop_bench_partitions` (created, migrated, filled and
dropped; never the test or dev database): migrated to the latest, then back to before the
conversion (`cases 0021`, plain tables), filled with the reports bench's data
(bench/reports_data.py: N responses, N/10 cases), M case events spread over the last 36 months
and the outcomes bench's outcome events (SQL generate_series, indexes rebuilt after, VACUUM ANALYZE). Then, holding /tmp/bench.lock
(the shared measurement lock), the same queries are EXPLAIN ANALYZEd on the plain table (the
baseline), the conversion migration (`migrate cases 0022`) is timed, the queries run again on
the partitioned table, and the outcome events' migrations (`migrate outcomes`: 0002, 0003) are timed."""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import re
import sys
import time
from pathlib import Path

from bench import child as child_process
from bench.machine import describe as _machine
from bench.machine import write_figures

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_partitions"
DOC = ROOT / "docs" / "benchmarks_partitions.md"
LOCK = "/tmp/bench.lock"
CHILD_TIMEOUT = 40 * 60
MONTHS = 36
PARTITION = re.compile(r"^cases_caseevent_(p\d{6}|default)$")




def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def fill_case_events(n_events: int, n_cases: int) -> float:
    from django.db import connection

    from bench.reports_data import _bulk_load, _insert_select, _reset_sequence
    from cases.models import CaseEvent

    started = time.monotonic()
    minutes = MONTHS * 30 * 24 * 60
    with _bulk_load(CaseEvent):
        _insert_select(CaseEvent, {
            "id": "j",
            "case_id": f"1 + j % {n_cases}",
            "kind": "(ARRAY['opened','note','status','contact','closed','assigned'])[1 + j % 6]",
            "from_value": "''", "to_value": "''",
            "note": "CASE WHEN j % 6 = 1 THEN 'Called the customer back' ELSE '' END",
            "data": "'{}'::jsonb",
            "version": "1 + j % 7",
            "created_at": f"now() - ((j::bigint * 7907) % {minutes}) * interval '1 minute'",
        }, f"generate_series(1, {n_events}) AS j")
    _reset_sequence(CaseEvent)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_caseevent")
    return time.monotonic() - started


def _queries():
    """(label, queryset) of the reads of case events, with and without a time bound."""
    from accounts.models import User
    from cases.models import Case, CaseEvent
    from reporting.filters import ReportFilterForm
    from reporting.selectors.common import closure_events

    manager = User.objects.get(username="bench_manager")
    form = ReportFilterForm({}, user=manager, default_days=30)
    form.is_valid()
    case = Case.objects.order_by("-created_at").first()
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    return [
        ("Reports: closures of the last 30 days, manager's 5 teams (reporting.selectors.common.closure_events)",
         closure_events(form.filters()).values("case__root_cause_id")),
        ("Digest and metrics: escalations of the last 30 days (kind + created_at)",
         CaseEvent.objects.filter(kind=CaseEvent.Kind.ESCALATED, created_at__gte=since).values("id")),
        ("Case page: one case's timeline (no time bound)", case.events.order_by("-created_at", "-id").values("id")),
        ("Case page: the same timeline bounded by the case's creation",
         case.events.filter(created_at__gte=case.created_at).order_by("-created_at", "-id").values("id")),
    ]


def _explain(qs) -> dict:
    plan = qs.explain(analyze=True, timing=True, summary=True)
    lines = plan.splitlines()
    execution = next((line for line in lines if line.startswith("Execution Time")), "")
    planning = next((line for line in lines if line.startswith("Planning Time")), "")
    scanned = sorted({word for line in lines for word in line.split() if PARTITION.match(word)})
    return {"plan": plan, "execution_ms": float(execution.split(":")[1].split()[0]) if execution else 0.0,
            "planning_ms": float(planning.split(":")[1].split()[0]) if planning else 0.0, "scanned": scanned}


def _measure() -> list[dict]:
    out = []
    for label, qs in _queries():
        qs.count()  # warm the cache once
        out.append({"label": label, **_explain(qs)})
    return out


def fill_outcome_events(n_outcomes: int) -> float:
    """The outcomes bench's events (bench.bench_outcomes.fill_events), on the tables before 0002."""
    from bench.bench_outcomes import fill_events

    return fill_events(n_outcomes) if n_outcomes else 0.0


def child(n_responses: int, n_events: int, n_outcomes: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.reports_data import fill

    call_command("migrate", verbosity=0, interactive=False)
    call_command("migrate", "cases", "0021", verbosity=0, interactive=False)
    call_command("migrate", "outcomes", "0001", verbosity=0, interactive=False)
    filled = fill(n_responses)
    n_cases = filled.get("cases", n_responses // 10)
    events_seconds = fill_case_events(n_events, n_cases)
    events_seconds += fill_outcome_events(n_outcomes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('cases_caseevent'))")
        size = cursor.fetchone()[0]
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_start = _load()
        before = _measure()
        started = time.monotonic()
        call_command("migrate", "cases", "0022", verbosity=0, interactive=False)
        convert_seconds = time.monotonic() - started
        connection.set_autocommit(True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_caseevent")
            cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'cases_caseevent'::regclass")
            partitions = cursor.fetchone()[0]
        after = _measure()
        started = time.monotonic()
        call_command("migrate", "outcomes", verbosity=0, interactive=False)
        outcomes_seconds = time.monotonic() - started
        load_end = _load()
    return {"responses": n_responses, "cases": n_cases, "events": n_events, "size": size,
            "fill_seconds": filled.get("seconds", 0) + events_seconds, "convert_seconds": convert_seconds,
            "outcomes": n_outcomes, "outcomes_seconds": outcomes_seconds,
            "partitions": partitions, "before": before, "after": after, "load_start": load_start,
            "load_end": load_end}


def report(f: dict) -> str:
    lines = [
        f"## Partitioned history: case events by month, {f['events']:,} events",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}.",
        (f"Data: {f['responses']:,} responses, {f['cases']:,} cases and {f['events']:,} case events over the last "
        f"{MONTHS} months ({f['size']} with indexes), {f['outcomes']:,} outcome events over the last year, generated with SQL generate_series in "
        f"{f['fill_seconds']:.0f} s."),
        (f"Load average (1/5/15 min) before measuring {f['load_start']}, after {f['load_end']} (a shared machine: "
        "other helpers' suites ran meanwhile)."),
        "",
        (f"**Conversion** (`migrate cases 0022` on the filled database: rename aside, create the partitioned table "
        f"and {f['partitions']} partitions, copy every row, indexes, checks and foreign keys again): "
        f"**{f['convert_seconds']:.1f} s** for {f['events']:,} events, one transaction holding the table's lock."),
        "",
        (f"**Outcome events** (`migrate outcomes`: 0002 copies every event's key into OutcomeEventKey and swaps "
         f"the unique constraint for an index, 0003 converts the events on occurred_at): "
         f"**{f['outcomes_seconds']:.1f} s** for {f['outcomes']:,} events, measured after the case events in the "
         "same locked phase."),
        "",
        ("Queries that read case events, EXPLAIN ANALYZE on the plain table (before, the baseline) and on the "
        "partitioned one (after), same run:"),
        "",
        "| query | before: execution | after: execution | after: planning | partitions read after |",
        "|---|---:|---:|---:|---:|",
    ]
    for b, a in zip(f["before"], f["after"], strict=True):
        lines.append(f"| {a['label']} | {b['execution_ms']:.1f} ms | {a['execution_ms']:.1f} ms | "
                     f"{a['planning_ms']:.1f} ms | {len(a['scanned'])} of {f['partitions']} |")
    lines += ["", "Plans after the conversion:", ""]
    for a in f["after"]:
        lines += [f"{a['label']}:", "", "```", a["plan"].rstrip(), "```", ""]
    lines += [
        ("Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_partitions --responses N --events M` (`--keep` keeps "
        "the `closeloop_bench_partitions` database)."),
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 1_000_000
    n_events = getattr(args, "events", None) or n_responses * 5 // 10
    n_outcomes = getattr(args, "outcomes", None) or n_responses * 2 // 5
    keep = getattr(args, "keep", False)
    child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, CACHE_KEY_PREFIX="closeloop-bench-partitions")
    figures = child_process.run(
        "bench.bench_partitions",
        ["--responses", str(n_responses), "--events", str(n_events), "--outcomes", str(n_outcomes)],
        database=DB_NAME, timeout=CHILD_TIMEOUT, env=env, keep=keep,
    )
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_partitions", description=__doc__)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--outcomes", type=int, default=None, help="outcome events (default 2 x N / 5)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.responses, args.events or args.responses * 5 // 10,
                               args.outcomes or args.responses * 2 // 5)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
