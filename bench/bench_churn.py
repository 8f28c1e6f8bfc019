"""Churn benchmark: training the churn model and scoring 1,000,000 customers.

    DEBUG=1 .venv/bin/python -m bench.bench_churn [--responses N] [--events M] [--keep]
    DEBUG=1 .venv/bin/python -m bench.bench_churn --responses N --events M --fill-only
    DEBUG=1 .venv/bin/python -m bench.bench_churn --measure-only

In its own PostgreSQL database `closeloop_bench_churn_main` (BENCH_CHURN_DB to name another;
created, migrated, filled and dropped; never the test or dev database; `--fill-only` fills and
keeps it, `--measure-only` measures a kept one, so that generation runs apart from the lock): the
reports bench's data (bench/reports_data.py: 1,000,000 customers, N responses over the last 365
days, N/10 cases, most closed with a root cause), the outcomes bench's M outcome events
(bench/bench_outcomes.py: renewals mostly, churn 0.8 %), and 100,000 accounts of three contacts
each (customers 1..300,000), every second event of a contact naming its account too; generated
with SQL generate_series outside the bench lock.

Timed, each under the shared bench lock (/tmp/bench.lock, what `flock /tmp/bench.lock` takes; the
bench takes it itself, so do not wrap it in `flock`): training (churn.model.train_churn_model: both
periods' feature tables, the fit and the held-out figures, customers and accounts), then scoring
every customer and account (churn.scoring.churn_score_all: features, risk, reasons, the one write
statement per range, the stale clean-up), with the time of a bare peer in the same run: the same
customers' ids read range by range (the floor any scoring pays to visit them). Target from the issue: scoring 1,000,000 customers under 10 minutes.
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
DB_NAME = os.environ.get("BENCH_CHURN_DB", "closeloop_bench_churn_main")
DOC = ROOT / "docs" / "benchmarks_churn.md"
LOCK = "/tmp/bench.lock"
TARGET_SECONDS = 600
CHILD_TIMEOUT = 3 * 60 * 60
ACCOUNTS = 100_000
CONTACTS_PER_ACCOUNT = 3


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


def fill_accounts() -> float:
    """ACCOUNTS accounts of CONTACTS_PER_ACCOUNT contacts each (customers 1..ACCOUNTS x
    CONTACTS_PER_ACCOUNT, customer i in account 1 + (i - 1) % ACCOUNTS), values spread over
    0..99,900; every second outcome event of a contact names the contact's account too, so an
    account's churns are its own events."""
    from django.db import connection

    from bench.reports_data import _bulk_load, _insert_select, _reset_sequence
    from customers.models import Account, Contact

    started = time.monotonic()
    with _bulk_load(Account):
        _insert_select(Account, {
            "id": "a",
            "name": "'Account ' || a",
            "external_id": "'a' || a",
            "value": "((a % 1000) * 100)::numeric",
            "created_at": "now()",
            "updated_at": "now()",
        }, f"generate_series(1, {ACCOUNTS}) AS a")
    _reset_sequence(Account)
    with _bulk_load(Contact):
        _insert_select(Contact, {
            "id": "i",
            "account_id": f"1 + (i - 1) % {ACCOUNTS}",
            "customer_id": "i",
            "role": "(ARRAY['decision_maker','influencer','user'])[1 + (i - 1) / " + str(ACCOUNTS) + "]",
            "created_at": "now()",
        }, f"generate_series(1, {ACCOUNTS * CONTACTS_PER_ACCOUNT}) AS i")
    _reset_sequence(Contact)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE outcomes_outcomeevent SET account_id = 1 + (customer_id - 1) % {ACCOUNTS} "
            f"WHERE customer_id <= {ACCOUNTS * CONTACTS_PER_ACCOUNT} AND id % 2 = 0"
        )
    connection.ensure_connection()
    old_autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE outcomes_outcomeevent")
        cursor.execute("VACUUM ANALYZE customers_account")
        cursor.execute("VACUUM ANALYZE customers_contact")
    connection.set_autocommit(old_autocommit)
    return time.monotonic() - started


class _Lock:
    """The shared bench lock, held while a timed part runs."""

    def __enter__(self):
        self.file = open(LOCK, "w")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def child(n_responses: int, n_events: int, mode: str = "") -> dict:
    """Fill and measure; `mode` "fill" only fills (the fill's figures are kept as a comment on the
    database), "measure" only measures a database an earlier "fill" left."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench.bench_outcomes import fill_events
    from bench.reports_data import fill
    from churn.features import ACCOUNT, CUSTOMER
    from churn.model import train_churn_model
    from churn.scoring import churn_score_all

    call_command("migrate", verbosity=0, interactive=False)  # a kept database takes migrations added since
    if mode == "measure":
        with connection.cursor() as cursor:
            cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           [DB_NAME])
            filled = {**json.loads(cursor.fetchone()[0]), "measured_apart": True}
        n_responses, n_events = filled["responses"], filled["events"]
    else:
        filled = fill(n_responses)
        events_seconds = fill_events(n_events)
        accounts_seconds = fill_accounts()
        filled = {"responses": n_responses, "events": n_events, "cases": filled.get("cases", n_responses // 10),
                  "seconds": filled.get("seconds", 0) + events_seconds + accounts_seconds}
        if mode == "fill":
            with connection.cursor() as cursor:
                cursor.execute(f"COMMENT ON DATABASE \"{DB_NAME}\" IS '{json.dumps(filled)}'")
            return filled
    now = timezone.now()
    figures = {"responses": n_responses, "cases": filled["cases"], "events": n_events,
               "measured_apart": filled.get("measured_apart", False), "fill_seconds": filled["seconds"]}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM surveys_customer")
        figures["customers"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM customers_account")
        figures["accounts"] = cursor.fetchone()[0]
    models = {}
    for subject in (CUSTOMER, ACCOUNT):
        with _Lock():
            load = _load()
            started = time.monotonic()
            model, status = train_churn_model(now=now, subject=subject)
            figures[f"{subject}_train"] = {"seconds": time.monotonic() - started, "load": load, "load_end": _load()}
        if model is None:
            raise RuntimeError(f"no {subject} model: {status}")
        models[subject] = model
        figures[f"{subject}_model"] = {
            "trained_on": model.trained_on, "churns": model.churns, "held_out": model.held_out,
            "held_out_churns": model.held_out_churns, "auc": model.auc, "brier": model.brier,
            "features": len(model.parameters["features"]),
        }
    for subject in (CUSTOMER, ACCOUNT):
        with _Lock():
            load = _load()
            peer = _peer_seconds() if subject == CUSTOMER else None
            started = time.monotonic()
            scored = churn_score_all(model=models[subject], now=now)
            figures[f"{subject}_score"] = {"seconds": time.monotonic() - started, "scored": scored, "peer": peer,
                                           "load": load, "load_end": _load()}
    return figures


def _model_line(kind: str, m: dict) -> str:
    auc = "n/a" if m["auc"] is None else f"{m['auc']:.3f}"
    brier = "n/a" if m["brier"] is None else f"{m['brier']:.4f}"
    return f"{kind}: held out AUC {auc}, Brier {brier} ({m['held_out_churns']:,} churns of {m['held_out']:,})."


def report(f: dict) -> str:
    score, ascore = f["customer_score"], f["account_score"]
    train, atrain = f["customer_train"], f["account_train"]
    cm, am = f["customer_model"], f["account_model"]
    ok = score["seconds"] < TARGET_SECONDS
    per_second = score["scored"] / score["seconds"] if score["seconds"] else 0
    lines = [
        f"## Churn risk: training and scoring {f['customers']:,} customers and {f['accounts']:,} accounts",
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}.",
        f"Data: {f['customers']:,} customers, {f['responses']:,} responses over 365 days, {f['cases']:,} cases, "
        f"{f['events']:,} outcome events (churn 0.8 % of them), {f['accounts']:,} accounts of "
        f"{CONTACTS_PER_ACCOUNT} contacts each (every second event of a contact names the account), all placed by "
        "arithmetic on ids and dates, not by behaviour: the held-out figures below say nothing of the method's "
        "accuracy (tests/churn does), this is a measure of cost; "
        f"generated with SQL generate_series in {f['fill_seconds']:.0f} s, outside the bench lock"
        + (" (by an earlier --fill-only run; measured with --measure-only)." if f.get("measured_apart") else "."),
        "",
        "| what (each under the bench lock) | time | load average (1/5/15 min) before, after |",
        "|---|---:|---|",
        f"| training, customers: both periods' features, fit, held-out figures ({cm['trained_on']:,} + "
        f"{cm['held_out']:,} customers, {cm['features']} features) | {train['seconds']:.0f} s | "
        f"{train['load']}; {train['load_end']} |",
        f"| training, accounts ({am['trained_on']:,} + {am['held_out']:,} accounts) | {atrain['seconds']:.0f} s | "
        f"{atrain['load']}; {atrain['load_end']} |",
        f"| peer: every customer id read range by range | {score['peer']:.1f} s | {score['load']} |",
        f"| scoring, customers: {score['scored']:,} customers in the population scored, reasons and both writes, "
        f"stale scores cleared, open cases' copy | {score['seconds']:.0f} s | {score['load']}; {score['load_end']} |",
        f"| scoring, accounts: {ascore['scored']:,} accounts scored the same way | {ascore['seconds']:.0f} s | "
        f"{ascore['load']}; {ascore['load_end']} |",
        "",
        _model_line("Customers", cm),
        _model_line("Accounts", am),
        f"Result: scoring the customers {'under' if ok else 'NOT under'} the target of {TARGET_SECONDS // 60} "
        f"minutes ({per_second:,.0f} customers/s). Customers without an answer in the last year are visited but not "
        "scored (no history to read).",
        "",
        "Reproduce: `DEBUG=1 .venv/bin/python -m bench.bench_churn --responses N --events M` (`--keep` keeps the "
        "database; BENCH_CHURN_DB names it). On a shared machine fill apart and measure after: `--responses N "
        "--events M --fill-only`, then `--measure-only` (the bench takes /tmp/bench.lock itself around each timed "
        "part).",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    n_responses = getattr(args, "responses", None) or 2_000_000
    n_events = getattr(args, "events", None) or n_responses * 2 // 5
    mode = "fill" if getattr(args, "fill_only", False) else "measure" if getattr(args, "measure_only", False) else ""
    keep = getattr(args, "keep", False) or bool(mode)
    if mode != "measure":
        child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, CACHE_KEY_PREFIX="closeloop-bench-churn")
    figures = child_process.run(
        "bench.bench_churn",
        ["--responses", str(n_responses), "--events", str(n_events), *([f"--{mode}-only"] if mode else [])],
        database=DB_NAME, timeout=CHILD_TIMEOUT, env=env, keep=keep,
    )
    if mode == "fill":
        return f"Filled {DB_NAME}: {json.dumps(figures)}; measure it with --measure-only."
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_churn", description=__doc__)
    parser.add_argument("--responses", type=int, default=2_000_000)
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
