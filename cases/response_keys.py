"""The opening response's touchpoint, survey, webhook source, answer time, location and NPS score,
kept on its case (Case.response_touchpoint, response_survey_id, response_source_id,
response_answered_at, response_location, response_nps) by database triggers, so the journey map
groups cases by stage from the cases table alone (journeys.selectors.StageMap with the prefix
"response_"), where joining every case of the period to its response made PostgreSQL hash the
whole responses table (docs/benchmarks_customers.md), and the KPIs by location group the period's
cases by location without that join (cases 0031); and
so a join of a case to its response names the response's partition (responses are partitioned by
month on answered_at: Case.response joins on id and answered_at, core.partition_fk), where a join
on the id alone probes every month's partition.

Why triggers, like the rollups (surveys.rollups): cases are written by the opening service, bulk
loads, the demo and tests; responses by recording, imports and QuerySet.update(). The triggers see
all of them:
- a case inserted, or updated so that its response or these columns change (a Django save() of a
  stale instance writes them too): the columns are read again from its response;
- a response whose touchpoint, survey, source, answer time or location changes: its cases follow. On
  PostgreSQL an UPDATE that moves a response to another month's partition is run as a DELETE from
  the old partition and an INSERT into the new one, and fires no AFTER UPDATE row trigger: an AFTER
  DELETE trigger catches it (AFTER triggers run at the end of the statement, when the moved row is
  found again by its id in its new partition; a response really deleted is found nowhere, and its
  cases, if any, are left as they are).
A bulk load with triggers off (session_replication_role = replica) calls backfill() after it.

The NPS score (cases 0032) lets Recovery and the segment reports sum the score before of closed cases
answered again without joining them to their responses (a join PostgreSQL planned as a scan of all
10,000,000 answers: docs/benchmarks_reports.md, seg3).

Migrations pin the columns they install (`columns=`): cases 0023 the first three, cases 0028 four,
cases 0031 five, cases 0032 all six."""

from __future__ import annotations

from django.db import connection

CASES = "cases_case"
RESPONSES = "surveys_surveyresponse"
# case column -> response column
COLUMNS = {"response_touchpoint": "touchpoint", "response_survey_id": "survey_id", "response_source_id": "source_id",
           "response_answered_at": "answered_at", "response_location": "location", "response_nps": "nps"}


def _changed(new: str, old: str, columns) -> str:
    return " OR ".join(f"{new}.{c} IS DISTINCT FROM {old}.{c}" for c in columns)


def trigger_sql(columns: dict[str, str] = COLUMNS) -> list[str]:
    case_columns = ", ".join(columns)
    response_columns = ", ".join(columns.values())
    follow = ", ".join(f"{c} = NEW.{r}" for c, r in columns.items())
    if connection.vendor == "postgresql":
        statements = [
            f"""CREATE OR REPLACE FUNCTION cases_case_response_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT {", ".join(f"r.{r}" for r in columns.values())} INTO {", ".join(f"NEW.{c}" for c in columns)}
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
            f"WHEN ({_changed('NEW', 'OLD', ['response_id', *columns])}) EXECUTE FUNCTION cases_case_response_keys()",
            f"DROP TRIGGER IF EXISTS cases_case_follow_response ON {RESPONSES}",
            f"CREATE TRIGGER cases_case_follow_response AFTER UPDATE OF {response_columns} ON {RESPONSES} "
            f"FOR EACH ROW WHEN ({_changed('NEW', 'OLD', columns.values())}) "
            "EXECUTE FUNCTION cases_case_follow_response()",
        ]
        if "response_answered_at" not in columns:
            return statements
        # A response moved to another partition (see the module's docstring): its cases read it again
        # where it now is. Only deletes pay for it: one probe of the cases' response index.
        return [*statements,
                f"""CREATE OR REPLACE FUNCTION cases_case_follow_moved_response() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {CASES} c SET {", ".join(f"{c} = r.{r}" for c, r in columns.items())}
    FROM {RESPONSES} r WHERE c.response_id = OLD.id AND r.id = OLD.id
    AND ({" OR ".join(f"c.{c} IS DISTINCT FROM r.{r}" for c, r in columns.items())});
    RETURN NULL;
END $$""",
                f"DROP TRIGGER IF EXISTS cases_case_follow_moved_response ON {RESPONSES}",
                f"CREATE TRIGGER cases_case_follow_moved_response AFTER DELETE ON {RESPONSES} FOR EACH ROW "
                "EXECUTE FUNCTION cases_case_follow_moved_response()"]
    read = ", ".join(f"{c} = (SELECT {r} FROM {RESPONSES} WHERE id = NEW.response_id)" for c, r in columns.items())
    return [
        "DROP TRIGGER IF EXISTS cases_case_response_keys_insert",
        f"CREATE TRIGGER cases_case_response_keys_insert AFTER INSERT ON {CASES} FOR EACH ROW "
        f"BEGIN UPDATE {CASES} SET {read} WHERE id = NEW.id; END",
        "DROP TRIGGER IF EXISTS cases_case_response_keys_update",
        f"CREATE TRIGGER cases_case_response_keys_update AFTER UPDATE OF response_id, {case_columns} ON {CASES} "
        f"FOR EACH ROW BEGIN UPDATE {CASES} SET {read} WHERE id = NEW.id; END",
        "DROP TRIGGER IF EXISTS cases_case_follow_response",
        f"CREATE TRIGGER cases_case_follow_response AFTER UPDATE OF {response_columns} ON {RESPONSES} "
        f"FOR EACH ROW WHEN ({_changed('NEW', 'OLD', columns.values())}) "
        f"BEGIN UPDATE {CASES} SET {follow} WHERE response_id = NEW.id; END",
    ]


def drop_trigger_sql() -> list[str]:
    if connection.vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS cases_case_response_keys_insert ON {CASES}",
                f"DROP TRIGGER IF EXISTS cases_case_response_keys_update ON {CASES}",
                f"DROP TRIGGER IF EXISTS cases_case_follow_response ON {RESPONSES}",
                f"DROP TRIGGER IF EXISTS cases_case_follow_moved_response ON {RESPONSES}",
                "DROP FUNCTION IF EXISTS cases_case_response_keys()",
                "DROP FUNCTION IF EXISTS cases_case_follow_response()",
                "DROP FUNCTION IF EXISTS cases_case_follow_moved_response()"]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in
            ("cases_case_response_keys_insert", "cases_case_response_keys_update", "cases_case_follow_response")]


def backfill(columns: dict[str, str] = COLUMNS) -> None:
    """Every case's columns from its response (after a bulk load without triggers; idempotent).
    One statement: on PostgreSQL an UPDATE joined to the responses that writes only the cases whose
    copy differs (a hash join of the cases to the responses: 10-12 s for 100,000 cases when every
    case is written, about 2 minutes a million, docs/benchmarks_partitions.md)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {CASES} c SET {', '.join(f'{col} = r.{r}' for col, r in columns.items())} "
                f"FROM {RESPONSES} r WHERE r.id = c.response_id "
                f"AND ({' OR '.join(f'c.{col} IS DISTINCT FROM r.{r}' for col, r in columns.items())})")
        else:
            cursor.execute(
                f"UPDATE {CASES} SET "
                + ", ".join(f"{col} = (SELECT {r} FROM {RESPONSES} WHERE id = {CASES}.response_id)"
                            for col, r in columns.items()))


def install(columns: dict[str, str] = COLUMNS) -> None:
    """(Re)create the triggers, then fill every case (the migrations; idempotent)."""
    with connection.cursor() as cursor:
        for statement in drop_trigger_sql():  # a trigger or function of another set of columns goes
            cursor.execute(statement)
        for statement in trigger_sql(columns):
            cursor.execute(statement)
    backfill(columns)
