"""One stack per session (database created and migrated once); every test starts from empty
data tables, a fresh Redis and no processes, and leaves its figures in FIGURES. A script that
fails prints the end of every log of its processes, PgBouncer's and PostgreSQL's, and the run
keeps them all in its work directory (FAULTS_KEEP_LOGS=1 keeps them after a good run too)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench.faults.harness import Stack, make_workdir

FIGURES_FILE = Path(__file__).resolve().parents[2] / "docs" / "reliability_figures.json"


@pytest.fixture(scope="session")
def _stack(request):
    workdir = make_workdir()
    stack = Stack(workdir)
    stack.create_database()
    yield stack
    stack.stop_processes()
    stack.stop_redis()
    failed = request.session.testsfailed
    if failed:
        stack.keep_service_logs()
    stack.drop_database()
    if failed or os.environ.get("FAULTS_KEEP_LOGS"):
        print(f"\nfault logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def stack(_stack, request):
    _stack.proxy.restore()  # the primary reachable again if the last script cut it
    _stack.reset_data()
    _stack.start_redis()
    first_log = len(_stack.logs)
    yield _stack
    reports = [getattr(request.node, f"rep_{when}", None) for when in ("setup", "call")]
    if any(report is not None and report.failed for report in reports):
        print(f"the logs are kept in {_stack.workdir}; the end of this script's:")
        print(_stack.tail_logs(since=first_log))
    _stack.stop_processes()
    _stack.stop_redis()


@pytest.fixture
def pages(stack):
    """For a script that renders pages: with DEBUG off their static URLs come from the manifest
    collectstatic writes (once per run)."""
    stack.static_collected()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


_figures: dict = {}


@pytest.fixture
def figures(request):
    """Record a test's measured figures; written to docs/reliability_figures.json at the end."""
    entry: dict = {}
    yield entry
    _figures[request.node.name] = entry


def pytest_sessionfinish(session, exitstatus):
    if not _figures:
        return
    existing = json.loads(FIGURES_FILE.read_text()) if FIGURES_FILE.exists() else {}
    existing.update(_figures)
    FIGURES_FILE.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
