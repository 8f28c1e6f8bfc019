"""Churn benchmark: training the churn model and scoring 1,000,000 customers.

    DEBUG=1 .venv/bin/python -m bench.bench_churn [--responses N] [--events M] [--keep]

In its own PostgreSQL database `closeloop_bench_churn_main` (created, migrated, filled and dropped;
never the test or dev database): the reports bench's data (bench/reports_data.py: 1,000,000
customers, N responses over the last 365 days, N/10 cases, most closed with a root cause) and
the outcomes bench's M outcome events (bench/bench_outcomes.py: renewals mostly, churn 0.8 %),
generated with SQL generate_series outside the bench lock.

Timed: training (churn.model.train_churn_model: both periods' feature tables, the fit and the
held-out figures) outside the lock, then scoring every customer (churn.scoring.churn_score_all:
features, risk, reasons, the one write statement per range, the stale clean-up and the accounts) under
the shared bench lock (/tmp/bench.lock, what `flock /tmp/bench.lock` takes), with the time of a
bare peer in the same run: the same customers' ids read range by range (the floor any scoring
pays to visit them). Target from the issue: scoring 1,000,000 customers under 10 minutes.
The data's churns are placed by arithmetic, not behaviour: the held-out figures here say nothing
of the method's accuracy; this measures cost."""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import sys
import time
from pathlib import Path

from bench import child as child_process
from bench.machine import describe as _machine
from bench.machine import write_figures

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_churn_main"
DOC = ROOT / "docs" / "benchmarks_churn.md"
LOCK = "/tmp/bench.lock"
TARGET_SECONDS = 600
CHILD_TIMEOUT = 60 * 60




def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _peer_seconds() -> float:
    """Reading every customer's id, range by range, as scoring visits them."""
    from django.db import connection

    from churn.features import id_ranges
    from churn.scoring import STEP

    started = time.monotonic()
    with connection.cursor() as cursor:
        for low, high in id_ranges(STEP):
            cursor.execute(
                "SELECT id FROM surveys_customer WHERE id BETWEEN %s AND %s",
                [low, high],
            )
            cursor.fetchall()
    return time.monotonic() - started


def child(n_responses: int, n_events: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench.bench_outcomes import fill_events
    from bench.reports_data import fill
    from churn.model import train_churn_model
    from churn.scoring import churn_score_all

    call_command("migrate", verbosity=0, interactive=False)
    filled = fill(n_responses)
    events_seconds = fill_events(n_events)
    now = timezone.now()
    load_train = _load()
    started = time.monotonic()
    model, status = train_churn_model(now=now)
    train_seconds = time.monotonic() - started
    if model is None:
        raise RuntimeError(f"no model: {status}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM surveys_customer")
        customers = cursor.fetchone()[0]
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            load_start = _load()
            peer = _peer_seconds()
            started = time.monotonic()
            scored = churn_score_all(model=model, now=now)
            score_seconds = time.monotonic() - started
            load_end = _load()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {
        "responses": n_responses,
        "cases": filled.get("cases", n_responses // 10),
        "events": n_events,
        "customers": customers,
        "fill_seconds": filled.get("seconds", 0) + events_seconds,
        "train_seconds": train_seconds,
        "load_train": load_train,
        "trained_on": model.trained_on,
        "churns": model.churns,
        "held_out": model.held_out,
        "held_out_churns": model.held_out_churns,
        "auc": model.auc,
        "brier": model.brier,
        "features": len(model.parameters["features"]),
        "scored": scored,
        "score_seconds": score_seconds,
        "peer_seconds": peer,
        "load_start": load_start,
        "load_end": load_end,
    }


def report(f: dict) -> str:
    ok = f["score_seconds"] < TARGET_SECONDS
    per_second = f["scored"] / f["score_seconds"] if f["score_seconds"] else 0
    lines = [
        f"## Churn risk: training and scoring {f['customers']:,} customers",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}.",
        f"Data: {f['customers']:,} customers, {f['responses']:,} responses over 365 days, {f['cases']:,} cases, "
        f"{f['events']:,} outcome events (churn 0.8 % of them), all placed by arithmetic on ids and dates, not by "
        "behaviour: the held-out figures below say nothing of the method's accuracy (tests/churn does), this is "
        "a measure of cost; "
        f"generated with SQL generate_series in {f['fill_seconds']:.0f} s, outside the bench lock.",
        "",
        "| what | time | load average (1/5/15 min) |",
        "|---|---:|---|",
        f"| training: both periods' features, fit, held-out figures ({f['trained_on']:,} + {f['held_out']:,} "
        f"customers, {f['features']} features; outside the lock) | {f['train_seconds']:.0f} s | {f['load_train']} |",
        f"| peer: every customer id read range by range (under the lock) | {f['peer_seconds']:.1f} s | "
        f"{f['load_start']} |",
        f"| scoring: {f['scored']:,} customers in the population scored, reasons and both writes, stale "
        f"scores cleared, accounts (under the lock) | {f['score_seconds']:.0f} s | {f['load_start']} before, "
        f"{f['load_end']} after |",
        "",
        f"Held out: AUC {f['auc'] if f['auc'] is None else round(f['auc'], 3)}, Brier "
        f"{f['brier'] if f['brier'] is None else round(f['brier'], 4)} ({f['held_out_churns']:,} churns).",
        f"Result: scoring {'under' if ok else 'NOT under'} the target of {TARGET_SECONDS // 60} minutes "
        f"({per_second:,.0f} customers/s). Customers without an answer in the last year are visited but not "
        "scored (no history to read).",
        "",
        "Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_churn --responses N --events M` (`--keep` keeps the "
        f"`{DB_NAME}` database).",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 2_000_000
    n_events = getattr(args, "events", None) or n_responses * 2 // 5
    keep = getattr(args, "keep", False)
    child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, CACHE_KEY_PREFIX="closeloop-bench-churn")
    figures = child_process.run("bench.bench_churn", ["--responses", str(n_responses), "--events", str(n_events)],
                                database=DB_NAME, timeout=CHILD_TIMEOUT, env=env, keep=keep)
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_churn", description=__doc__)
    parser.add_argument("--responses", type=int, default=2_000_000)
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.responses, args.events or args.responses * 2 // 5)))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
