"""CSV import and bulk upsert benchmark: rows per second through the doors a CX admin uses.

    DEBUG=1 .venv/bin/python -m bench.bench_imports [--rows N] [--existing N] [--keep]

What it does, in its own PostgreSQL database `closeloop_bench_imports` (created, migrated, filled
and dropped; never the test or dev database):
- M existing customers (default 100,000), generated with SQL generate_series;
- a CSV file of N rows (default 20,000): half name existing customers by external id (their tier
  changes), half are new customers with an e-mail, a phone and two extra columns;
- POST /api/v1/imports/ with that file through Django's test Client, the import run by the
  worker's code in the same process (CELERY_TASK_ALWAYS_EAGER): the whole file, upload to done;
- the same file again (every row unchanged);
- POST /api/v1/customers/bulk/ with arrays of 1,000 objects, 5 calls;
- the peer: the delivery path's one-row-at-a-time `customer_find_or_create` (plus its identities)
  over 2,000 rows of the same shape, which is what an import written row by row would cost.
The measuring runs in a child process whose DATABASE_URL points at the bench database."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

from bench import child as child_process
from bench.bench_inbox import _insert_select, _postgres_version, _reset_sequence
from bench.machine import describe as _machine
from bench.machine import write_figures

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_imports"
DOC = ROOT / "docs" / "benchmarks_imports.md"
CHILD_TIMEOUT = 14 * 60
BULK_CALLS, BULK_ITEMS, PEER_ROWS = 5, 1000, 2000



def _csv(rows: int, existing: int, offset: int = 0) -> bytes:
    lines = ["Customer ID,E-mail,Name,Phone,Tier,Region,Industry"]
    for n in range(rows):
        if n % 2 == 0 and n // 2 < existing:
            lines.append(f"c{n // 2 + 1},,,,Platinum,,")
        else:
            k = offset + n
            lines.append(f"new-{k},new{k}@example.com,New Customer {k},+4477009{k % 100000:05d},Gold,North,Retail")
    return ("\n".join(lines) + "\n").encode()


def child(rows: int, existing: int) -> dict:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Role, User
    from imports.models import ImportJob
    from surveys.models import Customer
    from surveys.normalized import CustomerIdentity
    from surveys.services.customers import customer_find_or_create

    call_command("migrate", verbosity=0, interactive=False)
    _insert_select(Customer, {
        "id": "i", "external_id": "'c' || i", "email": "'customer' || i || '@example.com'", "name": "'Customer ' || i",
        "phone": "''", "tier": "'Gold'", "segment": "'Retail'", "attributes": "'{}'::jsonb",
        "contact_consent": "'{}'::jsonb", "contact_opt_out": "false", "created_at": "now()", "updated_at": "now()",
    }, f"generate_series(1, {existing}) AS i")
    _reset_sequence(Customer)
    admin = User.objects.create(username="admin01", role=Role.ADMIN, email="admin01@example.com")
    client = Client()
    client.force_login(admin)
    content = _csv(rows, existing)

    def upload() -> tuple[float, dict]:
        started = time.perf_counter()
        answer = client.post("/api/v1/imports/", {"kind": "customers", "file": SimpleUploadedFile("crm.csv", content)})
        seconds = time.perf_counter() - started
        assert answer.status_code == 201, answer.content[:500]
        job = ImportJob.objects.get(pk=answer.json()["id"])
        assert job.status == "done", job.message
        return seconds, {"created": job.rows_created, "updated": job.rows_updated, "unchanged": job.rows_unchanged,
                         "failed": job.rows_failed}

    first_s, first = upload()
    second_s, second = upload()
    bulk_s = 0.0
    for call in range(BULK_CALLS):
        items = [{"external_id": f"bulk-{call}-{n}", "email": f"bulk{call}x{n}@example.com", "tier": "Silver",
                  "plan": "pro"} for n in range(BULK_ITEMS)]
        started = time.perf_counter()
        answer = client.post("/api/v1/customers/bulk/", items, content_type="application/json")
        bulk_s += time.perf_counter() - started
        assert answer.status_code == 200 and answer.json()["created"] == BULK_ITEMS
    from customers.services import identities_record

    started = time.perf_counter()
    for n in range(PEER_ROWS):
        identity = (CustomerIdentity(external_id=f"c{n // 2 + 1}", tier="Diamond") if n % 2 == 0 else
                    CustomerIdentity(external_id=f"peer-{n}", email=f"peer{n}@example.com", name=f"Peer {n}",
                                     phone=f"+4477008{n:05d}", tier="Gold", attributes={"Region": "North"}))
        customer = customer_find_or_create(identity)
        identities_record(customer_id=customer.pk, source_id=None, identity=identity)
    peer_s = time.perf_counter() - started
    return {"rows": rows, "existing": existing, "first_s": first_s, "first": first, "second_s": second_s,
            "second": second, "bulk_s": bulk_s, "peer_s": peer_s, "load": os.getloadavg()[0]}


def report(f: dict) -> str:
    rate = lambda n, s: f"{n / s:,.0f}"  # noqa: E731
    bulk_items = BULK_CALLS * BULK_ITEMS
    lines = [
        f"## Customer imports: {f['rows']:,} CSV rows into {f['existing']:,} customers", "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}; PostgreSQL {_postgres_version()}; load average "
        f"{f['load']:.1f} (2 cores shared). Through Django's test Client in-process, the import run by the worker's "
        "code in the same process (upload to done).", "",
        "| what | rows | seconds | rows per second | outcome |", "|---|---:|---:|---:|---|",
        f"| CSV file, first import (POST /api/v1/imports/) | {f['rows']:,} | {f['first_s']:.1f} | "
        f"{rate(f['rows'], f['first_s'])} | {f['first']['created']:,} created, {f['first']['updated']:,} updated, "
        f"{f['first']['failed']} failed |",
        f"| the same file again | {f['rows']:,} | {f['second_s']:.1f} | {rate(f['rows'], f['second_s'])} | "
        f"{f['second']['unchanged']:,} unchanged, {f['second']['created']} created |",
        f"| POST /api/v1/customers/bulk/, {BULK_CALLS} calls of {BULK_ITEMS:,} | {bulk_items:,} | {f['bulk_s']:.1f} | "
        f"{rate(bulk_items, f['bulk_s'])} | all created |",
        f"| peer: one row at a time (customer_find_or_create + identities) | {PEER_ROWS:,} | {f['peer_s']:.1f} | "
        f"{rate(PEER_ROWS, f['peer_s'])} | half updated, half created |",
        "", "Command: `python -m bench.bench_imports --rows N --existing M`.",
    ]
    return "\n".join(lines) + "\n"


def run(args=None) -> str:
    rows = getattr(args, "rows", None) or 20_000
    existing = getattr(args, "existing", None) or 100_000
    child_process.recreate(DB_NAME)
    env = child_process.environment(DB_NAME, **child_process.CLIENT)
    figures = child_process.run("bench.bench_imports", ["--rows", str(rows), "--existing", str(existing)],
                                database=DB_NAME, timeout=CHILD_TIMEOUT, env=env, keep=getattr(args, "keep", False))
    text = report(figures)
    write_figures(DOC, text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_imports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.rows, args.existing), default=str))
        return 0
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
