"""The one SLA sweep on SQLite, the database of the embedded demo (`make run`): the sweep's
tests again, in a process whose database is a SQLite file. The statements differ from
PostgreSQL's only where SQLite's SQL must (no UPDATE inside WITH, no interval, its JSON)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_sweep_records_the_same_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'closeloop.sqlite3'}", TEST_DB_NAME=str(tmp_path / "test.sqlite3"))
    result = subprocess.run(
        # --reuse-db keeps the test database file, which shows the run really used SQLite.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--reuse-db", "tests/cases/test_sla_sweep.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
    assert (tmp_path / "test.sqlite3").exists()
