"""The score totals (reporting.ScoreTotal): the daily score rollup's counts summed over every team,
per local day, survey, source, touchpoint and segment bits (the customers' segments:
reporting.segment_bits; what an admin's scores by or narrowed to a segment sum). Kept like the score rollup (surveys.rollups, which
explains why database triggers and why signed deltas), by triggers of their own on the responses:
a statement that inserts, updates or deletes responses adds, per key it touches, the counts of its
rows as they are now minus as they were; an update that changes only the team (or nothing the
totals read) adds no row. Readers SUM a key's rows; compact() folds them; rebuild() recreates the triggers and
the totals from the responses (`manage.py rollups --rebuild`, also after changing TIME_ZONE)."""

from __future__ import annotations

from django.db import connection

from core import rollup_triggers
from surveys.rollups import COUNTS, READ_COLUMNS, aggregate_select, fold, response_values
from surveys.rollups import signed_rows as surveys_signed_rows

TABLE = "reporting_scoretotal"
RESPONSES = "surveys_surveyresponse"
KEY_0010 = ("day", "survey_id", "source_id", "touchpoint")  # before reporting 0015
KEY = (*KEY_0010, "segment_bits")
NAME = "reporting_scoretotal"


# What the totals read of a response: the score rollup's columns but the team, and the segment
# bits. An update that changes none of them (a team move, a comment) writes no delta.
READ = (*(c for c in READ_COLUMNS if c != "team_id"), "segment_bits")


def changed_condition(a: str, b: str, key: tuple[str, ...] = KEY) -> str:
    read = READ if "segment_bits" in key else tuple(c for c in READ if c != "segment_bits")
    return " OR ".join(f"{a}{c} IS DISTINCT FROM {b}{c}" for c in read)


def _aggregate(rows: str, key: tuple[str, ...] = KEY) -> str:
    return aggregate_select(rows, key, COUNTS)


TRIGGERS = {op: f"{NAME}_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE")}


def trigger_sql(key: tuple[str, ...] = KEY) -> list[str]:
    """The statements that (re)create the triggers for the current database and TIME_ZONE (`key`:
    the totals' key, KEY_0010 for the migration that takes the bits out again)."""
    columns = (*key, *COUNTS)
    insert = rollup_triggers.insert_into(TABLE, columns)
    bits = "segment_bits" in key

    def _aggregate(rows: str) -> str:
        return aggregate_select(rows, key, COUNTS)

    def changed(a: str, b: str) -> str:
        return changed_condition(a, b, key)

    def signed_rows(sign: int, alias: str, source: str) -> str:
        return surveys_signed_rows(sign, alias, source, bits=bits)

    if connection.vendor == "postgresql":
        moved = f" JOIN old_rows o ON o.id = n.id WHERE {changed('n.', 'o.')}"
        return [
            rollup_triggers.pg_apply_function(
                f"{NAME}_apply", insert,
                on_insert=_aggregate(signed_rows(1, "n", "new_rows n")),
                on_update=_aggregate(signed_rows(1, "n", "new_rows n" + moved) + " UNION ALL "
                                     + signed_rows(-1, "o", "new_rows n" + moved)),
                on_delete=_aggregate(signed_rows(-1, "o", "old_rows o")),
            ),
            rollup_triggers.pg_clear_function(f"{NAME}_clear", TABLE),
            *rollup_triggers.pg_statement_triggers(RESPONSES, f"{NAME}_clear", {"TRUNCATE": f"{NAME}_truncate"}),
            *rollup_triggers.pg_statement_triggers(RESPONSES, f"{NAME}_apply", TRIGGERS),
        ]

    # SQLite: row triggers, one delta per response written (compact() folds them).
    def row(sign: int, p: str) -> str:
        values = response_values(f"{p}.", bits)
        return f"{insert}VALUES ({', '.join(values[k] if k in key else f'{sign} * {values[k]}' for k in columns)}, 1);"

    return rollup_triggers.sqlite_row_triggers(RESPONSES, {
        TRIGGERS["INSERT"]: ("INSERT", "", row(1, "NEW")),
        TRIGGERS["DELETE"]: ("DELETE", "", row(-1, "OLD")),
        TRIGGERS["UPDATE"]: ("UPDATE", changed("NEW.", "OLD."), row(-1, "OLD") + " " + row(1, "NEW")),
    })


def drop_trigger_sql() -> list[str]:
    return rollup_triggers.drop_sql({name: RESPONSES for name in (*TRIGGERS.values(), f"{NAME}_truncate")},
                                    (f"{NAME}_apply", f"{NAME}_clear"))


def rebuild(key: tuple[str, ...] = KEY) -> int:
    """Recreate the triggers (with the current TIME_ZONE) and every total from the responses
    (core.rollup_triggers.rebuild). Returns the rows written."""
    rows = surveys_signed_rows(1, "r", f"{RESPONSES} r", bits="segment_bits" in key)
    return rollup_triggers.rebuild(TABLE, (*key, *COUNTS), (RESPONSES,), trigger_sql(key), _aggregate(rows, key), "day")


def compact() -> int:
    """Fold the fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
    return fold(TABLE, KEY, COUNTS)
