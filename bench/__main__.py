"""`make bench`: run every bench/bench_*.py module and write docs/benchmarks.md.

Each module has `run(args) -> str` returning a Markdown section with its figures, the machine,
the data size and the date. `python -m bench webhooks inbox` runs only those modules.
Benchmarks use their own PostgreSQL databases (never the test or dev database) and are bounded
in time; the whole run takes tens of minutes on a 2-core machine."""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

from bench.machine import describe as machine

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"


AREAS = [
    ("webhooks", "Webhook acceptance (issue: ingestion)"),
    ("rules", "Alert rule evaluation"),
    ("cases", "Overdue sweep and end to end"),
    ("inbox", "Inbox at 1,000,000 cases"),
    ("reports", "Manager reports at 10,000,000 responses"),
    ("text", "Sentiment and theme tagging"),
    ("suggest", "Root-cause suggestion accuracy and cost"),
    ("live", "Live updates: 500 open inboxes on one web process"),
    ("customers", "Customer and account pages"),
    ("contact_policy", "Contact-policy endpoint at 200 requests/s"),
    ("concurrency", "Agents, managers and webhooks at once, beside django-helpdesk"),
    ("imports", "CSV imports and bulk upserts"),
    ("outcomes", "Closed-loop results and impact"),
    ("journeys", "Journey map"),
    ("churn", "Churn risk: training and scoring 1,000,000 customers"),
    ("partitions", "Partitioned history: conversion and partition pruning"),
    ("scaleout", "Beyond one machine: workers per queue, reports on the replica, growth"),
]


def assemble() -> None:
    """docs/benchmarks.md: every area's last figures (docs/benchmarks_<area>.md, written by its
    module on each run) in one page, so a partial run keeps the other areas' figures."""
    parts = [
        "# Benchmarks\n",
        f"Assembled by `make bench` on {datetime.date.today().isoformat()} from each area's last run.",
        f"Machine of this assembly: {machine()}. Each section states the machine, the load, the",
        "data size and the date of its own run; the machine is shared (2 cores), so each figure is",
        "given with the load average it ran under. Run one area with `python -m bench <area>`",
        "(areas: " + ", ".join(a for a, _ in AREAS) + ").\n",
    ]
    for area, _title in AREAS:
        path = DOC.parent / f"benchmarks_{area}.md"
        if path.exists():
            parts.append(path.read_text().strip() + "\n")
    DOC.write_text("\n".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="module names without the bench_ prefix")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("CLOSELOOP_ENCRYPTION_KEYS", "YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=")
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if args.only:
        names = [n for n in names if n.removeprefix("bench_") in args.only]
    for name in names:
        started = time.monotonic()
        print(f"bench: running {name} ...", flush=True)
        module = importlib.import_module(f"bench.{name}")
        module.run(args)  # writes docs/benchmarks_<area>.md
        print(f"bench: {name} done in {time.monotonic() - started:.0f} s", flush=True)
    assemble()
    print(f"bench: wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
