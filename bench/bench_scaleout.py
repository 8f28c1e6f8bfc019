"""Beyond one machine (issue #24 item 6): `python -m bench scaleout`.

On the fault scripts' production-shaped stack (bench/faults/harness.py: a PostgreSQL primary and a
streaming standby of its own, PgBouncer in transaction mode in front of the primary, a Redis of its
own, gunicorn and Celery as real processes), in one run:

1. **Workers, one process to four on separate queues.** A backlog of deliveries is accepted by the
   ingest server while no worker runs; its queue is set aside, the workers are started and
   answer a ping, the queue is put back, and the workers drain it: responses per second from the
   first delivery processed to the last (each one a response, its alert and, for a detractor, a
   case), and until every queue is empty (the notifications the cases set off). Once with one
   worker process consuming every queue, once with four, each `-c 1`: two on `ingest`, one on
   `notifications`, one on `cases,text,reports,celery`.
2. **Reports from the replica, with and without ingest at full rate.** Report requests (the
   reports API and a report page) from one client, their p95, on a quiet stack and while eight
   senders post deliveries as fast as the ingest server takes them and the four workers process
   them. The standby's own statistics show the reports read there.
3. **Growth per response.** Rows, table bytes and index bytes (`pg_table_size`,
   `pg_indexes_size`) of the tables that grow with the responses, after the two backlogs (every
   delivery processed), per response; the table projects them to 100 million responses a year.

The measurement phases hold /tmp/bench.lock (flock), the lock `flock /tmp/bench.lock` takes, in
one hold of about five minutes; starting the stack and the first backlog run outside it. The
second backlog is made inside, after the first phase: a worker tops its batch up with any pending
delivery, so a backlog made earlier would be drained by the first phase. Each wait is bounded.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import os
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks_scaleout.md"
BACKLOG = int(os.environ.get("BENCH_SCALEOUT_BACKLOG", "6000"))
REPORT_REQUESTS = int(os.environ.get("BENCH_SCALEOUT_REPORTS", "40"))
SENDERS = 8
FOUR = ["ingest", "ingest", "notifications", "cases,text,reports,celery"]
REPORTS = {
    "API scores-by-team": "/api/v1/reports/scores-by-team/?date_from=2025-12-01&date_to=2026-12-31",
    "page /reports/scores/": "/reports/scores/?date_from=2025-12-01&date_to=2026-12-31",
}
GROWING = [
    "surveys_webhookdelivery",
    "surveys_surveyresponse",
    "surveys_customer",
    "alerts_alert",
    "cases_case",
    "cases_caseresponse",
    "cases_caseevent",
    "cases_notification",
]
PER_YEAR = 100_000_000


@contextmanager
def bench_lock():
    """The shared measurement lock (/tmp/bench.lock, as `flock /tmp/bench.lock <command>`;
    BENCH_LOCK names another file for a smoke run whose figures are not kept)."""
    with open(os.environ.get("BENCH_LOCK", "/tmp/bench.lock"), "a") as handle:
        waited = time.monotonic()
        fcntl.flock(handle, fcntl.LOCK_EX)
        print(
            f"bench scaleout: lock taken after {time.monotonic() - waited:.0f} s",
            flush=True,
        )
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _send(stack, url: str, prefix: str, n: int, stop: threading.Event | None = None) -> int:
    """POST deliveries from SENDERS threads (each its own session) until `n` are sent or `stop`."""
    import requests

    from bench.faults.harness import response_body

    sent = [0] * SENDERS

    def sender(k: int) -> None:
        session = requests.Session()
        for i in range(k, n, SENDERS):
            if stop is not None and stop.is_set():
                return
            answer = stack.post(
                response_body(f"{prefix}-{i}", nps=i % 11),
                f"{prefix}-{i}",
                session=session,
                url=url,
            )
            assert answer.status_code == 202, answer.status_code
            sent[k] += 1

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        list(pool.map(sender, range(SENDERS)))
    return sum(sent)


def _processed(stack, prefix: str) -> int:
    return stack.scalar(
        "SELECT count(*) FROM surveys_webhookdelivery WHERE delivery_id LIKE %s AND status = 'processed'",
        f"{prefix}-%",
    )


def _workers(stack, queues: list[str]) -> None:
    from bench.faults.harness import wait_for
    from config.celery import app

    for q in queues:
        stack.start_worker(concurrency=1, queues=q)
    wait_for(
        lambda: len(app.control.ping(timeout=0.5)) >= len(queues),
        90,
        0.5,
        "workers answer a ping",
    )


def backlog(stack, ingest_url: str, prefix: str) -> None:
    """BACKLOG deliveries accepted while no worker runs, their queue set aside as `ingest-<prefix>`."""
    import redis

    from bench.faults.harness import wait_for

    _send(stack, ingest_url, prefix, BACKLOG)
    broker = redis.Redis(port=stack.redis_port)
    depths = []

    def settled() -> bool:  # the servers' batching publishers have sent what they hold
        depths.append(broker.llen("ingest"))
        return len(depths) > 2 and depths[-1] == depths[-2] == depths[-3] > 0

    wait_for(settled, 60, 0.5, "backlog queued")
    broker.rename("ingest", f"ingest-{prefix}")


def drain(stack, prefix: str, queues: list[str]) -> dict:
    """The backlog `prefix` drained by worker processes on `queues` (see the module); under the lock."""
    import redis

    from bench.faults.harness import wait_for

    broker = redis.Redis(port=stack.redis_port)
    load_start = _load()
    _workers(stack, queues)
    released = time.monotonic()
    assert broker.renamenx(f"ingest-{prefix}", "ingest"), "a message was published after the backlog was set aside"
    wait_for(lambda: _processed(stack, prefix) >= BACKLOG, 300, 0.25, f"{prefix} backlog processed")
    processed_after = time.monotonic() - released
    wait_for(lambda: stack.queue_depth() == 0, 120, 0.25, "every queue empty")
    drained_after = time.monotonic() - released
    span = float(
        stack.scalar(
            "SELECT extract(epoch FROM max(processed_at) - min(processed_at)) FROM surveys_webhookdelivery "
            "WHERE delivery_id LIKE %s",
            f"{prefix}-%",
        )
    )
    load_end = _load()
    for worker in stack.workers:
        stack.kill_group(worker)
    stack.workers = []
    return {
        "processes": len(queues),
        "queues": queues,
        "deliveries": BACKLOG,
        "span_seconds": round(span, 2),
        "responses_per_second": round((BACKLOG - 1) / span, 1) if span else None,
        "seconds_until_processed": round(processed_after, 1),
        "seconds_until_queues_empty": round(drained_after, 1),
        "until_queues_empty_per_second": round(BACKLOG / drained_after, 1),
        "load": [load_start, load_end],
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _replica_scans(stack) -> int:
    """Scans of any table on the standby: only the reports read there (the scores report reads
    the daily rollup, not the responses)."""
    import psycopg

    with psycopg.connect(stack.pair.replica_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables").fetchone()[0]


def reports(stack, session, label: str) -> dict:
    """REPORT_REQUESTS of each report from one client, after two warm-ups; milliseconds."""
    out = {"label": label}
    for name, path in REPORTS.items():
        for _ in range(2):
            assert session.get(f"{stack.url}{path}", timeout=30).status_code == 200
        times = []
        for _ in range(REPORT_REQUESTS):
            started = time.perf_counter()
            answer = session.get(f"{stack.url}{path}", timeout=30)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.status_code
        out[name] = {
            "p50": round(statistics.median(times), 1),
            "p95": round(_percentile(times, 0.95), 1),
            "max": round(max(times), 1),
        }
    return out


def report_phases(stack, ingest_url: str, session) -> dict:
    """Under the lock; `session` signed in more than REPLICA_READ_YOUR_WRITES_SECONDS ago."""
    from bench.faults.harness import wait_for

    responses = stack.scalar("SELECT count(*) FROM surveys_surveyresponse")
    load_start = _load()
    _workers(stack, FOUR)
    scans = _replica_scans(stack)
    quiet = reports(stack, session, "quiet")
    stop = threading.Event()
    counted = {}

    def ingest():
        counted["sent"] = _send(stack, ingest_url, "full", 10**6, stop)

    sender = threading.Thread(target=ingest)
    before = _processed(stack, "full")
    started = time.monotonic()
    sender.start()
    time.sleep(3)  # the senders and workers at full speed before the first timed report
    loaded = reports(stack, session, "ingest at full rate")
    window = time.monotonic() - started
    processed_in_window = _processed(stack, "full") - before
    stop.set()
    sender.join(60)
    lag = stack.scalar("SELECT coalesce(max(extract(epoch FROM replay_lag)), 0) FROM pg_stat_replication")
    load_end = _load()
    # The standby's statistics reach its views when its backends go idle (at most 10 s later).
    wait_for(lambda: _replica_scans(stack) > scans, 30, 0.5, "the reports' scans on the standby")
    for worker in stack.workers:
        stack.kill_group(worker)
    stack.workers = []
    return {
        "responses": responses,
        "quiet": quiet,
        "loaded": loaded,
        "window_seconds": round(window, 1),
        "accepted_in_window": counted.get("sent", 0),
        "processed_in_window": processed_in_window,
        "replica_scans": int(_replica_scans(stack) - scans),
        "replay_lag_seconds_at_end": float(lag),
        "load": [load_start, load_end],
    }


def growth(stack) -> dict:
    responses = stack.scalar("SELECT count(*) FROM surveys_surveyresponse")
    tables = {}
    for table in GROWING:
        stack.sql(f"ANALYZE {table}")
        rows, data, index = stack.sql(
            f"SELECT count(*), pg_table_size('{table}'), pg_indexes_size('{table}') FROM {table}"
        )[0]
        tables[table] = {"rows": rows, "table_bytes": data, "index_bytes": index}
    return {"responses": responses, "tables": tables}


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def report(f: dict) -> str:
    one, four = f["one"], f["four"]
    efficiency = four["responses_per_second"] / one["responses_per_second"] / 4 if one["responses_per_second"] else 0
    r = f["reports"]
    lines = [
        "## Beyond one machine: workers per queue, reports on the replica, growth",
        "",
        (
            f"Run on {f['date']}. Machine: {f['machine']}. PostgreSQL {f['postgres']} primary and streaming standby "
            "of the bench's own on loopback, PgBouncer (transaction mode, pool 20) in front of the primary, Redis of "
            "its own; gunicorn (ingest server: 2 uvicorn workers; web: 2 workers x 4 threads) and Celery as real "
            "processes (`bench/faults/harness.py`). `python -m bench scaleout` "
            f"(BENCH_SCALEOUT_BACKLOG={BACKLOG}, BENCH_SCALEOUT_REPORTS={REPORT_REQUESTS}); measurement phases "
            "under `/tmp/bench.lock`. Load average (1 / 5 / 15 min) at each phase's start and end in the tables."
        ),
        "",
        "### Celery workers: one process to four on separate queues",
        "",
        (
            f"A backlog of {BACKLOG:,} deliveries (7 in 11 detractors: response, alert and case each; the rest a "
            "response and no case) drained by worker processes, `-c 1` each."
        ),
        "",
        "| workers | responses/s (first to last processed) | until every queue is empty | load (start; end) |",
        "|---|---:|---:|---|",
    ]
    for run, name in (
        (one, "1 process, every queue"),
        (four, "4 processes: " + ", ".join(f"`{q}`" for q in FOUR)),
    ):
        lines.append(
            f"| {name} | **{run['responses_per_second']}** ({run['span_seconds']} s) | "
            f"{run['seconds_until_queues_empty']} s ({run['until_queues_empty_per_second']}/s) | "
            f"{run['load'][0]}; {run['load'][1]} |"
        )
    lines += [
        "",
        (
            f"Scaling efficiency from one process to four: **{efficiency:.0%}** "
            f"({four['responses_per_second'] / one['responses_per_second']:.2f}x the responses/s with 4x the processes). "
            f"The machine has {os.cpu_count()} cores, shared by PostgreSQL, PgBouncer, Redis, the servers and the "
            "workers (and other work: see the load)."
        ),
        "",
        "### Reports from the replica, with and without ingest at full rate",
        "",
        (
            f"{r['responses']:,} responses in the database when the reports ran. Four worker processes as above. "
            f"One client, {REPORT_REQUESTS} requests of each report after 2 warm-ups (ms, as the client sees them). "
            f"The standby ran {r['replica_scans']} scans of the responses table in these phases (its own statistics): "
            "the reports read there."
        ),
        "",
        "| report | quiet p50 | quiet p95 | with ingest p50 | **with ingest p95** | with ingest max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in REPORTS:
        q, loaded = r["quiet"][name], r["loaded"][name]
        lines.append(f"| {name} | {q['p50']} | {q['p95']} | {loaded['p50']} | **{loaded['p95']}** | {loaded['max']} |")
    lines += [
        "",
        (
            f"Ingest while the loaded reports ran: {r['accepted_in_window']:,} deliveries accepted and "
            f"{r['processed_in_window']:,} processed in {r['window_seconds']} s "
            f"({r['processed_in_window'] / r['window_seconds']:.0f} responses/s processed), {SENDERS} senders posting "
            f"as fast as they are answered; replay lag at the end {r['replay_lag_seconds_at_end']:.2f} s. "
            f"Load (start; end): {r['load'][0]}; {r['load'][1]}."
        ),
        "",
        "### Growth per response, and 100 million responses a year",
        "",
        (
            f"Measured with `pg_table_size` (heap and TOAST) and `pg_indexes_size` on this run's database: "
            f"{f['growth']['responses']:,} responses, every row made by the product's own pipeline (webhook -> "
            "response -> alert -> case). Projected linearly to 100,000,000 responses a year "
            "(the per-response ratios are this run's mix: 7 in 11 responses open or join a case)."
        ),
        "",
        (
            "| table | rows per response | bytes per row (table) | bytes per row (indexes) "
            "| rows a year | table a year | indexes a year | a month's partition (table + indexes) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = 0.0
    n = f["growth"]["responses"]
    for table, t in f["growth"]["tables"].items():
        if not t["rows"]:
            continue
        per = t["rows"] / n
        row_bytes, index_bytes = (
            t["table_bytes"] / t["rows"],
            t["index_bytes"] / t["rows"],
        )
        year_rows = per * PER_YEAR
        year_table, year_index = row_bytes * year_rows, index_bytes * year_rows
        total += year_table + year_index
        lines.append(
            f"| `{table}` | {per:.2f} | {row_bytes:,.0f} | {index_bytes:,.0f} | {year_rows:,.0f} | "
            f"{_size(year_table)} | {_size(year_index)} | {_size((year_table + year_index) / 12)} |"
        )
    lines += [
        "",
        (
            f"All of them: **{_size(total)} a year** ({_size(total / 12)} a month) before WAL, backups "
            "and the standby's copy."
        ),
        "",
    ]
    return "\n".join(lines)


def run(args=None) -> str:
    import django

    from bench.faults.harness import Stack, free_port, make_workdir
    from bench.machine import describe, write_figures

    workdir = make_workdir()
    stack = Stack(workdir)
    # A backlog waits minutes in the queue: no re-drive of it while it does (the fault scripts'
    # short intervals would enqueue it twice), and no request logs on the processes' stdout.
    stack.extra_env = {
        "REDRIVE_INTERVAL_SECONDS": "3600",
        "WEBHOOK_REDRIVE_AFTER_SECONDS": "3600",
        "WEBHOOK_PROCESSING_TIMEOUT_SECONDS": "600",
        "CELERY_VISIBILITY_TIMEOUT": "3600",
        "LOG_LEVEL": "WARNING",
    }
    try:
        stack.create_database()
        stack.start_redis()
        os.environ.update(stack.env())
        django.setup()
        stack.static_collected()  # the manager's pages (DEBUG off) take their static URLs from its manifest
        ingest_url = f"http://127.0.0.1:{free_port()}"
        stack.start_server(int(ingest_url.rsplit(":", 1)[1]), workers=2, server="ingest")
        stack.start_web(workers=2)
        figures = {
            "date": datetime.date.today().isoformat(),
            "machine": describe(),
            "postgres": stack.scalar("SHOW server_version").split()[0],
        }
        backlog(stack, ingest_url, "one")
        session = stack.signed_in("bench-manager")  # a sign-in is a write: its reads go to the primary
        time.sleep(11)  # for REPLICA_READ_YOUR_WRITES_SECONDS (10)
        with bench_lock():  # every measurement in one hold (about 5 minutes)
            figures["one"] = drain(stack, "one", ["ingest,cases,notifications,text,reports,celery"])
            print(f"bench scaleout: one process {figures['one']}", flush=True)
            # Only now: a worker tops its batch up with any pending delivery, so a second backlog
            # made before would have been drained by the first phase's worker.
            backlog(stack, ingest_url, "four")
            figures["four"] = drain(stack, "four", FOUR)
            print(f"bench scaleout: four processes {figures['four']}", flush=True)
            figures["growth"] = growth(stack)  # every delivery so far processed: one response each
            figures["reports"] = report_phases(stack, ingest_url, session)
        print(f"bench scaleout: reports {figures['reports']}", flush=True)
    finally:
        stack.stop_processes()
        stack.stop_redis()
        stack.drop_database()
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_scaleout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    print(run())
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
