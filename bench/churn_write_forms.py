"""The two forms of a churn scoring range's write on PostgreSQL, side by side: the array statement
PostgreSQL uses (churn.scoring._write_arrays) and the portable row-by-row pair SQLite uses
(churn.scoring._write_rows), each writing one range of 20,000 customers' risks, reasons and
copies, alternately, three times each. Printed, not written to a docs page: the figure that says
why PostgreSQL keeps its own form (docs/churn-risk.md, notes of docs/benchmarks_churn.md).

    DEBUG=1 .venv/bin/python -m bench.churn_write_forms

In its own database `closeloop_bench_churnsqlite_write` (created, migrated, dropped); the timed
part under the shared bench lock."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "closeloop_bench_churnsqlite_write"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
LOCK = "/tmp/bench.lock"
ROWS = 20_000


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def child() -> dict:
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.utils import timezone

    from churn.models import ChurnModel
    from churn.features import CUSTOMER
    from churn.scoring import _TABLES, _write_arrays, _write_rows
    from surveys.models import Customer

    call_command("migrate", verbosity=0, interactive=False)
    Customer.objects.bulk_create([Customer(external_id=f"c{i}") for i in range(ROWS)], batch_size=5_000)
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    model = ChurnModel.objects.create(
        horizon_days=90, train_reference_at=now, reference_at=now, trained_on=0, churns=0, held_out=0,
        held_out_churns=0, base_rate=0.0, parameters={},
    )
    rng = np.random.default_rng(7)
    reason = json.dumps([{"feature": "nps_last", "high": False, "contribution": 0.5}])
    seconds = {"arrays": [], "rows": []}
    load_before = _load()
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for _ in range(3):
                for name, write in (("arrays", _write_arrays), ("rows", _write_rows)):
                    risks = rng.random(len(ids)).tolist()  # new numbers: every customer's copy changes
                    started = time.monotonic()
                    write(_TABLES[CUSTOMER], model.pk, timezone.now(), ids, risks, [reason] * len(ids))
                    seconds[name].append(round(time.monotonic() - started, 2))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return {"rows": len(ids), "seconds": seconds, "load_before": load_before, "load_after": _load()}


def main() -> int:
    if "--child" in sys.argv:
        print(json.dumps(child()))
        return 0
    _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    _admin(f'CREATE DATABASE "{DB_NAME}"')
    try:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME}
        proc = subprocess.run([sys.executable, "-m", "bench.churn_write_forms", "--child"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-3000:] + proc.stderr[-3000:])
        print(proc.stdout.strip().splitlines()[-1])
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
