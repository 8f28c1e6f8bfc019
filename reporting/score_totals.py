"""The score totals (reporting.ScoreTotal): the daily score rollup's counts (and its low scores and
their coverage) summed over every team, per local day, survey, source, touchpoint and segment bits
(the customers' segments: reporting.segment_bits; what an admin's scores and KPIs by segment sum). Kept like the score rollup (surveys.rollups, which
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
# The score counts, then (reporting 0016) the KPI page's low scores and their coverage, as the
# score rollup counts them (surveys.rollups: from the flags case_alert and case_linked).
TOTALS = (*COUNTS, "low", "low_covered")
NAME = "reporting_scoretotal"


def _read(key: tuple[str, ...], counts: tuple[str, ...]) -> tuple[str, ...]:
    """What the totals read of a response: the score rollup's columns but the team, and the
    segment bits and the case flags when keyed or counted. An update that changes none of them (a
    team move, a comment) writes no delta."""
    return (*(c for c in READ_COLUMNS if c != "team_id"), *(("segment_bits",) if "segment_bits" in key else ()),
            *(("case_alert", "case_linked") if "low" in counts else ()))


def changed_condition(a: str, b: str, key: tuple[str, ...] = KEY, counts: tuple[str, ...] = TOTALS) -> str:
    return " OR ".join(f"{a}{c} IS DISTINCT FROM {b}{c}" for c in _read(key, counts))


TRIGGERS = {op: f"{NAME}_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE")}


def _signed_rows(sign: int, alias: str, source: str, key: tuple[str, ...]) -> str:
    return surveys_signed_rows(sign, alias, source, bits="segment_bits" in key)


def trigger_sql(key: tuple[str, ...] = KEY, counts: tuple[str, ...] = TOTALS) -> list[str]:
    """The statements that (re)create the triggers for the current database and TIME_ZONE (`key`
    and `counts`: the totals' columns, older ones for the migrations that knew them)."""
    columns = (*key, *counts)
    insert = rollup_triggers.insert_into(TABLE, columns)

    def _aggregate(rows: str) -> str:
        return aggregate_select(rows, key, counts)

    def changed(a: str, b: str) -> str:
        return changed_condition(a, b, key, counts)

    def signed_rows(sign: int, alias: str, source: str) -> str:
        return _signed_rows(sign, alias, source, key)

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
        values = response_values(f"{p}.", "segment_bits" in key)
        return f"{insert}VALUES ({', '.join(values[k] if k in key else f'{sign} * {values[k]}' for k in columns)}, 1);"

    return rollup_triggers.sqlite_row_triggers(RESPONSES, {
        TRIGGERS["INSERT"]: ("INSERT", "", row(1, "NEW")),
        TRIGGERS["DELETE"]: ("DELETE", "", row(-1, "OLD")),
        TRIGGERS["UPDATE"]: ("UPDATE", changed("NEW.", "OLD."), row(-1, "OLD") + " " + row(1, "NEW")),
    })


def drop_trigger_sql() -> list[str]:
    return rollup_triggers.drop_sql({name: RESPONSES for name in (*TRIGGERS.values(), f"{NAME}_truncate")},
                                    (f"{NAME}_apply", f"{NAME}_clear"))


def rebuild(key: tuple[str, ...] = KEY, counts: tuple[str, ...] = TOTALS) -> int:
    """Recreate the triggers (with the current TIME_ZONE) and every total from the responses
    (core.rollup_triggers.rebuild). Returns the rows written."""
    rows = _signed_rows(1, "r", f"{RESPONSES} r", key)
    return rollup_triggers.rebuild(TABLE, (*key, *counts), (RESPONSES,), trigger_sql(key, counts),
                                   aggregate_select(rows, key, counts), "day")


def compact() -> int:
    """Fold the fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
    return fold(TABLE, KEY, TOTALS)
