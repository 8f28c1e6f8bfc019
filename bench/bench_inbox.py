"""Inbox benchmark: server time of the first inbox page for an agent with 1,000,000 cases.

    DEBUG=1 .venv/bin/python -m bench.bench_inbox [--cases N] [--keep | --reuse | --fill-only]

(`--fill-only` fills, or tops up a kept database, and keeps it without measuring: the case page's
CPU bench, `python -m bench.case_page`, runs against it.)

What it does, in its own PostgreSQL database `closeloop_bench_inbox` (created, migrated, filled
and dropped; never the test or dev database):
- 50 teams with 5 agents each; 200,000 customers; N (default 1,000,000) survey responses, alerts
  and cases, bulk-generated with SQL generate_series (about 80 % closed, the open ones spread over
  overdue, due soon and later, half of them unassigned);
- for one agent (a member of one team) the first page of "Team all" and of "Overdue", 50 timed
  requests each after 5 warm-ups, through Django's test Client in-process (middleware, session,
  view, template: everything but the socket); p50 / p95 / max, and SQL queries per page;
- the 40th page of "Team all" reached through the "next" cursors, to show that a deep page costs
  what the first one does (keyset pagination, no OFFSET);
- one more agent of that team holding 5,000 open cases (bench.inbox_matrix): "My open" in every
  sort, the list query of every view, filter and sort (pages 1 and 2), and the query plans.

The measuring runs in a child process whose DATABASE_URL points at the bench database, so the
parent (`python -m bench`) keeps whatever database it was configured with."""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench import child as child_process
from bench import inbox_matrix
from bench.machine import describe as _machine
from bench.machine import write_figures

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_inbox"
TEAMS = 50
AGENTS_PER_TEAM = 5
CUSTOMERS = 200_000
REQUESTS = 50
WARMUP = 5
DEEP_PAGES = 40
TARGET_P95_MS = 100
DOC = ROOT / "docs" / "benchmarks_inbox.md"
CHILD_TIMEOUT = 14 * 60  # seconds; the whole benchmark must stay well under 15 minutes




# --- child: fill and measure --------------------------------------------------------------------


def _literal_default(field):
    """SQL parameter for a NOT NULL column this script does not set (a field added later by another
    area): its Python default, JSON-encoded for JSON fields."""
    from django.db import models

    value = field.get_default()
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    return value


def _insert_select(model, known: dict[str, str], series: str) -> None:
    """INSERT INTO <model table> (every concrete column) SELECT <expressions> FROM generate_series.
    `known` maps column -> SQL expression over `i`; other columns get NULL or their default."""
    from django.db import connection

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        column = field.column
        columns.append(f'"{column}"')
        if column in known:
            expressions.append(known[column].replace("%", "%%"))  # modulo, not a placeholder
        elif field.null:
            expressions.append("NULL")
        else:
            expressions.append("%s")
            params.append(_literal_default(field))
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
        f"SELECT {', '.join(expressions)} FROM {series.replace('%', '%%')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _reset_sequence(model) -> None:
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"
        )


def _fill(n_cases: int, n_teams: int = TEAMS, per_team: int = AGENTS_PER_TEAM, customers: int = CUSTOMERS) -> dict:
    """Teams of agents and n_cases responses, alerts and cases (bench_concurrency reuses it with
    another team shape and size)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Membership, Role, Team, User
    from alerts.models import Alert, AlertRule
    from cases.models import Case, RootCause, RootCauseCategory
    from surveys.models import Customer, Survey, SurveyResponse, Vendor, WebhookSource

    started = time.monotonic()
    teams = Team.objects.bulk_create(
        [Team(name=f"Team {t:02d}", slug=f"team-{t:02d}", is_default=(t == 1)) for t in range(1, n_teams + 1)]
    )
    password = make_password("bench-password")
    users = User.objects.bulk_create(
        [
            User(username=f"agent{t:02d}{a}", first_name=f"Agent {a}", last_name=f"T{t:02d}", password=password,
                 role=Role.AGENT, email=f"agent{t:02d}{a}@example.com")
            for t in range(1, n_teams + 1)
            for a in range(per_team)
        ]
    )
    Membership.objects.bulk_create(
        [Membership(user=users[(t * per_team) + a], team=teams[t]) for t in range(n_teams) for a in range(per_team)]
    )
    source = WebhookSource.objects.create(name="Bench", slug="bench", vendor=Vendor.STANDARD)
    surveys = Survey.objects.bulk_create(
        [Survey(source=source, external_id=f"s{s}", name=f"Survey {s}") for s in range(1, 6)]
    )
    causes = list(RootCause.objects.filter(active=True))  # the taxonomy the migrations seed
    if not causes:
        for c, category_name in enumerate(["Product", "Delivery", "Staff"]):
            category = RootCauseCategory.objects.create(name=category_name, order=c)
            causes += RootCause.objects.bulk_create(
                [RootCause(category=category, name=f"{category_name} {k}") for k in range(4)]
            )
    rule = AlertRule.objects.create(name="NPS detractor", metric="nps", operator="lte", threshold=6)

    team_ids = "(ARRAY[" + ",".join(str(t.pk) for t in teams) + "])"
    user_ids = "(ARRAY[" + ",".join(str(u.pk) for u in users) + "])"
    survey_ids = "(ARRAY[" + ",".join(str(s.pk) for s in surveys) + "])"
    cause_ids = "(ARRAY[" + ",".join(str(c.pk) for c in causes) + "])"
    team_of = f"{team_ids}[1 + (i % {n_teams})]"
    # Case i belongs to team i % n_teams; k = i / n_teams numbers the cases within a team, so every
    # team gets the same mix of states. The agent of case i is one of its team's agents.
    k = f"(i / {n_teams})"
    agent_of = f"{user_ids}[1 + (i % {n_teams}) * {per_team} + ({k} % {per_team})]"

    # The rows go in with the triggers off (foreign-key checks, rollups, the responses' case flags,
    # the cases' response keys), as after any bulk load; `rollups --rebuild` then builds what the
    # triggers keep, from the rows. With them on, the alerts' one statement (100,000 rows, setting as
    # many responses' case flags, on tables never analyzed) ran for over five minutes.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    _insert_select(Customer, {
        "id": "i",
        "external_id": "'c' || i",
        "email": "'customer' || i || '@example.com'",
        "name": "'Customer ' || i",
        "phone": "'+44 20 7946 ' || lpad((i % 10000)::text, 4, '0')",
        "tier": "(ARRAY['Bronze','Silver','Gold','Platinum'])[1 + i % 4]",
        "segment": "(ARRAY['Retail','SMB','Enterprise'])[1 + i % 3]",
        "account_value": "(i % 50000)::numeric",
        "attributes": "'{}'::jsonb",
        "contact_opt_out": "false",
        "created_at": "now()",
        "updated_at": "now()",
    }, f"generate_series(1, {customers}) AS i")
    _reset_sequence(Customer)
    customer_of = f"1 + (i::bigint * 7919) % {customers}"

    _insert_select(SurveyResponse, {
        "id": "i",
        "source_id": str(source.pk),
        "survey_id": f"{survey_ids}[1 + i % 5]",
        "customer_id": customer_of,
        "external_id": "'r' || i",
        "answered_at": "now() - (i % 8760) * interval '1 hour'",
        "received_at": "now() - (i % 8760) * interval '1 hour'",
        "nps": "i % 7",
        "scores": "jsonb_build_object('nps', jsonb_build_object('metric','nps','value', i % 7,'min',0,'max',10,'higher_is_better',true))",
        "comment": "(ARRAY['The queue was far too long and nobody helped.','Parcel arrived broken; second time this year.',"
                   "'Staff were rude at the till.','Website kept logging me out.',''])[1 + i % 5] || ' #' || i",
        "sentiment": "-0.5",
        "touchpoint": "(ARRAY['Checkout','Delivery','Support','Web','Returns'])[1 + i % 5]",
        "channel": "'email'",
        "location": "(ARRAY['Leeds','London','Manchester','Bristol','Glasgow','Cardiff'])[1 + i % 6]",
        "region": "'UK'",
        "attributes": "'{}'::jsonb",
        "team_id": team_of,
    }, f"generate_series(1, {n_cases}) AS i")
    _reset_sequence(SurveyResponse)

    _insert_select(Alert, {
        "id": "i",
        "rule_id": str(rule.pk),
        "response_id": "i",
        "action": "'open_case'",
        "reasons": "jsonb_build_array('NPS ' || (i % 7) || ' is at most 6')",
        "created_at": "now() - (i % 8760) * interval '1 hour'",
    }, f"generate_series(1, {n_cases}) AS i")
    _reset_sequence(Alert)

    # 80 % closed; open ones (k % 10 in 8, 9) new or in progress, half unassigned, due times spread
    # from 24 h ago to 72 h ahead so that some are overdue and some due soon.
    is_open = f"({k} % 10 >= 8)"
    _insert_select(Case, {
        "id": "i",
        "reference": "'CL-' || lpad(i::text, 7, '0')",
        "customer_id": customer_of,
        "response_id": "i",
        "alert_id": "i",
        "team_id": team_of,
        "assignee_id": f"CASE WHEN {is_open} AND ({k} / 10) % 2 = 0 THEN NULL ELSE {agent_of} END",
        "priority": "(ARRAY['low','normal','normal','high','urgent'])[1 + (i / 3) % 5]",
        "status": f"CASE WHEN NOT {is_open} THEN 'closed' WHEN {k} % 10 = 8 THEN 'new' ELSE 'in_progress' END",
        "version": "3",
        "first_contact_due": f"CASE WHEN {is_open} THEN now() + ((({k} * 37) % 96) - 24) * interval '1 hour' "
                             "ELSE now() - (i % 8760) * interval '1 hour' + interval '8 hours' END",
        "resolution_due": f"CASE WHEN {is_open} THEN now() + ((({k} * 37) % 96) - 24 + 32) * interval '1 hour' "
                          "ELSE now() - (i % 8760) * interval '1 hour' + interval '40 hours' END",
        "first_contacted_at": f"CASE WHEN {k} % 10 = 8 THEN NULL "
                              "ELSE now() - (i % 8760) * interval '1 hour' + interval '2 hours' END",
        "escalation_level": "0",
        "value_at_risk": "(i % 50000)::numeric",
        "root_cause_id": f"CASE WHEN {is_open} THEN NULL ELSE {cause_ids}[1 + i % {len(causes)}] END",
        "resolution": f"CASE WHEN {is_open} THEN '' ELSE 'Called the customer, apologised and refunded.' END",
        "outcome": f"CASE WHEN {is_open} THEN '' ELSE 'resolved' END",
        "prevention": "''",
        "closed_at": f"CASE WHEN {is_open} THEN NULL ELSE now() - (i % 8760) * interval '1 hour' + interval '20 hours' END",
        "closed_by_id": f"CASE WHEN {is_open} THEN NULL ELSE {agent_of} END",
        "reopen_count": "0",
        "created_at": "now() - (i % 8760) * interval '1 hour'",
        "updated_at": "now()",
    }, f"generate_series(1, {n_cases}) AS i")
    _reset_sequence(Case)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        # Statistics first: the rebuild's statements, planned on tables never analyzed, may probe
        # every row of one table for each of another's.
        cursor.execute("ANALYZE")
    call_command("rollups", "--rebuild", stdout=io.StringIO())
    with connection.cursor() as cursor:
        # What autovacuum does to a live table: statistics, and the visibility map that lets the
        # counts read the covering index alone (index-only scans) right after a bulk load.
        cursor.execute("VACUUM ANALYZE")
    return {"seconds": time.monotonic() - started, "agent": users[0].username, "team": teams[0].name}


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def _measure(agent_username: str) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from cases import selectors

    agent = User.objects.get(username=agent_username)
    client = Client()
    client.force_login(agent)
    results = {"counts": selectors.inbox_counts(agent), "load_before": os.getloadavg()}
    for view in ("team", "overdue"):
        url = f"/cases/?view={view}"
        for _ in range(WARMUP):
            assert client.get(url).status_code == 200
        timings, cpu, list_ms, counts_ms, other_sql_ms = [], [], [], [], []
        for _ in range(REQUESTS):
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200, response.status_code
            split = {"list": 0.0, "counts": 0.0, "other": 0.0}
            for query in queries.captured_queries:
                kind = "list" if "_seek0" in query["sql"] else "counts" if "COUNT(" in query["sql"] else "other"
                split[kind] += float(query["time"]) * 1000
            list_ms.append(split["list"])
            counts_ms.append(split["counts"])
            other_sql_ms.append(split["other"])
        results[view] = {
            "p50": statistics.median(timings),
            "p95": _percentile(timings, 95),
            "max": max(timings),
            "cpu_p50": statistics.median(cpu),
            "list_p50": statistics.median(list_ms),
            "counts_p50": statistics.median(counts_ms),
            "other_sql_p50": statistics.median(other_sql_ms),
            "queries": len(queries.captured_queries),
            "rows": response.content.count(b'class="case-row'),
        }
    # Walk 40 pages down "Team all" through the next links, then time that page.
    import re

    url, page = "/cases/?view=team", 1
    for _ in range(DEEP_PAGES - 1):
        html = client.get(url).content.decode()
        match = re.search(r'rel="next" href="([^"]+)"', html)
        if not match:
            break
        url, page = match.group(1).replace("&amp;", "&"), page + 1
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    results["deep"] = {"page": page, "p50": statistics.median(timings), "p95": _percentile(timings, 95)}
    heavy = inbox_matrix.HEAVY_AGENT
    results["my_open"] = inbox_matrix.measure_my_open(heavy)
    results["matrix"] = inbox_matrix.measure_matrix(heavy)
    results["plans"] = inbox_matrix.explain(heavy)
    results["load_after"] = os.getloadavg()
    return results


def child(n_cases: int, reuse: bool = False, fill_only: bool = False) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    migrate_started = time.monotonic()
    if reuse:
        from accounts.models import Membership

        call_command("migrate", verbosity=0, interactive=False)  # indexes added since the fill
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_case")

        first = (Membership.objects.select_related("user", "team").exclude(user__username=inbox_matrix.HEAVY_AGENT)
                 .order_by("team__name", "user__username").first())
        filled = {"seconds": 0.0, "agent": first.user.username, "team": first.team.name}
    else:
        call_command("migrate", verbosity=0, interactive=False)
        filled = _fill(n_cases)
    inbox_matrix.add_heavy_agent()  # before any measuring: Team 01 holds that agent's cases too
    if fill_only:
        return {"fill_seconds": filled["seconds"], "cases": n_cases}
    return {
        "migrate_seconds": time.monotonic() - migrate_started - filled["seconds"],
        "fill_seconds": filled["seconds"],
        "cases": n_cases,
        **_measure(filled["agent"]),
        "agent": filled["agent"],
        "team_name": filled["team"],
    }


# --- parent: database lifecycle and the report ------------------------------------------------------


def _postgres_version() -> str:
    import psycopg

    with psycopg.connect(child_process.ADMIN_URL.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def report(figures: dict) -> str:
    ok = all(figures[v]["p95"] < TARGET_P95_MS for v in ("team", "overdue"))
    counts = figures["counts"]
    lines = [
        "## Inbox: first page for an agent with 1,000,000 cases" if figures["cases"] == 1_000_000
        else f"## Inbox: first page for an agent with {figures['cases']:,} cases",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}; PostgreSQL {_postgres_version()}.",
        f"Data: {figures['cases']:,} cases (and as many responses and alerts) across {TEAMS} teams, "
        f"{CUSTOMERS:,} customers, about 80 % closed; generated with SQL generate_series "
        + (f"in {figures['fill_seconds']:.0f} s" if figures["fill_seconds"] else "(by an earlier run, reused)")
        + f". The agent ({figures['agent']}) is in {figures['team_name']}: "
        f"{counts.get('team', '?'):,} cases in \"Team all\", {counts.get('overdue', '?'):,} overdue, "
        f"{counts.get('due_soon', '?'):,} due soon, {counts.get('unassigned', '?'):,} unassigned.",
        "",
        f"Server time per request (Django test Client in-process: middleware, session, selectors, "
        f"filters, keyset page, counts, template), {REQUESTS} requests after {WARMUP} warm-ups, target p95 < {TARGET_P95_MS} ms:",
        "",
        "| page | p50 | p95 | max | Django CPU p50 | list query p50 | counts query p50 | other SQL p50 | queries | rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for view, label in (("team", "Team all, first page"), ("overdue", "Overdue, first page")):
        f = figures[view]
        lines.append(
            f"| {label} | {f['p50']:.1f} ms | {f['p95']:.1f} ms | {f['max']:.1f} ms | {f['cpu_p50']:.1f} ms | "
            f"{f['list_p50']:.1f} ms | {f['counts_p50']:.1f} ms | {f['other_sql_p50']:.1f} ms | {f['queries']} | {f['rows']} |"
        )
    deep = figures["deep"]
    load = figures.get("load_before", ["?"])[0], figures.get("load_after", ["?"])[0]
    lines += [
        f"| Team all, page {deep['page']} (via next cursors) | {deep['p50']:.1f} ms | {deep['p95']:.1f} ms | | | | | | | |",
        "",
        f"Result: {'p95 under' if ok else 'p95 NOT under'} {TARGET_P95_MS} ms for both pages. "
        f"Load average while measuring: {load[0]} before, {load[1]} after (2 cores shared with other work). "
        "A deep page costs what the first one does: pages are keyset (\"after this row\") seeks, never OFFSET, "
        "and no page counts its rows.",
        "",
        "Where the time goes (Team all, medians): "
        f"Django CPU (middleware, session, filter form, 50 rows of template) {figures['team']['cpu_p50']:.0f} ms; "
        f"the page's list query {figures['team']['list_p50']:.0f} ms; the six view counts "
        f"{figures['team']['counts_p50']:.0f} ms; the rest of the SQL {figures['team']['other_sql_p50']:.0f} ms; "
        "the remainder is waiting for a CPU on the loaded machine.",
        *inbox_matrix.report_sections(figures),
        "",
        "How the SQL stays small at 1M cases (cases/selectors.py, cases/models/case.py, migration 0005):",
        "",
        "- The list orders by the next due time, `LEAST(resolution_due, first_contact_due while not "
        "contacted)`: an open case is overdue exactly when that time has passed, so this one key puts "
        "overdue first (most overdue first) and then the soonest due, the same order as before. The "
        "partial expression indexes `(team, next_due)` and `(assignee, next_due) WHERE status <> 'closed'` "
        "serve it: PostgreSQL walks the index and stops after 51 rows, with an incremental sort for the "
        "rare ties (priority, value at risk). \"Overdue\" and \"Due soon\" are ranges on the same key.",
        "- The counts read the open cases of the user's teams only, from the covering partial index "
        "`(team) INCLUDE (assignee, resolution_due, first_contact_due, first_contacted_at, ...) "
        "WHERE status <> 'closed'` (an index-only scan, one COUNT with FILTER per view), and \"Recently "
        "closed\" is a range scan of `(team, -closed_at)` bounded by the last 7 days: two queries.",
        "- What is left is Python: middleware, session, the filter form and 50 rendered rows "
        "(`Django CPU` above), in cases/views/ and templates/cases/.",
        "",
        "Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_inbox` (or `make bench`); "
        "`--cases N` for a smaller run, `--keep` to keep the `closeloop_bench_inbox` database, "
        "`--reuse` to measure again on a kept one, `--fill-only` to fill (or top up) and keep it without measuring.",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_cases = getattr(args, "cases", None) or 1_000_000
    reuse = getattr(args, "reuse", False)
    fill_only = getattr(args, "fill_only", False)
    keep = getattr(args, "keep", False) or reuse or fill_only
    if not reuse:
        child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, **child_process.CLIENT)
    figures = child_process.run(
        "bench.bench_inbox",
        ["--cases", str(n_cases)] + (["--reuse"] if reuse else []) + (["--fill-only"] if fill_only else []),
        database=DB_NAME, timeout=CHILD_TIMEOUT, env=env, keep=keep,
    )
    if fill_only:
        return f"Filled {DB_NAME}: {figures['cases']:,} cases in {figures['fill_seconds']:.0f} s (kept, nothing measured)."
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_inbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure again on a kept database (no refill)")
    parser.add_argument("--fill-only", action="store_true",
                        help="fill (or top up) and keep the bench database, measure nothing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.cases, args.reuse, args.fill_only), default=str))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
