"""The opening response's touchpoint, survey and webhook source, kept on its case
(Case.response_touchpoint, response_survey_id, response_source_id) by database triggers, so the
journey map groups cases by stage from the cases table alone (journeys.selectors.StageMap with the
prefix "response_"), where joining every case of the period to its response made PostgreSQL hash
the whole responses table (docs/benchmarks_customers.md).

Why triggers, like the rollups (surveys.rollups): cases are written by the opening service, bulk
loads, the demo and tests; responses by recording, imports and QuerySet.update(). The triggers see
all of them:
- a case inserted, or updated so that its response or these columns change (a Django save() of a
  stale instance writes them too): the three columns are read again from its response;
- a response whose touchpoint, survey or source changes: its cases follow.
A bulk load with triggers off (session_replication_role = replica) calls backfill() after it."""

from __future__ import annotations

from django.db import connection

CASES = "cases_case"
RESPONSES = "surveys_surveyresponse"
# case column -> response column
COLUMNS = {"response_touchpoint": "touchpoint", "response_survey_id": "survey_id", "response_source_id": "source_id"}


def _changed(new: str, old: str, columns) -> str:
    return " OR ".join(f"{new}.{c} IS DISTINCT FROM {old}.{c}" for c in columns)


def trigger_sql() -> list[str]:
    case_columns = ", ".join(COLUMNS)
    response_columns = ", ".join(COLUMNS.values())
    follow = ", ".join(f"{c} = NEW.{r}" for c, r in COLUMNS.items())
    if connection.vendor == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION cases_case_response_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT {", ".join(f"r.{r}" for r in COLUMNS.values())} INTO {", ".join(f"NEW.{c}" for c in COLUMNS)}
    FROM {RESPONSES} r WHERE r.id = NEW.response_id;
    RETURN NEW;
END $$""",
            f"""CREATE OR REPLACE FUNCTION cases_case_follow_response() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {CASES} SET {follow} WHERE response_id = NEW.id;
    RETURN NULL;
END $$""",
            f"DROP TRIGGER IF EXISTS cases_case_response_keys_insert ON {CASES}",
            f"CREATE TRIGGER cases_case_response_keys_insert BEFORE INSERT ON {CASES} FOR EACH ROW "
            "EXECUTE FUNCTION cases_case_response_keys()",
            f"DROP TRIGGER IF EXISTS cases_case_response_keys_update ON {CASES}",
            f"CREATE TRIGGER cases_case_response_keys_update BEFORE UPDATE ON {CASES} FOR EACH ROW "
            f"WHEN ({_changed('NEW', 'OLD', ['response_id', *COLUMNS])}) EXECUTE FUNCTION cases_case_response_keys()",
            f"DROP TRIGGER IF EXISTS cases_case_follow_response ON {RESPONSES}",
            f"CREATE TRIGGER cases_case_follow_response AFTER UPDATE OF {response_columns} ON {RESPONSES} "
            f"FOR EACH ROW WHEN ({_changed('NEW', 'OLD', COLUMNS.values())}) "
            "EXECUTE FUNCTION cases_case_follow_response()",
        ]
    read = ", ".join(f"{c} = (SELECT {r} FROM {RESPONSES} WHERE id = NEW.response_id)" for c, r in COLUMNS.items())
    return [
        "DROP TRIGGER IF EXISTS cases_case_response_keys_insert",
        f"CREATE TRIGGER cases_case_response_keys_insert AFTER INSERT ON {CASES} FOR EACH ROW "
        f"BEGIN UPDATE {CASES} SET {read} WHERE id = NEW.id; END",
        "DROP TRIGGER IF EXISTS cases_case_response_keys_update",
        f"CREATE TRIGGER cases_case_response_keys_update AFTER UPDATE OF response_id, {case_columns} ON {CASES} "
        f"FOR EACH ROW BEGIN UPDATE {CASES} SET {read} WHERE id = NEW.id; END",
        "DROP TRIGGER IF EXISTS cases_case_follow_response",
        f"CREATE TRIGGER cases_case_follow_response AFTER UPDATE OF {response_columns} ON {RESPONSES} "
        f"FOR EACH ROW WHEN ({_changed('NEW', 'OLD', COLUMNS.values())}) "
        f"BEGIN UPDATE {CASES} SET {follow} WHERE response_id = NEW.id; END",
    ]


def drop_trigger_sql() -> list[str]:
    if connection.vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS cases_case_response_keys_insert ON {CASES}",
                f"DROP TRIGGER IF EXISTS cases_case_response_keys_update ON {CASES}",
                f"DROP TRIGGER IF EXISTS cases_case_follow_response ON {RESPONSES}",
                "DROP FUNCTION IF EXISTS cases_case_response_keys()",
                "DROP FUNCTION IF EXISTS cases_case_follow_response()"]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in
            ("cases_case_response_keys_insert", "cases_case_response_keys_update", "cases_case_follow_response")]


def backfill() -> None:
    """Every case's three columns from its response (after a bulk load without triggers; idempotent)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {CASES} c SET {', '.join(f'{col} = r.{r}' for col, r in COLUMNS.items())} "
                f"FROM {RESPONSES} r WHERE r.id = c.response_id "
                f"AND ({' OR '.join(f'c.{col} IS DISTINCT FROM r.{r}' for col, r in COLUMNS.items())})")
        else:
            cursor.execute(
                f"UPDATE {CASES} SET "
                + ", ".join(f"{col} = (SELECT {r} FROM {RESPONSES} WHERE id = {CASES}.response_id)"
                            for col, r in COLUMNS.items()))


def install() -> None:
    """(Re)create the triggers, then fill every case (the migration; idempotent)."""
    with connection.cursor() as cursor:
        for statement in trigger_sql():
            cursor.execute(statement)
    backfill()
