"""The one recording path on SQLite, the database of the embedded setup (`make run`): the
recording tests again, in a process whose database is a SQLite file. A batch is recorded in one
transaction there too (core.unit_of_work); only the statements SQLite lacks differ (ids from
sqlite_sequence, multi-row INSERTs for COPY, one UPDATE per delivery for unnest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# These count PostgreSQL's statements (COPY, UPDATE ... FROM VALUES, unnest), or take more rows
# than asked for (FOR UPDATE SKIP LOCKED): PostgreSQL only.
POSTGRESQL_ONLY = ("costs_a_few_statements or learns_about_known_customers or tops_its_batch_up "
                   "or two_workers")


@pytest.mark.slow
def test_batches_are_recorded_the_same_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'closeloop.sqlite3'}", TEST_DB_NAME=str(tmp_path / "test.sqlite3"))
    result = subprocess.run(
        # --reuse-db keeps the test database file, which shows the run really used SQLite.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--reuse-db",
         "tests/surveys/test_recording_contract.py", "tests/surveys/test_batch_transaction.py",
         "tests/surveys/test_batch_processing.py", "tests/surveys/test_processing.py",
         "-k", f"not ({POSTGRESQL_ONLY})"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
    assert (tmp_path / "test.sqlite3").exists()
