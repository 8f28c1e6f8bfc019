"""The statement triggers that join an UPDATE's old rows to its new ones (the rollups, the
coverage flags, the follow-up marks) stay linear in the rows a statement updates, whatever the
session ran before (core.rollup_triggers.pg_run). PL/pgSQL keeps the plan of a trigger's first
call: after a one-row update it joined the next update's 10,000 old and new rows pair by pair,
and an SLA sweep over 10,000 newly overdue cases spent a minute in three triggers.

The plans are read from auto_explain, whose LOG lines reach this session as notices."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection

from cases.models import Case
from tests.cases.conftest import make_response, open_case

pytestmark = pytest.mark.django_db

ROWS = 500


def _plans_of(statement: str) -> list[str]:
    notices: list[str] = []
    connection.ensure_connection()
    raw = connection.connection
    handler = notices.append
    raw.add_notice_handler(lambda diagnostic: handler(diagnostic.message_primary or ""))
    try:
        with connection.cursor() as cursor:
            for setting in ("LOAD 'auto_explain'", "SET LOCAL auto_explain.log_min_duration = 0",
                            "SET LOCAL auto_explain.log_nested_statements = on", "SET LOCAL auto_explain.log_analyze = on",
                            "SET LOCAL client_min_messages = log"):
                cursor.execute(setting)
            cursor.execute(statement)
            cursor.execute("SET LOCAL client_min_messages = notice")
    finally:
        raw._notice_handlers.clear()
    return notices


def test_a_large_update_after_a_small_one_joins_its_old_and_new_rows_by_hash(personas):
    if connection.vendor != "postgresql":
        pytest.skip("PL/pgSQL statement triggers: PostgreSQL only")
    template = open_case()
    response = make_response(None)
    due = template.first_contact_due
    Case.objects.bulk_create([Case(reference=f"PLAN-{i:05d}", response=response, team=personas.north,
                                   first_contact_due=due, resolution_due=due, value_at_risk=Decimal("0"))
                              for i in range(ROWS)])
    # The session's first call of each trigger: one row, the plan PL/pgSQL keeps.
    Case.objects.filter(pk=template.pk).update(priority="high")
    plans = _plans_of("UPDATE cases_case SET priority = 'urgent' WHERE reference LIKE 'PLAN-%'")
    triggers = [p for p in plans if "new_rows" in p and "old_rows" in p]
    assert len(triggers) >= 3  # the closure rollup, the coverage flags, the follow-up marks
    pairs = [int(n) for p in triggers for n in re.findall(r"Rows Removed by Join Filter: (\d+)", p)]
    assert max(pairs, default=0) < ROWS * 2, pairs  # never the ROWS x ROWS pairs of a nested loop
