"""Two flags kept on each response for the KPI page's low scores and coverage (docs/reporting.md
"Stored per response"), so they are counted from the covering score index instead of probing the
alerts, cases and case links once per response of the period:

- `SurveyResponse.case_alert`: the response raised an alert whose action opens a case (part of
  "low score": reporting.selectors.scoring.low_score_q);
- `SurveyResponse.case_linked`: a case is linked to the response, the one it opened (Case.response)
  or one it was attached to (CaseResponse): "covered" (covered_q).

Kept by database triggers, like the rollups (reporting.rollups explains why triggers): a statement
that inserts, deletes or updates alerts, cases or case links sets the flags of the responses those
rows name, in the writer's transaction; a statement that inserts responses sets theirs from what
already names them (a batch may write an alert before its response: core.unit_of_work). A flag
only ever changes to what the rows say now (the EXISTS below), so a re-run changes nothing.
`rebuild()` recreates the triggers and recomputes every flag (migration 0005, `rollups --rebuild`)."""

from __future__ import annotations

from django.db import connection, transaction

from core.rollup_triggers import pg_function, pg_run, pg_statement_triggers

RESPONSES = "surveys_surveyresponse"
OPEN_CASE = "open_case"  # alerts.models.AlertRule.Action.OPEN_CASE
# Rows of a table naming responses per statement of rebuild(). Small enough that the rollups' UPDATE
# triggers on responses keep their transition tables in memory (work_mem): at 20,000 they spilled to
# disk and joined for over ten minutes per batch; at 5,000 a batch took 7 s at load 12.
BATCH = 5_000

# Each flag: what it is for a response (the row of the UPDATE: SQLite allows no alias in a trigger), and the tables (with the condition on their rows) that
# name a response in their response_id.
FLAGS = {
    "case_alert": (
        f"EXISTS (SELECT 1 FROM alerts_alert a WHERE a.response_id = surveys_surveyresponse.id AND a.action = '{OPEN_CASE}')",
        {"alerts_alert": f"action = '{OPEN_CASE}'"},
    ),
    "case_linked": (
        "(EXISTS (SELECT 1 FROM cases_case c WHERE c.response_id = surveys_surveyresponse.id)"
        " OR EXISTS (SELECT 1 FROM cases_caseresponse l WHERE l.response_id = surveys_surveyresponse.id))",
        {"cases_case": "true", "cases_caseresponse": "true"},
    ),
}
# What a change of a row of each table can change: its response, and for alerts its action.
WATCHED = {"alerts_alert": ("response_id", "action"), "cases_case": ("response_id",),
           "cases_caseresponse": ("response_id",)}


def _flags_of(table: str) -> list[str]:
    return [flag for flag, (_, tables) in FLAGS.items() if table in tables]


def _recompute(flag: str, ids: str) -> str:
    """Set `flag` to what the rows say, for the responses whose ids `ids` (a SELECT) gives."""
    expression = FLAGS[flag][0]
    if connection.vendor == "postgresql":
        # Driven from the ids: the flag's EXISTS is worked out for those responses only. Written as
        # `WHERE id IN (ids) AND flag IS DISTINCT FROM <EXISTS>`, PostgreSQL may evaluate the EXISTS
        # for every response before it joins to the ids (it did, on tables never ANALYZEd: a demo
        # loaded in one transaction spent minutes in these triggers, each case write scanning every
        # response and, per response, the cases).
        value = expression.replace(f"{RESPONSES}.id", "i.id")
        return (f"UPDATE {RESPONSES} SET {flag} = v.value "
                f"FROM (SELECT i.id, {value} AS value FROM (SELECT DISTINCT id FROM ({ids}) AS ids(id) "
                f"WHERE id IS NOT NULL) AS i) AS v "
                f"WHERE {RESPONSES}.id = v.id AND {RESPONSES}.{flag} IS DISTINCT FROM v.value")
    return (f"UPDATE {RESPONSES} SET {flag} = {expression} "
            f"WHERE id IN ({ids}) AND {flag} IS DISTINCT FROM {expression}")


def _name(table: str, op: str) -> str:
    return f"reporting_coverage_{table.split('_', 1)[1]}_{op.lower()}"


def _pg_guarded(condition: str, body: str) -> str:
    """`body` only when `condition` holds. An UPDATE of responses that changes nothing still fires
    every statement trigger on responses (the rollups', eight of them) and is planned across the
    table's partitions: when a statement cannot change a flag it writes nothing at all. Before the
    guards a response's insert spent 3.7 ms in these triggers, most of it on nothing."""
    return f"IF {condition} THEN\n        {body}\n    END IF;"


def _changed_rows(columns: tuple[str, ...]) -> str:
    """Whether an UPDATE changed any of `columns` in its rows, without joining the old rows to the
    new ones (a join's plan is kept from the session's first call, core.rollup_triggers.pg_run):
    the same values, sorted, on both sides means the same responses are named as before."""
    listed = ", ".join(columns)
    values = f"array_agg(ROW({listed}) ORDER BY {listed})"
    return f"(SELECT {values} FROM old_rows) IS DISTINCT FROM (SELECT {values} FROM new_rows)"


def trigger_sql() -> list[str]:
    """The statements that (re)create the triggers for the current database."""
    statements = []
    if connection.vendor == "postgresql":
        for table, columns in WATCHED.items():
            changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in columns)
            for op, ids in (
                ("INSERT", "SELECT response_id FROM new_rows"),
                ("DELETE", "SELECT response_id FROM old_rows"),
                ("UPDATE", f"SELECT o.response_id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed} "
                           f"UNION SELECT n.response_id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed}"),
            ):
                name = _name(table, op)
                parts = []
                for flag in _flags_of(table):
                    if op == "UPDATE":
                        condition = _changed_rows(columns)
                    else:
                        rows = "new_rows" if op == "INSERT" else "old_rows"
                        condition = (f"EXISTS (SELECT 1 FROM {rows} WHERE response_id IS NOT NULL "
                                     f"AND {FLAGS[flag][1][table]})")
                    parts.append(_pg_guarded(condition, pg_run(_recompute(flag, ids))))
                statements += [pg_function(name, "\n    ".join(parts)),
                               *pg_statement_triggers(table, name, {op: name})]
        # New responses: their own rows say what they were inserted with, so the flags are compared
        # there first (a response is almost always inserted before anything names it).
        name = _name(RESPONSES, "INSERT")
        body = "\n    ".join(
            _pg_guarded(f"EXISTS (SELECT 1 FROM new_rows i WHERE i.{flag} IS DISTINCT FROM "
                        f"{FLAGS[flag][0].replace(f'{RESPONSES}.id', 'i.id')})",
                        pg_run(_recompute(flag, "SELECT id FROM new_rows")))
            for flag in FLAGS)
        return [*statements, pg_function(name, body), *pg_statement_triggers(RESPONSES, name, {"INSERT": name})]

    # SQLite: row triggers on the same events.
    for table, columns in WATCHED.items():
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
        for op, when, ids in (
            ("INSERT", "", "NEW.response_id"),
            ("DELETE", "", "OLD.response_id"),
            ("UPDATE", f" WHEN {changed}", "OLD.response_id, NEW.response_id"),
        ):
            name = _name(table, op)
            body = " ".join(f"{_recompute(flag, f'SELECT {ids}' if ',' not in ids else ids)};"
                            for flag in _flags_of(table))
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW{when} BEGIN {body} END",
            ]
    name = _name(RESPONSES, "INSERT")
    body = " ".join(f"{_recompute(flag, 'SELECT NEW.id')};" for flag in FLAGS)
    statements += [
        f"DROP TRIGGER IF EXISTS {name}",
        f"CREATE TRIGGER {name} AFTER INSERT ON {RESPONSES} FOR EACH ROW BEGIN {body} END",
    ]
    return statements


def drop_trigger_sql() -> list[str]:
    pairs = [(_name(table, op), table) for table in WATCHED for op in ("INSERT", "DELETE", "UPDATE")]
    pairs.append((_name(RESPONSES, "INSERT"), RESPONSES))
    if connection.vendor == "postgresql":
        return [s for name, table in pairs
                for s in (f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()")]
    return [f"DROP TRIGGER IF EXISTS {name}" for name, _ in pairs]


def create_triggers() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in trigger_sql():
            cursor.execute(statement)


def rebuild() -> int:
    """Recreate the triggers, then make every response's flags what the rows say: clear the flags
    no row supports any more (one pass over the flagged responses), then set them for the
    responses each table names, BATCH rows of that table at a time (each batch its own transaction
    when called outside one: the triggers keep up with writes meanwhile). Only responses whose
    flag changes are written. Idempotent. Returns the responses changed."""
    create_triggers()
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for flag, (expression, _) in FLAGS.items():
            cursor.execute(f"UPDATE {RESPONSES} SET {flag} = false WHERE {flag} AND NOT {expression}")
            changed += cursor.rowcount
    for flag, (_, tables) in FLAGS.items():
        for table, condition in tables.items():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table}")
                low, high = cursor.fetchone()
            for start in range(low or 0, (high or -1) + 1, BATCH):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {RESPONSES} SET {flag} = true WHERE id IN (SELECT response_id FROM {table} "
                        f"WHERE id >= %s AND id < %s AND {condition}) AND NOT {flag}",
                        [start, start + BATCH],
                    )
                    changed += cursor.rowcount
    return changed
