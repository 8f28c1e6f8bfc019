"""The parts of the suite that SQL touches differently run again on SQLite, the database of the
embedded demo (`make run`), in one process whose database is a SQLite file: tests/sqlite_suite.py
says which, and what each checks there."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from tests.sqlite_suite import SUITES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_sqlite_suites_pass_on_a_sqlite_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'closeloop.sqlite3'}", TEST_DB_NAME=str(tmp_path / "test.sqlite3"))
    report = tmp_path / "report.xml"
    result = subprocess.run(
        # --reuse-db keeps the test database file, which shows the run really used SQLite.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--reuse-db",
         "-p", "tests.sqlite_suite", "-m", "not slow and not browser", f"--junitxml={report}", *SUITES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=840,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert (tmp_path / "test.sqlite3").exists()
    # Every part ran, and none of its tests was skipped there.
    passed: Counter = Counter()
    skipped = []
    for case in ET.parse(report).getroot().iter("testcase"):
        path = case.get("classname", "").split(".")
        where = next((p for p in SUITES if "/".join(path).startswith(p.removesuffix(".py"))), None)
        if case.find("skipped") is not None:
            skipped.append(f"{case.get('classname')}::{case.get('name')}")
        elif where is not None:
            passed[where] += 1
    assert skipped == []
    assert [p for p in SUITES if passed[p] == 0] == []
