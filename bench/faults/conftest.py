"""One stack per session (database created and migrated once); every test starts from empty
data tables, a fresh Redis and no processes, and leaves its figures in FIGURES."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench.faults.harness import Stack, make_workdir

FIGURES_FILE = Path(__file__).resolve().parents[2] / "docs" / "reliability_figures.json"


@pytest.fixture(scope="session")
def _stack():
    workdir = make_workdir()
    stack = Stack(workdir)
    stack.create_database()
    yield stack
    stack.stop_processes()
    stack.stop_redis()
    stack.drop_database()
    if not os.environ.get("FAULTS_KEEP_LOGS"):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"fault logs kept in {workdir}")


@pytest.fixture
def stack(_stack, request):
    _stack.proxy.restore()  # the primary reachable again if the last script cut it
    _stack.reset_data()
    _stack.start_redis()
    yield _stack
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(_stack.tail_logs())
    _stack.stop_processes()
    _stack.stop_redis()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
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
