"""The score totals (reporting.ScoreTotal): the daily score rollup's counts summed over every team,
per local day, survey, source and touchpoint. Kept like the score rollup (surveys.rollups, which
explains why database triggers and why signed deltas), by triggers of their own on the responses:
a statement that inserts, updates or deletes responses adds, per key it touches, the counts of its
rows as they are now minus as they were; an update that changes only the team (or nothing the
totals read) adds no row. Readers SUM a key's rows; compact() folds them; rebuild() recreates the triggers and
the totals from the responses (`manage.py rollups --rebuild`, also after changing TIME_ZONE)."""

from __future__ import annotations

from django.db import connection, transaction

from surveys.rollups import COUNTS, READ_COLUMNS, TRUNCATE_FUNCTION, aggregate_select, fold, response_values, signed_rows

TABLE = "reporting_scoretotal"
RESPONSES = "surveys_surveyresponse"
KEY = ("day", "survey_id", "source_id", "touchpoint")
COLUMNS = (*KEY, *COUNTS)
NAME = "reporting_scoretotal"


# What the totals read of a response: the score rollup's columns but the team. An update that
# changes none of them (a team move, a comment) writes no delta.
READ = tuple(c for c in READ_COLUMNS if c != "team_id")


def changed_condition(a: str, b: str) -> str:
    return " OR ".join(f"{a}{c} IS DISTINCT FROM {b}{c}" for c in READ)


def _aggregate(rows: str) -> str:
    return aggregate_select(rows, KEY, COUNTS)


def trigger_sql() -> list[str]:
    """The statements that (re)create the triggers for the current database and TIME_ZONE."""
    insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) "
    if connection.vendor == "postgresql":
        moved = f" JOIN old_rows o ON o.id = n.id WHERE {changed_condition('n.', 'o.')}"
        on_update = _aggregate(signed_rows(1, "n", "new_rows n" + moved) + " UNION ALL "
                               + signed_rows(-1, "o", "new_rows n" + moved))
        statements = [
            f"""CREATE OR REPLACE FUNCTION {NAME}_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert}{_aggregate(signed_rows(1, "n", "new_rows n"))};
    ELSIF TG_OP = 'UPDATE' THEN
        {insert}{on_update};
    ELSE
        {insert}{_aggregate(signed_rows(-1, "o", "old_rows o"))};
    END IF;
    RETURN NULL;
END $$""",
            TRUNCATE_FUNCTION.format(name=f"{NAME}_clear", table=TABLE),
            f"DROP TRIGGER IF EXISTS {NAME}_truncate ON {RESPONSES}",
            f"CREATE TRIGGER {NAME}_truncate AFTER TRUNCATE ON {RESPONSES} FOR EACH STATEMENT EXECUTE FUNCTION {NAME}_clear()",
        ]
        for op, referencing in (("INSERT", "NEW TABLE AS new_rows"),
                                ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                ("DELETE", "OLD TABLE AS old_rows")):
            statements += [
                f"DROP TRIGGER IF EXISTS {NAME}_{op.lower()} ON {RESPONSES}",
                f"CREATE TRIGGER {NAME}_{op.lower()} AFTER {op} ON {RESPONSES} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {NAME}_apply()",
            ]
        return statements

    # SQLite: row triggers, one delta per response written (compact() folds them).
    def row(sign: int, p: str) -> str:
        values = response_values(f"{p}.")
        return f"{insert}VALUES ({', '.join(values[k] if k in KEY else f'{sign} * {values[k]}' for k in COLUMNS)}, 1);"

    statements = []
    for op, body, when in (("INSERT", row(1, "NEW"), ""), ("DELETE", row(-1, "OLD"), ""),
                           ("UPDATE", row(-1, "OLD") + " " + row(1, "NEW"),
                            f" WHEN {changed_condition('NEW.', 'OLD.')}")):
        statements += [
            f"DROP TRIGGER IF EXISTS {NAME}_{op.lower()}",
            f"CREATE TRIGGER {NAME}_{op.lower()} AFTER {op} ON {RESPONSES} FOR EACH ROW{when} BEGIN {body} END",
        ]
    return statements


def drop_trigger_sql() -> list[str]:
    if connection.vendor == "postgresql":
        return [*(f"DROP TRIGGER IF EXISTS {NAME}_{op} ON {RESPONSES}" for op in ("insert", "update", "delete", "truncate")),
                f"DROP FUNCTION IF EXISTS {NAME}_apply()", f"DROP FUNCTION IF EXISTS {NAME}_clear()"]
    return [f"DROP TRIGGER IF EXISTS {NAME}_{op}" for op in ("insert", "update", "delete")]


def rebuild() -> int:
    """Recreate the triggers (with the current TIME_ZONE) and every total from the responses, writes
    to responses waiting meanwhile (SHARE lock on PostgreSQL). Idempotent. Returns the rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {RESPONSES} IN SHARE MODE")
        for statement in trigger_sql():
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) "
                       + _aggregate(signed_rows(1, "r", f"{RESPONSES} r")).replace("true FROM", "false FROM")
                       + " ORDER BY day")
        written = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TABLE}")
        return written


def compact() -> int:
    """Fold the fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
    return fold(TABLE, KEY, COUNTS)
