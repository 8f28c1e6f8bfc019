"""The daily score rollup: NPS, CSAT and CES counts per local day, team, survey and touchpoint,
kept by the database itself so that every write to a response counts, whatever wrote it.

Why triggers: responses are written by the recording service (COPY in a unit of work), the CSV
importer (bulk upserts), case routing (`team` set after the case opens), privacy erasure, the demo
and the benches, several through `QuerySet.update()` or raw SQL. A trigger on
surveys_surveyresponse sees all of them, in the writer's own transaction: a rolled-back response
leaves no count behind, a re-run task that inserts nothing adds nothing.

Why deltas, not one row per key: the triggers only ever INSERT (a signed delta per key touched by
the statement), so two workers recording answers to the same survey never wait on each other's
rollup row and can never deadlock on it. Readers SUM whatever rows a key has; `compact()` (a
periodic task) folds the fresh deltas of each key into one row, so the table stays about one row
per (day, team, survey, touchpoint) with something in it.

Days are local days of settings.TIME_ZONE, written into the trigger when it is created: after
changing TIME_ZONE run `manage.py rollup_scores --rebuild`, which recreates the triggers and
rebuilds the rollup from the responses (also the backfill, and idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from surveys.vocabulary import DETRACTOR_AT_MOST, PASSIVE_AT_LEAST, PROMOTER_AT_LEAST

TABLE = "surveys_scorerollup"
RESPONSES = "surveys_surveyresponse"
KEY = ("day", "team_id", "survey_id", "touchpoint")
# The response columns the rollup reads: an UPDATE that changes none of them changes no count.
READ_COLUMNS = (
    "answered_at",
    "team_id",
    "survey_id",
    "touchpoint",
    "nps",
    "csat",
    "csat_scale_max",
    "ces",
    "ces_scale_min",
    "ces_scale_max",
    "ces_high_is_easy",
)


def _ease(p: str) -> str:
    """reporting.selectors.scoring.ces_ease01 in SQL: CES as 0 (hardest) .. 1 (easiest)."""
    lo, hi, raw = (
        f"CAST(COALESCE({p}ces_scale_min, 1) AS REAL)",
        f"CAST(COALESCE({p}ces_scale_max, 7) AS REAL)",
        f"CAST({p}ces AS REAL)",
    )
    if connection.vendor == "postgresql":
        lo, hi, raw = (
            x.replace("AS REAL", "AS double precision") for x in (lo, hi, raw)
        )
    return (
        f"(CASE WHEN {p}ces_high_is_easy = false THEN {hi} - {raw} ELSE {raw} - {lo} END)"
        f" / NULLIF({hi} - {lo}, 0.0)"
    )


def _flag(condition: str) -> str:
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _values(p: str) -> dict[str, str]:
    """Each rollup column's value for one response (`p` is the row alias with its dot)."""
    tz = settings.TIME_ZONE.replace("'", "")
    if connection.vendor == "postgresql":
        day = f"CAST(({p}answered_at AT TIME ZONE '{tz}') AS date)"
    else:  # Django registers this function on every SQLite connection it opens
        day = f"django_datetime_cast_date({p}answered_at, '{tz}', 'UTC')"
    ease = _ease(p)
    return {
        "day": day,
        "team_id": f"{p}team_id",
        "survey_id": f"{p}survey_id",
        "touchpoint": f"{p}touchpoint",
        "responses": "1",
        "nps_n": _flag(f"{p}nps IS NOT NULL"),
        "promoters": _flag(f"{p}nps >= {PROMOTER_AT_LEAST}"),
        "passives": _flag(
            f"{p}nps >= {PASSIVE_AT_LEAST} AND {p}nps < {PROMOTER_AT_LEAST}"
        ),
        "detractors": _flag(f"{p}nps <= {DETRACTOR_AT_MOST}"),
        "csat_n": _flag(f"{p}csat IS NOT NULL"),
        "csat_top2": _flag(f"{p}csat >= COALESCE({p}csat_scale_max, 5) - 1"),
        "ces_n": _flag(f"{p}ces IS NOT NULL"),
        "ces_ease_n": _flag(f"({ease}) IS NOT NULL"),
        "ces_ease_sum": f"COALESCE({ease}, 0.0)",
        "ces_high_effort": _flag(f"({ease}) < 0.5"),
    }


COUNTS = (
    "responses",
    "nps_n",
    "promoters",
    "passives",
    "detractors",
    "csat_n",
    "csat_top2",
    "ces_n",
    "ces_ease_n",
    "ces_ease_sum",
    "ces_high_effort",
)
COLUMNS = (*KEY, *COUNTS)


def _changed(a: str, b: str) -> str:
    return " OR ".join(f"{a}{c} IS DISTINCT FROM {b}{c}" for c in READ_COLUMNS)


def _aggregate_select(signed_rows: str) -> str:
    """Sum signed per-response values by key: one delta row per key the rows touch."""
    return (
        f"SELECT {', '.join(KEY)}, {', '.join(f'SUM(s * {c})' for c in COUNTS)}, true "
        f"FROM ({signed_rows}) AS d GROUP BY {', '.join(KEY)} "
        f"HAVING {' OR '.join(f'SUM(s * {c}) <> 0' for c in COUNTS)}"
    )


def _signed(sign: int, alias: str, source: str, where: str = "") -> str:
    values = _values(f"{alias}.")
    return f"SELECT {sign} AS s, {', '.join(f'{v} AS {k}' for k, v in values.items())} FROM {source}{where}"


def trigger_sql() -> list[str]:
    """The statements that (re)create the rollup triggers for the current database and TIME_ZONE."""
    insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) "
    if connection.vendor == "postgresql":
        on_insert = _aggregate_select(_signed(1, "n", "new_rows n"))
        on_delete = _aggregate_select(_signed(-1, "o", "old_rows o"))
        moved = f" JOIN old_rows o ON o.id = n.id WHERE {_changed('n.', 'o.')}"
        on_update = _aggregate_select(
            _signed(1, "n", "new_rows n" + moved)
            + " UNION ALL "
            + _signed(-1, "o", "new_rows n" + moved)
        )
        function = f"""
CREATE OR REPLACE FUNCTION surveys_scorerollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert}{on_insert};
    ELSIF TG_OP = 'UPDATE' THEN
        {insert}{on_update};
    ELSE
        {insert}{on_delete};
    END IF;
    RETURN NULL;
END $$"""
        statements = [function]
        for op, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            name = f"surveys_scorerollup_{op.lower()}"
            statements += [
                f"DROP TRIGGER IF EXISTS {name} ON {RESPONSES}",
                (
                    f"CREATE TRIGGER {name} AFTER {op} ON {RESPONSES} REFERENCING {referencing} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION surveys_scorerollup_apply()"
                ),
            ]
        return statements

    # SQLite: row triggers, one delta per response written (compact() folds them).
    def row(sign: int, p: str) -> str:
        values = _values(f"{p}.")
        return f"{insert}VALUES ({', '.join(values[k] if k in KEY else f'{sign} * {values[k]}' for k in COLUMNS)}, 1);"

    statements = []
    for op, body, when in (
        ("INSERT", row(1, "NEW"), ""),
        ("DELETE", row(-1, "OLD"), ""),
        (
            "UPDATE",
            row(-1, "OLD") + " " + row(1, "NEW"),
            f" WHEN {_changed('NEW.', 'OLD.')}",
        ),
    ):
        name = f"surveys_scorerollup_{op.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {op} ON {RESPONSES} FOR EACH ROW{when} BEGIN {body} END",
        ]
    return statements


def drop_trigger_sql() -> list[str]:
    if connection.vendor == "postgresql":
        return [
            *(
                f"DROP TRIGGER IF EXISTS surveys_scorerollup_{op} ON {RESPONSES}"
                for op in ("insert", "update", "delete")
            ),
            "DROP FUNCTION IF EXISTS surveys_scorerollup_apply()",
        ]
    return [
        f"DROP TRIGGER IF EXISTS surveys_scorerollup_{op}"
        for op in ("insert", "update", "delete")
    ]


def _folded(where: str) -> str:
    """Sums per key of the rollup rows matching `where`, as compacted (fresh = false) rows."""
    return (
        f"SELECT {', '.join(KEY)}, {', '.join(f'SUM({c}) AS {c}' for c in COUNTS)}, false AS fresh FROM {TABLE} {where} "
        f"GROUP BY {', '.join(KEY)} HAVING {' OR '.join(f'SUM({c}) <> 0' for c in COUNTS if c != 'ces_ease_sum')}"
    )


def rebuild() -> int:
    """Recreate the triggers (with the current TIME_ZONE) and the whole rollup from the responses.
    Writes to responses wait meanwhile (SHARE lock on PostgreSQL), so no delta is lost or counted
    twice. Idempotent: run it again and the rollup is the same. Returns the rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {RESPONSES} IN SHARE MODE")
        for statement in trigger_sql():
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) "
            + _aggregate_select(_signed(1, "r", f"{RESPONSES} r")).replace(
                "true FROM", "false FROM"
            )
            + " ORDER BY team_id, day"  # a team's days side by side on disk
        )
        written = cursor.rowcount
        cursor.execute(
            f"ANALYZE {TABLE}"
        )  # the planner's row counts, before autovacuum gets to it
        return written


def compact() -> int:
    """Fold each key's fresh deltas (and its earlier folded row) into one row; drop keys whose
    counts are all zero (every response of it erased or moved). Inserts wait meanwhile (EXCLUSIVE
    lock on PostgreSQL: readers do not), so a delta committed during the fold is kept, not lost.
    Returns the number of fresh deltas folded."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE fresh")
        fresh = cursor.fetchone()[0]
        if not fresh:
            return 0
        # The keys with a fresh delta; NULL team (no team) compared as -1.
        keys = (
            f"(day, COALESCE(team_id, -1), survey_id, touchpoint) IN "
            f"(SELECT day, COALESCE(team_id, -1), survey_id, touchpoint FROM {TABLE} WHERE fresh)"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE scorerollup_fold AS {_folded('WHERE ' + keys)}"
        )
        cursor.execute(f"DELETE FROM {TABLE} WHERE {keys}")
        cursor.execute(
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) SELECT * FROM scorerollup_fold"
        )
        cursor.execute("DROP TABLE scorerollup_fold")
        return fresh
