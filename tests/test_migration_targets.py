"""An installation upgraded from an older release stops at some migration, not at the newest: the
migrations that build the reporting rollups run today's code (reporting.rollups, .followups,
.theme_rollup read the case columns of the current model), so each must depend on the migrations
that add what that code reads. Migrating a fresh database to exactly such a migration, and no
further, shows a missing dependency as the error an upgrading operator would meet
(`column c.answered_again_nps does not exist` before reporting 0003 depended on cases 0021,
`no such column: cases_case.response_answered_at` before 0007 depended on cases 0028)."""

from __future__ import annotations

import os
import shutil
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
    ("reporting", "0013_coverage_triggers_skip_unchanged"),  # the coverage triggers, from today's trigger_sql
    # The score totals with the counts they had then (score_totals.TOTALS): reporting 0020 added one.
    ("reporting", "0016_score_totals_low_scores"),
    ("reporting", "0023_contact_peaks"),  # the breaches again, with the peaks and their triggers
]


def _plans():
    """For each target, the migrations a fresh database applies to reach exactly it, and the
    target before it (if any) whose migrations are all among them: migrating a copy of that
    target's database the rest of the way applies the same migrations a fresh database would,
    without applying the shared ones again (one full migrate instead of six)."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    needs = {target: set(graph.forwards_plan(target)) for target in REBUILDS}
    ordered = sorted(REBUILDS, key=lambda target: len(needs[target]))
    plans = []
    for i, target in enumerate(ordered):
        inside = [earlier for earlier in ordered[:i] if needs[earlier] <= needs[target]]
        base = max(inside, key=lambda earlier: len(needs[earlier]), default=None)
        plans.append((target, base, needs[target] - (needs[base] if base else set())))
    return plans


@pytest.mark.slow
def test_a_database_migrated_only_that_far_builds_its_rollups(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["DEBUG"] = "1"
    for (app, migration), base, expected in _plans():
        database = tmp_path / f"{app}-{migration}.sqlite3"
        if base:
            shutil.copyfile(tmp_path / f"{base[0]}-{base[1]}.sqlite3", database)
        # --skip-checks: the system checks (settings, URLs; none reads the database) took 1.7 s of
        # each of these seven processes' 3 s of start; the suite runs them elsewhere, and what is
        # checked here is the migrations.
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--skip-checks", app, migration], cwd=ROOT,
                              env={**env, "DATABASE_URL": f"sqlite:///{database}"},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{app}.{migration}: " + done.stdout[-3000:] + done.stderr[-3000:]
        applied = {tuple(line.split()[1].removesuffix("...").split(".", 1)) for line in done.stdout.splitlines()
                   if line.strip().startswith("Applying ")}
        # Exactly what a fresh database migrated to the target applies, and nothing newer.
        assert applied == expected, (app, migration, sorted(applied ^ expected))
