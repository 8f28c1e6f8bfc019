"""The journey map's figures and the case keys it reads (cases.response_keys) on SQLite, the
database of the embedded demo (`make run`): their tests again, in a process whose database is a
SQLite file. There the triggers are SQLite's and the median to close is computed in Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_journey_figures_are_the_same_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'closeloop.sqlite3'}", TEST_DB_NAME=str(tmp_path / "test.sqlite3"))
    result = subprocess.run(
        # --reuse-db keeps the test database file, which shows the run really used SQLite.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--reuse-db", "tests/journeys/test_selectors.py",
         "tests/cases/test_response_keys.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
    assert (tmp_path / "test.sqlite3").exists()
