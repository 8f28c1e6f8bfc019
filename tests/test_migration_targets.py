"""An installation upgraded from an older release stops at some migration, not at the newest: the
migrations that build the reporting rollups run today's code (reporting.rollups, .followups,
.theme_rollup read the case columns of the current model), so each must depend on the migrations
that add what that code reads. Migrating a fresh database to exactly such a migration, and no
further, shows a missing dependency as the error an upgrading operator would meet
(`column c.answered_again_nps does not exist` before reporting 0003 depended on cases 0021,
`no such column: cases_case.response_answered_at` before 0007 depended on cases 0028)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The migrations that call a rollup's rebuild() (today's code) on the way up.
REBUILDS = [
    ("reporting", "0003_closure_rollup_recovery"),
    ("reporting", "0007_answer_follow_ups"),
    ("reporting", "0009_theme_rollup"),
    # These two recreate the score rollup's triggers (and 0021 rebuilds it) with the columns it had
    # then (surveys.rollups.ROLLUP_COUNTS_0021): surveys 0024 added two.
    ("surveys", "0021_score_rollup_comments_and_sentiment"),
    ("reporting", "0010_triggers_replan_large_updates"),
    ("reporting", "0012_contact_breaches"),  # the Contact report's stored breaches, from today's flags_sql
]


@pytest.mark.slow
@pytest.mark.parametrize(("app", "migration"), REBUILDS)
def test_a_database_migrated_only_that_far_builds_its_rollups(tmp_path, app, migration):
    database = tmp_path / "upgrade.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=f"sqlite:///{database}", DEBUG="1")
    done = subprocess.run([sys.executable, "manage.py", "migrate", app, migration], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    applied = [line.split()[1].removesuffix("...") for line in done.stdout.splitlines()
               if line.strip().startswith("Applying ")]
    assert f"{app}.{migration}" in applied
    # Stopped there: nothing of the app newer than the target was applied.
    assert [name for name in applied if name.startswith(f"{app}.") and name > f"{app}.{migration}"] == []
