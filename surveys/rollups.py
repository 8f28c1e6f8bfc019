"""The daily score rollup: NPS, CSAT and CES counts (and the journey map's score index, and the
comments and sentiment the themes page compares its themes with) per local day, team, survey
(with its source) and touchpoint,
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
per (day, team, survey, source, touchpoint) with something in it.

Days are local days of settings.TIME_ZONE, written into the trigger when it is created: after
changing TIME_ZONE run `manage.py rollups --rebuild`, which recreates the triggers and
rebuilds the rollup from the responses (also the backfill, and idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from core import rollup_triggers
from core.rollup_triggers import changed_sql
from surveys.vocabulary import DETRACTOR_AT_MOST, PASSIVE_AT_LEAST, PROMOTER_AT_LEAST

TABLE = "surveys_scorerollup"
RESPONSES = "surveys_surveyresponse"
# source_id is the survey's source (a survey belongs to one), kept so that a journey stage mapped
# to a webhook source reads its rows without relying on that (journeys.selectors.StageMap).
KEY = ("day", "team_id", "survey_id", "source_id", "touchpoint")
# The response columns the rollup reads: an UPDATE that changes none of them changes no count.
READ_COLUMNS = (
    "answered_at",
    "team_id",
    "survey_id",
    "source_id",
    "touchpoint",
    "nps",
    "csat",
    "csat_scale_min",
    "csat_scale_max",
    "ces",
    "ces_scale_min",
    "ces_scale_max",
    "ces_high_is_easy",
)


def ces_ease_sql(p: str) -> str:
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


def csat_pct_sql(p: str) -> str:
    """reporting.selectors.scoring.csat_pct in SQL: CSAT as 0..100 % of its scale."""
    real = "double precision" if connection.vendor == "postgresql" else "REAL"
    lo, hi, raw = (
        f"CAST(COALESCE({p}csat_scale_min, 1) AS {real})",
        f"CAST(COALESCE({p}csat_scale_max, 5) AS {real})",
        f"CAST({p}csat AS {real})",
    )
    return f"100.0 * ({raw} - {lo}) / NULLIF({hi} - {lo}, 0.0)"


def score_index_sql(p: str) -> str:
    """reporting.selectors.scoring.score_index in SQL: one answer as 0..100, CSAT % of its scale,
    else CES ease %, else NPS x 10 (NULL without any)."""
    real = "double precision" if connection.vendor == "postgresql" else "REAL"
    return (f"COALESCE({csat_pct_sql(p)}, ({ces_ease_sql(p)}) * 100.0, "
            f"CAST({p}nps AS {real}) * 10.0)")


def flag_sql(condition: str) -> str:
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def local_day_sql(column: str) -> str:
    """The local date (settings.TIME_ZONE) of a timestamp column, in SQL."""
    tz = settings.TIME_ZONE.replace("'", "")
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE '{tz}') AS date)"
    return f"django_datetime_cast_date({column}, '{tz}', 'UTC')"  # Django registers it on every SQLite connection


def _values(p: str, columns: tuple[str, ...] = ()) -> dict[str, str]:
    """Each rollup column's value for one response (`p` is the row alias with its dot); with
    `columns`, those of the response's own columns as they are too (the keys of the every-team
    totals, reporting.score_totals: the segment bits, the location; not the score rollup's)."""
    ease, index = ces_ease_sql(p), score_index_sql(p)
    return {**{c: f"{p}{c}" for c in columns},
        "day": local_day_sql(f"{p}answered_at"),
        "team_id": f"{p}team_id",
        "survey_id": f"{p}survey_id",
        "source_id": f"{p}source_id",
        "touchpoint": f"{p}touchpoint",
        "responses": "1",
        "nps_n": flag_sql(f"{p}nps IS NOT NULL"),
        "promoters": flag_sql(f"{p}nps >= {PROMOTER_AT_LEAST}"),
        "passives": flag_sql(
            f"{p}nps >= {PASSIVE_AT_LEAST} AND {p}nps < {PROMOTER_AT_LEAST}"
        ),
        "detractors": flag_sql(f"{p}nps <= {DETRACTOR_AT_MOST}"),
        "csat_n": flag_sql(f"{p}csat IS NOT NULL"),
        "csat_top2": flag_sql(f"{p}csat >= COALESCE({p}csat_scale_max, 5) - 1"),
        "ces_n": flag_sql(f"{p}ces IS NOT NULL"),
        "ces_ease_n": flag_sql(f"({ease}) IS NOT NULL"),
        "ces_ease_sum": f"COALESCE({ease}, 0.0)",
        "ces_high_effort": flag_sql(f"({ease}) < 0.5"),
        # The journey map's score index (reporting.selectors.journeys): its count and sum.
        "index_n": flag_sql(f"({index}) IS NOT NULL"),
        "index_sum": f"COALESCE({index}, 0.0)",
        # The themes page's share of comments and its "All responses" sentiment (the score rollup's own).
        "commented": flag_sql(f"{p}comment <> ''"),
        "sentiment_n": flag_sql(f"{p}sentiment IS NOT NULL"),
        "sentiment_sum": f"COALESCE({p}sentiment, 0.0)",
        # The KPI page's low scores and their coverage (reporting.selectors.scoring.low_score_q and
        # covered_q: NPS 0-6, CSAT in the two lowest points of its scale, or an alert that opens a case;
        # covered when a case is linked to the response, SurveyResponse.case_linked).
        "low": flag_sql(_low(p)),
        "low_covered": flag_sql(f"({_low(p)}) AND {p}case_linked"),
        # Every answer a case covers, low or not (the every-team score totals': the segment comparison).
        "covered": flag_sql(f"{p}case_linked"),
    }


def _low(p: str) -> str:
    return (f"{p}nps <= {DETRACTOR_AT_MOST} OR {p}csat <= COALESCE({p}csat_scale_min, 1) + 1"
            f" OR {p}case_alert")


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
    "index_n",
    "index_sum",
)
# The score rollup's own counts and columns besides the score counts it shares with
# reporting.score_totals (whose triggers read neither): the themes page's comments and sentiment
# (surveys 0021), the KPI page's low scores and coverage (surveys 0024; the flags case_alert and
# case_linked are written by reporting.coverage's triggers, an UPDATE this rollup's trigger sees).
ROLLUP_COUNTS_0021 = (*COUNTS, "commented", "sentiment_n", "sentiment_sum")
ROLLUP_READ_COLUMNS_0021 = (*READ_COLUMNS, "comment", "sentiment")
ROLLUP_COUNTS = (*ROLLUP_COUNTS_0021, "low", "low_covered")
ROLLUP_READ_COLUMNS = (*ROLLUP_READ_COLUMNS_0021, "case_alert", "case_linked")
COLUMNS = (*KEY, *ROLLUP_COUNTS)


def aggregate_select(
    signed_rows: str, key: tuple[str, ...] = KEY, counts: tuple[str, ...] = COUNTS
) -> str:
    """Sum signed per-response values by key: one delta row per key the rows touch."""
    return (
        f"SELECT {', '.join(key)}, {', '.join(f'SUM(s * {c})' for c in counts)}, true "
        f"FROM ({signed_rows}) AS d GROUP BY {', '.join(key)} "
        f"HAVING {' OR '.join(f'SUM(s * {c}) <> 0' for c in counts)}"
    )


def _signed(sign: int, alias: str, source: str, where: str = "", columns: tuple[str, ...] = ()) -> str:
    values = _values(f"{alias}.", columns)
    return f"SELECT {sign} AS s, {', '.join(f'{v} AS {k}' for k, v in values.items())} FROM {source}{where}"


# TRUNCATE fires no row or transition-table trigger: emptying the rows empties their rollup.
TRIGGERS = {op: f"surveys_scorerollup_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE")}


def trigger_sql(counts: tuple[str, ...] = ROLLUP_COUNTS,
                read_columns: tuple[str, ...] = ROLLUP_READ_COLUMNS) -> list[str]:
    """The statements that (re)create the rollup triggers for the current database and TIME_ZONE.
    `counts` and `read_columns`: the rollup's columns and what they read, today's unless an
    earlier shape's is asked for (surveys migration 0021 going back, to the columns before it)."""
    columns = (*KEY, *counts)
    insert = rollup_triggers.insert_into(TABLE, columns)
    if connection.vendor == "postgresql":
        moved = f" JOIN old_rows o ON o.id = n.id WHERE {changed_sql('n.', 'o.', read_columns)}"
        return [
            rollup_triggers.pg_apply_function(
                "surveys_scorerollup_apply", insert,
                on_insert=aggregate_select(_signed(1, "n", "new_rows n"), KEY, counts),
                on_update=aggregate_select(_signed(1, "n", "new_rows n" + moved) + " UNION ALL "
                                           + _signed(-1, "o", "new_rows n" + moved), KEY, counts),
                on_delete=aggregate_select(_signed(-1, "o", "old_rows o"), KEY, counts),
            ),
            rollup_triggers.pg_clear_function("surveys_scorerollup_clear", TABLE),
            *rollup_triggers.pg_statement_triggers(RESPONSES, "surveys_scorerollup_clear",
                                                   {"TRUNCATE": "surveys_scorerollup_truncate"}),
            *rollup_triggers.pg_statement_triggers(RESPONSES, "surveys_scorerollup_apply", TRIGGERS),
        ]

    # SQLite: row triggers, one delta per response written (compact() folds them).
    def row(sign: int, p: str) -> str:
        values = _values(f"{p}.")
        return f"{insert}VALUES ({', '.join(values[k] if k in KEY else f'{sign} * {values[k]}' for k in columns)}, 1);"

    return rollup_triggers.sqlite_row_triggers(RESPONSES, {
        TRIGGERS["INSERT"]: ("INSERT", "", row(1, "NEW")),
        TRIGGERS["DELETE"]: ("DELETE", "", row(-1, "OLD")),
        TRIGGERS["UPDATE"]: ("UPDATE", changed_sql("NEW.", "OLD.", read_columns), row(-1, "OLD") + " " + row(1, "NEW")),
    })


def drop_trigger_sql() -> list[str]:
    return rollup_triggers.drop_sql(
        {name: RESPONSES for name in (*TRIGGERS.values(), "surveys_scorerollup_truncate")},
        ("surveys_scorerollup_apply", "surveys_scorerollup_clear"))


def _folded(
    table: str, key: tuple[str, ...], counts: tuple[str, ...], where: str
) -> str:
    """Sums per key of the rollup rows matching `where`, as compacted (fresh = false) rows; keys
    whose counts are all zero are left out (floats' residue is not a count)."""
    integers = [c for c in counts if not c.endswith("_sum") or c == "nps_sum"]
    return (
        f"SELECT {', '.join(key)}, {', '.join(f'SUM({c}) AS {c}' for c in counts)}, false AS fresh FROM {table} {where} "
        f"GROUP BY {', '.join(key)} HAVING {' OR '.join(f'SUM({c}) <> 0' for c in integers)}"
    )


def rebuild(counts: tuple[str, ...] = ROLLUP_COUNTS, read_columns: tuple[str, ...] = ROLLUP_READ_COLUMNS) -> int:
    """Recreate the triggers (with the current TIME_ZONE) and the whole rollup from the responses
    (core.rollup_triggers.rebuild). Returns the rows written. `counts` and `read_columns` as in
    trigger_sql (a migration before the last column was added rebuilds the columns it has)."""
    return rollup_triggers.rebuild(TABLE, (*KEY, *counts), (RESPONSES,), trigger_sql(counts, read_columns),
                                   aggregate_select(_signed(1, "r", f"{RESPONSES} r"), KEY, counts),
                                   "team_id, day")  # a team's days side by side on disk


# For rollups at another level of the same counts (reporting.score_totals: every team together).
response_values, signed_rows = _values, _signed


def compact() -> int:
    """Fold the score rollup's fresh deltas (see fold). Returns the number of deltas folded."""
    return fold(TABLE, KEY, ROLLUP_COUNTS)


def fold(table: str, key: tuple[str, ...], counts: tuple[str, ...]) -> int:
    """Fold each key's fresh deltas (and its earlier folded row) into one row; drop keys whose
    counts are all zero (every response of it erased or moved). Inserts wait meanwhile (EXCLUSIVE
    lock on PostgreSQL: readers do not), so a delta committed during the fold is kept, not lost.
    Returns the number of fresh deltas folded. Nullable key columns are compared through
    COALESCE(..., -1) (ids, segment bits) / COALESCE(..., '') (text)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT count(*) FROM {table} WHERE fresh")
        fresh = cursor.fetchone()[0]
        if not fresh:
            return 0
        columns = ", ".join(
            f"COALESCE({c}, {'-1' if c.endswith(('_id', '_bits')) else chr(39) * 2})"
            if c != "day"
            else c
            for c in key
        )
        # The days first, so the day index finds the candidates; then the exact keys.
        keys = (
            f"day IN (SELECT day FROM {table} WHERE fresh) "
            f"AND ({columns}) IN (SELECT {columns} FROM {table} WHERE fresh)"
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE rollup_fold AS {_folded(table, key, counts, 'WHERE ' + keys)}"
        )
        cursor.execute(f"DELETE FROM {table} WHERE {keys}")
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(key)}, {', '.join(counts)}, fresh) SELECT * FROM rollup_fold"
        )
        cursor.execute("DROP TABLE rollup_fold")
        return fresh
