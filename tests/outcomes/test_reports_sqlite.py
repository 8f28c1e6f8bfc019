"""The closed-loop results and impact statements on SQLite, the database of `make run`: the same
direct-computation tests as on PostgreSQL (window functions, FILTER-free aggregates, the ORM's
date arithmetic, the datetimes and decimals SQLite hands back), on a fresh SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_results_and_impact_tests_pass_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'closeloop.sqlite3'}", TEST_DB_NAME=str(tmp_path / "test.sqlite3"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/outcomes/test_reports_sql.py", "tests/outcomes/test_reports.py", "-m", "not slow and not browser"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout and "error" not in result.stdout
