"""The demo of a fresh `make run`, which ends by training the churn model, loaded to the end on its
SQLite database: its history has churns enough to learn from, so `make run` opens with a model
and risk on customers. (The churn tests themselves run again on SQLite with tests/test_sqlite.py.)"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tests.demo_stack import clean_env

ROOT = Path(__file__).resolve().parents[2]


_PANEL = """
from churn.panels import customer_panel
from surveys.models import Customer
print(customer_panel(None, Customer.objects.filter(churn_risk__isnull=False).order_by("pk").first()))
"""


@pytest.mark.slow
def test_a_fresh_make_run_loads_the_whole_demo_with_a_churn_model_on_sqlite(demo_stack):
    """The session's fresh `make run` (tests/demo_stack.py) loaded the demo on its SQLite database
    to the end. Other tests on the stack may have added to its data before this one runs, so the
    counts are lower bounds; the load's own figures come from its setup.log."""
    setup_log = (demo_stack.var / "log" / "setup.log").read_text()
    # How many of the 1,500 answers open a case depends a little on the day the demo is loaded
    # (its history is dated back from today, and due times fall in business hours): read it.
    opened = re.search(r"Cases: (\d+) from 1500 responses", setup_log)
    outcomes = re.search(r"Outcomes: \d+ earlier answers \((\d+) cases\)", setup_log)
    assert opened and outcomes, setup_log[-2000:]
    assert 250 <= int(opened[1]) <= 400
    assert "Churn model trained (held-out AUC" in setup_log
    assert "Demo data loaded." in setup_log

    with closing(sqlite3.connect(f"file:{demo_stack.var / 'closeloop.sqlite3'}?mode=ro", uri=True)) as db:
        # The demo's cases + the outcomes step's (and whatever the other tests on the stack sent it since)
        assert db.execute("SELECT count(*) FROM cases_case").fetchone()[0] >= int(opened[1]) + int(outcomes[1])
        assert db.execute("SELECT count(*) FROM surveys_surveyresponse").fetchone()[0] >= 1500
        # The demo's history has churns enough to train on (docs/churn-risk.md: 20 in the training
        # period, 5 in the held-out one at least): a model, and customers with a risk.
        churns, held_out_churns = db.execute("SELECT churns, held_out_churns FROM churn_churnmodel").fetchone()
        assert churns >= 20 and held_out_churns >= 5
        scored = db.execute("SELECT count(*) FROM surveys_customer WHERE churn_risk IS NOT NULL").fetchone()[0]
        assert scored >= 500
        # Every trigger the migrations create is still there at the end, including those on the
        # tables later migrations rebuilt (SQLite drops a rebuilt table's triggers: core/sqlite).
        triggers = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'").fetchall())
        assert {name: triggers.get(name) for name in (
            "surveys_scorerollup_insert", "surveys_scorerollup_update", "surveys_scorerollup_delete",
            "reporting_closurerollup_insert", "reporting_closurerollup_update", "reporting_closurerollup_response",
            "reporting_coverage_surveyresponse_insert", "reporting_coverage_case_insert",
            "cases_case_response_keys_insert", "cases_case_follow_response", "reporting_scoretotal_insert",
            "reporting_locationtotal_insert", "reporting_segmentrollup_insert", "reporting_followup_surveyresponse_insert", "reporting_followup_case_update",
            "reporting_followup_outcomeevent_insert")} == {
            "surveys_scorerollup_insert": "surveys_surveyresponse", "surveys_scorerollup_update": "surveys_surveyresponse",
            "surveys_scorerollup_delete": "surveys_surveyresponse", "reporting_closurerollup_insert": "cases_case",
            "reporting_closurerollup_update": "cases_case", "reporting_closurerollup_response": "surveys_surveyresponse",
            "reporting_coverage_surveyresponse_insert": "surveys_surveyresponse",
            "reporting_coverage_case_insert": "cases_case", "cases_case_response_keys_insert": "cases_case",
            "cases_case_follow_response": "surveys_surveyresponse",
            "reporting_scoretotal_insert": "surveys_surveyresponse",
            "reporting_locationtotal_insert": "surveys_surveyresponse",
            "reporting_segmentrollup_insert": "surveys_surveyresponse",
            "reporting_followup_surveyresponse_insert": "surveys_surveyresponse",
            "reporting_followup_case_update": "cases_case", "reporting_followup_outcomeevent_insert": "outcomes_outcomeevent"}
        # and they did their work on the demo's answers: the score rollup equals a direct count.
        assert db.execute("SELECT sum(nps_n) FROM surveys_scorerollup").fetchone() == db.execute(
            "SELECT count(*) FROM surveys_surveyresponse WHERE nps IS NOT NULL").fetchone()

    # The customer page's churn panel, as `make manage ARGS="shell ..."` in a second terminal.
    panel = subprocess.run([sys.executable, "manage.py", "shell", "-c", _PANEL], cwd=ROOT,
                           env=clean_env(demo_stack.var), capture_output=True, text=True, timeout=120)
    assert panel.returncode == 0, panel.stderr[-3000:]
    assert 'id="churn-score"' in panel.stdout
    assert 'id="churn-accuracy"' in panel.stdout
    assert 'id="churn-why-not"' not in panel.stdout
