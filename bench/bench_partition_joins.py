"""A case joined to its opening response, on the id alone (before cases 0028) and on the id and
answered_at (Case.response: core.partition_fk): planning and execution time of the queries that
read a page of cases with their responses, on responses partitioned by month.

    DEBUG=1 .venv/bin/python -m bench.bench_partition_joins [--responses N] [--repeat R] [--keep]

In its own PostgreSQL database `closeloop_bench_partition_joins` (BENCH_PARTITION_JOINS_DB names
another; created, migrated to the latest, so responses are partitioned, filled and dropped): the
reports bench's data (bench/reports_data.py: N responses over the last 365 days, so about 13 months'
partitions with data of 17, N/10 cases, loaded with triggers off), then, holding /tmp/bench.lock, each
case's copy of its response's answered_at filled by cases.response_keys.install() (what cases 0028
runs; timed) and VACUUM ANALYZE; then each query is EXPLAIN ANALYZEd R times as Django builds it
(the join on both columns) and R times with the answered_at condition taken out of its ON clause
(the SQL as it was before), alternately; the medians are printed with one plan of each. Prints
JSON; the figures are written into docs/benchmarks_partitions.md's notes by hand."""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import re
import statistics
import sys
import time

from bench import child as child_process

DB_NAME = os.environ.get("BENCH_PARTITION_JOINS_DB", "closeloop_bench_partition_joins")
LOCK = "/tmp/bench.lock"
R = "surveys_surveyresponse"
JOIN_ON_TIME = (f' AND (("{R}"."answered_at" >= ("cases_case"."response_answered_at") '
                f'AND "{R}"."answered_at" <= ("cases_case"."response_answered_at")))')
PAGE = 25


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _sql_of(run) -> str:
    """The one SQL statement that reads cases joined to their responses, as `run()` sends it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run()
    (sql,) = [q["sql"] for q in queries.captured_queries if f'JOIN "{R}"' in q["sql"]]
    assert JOIN_ON_TIME in sql, sql
    return sql


def queries() -> list[tuple[str, str]]:
    """(label, SQL) of the pages that read cases with their opening responses."""
    from django.http import QueryDict
    from django.utils import timezone

    from accounts.models import User
    from cases import keyset
    from cases.filtersets import inbox_filterset
    from cases.selectors import case_get_for_user, case_list_for_user, with_inbox_order
    from cases.views.inbox import row_queryset

    manager = User.objects.get(username="bench_manager")
    agent = User.objects.filter(memberships__isnull=False).order_by("pk").first()

    def inbox(user):
        filterset = inbox_filterset(user, QueryDict("view=team"))
        assert filterset.is_valid(), filterset.errors
        queryset = row_queryset(filterset)
        return lambda: keyset.paginate(queryset, size=PAGE)

    reference = case_list_for_user(manager).order_by("-created_at").values_list("reference", flat=True)[500]
    api = with_inbox_order(case_list_for_user(manager).select_related("response__survey", "sla_policy"),
                           timezone.now())
    return [
        (f"Inbox, team view, first page of {PAGE}: an agent (one team)", _sql_of(inbox(agent))),
        (f"Inbox, team view, first page of {PAGE}: a manager (5 teams)", _sql_of(inbox(manager))),
        ("Case page: the case with its response, survey, customer, team (cases.selectors.case_get_for_user)",
         _sql_of(lambda: case_get_for_user(manager, reference))),
        (f"API /api/v1/cases/: a page of {PAGE}, manager (CaseViewSet.get_queryset)",
         _sql_of(lambda: list(api[:PAGE]))),
    ]


def _explain(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        plan = "\n".join(row for (row,) in cursor.fetchall())
    ms = {key: float(re.search(rf"^{key} Time: ([\d.]+) ms", plan, re.MULTILINE)[1])
          for key in ("Planning", "Execution")}
    read = sorted({name for name, rest in re.findall(rf" on ({R}_\w+) \w+\s+(.*)$", plan, re.MULTILINE)
                   if "never executed" not in rest})
    return {"plan": plan, "planning_ms": ms["Planning"], "execution_ms": ms["Execution"], "read": read}


def _partitions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", [R])
        return cursor.fetchone()[0]


def child(n_responses: int, repeat: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.reports_data import fill
    from cases import response_keys
    from core import partitions

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:  # the past year's months (the migration made the coming ones)
        this_month = partitions.month_start(datetime.date.today())
        for n in range(-13, 1):
            partitions.create_partition(cursor, R, "answered_at", partitions.add_months(this_month, n))
    filled = fill(n_responses)
    connection.set_autocommit(True)
    with connection.cursor() as cursor:  # as cases 0028 finds them: no copy yet (the fill made them)
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE cases_case SET response_answered_at = NULL")
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("VACUUM cases_case")
    out = []
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_start = _load()
        started = time.monotonic()
        response_keys.install()  # cases 0028's forward function: the triggers, then every case filled
        install_seconds = time.monotonic() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE cases_case")
        for label, sql in queries():
            before_sql = sql.replace(JOIN_ON_TIME, "")
            _explain(sql), _explain(before_sql)  # warm
            runs = {"before": [], "after": []}
            for _ in range(repeat):
                runs["before"].append(_explain(before_sql))
                runs["after"].append(_explain(sql))
            row = {"label": label}
            for key, measured in runs.items():
                row[key] = {"planning_ms": statistics.median(m["planning_ms"] for m in measured),
                            "execution_ms": statistics.median(m["execution_ms"] for m in measured),
                            "read": measured[-1]["read"], "plan": measured[-1]["plan"]}
            out.append(row)
        load_end = _load()
    return {"responses": n_responses, "cases": filled.get("cases"), "fill_seconds": filled.get("seconds", 0),
            "install_seconds": install_seconds, "partitions": _partitions(), "repeat": repeat,
            "queries": out, "load_start": load_start, "load_end": load_end}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_partition_joins", description=__doc__)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.responses, args.repeat)))
        return 0
    child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, CACHE_KEY_PREFIX="closeloop-bench-partition-joins")
    figures = child_process.run("bench.bench_partition_joins",
                                ["--responses", str(args.responses), "--repeat", str(args.repeat)],
                                database=DB_NAME, timeout=60 * 60, env=env, keep=args.keep)
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
