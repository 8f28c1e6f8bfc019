"""The churn tests again on SQLite, the database of `make run` (features with window functions and
FILTER, the datetimes SQLite hands back as text, the row-by-row upsert of the scores), and the
demo, which ends by training the churn model, loaded to the end on a fresh SQLite database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sqlite_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'closeloop.sqlite3'}", TEST_DB_NAME=str(tmp_path / "test.sqlite3"))
    return env


@pytest.mark.slow
def test_the_churn_tests_pass_on_sqlite(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--reuse-db",
         "tests/churn", "-m", "not slow and not browser"],
        cwd=ROOT, env=_sqlite_env(tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


_PANEL = """
from churn.panels import customer_panel
from surveys.models import Customer
print(customer_panel(None, Customer.objects.order_by("pk").first()))
"""


@pytest.mark.slow
def test_load_demo_completes_on_a_fresh_sqlite_database(tmp_path):
    env = _sqlite_env(tmp_path)
    env.update(DEBUG="1", CLOSELOOP_ENCRYPTION_KEYS="YmVuY2gtYW5kLWZhdWx0cy1lbmNyeXB0aW9uLWtleSE=")  # as `make run` sets them
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "-v0"], ["load_demo"]):
        result = subprocess.run(manage + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-4000:]
    assert "Cases: 318 from 1500 responses" in result.stdout
    assert "Demo data loaded." in result.stdout

    with sqlite3.connect(tmp_path / "closeloop.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM cases_case").fetchone() == (385,)  # 318 + the outcomes step's
        assert db.execute("SELECT count(*) FROM surveys_surveyresponse").fetchone()[0] >= 1500
        # The demo's history has too few churns to train on (the same on PostgreSQL): no model, no score.
        assert db.execute("SELECT count(*) FROM churn_churnmodel").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM surveys_customer WHERE churn_risk IS NOT NULL").fetchone() == (0,)

    panel = subprocess.run(manage + ["shell", "-c", _PANEL], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert panel.returncode == 0, panel.stderr[-3000:]
    assert 'id="churn-why-not"' in panel.stdout
    assert "No churn risk yet: too few churns to learn from" in panel.stdout
