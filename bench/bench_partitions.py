"""Partitioned history: how long the conversion of an existing installation takes, and partition
pruning in the plans of the queries that read the partitioned tables.

    DEBUG=1 .venv/bin/python -m bench.bench_partitions [--responses N] [--events M] [--outcomes K]
        [--deliveries D] [--notifications T] [--keep]

In its own PostgreSQL database `closeloop_bench_partitions` (BENCH_PARTITIONS_DB names another;
created, migrated, filled and dropped; never the test or dev database): migrated to the latest, then the partitioned tables are
turned back into plain ones by their migrations' own backward functions (case events `cases 0022`,
outcome events `outcomes 0003`, webhook deliveries `surveys 0019`, notifications `cases 0026`, survey responses `surveys 0020`; the
other migrations stay applied), filled with the reports bench's data (bench/reports_data.py:
N responses, N/10 cases, theme tags), M case events, D deliveries and T notifications spread over
the last 36 months, the outcomes bench's outcome events, and the alerts, case links and recognitions
that point at responses (bench/partitions_data.py: SQL generate_series, indexes rebuilt after,
VACUUM ANALYZE). Then, holding /tmp/bench.lock (the shared measurement lock), the queries are
EXPLAIN ANALYZEd on the plain tables (the baseline), each migration's forward function (what
`migrate` runs) is timed, and the queries run again on the partitioned tables. Rows and references
are checked before and after the conversions (bench/partitions_check.py): any difference, or a
reference that no longer resolves, fails the bench (non-zero exit, the differences named)."""

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
from bench import partitions_check
from bench.machine import describe as _machine
from bench.machine import write_figures
from bench.partitions_data import (
    MONTHS,
    fill_case_events,
    fill_deliveries,
    fill_notifications,
    fill_outcome_events,
    fill_references,
)

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_PARTITIONS_DB", "closeloop_bench_partitions")  # another name beside a running one
DOC = ROOT / "docs" / "benchmarks_partitions.md"
LOCK = "/tmp/bench.lock"
CHILD_TIMEOUT = 3 * 60 * 60  # filling and converting every table at 10M responses takes about an hour here
PARTITION = re.compile(r"^(cases_caseevent|outcomes_outcomeevent|surveys_webhookdelivery|cases_notification|"
                       r"surveys_surveyresponse)_"
                       r"(p\d{6}|default)$")
# (label, app, migration, table): the conversions timed, in this order.
CONVERSIONS = [
    ("case events", "cases", "0022_case_events_partitioned_by_month", "cases_caseevent"),
    ("outcome events", "outcomes", "0003_events_partitioned_by_month", "outcomes_outcomeevent"),
    ("webhook deliveries", "surveys", "0019_deliveries_partitioned_by_month", "surveys_webhookdelivery"),
    ("notifications", "cases", "0026_notifications_partitioned_by_month", "cases_notification"),
    ("survey responses", "surveys", "0020_responses_partitioned_by_month", "surveys_surveyresponse"),
]




def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _migration(app: str, name: str):
    import importlib

    return importlib.import_module(f"{app}.migrations.{name}")


def _run_migration_function(app: str, name: str, direction: str) -> float:
    """The migration's forward or backward RunPython function, in a transaction of its own, timed."""
    from types import SimpleNamespace

    from django.db import connection, transaction

    function = getattr(_migration(app, name), direction)
    started = time.monotonic()
    with transaction.atomic():
        function(None, SimpleNamespace(connection=connection))
    return time.monotonic() - started


def _explain(qs) -> dict:
    plan = qs.explain(analyze=True, timing=True, summary=True)
    lines = plan.splitlines()
    execution = next((line for line in lines if line.startswith("Execution Time")), "")
    planning = next((line for line in lines if line.startswith("Planning Time")), "")
    scanned = sorted({word for line in lines for word in line.split() if PARTITION.match(word)})
    return {"plan": plan, "execution_ms": float(execution.split(":")[1].split()[0]) if execution else 0.0,
            "planning_ms": float(planning.split(":")[1].split()[0]) if planning else 0.0, "scanned": scanned}


def _ingest(label: str, singles: int = 2000, groups: int = 40, group_size: int = 100) -> dict:
    """The webhook door's two INSERTs (surveys.ingest.store) timed on the deliveries table as it is:
    `singles` deliveries one statement each, autocommitted (the Django view), and `groups` batches of
    `group_size` (the ingest server's group commit); then the new rows deleted again. With
    synchronous_commit off: the statements' own cost, without the wait for the WAL flush, which is
    one flush per commit either way and, on this shared disk, varies by milliseconds from one
    second to the next (it would hide the difference measured)."""
    from django.db import connection

    from surveys.ingest.store import delivery_row, group_statement, store_delivery
    from surveys.models import WebhookSource

    source = WebhookSource.objects.order_by("pk").first()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    for i in range(50):  # warm: the statements prepared, the trigger's function compiled
        store_delivery(source, f"ingest-{label}-warm-{i}", "application/json", {}, b'{"nps": 3}')
    started = time.monotonic()
    for i in range(singles):
        store_delivery(source, f"ingest-{label}-{i}", "application/json", {}, b'{"nps": 3}')
    single_seconds = time.monotonic() - started
    started = time.monotonic()
    with connection.cursor() as cursor:
        for g in range(groups):
            rows = [delivery_row(source, f"ingest-{label}-g{g}-{i}", "application/json", {}, b'{"nps": 3}')
                    for i in range(group_size)]
            cursor.execute(*group_statement(rows))
    group_seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = on")
        cursor.execute("DELETE FROM surveys_webhookdelivery WHERE delivery_id LIKE %s", [f"ingest-{label}-%"])
        cursor.execute("DELETE FROM surveys_webhookdeliverykey WHERE delivery_id LIKE %s", [f"ingest-{label}-%"])
    return {"single_ms": single_seconds * 1000 / singles, "group_ms": group_seconds * 1000 / groups,
            "group_size": group_size}


RETENTION_DAYS = 365


def _retention() -> list[dict]:
    """One maintenance run with a year's retention on the deliveries and the notifications (the
    months older than that dropped, the rows retention keeps moved to the default partition),
    timed; the other tables keep everything. Last: it drops what the queries read."""
    from django.conf import settings
    from django.test import override_settings

    from core import partitions

    tables = {table: dict(spec, retention_days=RETENTION_DAYS if table in (
        "surveys_webhookdelivery", "cases_notification") else 0) for table, spec in settings.PARTITIONED_TABLES.items()}
    with override_settings(PARTITIONED_TABLES=tables):
        started = time.monotonic()
        done = partitions.maintain()
        seconds = time.monotonic() - started
    return [{"table": m.table, "dropped": len(m.dropped), "deleted": m.deleted_from_default, "kept": m.kept,
             "seconds": seconds} for m in done if m.dropped or m.kept]


def _measure() -> list[dict]:
    from bench.partitions_queries import queries

    out = []
    for label, qs in queries():
        qs.count()  # warm the cache once
        out.append({"label": label, **_explain(qs)})
    return out


def _sizes() -> dict:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        for _label, _app, _name, table in CONVERSIONS:
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s::regclass)), "
                           "(SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass)", [table, table])
            sizes[table] = cursor.fetchone()
    return sizes


def child(n_responses: int, n_events: int, n_outcomes: int, n_deliveries: int, n_notifications: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.reports_data import fill

    call_command("migrate", verbosity=0, interactive=False)
    for _label, app, name, _table in reversed(CONVERSIONS):  # plain tables again, as before each conversion
        _run_migration_function(app, name, "backward")
    filled = fill(n_responses)
    n_cases = filled.get("cases", n_responses // 10)
    fill_seconds = fill_case_events(n_events, n_cases)
    fill_seconds += fill_outcome_events(n_outcomes)
    fill_seconds += fill_deliveries(n_deliveries)
    fill_seconds += fill_notifications(n_notifications, n_cases)
    referencing = fill_references(n_responses, n_cases)
    fill_seconds += referencing["seconds"]
    plain = _sizes()
    tables = [table for _label, _app, _name, table in CONVERSIONS]
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_start = _load()
        before = _measure()
        ingest_before = _ingest("before")
        check_started = time.monotonic()
        kept_before = partitions_check.snapshot(tables, after=False)
        check_seconds = time.monotonic() - check_started
        conversions = []
        for label, app, name, table in CONVERSIONS:
            seconds = _run_migration_function(app, name, "forward")
            conversions.append({"label": label, "migration": f"{app} {name[:4]}", "table": table,
                                "seconds": seconds, "size": plain[table][0]})
        connection.set_autocommit(True)
        with connection.cursor() as cursor:
            for _label, _app, _name, table in CONVERSIONS:
                cursor.execute(f"VACUUM ANALYZE {table}")
        check_started = time.monotonic()
        kept = partitions_check.compare(kept_before, partitions_check.snapshot(tables, after=True))
        kept["seconds"] = check_seconds + time.monotonic() - check_started
        partitioned = _sizes()
        for conversion in conversions:
            conversion["partitions"] = partitioned[conversion["table"]][1]
        after = _measure()
        ingest_after = _ingest("after")
        retention = _retention()
        load_end = _load()
    return {"responses": n_responses, "cases": n_cases, "events": n_events, "outcomes": n_outcomes,
            "deliveries": n_deliveries, "notifications": n_notifications, "referencing": referencing, "kept": kept,
            "fill_seconds": filled.get("seconds", 0) + fill_seconds, "conversions": conversions,
            "before": before, "after": after, "load_start": load_start, "load_end": load_end,
            "ingest_before": ingest_before, "ingest_after": ingest_after, "retention": retention}


def child_responses_only(n_responses: int) -> dict:
    """`--responses-only`: the reports bench's data alone (responses, customers, cases and what
    points at responses from them), and only the responses' conversion timed (surveys 0020), for
    a size where filling every table would take too long. Printed, not written to the page."""
    import django

    django.setup()
    from django.core.management import call_command

    from bench.reports_data import fill

    call_command("migrate", verbosity=0, interactive=False)
    label, app, name, table = CONVERSIONS[-1]
    _run_migration_function(app, name, "backward")
    filled = fill(n_responses)
    size = _sizes()[table][0]
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_start = _load()
        seconds = _run_migration_function(app, name, "forward")
        load_end = _load()
    return {"responses": n_responses, "cases": filled.get("cases"), "fill_seconds": filled.get("seconds", 0),
            "table": table, "size": size, "seconds": seconds, "load_start": load_start, "load_end": load_end}


def _read(a: dict, conversions: list[dict]) -> str:
    """"k of n" partitions the plan reads, n those of its table."""
    if not a["scanned"]:
        return "one table"
    table = PARTITION.match(a["scanned"][0])[1]
    total = next(c["partitions"] for c in conversions if c["table"] == table)
    return f"{len(a['scanned'])} of {total}"


def report(f: dict) -> str:
    lines = [
        "## Partitioned history: case events, outcome events, webhook deliveries, notifications and responses by month",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}.",
        (f"Data: {f['responses']:,} responses, {f['cases']:,} cases, {f['events']:,} case events, "
         f"{f['deliveries']:,} webhook deliveries and {f['notifications']:,} notifications over the last {MONTHS} "
         f"months, {f['outcomes']:,} outcome events over the last year; pointing at responses besides the cases "
         f"and deliveries: {f['referencing']['alerts']:,} alerts (one response in 20), {f['referencing']['case_links']:,} "
         f"case links (a case's opening response, one case in 5 a second) and {f['referencing']['recognitions']:,} "
         "recognitions (one in 100), and the theme tags of the commented responses (one in three, one in nine a "
         f"second theme); generated with SQL generate_series in {f['fill_seconds']:.0f} s."),
        (f"Load average (1/5/15 min) before measuring {f['load_start']}, after {f['load_end']} (a shared machine: "
         "other helpers' work ran meanwhile)."),
        "",
        ("**Conversions**, each migration's forward function as `migrate` runs it, on the filled plain table, one "
         "transaction holding the table's lock (rename aside, create the partitioned table and its partitions, copy "
         "every row, indexes, checks and foreign keys again; for deliveries and notifications first every row's key "
         "into the key table, then the trigger; for responses every row's key into their key table, the seven foreign "
         "keys into responses dropped and added again on it, validated, and the responses' triggers and extended "
         "statistics created again):"),
        "",
        "| table | migration | rows | size before (with indexes) | partitions | time |",
        "|---|---|---:|---:|---:|---:|",
    ]
    rows = {"cases_caseevent": f["events"], "outcomes_outcomeevent": f["outcomes"],
            "surveys_webhookdelivery": f["deliveries"], "cases_notification": f["notifications"],
            "surveys_surveyresponse": f["responses"]}
    for c in f["conversions"]:
        lines.append(f"| {c['label']} | `{c['migration']}` | {rows[c['table']]:,} | {c['size']} | {c['partitions']} | "
                     f"**{c['seconds']:.1f} s** |")
    k = f["kept"]
    refs = ", ".join(f"{name} ({rows:,} rows)" for name, rows in k["referencing"].items())
    lines += [
        "",
        (f"**Rows kept: yes, {k['references']:,} references checked** (bench/partitions_check.py, before the "
         f"forward functions and after, {k['seconds']:.0f} s in all, inside the measured lock but outside each "
         "conversion's time): each converted table's rows, sum of ids and sum of its partition column's times "
         "equal before and after, each key table's rows equal to its table's; the foreign keys into the "
         f"responses ({k['foreign_keys']}: {refs}) the same columns after, pointed at `surveys_responsekey` and "
         "validated, with the same count, sum of ids and checksum of (row id, response id) pairs, and every "
         "reference joining to a response by id, after the conversion on the partitioned responses. Any "
         "difference stops the bench with a non-zero exit naming it."),
    ]
    ib, ia = f["ingest_before"], f["ingest_after"]
    lines += [
        "",
        ("**The webhook door's INSERTs** (surveys.ingest.store, on the filled table, from Python as the door "
         "runs them, synchronous_commit off so the figures are the statements' own cost, not the disk's flush, "
         "which is one per commit either way): one delivery per autocommitted statement (the Django view) "
         f"**{ib['single_ms']:.2f} ms** on the plain table with its unique index, **{ia['single_ms']:.2f} ms** "
         f"partitioned with the key table's trigger; a group of {ia['group_size']} (the ingest server's group "
         f"commit) **{ib['group_ms']:.1f} ms** before, **{ia['group_ms']:.1f} ms** after."),
    ]
    if f.get("retention"):
        total = f["retention"][0]["seconds"]
        parts = "; ".join(f"{r['table']}: {r['dropped']} months dropped, {r['kept']:,} rows kept (not processed or "
                          f"not sent, moved to the default partition)" for r in f["retention"])
        lines += ["", (f"**Retention** ({RETENTION_DAYS} days on deliveries and notifications, one maintenance run, "
                       f"`core.partitions.maintain`, after the queries): **{total:.1f} s** in all; {parts}.")]
    lines += [
        "",
        ("Queries that read them, EXPLAIN ANALYZE on the plain tables (before, the baseline) and on the "
         "partitioned ones (after), same run:"),
        "",
        "| query | before: execution | after: execution | after: planning | partitions read after |",
        "|---|---:|---:|---:|---:|",
    ]
    for b, a in zip(f["before"], f["after"], strict=True):
        lines.append(f"| {a['label']} | {b['execution_ms']:.1f} ms | {a['execution_ms']:.1f} ms | "
                     f"{a['planning_ms']:.1f} ms | {_read(a, f['conversions'])} |")
    lines += ["", "Plans after the conversion:", ""]
    for a in f["after"]:
        lines += [f"{a['label']}:", "", "```", a["plan"].rstrip(), "```", ""]
    lines += [
        ("Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_partitions --responses N --events M --deliveries D "
         "--notifications T` (`--keep` keeps the `closeloop_bench_partitions` database)."),
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 1_000_000
    n_events = getattr(args, "events", None) or n_responses * 5 // 10
    n_outcomes = getattr(args, "outcomes", None) or n_responses * 2 // 5
    n_deliveries = getattr(args, "deliveries", None) or n_responses
    n_notifications = getattr(args, "notifications", None) or n_responses
    keep = getattr(args, "keep", False)
    child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, CACHE_KEY_PREFIX="closeloop-bench-partitions")
    if getattr(args, "responses_only", False):
        figures = child_process.run("bench.bench_partitions", ["--responses", str(n_responses), "--responses-only"],
                                    database=DB_NAME, timeout=CHILD_TIMEOUT, env=env, keep=keep)
        return json.dumps(figures)
    figures = child_process.run(
        "bench.bench_partitions",
        ["--responses", str(n_responses), "--events", str(n_events), "--outcomes", str(n_outcomes),
         "--deliveries", str(n_deliveries), "--notifications", str(n_notifications)],
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
    parser.add_argument("--deliveries", type=int, default=None, help="webhook deliveries (default N)")
    parser.add_argument("--notifications", type=int, default=None, help="notifications (default N)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--responses-only", action="store_true",
                        help="fill the responses alone and time their conversion only (printed, no page written)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child and args.responses_only:
        print(json.dumps(child_responses_only(args.responses)))
        return 0
    if args.child:
        print(json.dumps(child(args.responses, args.events or args.responses * 5 // 10,
                               args.outcomes or args.responses * 2 // 5, args.deliveries or args.responses,
                               args.notifications or args.responses)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
