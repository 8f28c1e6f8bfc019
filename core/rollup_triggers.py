"""The database triggers that keep a rollup table of signed deltas (surveys.rollups explains why
triggers and why deltas), written once for every rollup: the score rollup and its every-team
totals (surveys.rollups, reporting.score_totals), the closure rollup (reporting.rollups) and the
theme rollup (reporting.theme_rollup). Each rollup says what a written row adds or subtracts; the
scaffolding around it is here.

- PostgreSQL: statement triggers with transition tables (`new_rows`, `old_rows`), one function per
  source table that inserts the statement's deltas, and a TRUNCATE trigger that empties the rollup.
- SQLite (the embedded setup): row triggers, one delta per row written (the rollup's compaction
  folds them).
- rebuild(): the triggers recreated and the rollup computed again from its source tables, writes
  to those waiting meanwhile (SHARE locks on PostgreSQL), so no delta is lost or counted twice."""

from __future__ import annotations

from django.db import connection, transaction

# Above this many rows an UPDATE trigger's statement over its transition tables is planned again.
REPLAN_ABOVE = 100

# The statement triggers' transition tables, per operation.
REFERENCING = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def changed_sql(a: str, b: str, columns) -> str:
    """A condition true when any of `columns` differs between rows `a` and `b` (aliases with their
    dot: "n." and "o." of an UPDATE's transition tables, "NEW." and "OLD." in a row trigger), NULLs
    compared as values: what decides whether an update writes a delta."""
    return " OR ".join(f"{a}{c} IS DISTINCT FROM {b}{c}" for c in columns)


def insert_into(table: str, columns: tuple[str, ...]) -> str:
    """The head of every delta's INSERT (fresh: not yet folded)."""
    return f"INSERT INTO {table} ({', '.join(columns)}, fresh) "


def pg_run(sql: str, into: str | None = None) -> str:
    """One statement of a PostgreSQL trigger function (PL/pgSQL), with its ';' (a SELECT whose
    result goes `into` a variable of the function, when given).

    A statement that joins an UPDATE's old rows to its new ones (`old_rows`, `new_rows`) is planned
    again (EXECUTE) when the statement updated more than REPLAN_ABOVE rows. PL/pgSQL plans a
    statement once per session and keeps the transition tables' row counts of that first call:
    after a one-row update (every case action) it expects one row on each side and joins them in a
    nested loop, so a later update of 10,000 cases compared 100,000,000 pairs in each such trigger
    (an SLA sweep over 10,000 newly overdue cases spent 60 s in three of them; planned again, the
    join is a hash join: milliseconds). Small updates keep the cached plan (no planning per write)."""
    target = f" INTO {into}" if into else ""
    if "old_rows" not in sql or "new_rows" not in sql:
        return f"{sql}{target};"
    assert "$replan$" not in sql
    return (f"IF (SELECT count(*) FROM (SELECT 1 FROM old_rows LIMIT {REPLAN_ABOVE + 1}) AS many) > {REPLAN_ABOVE} THEN\n"
            f"        EXECUTE $replan${sql}$replan${target};\n    ELSE\n        {sql}{target};\n    END IF;")


def pg_function(name: str, body: str) -> str:
    """A PostgreSQL trigger function `name`() that runs `body` (PL/pgSQL statements) and returns."""
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {body}
    RETURN NULL;
END $$"""


def pg_apply_function(name: str, insert: str, *, on_insert: str = "", on_update: str = "",
                      on_delete: str = "") -> str:
    """A PostgreSQL trigger function `name`() that runs `insert` followed by the statement's rows
    (a SELECT over the transition tables) for each operation given; with only `on_update`, it
    serves an UPDATE trigger alone."""
    bodies = [(op, sql) for op, sql in (("INSERT", on_insert), ("UPDATE", on_update), ("DELETE", on_delete)) if sql]
    if len(bodies) == 1:
        body = pg_run(insert + bodies[0][1])
    else:
        branches = [f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{op}' THEN\n        {pg_run(insert + sql)}"
                    for i, (op, sql) in enumerate(bodies[:-1])]
        body = "\n    ".join(branches) + f"\n    ELSE\n        {pg_run(insert + bodies[-1][1])}\n    END IF;"
    return pg_function(name, body)


def pg_clear_function(name: str, rollup: str) -> str:
    """A PostgreSQL trigger function `name`() that empties the rollup (for TRUNCATE triggers)."""
    return pg_function(name, f"DELETE FROM {rollup};")


def pg_statement_triggers(table: str, function: str, names: dict[str, str]) -> list[str]:
    """Statement triggers on `table` calling `function`(): `names` maps each operation (INSERT,
    UPDATE, DELETE, TRUNCATE) to its trigger's name. Each is dropped first (re-creatable)."""
    statements = []
    for op, name in names.items():
        referencing = f"REFERENCING {REFERENCING[op]} " if op in REFERENCING else ""
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER {op} ON {table} {referencing}FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def sqlite_row_triggers(table: str, triggers: dict[str, tuple[str, str, str]]) -> list[str]:
    """SQLite row triggers on `table`: `triggers` maps each trigger's name to its operation, its
    WHEN condition ("" for none) and its body (statements ending in ';')."""
    statements = []
    for name, (op, when, body) in triggers.items():
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW{f' WHEN {when}' if when else ''} BEGIN {body} END",
        ]
    return statements


def drop_sql(triggers: dict[str, str], functions: tuple[str, ...] = ()) -> list[str]:
    """What removes the triggers (`triggers` maps each name to its table) and, on PostgreSQL, the
    trigger functions."""
    if connection.vendor == "postgresql":
        return [*(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in triggers.items()),
                *(f"DROP FUNCTION IF EXISTS {function}()" for function in functions)]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in triggers]


def rebuild(rollup: str, columns: tuple[str, ...], sources: tuple[str, ...], trigger_sql: list[str],
            select: str, order_by: str) -> int:
    """Recreate the triggers (`trigger_sql`) and the whole rollup from `select` (its deltas as
    folded rows: fresh = false), ordered by `order_by` on disk. Writes to the `sources` tables wait
    meanwhile (SHARE locks on PostgreSQL), so no delta is lost or counted twice. Idempotent: run it
    again and the rollup is the same. Returns the rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {', '.join(sources)} IN SHARE MODE")
        for statement in trigger_sql:
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {rollup}")
        cursor.execute(insert_into(rollup, columns) + select.replace("true FROM", "false FROM") + f" ORDER BY {order_by}")
        written = cursor.rowcount
        cursor.execute(f"ANALYZE {rollup}")  # the planner's row counts, before autovacuum gets to it
        return written
