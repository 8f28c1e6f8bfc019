"""The closure rollup (reporting.ClosureRollup): closed cases per local day of closure, team, root
cause, survey and touchpoint, with the score sums of the responses that opened them. Kept by
database triggers, like the score rollup (surveys.rollups, which explains why triggers and why
signed deltas); read by the root-causes page and the recovery page's "answered again" tables.

A case counts while it is closed (status closed, with a closure time). Two tables feed it:
- cases_case: a statement that inserts, deletes or updates cases adds, per key, the counts of the
  changed cases as they are now minus as they were (only when status, closure time, team, root
  cause, opening response, customer, the score of the answer after the closure or whether a
  prevention was written changed);
- surveys_surveyresponse: a statement that changes the survey, touchpoint or scores of responses
  that opened closed cases moves those cases' figures the same way.
A response that opened a case cannot be deleted (Case.response is PROTECT)."""

from __future__ import annotations

from django.db import connection

from core import rollup_triggers
from surveys.rollups import (
    aggregate_select,
    ces_ease_sql,
    flag_sql,
    fold,
    local_day_sql,
)
from surveys.vocabulary import DETRACTOR_AT_MOST

TABLE = "reporting_closurerollup"
CASES = "cases_case"
RESPONSES = "surveys_surveyresponse"
KEY = ("day", "team_id", "root_cause_id", "survey_id", "touchpoint")
CLOSURE_COUNTS = (  # what the root-causes page sums
    "cases",
    "with_prevention",
    "nps_n",
    "nps_sum",
    "csat_n",
    "csat_pct_n",
    "csat_pct_sum",
    "ces_n",
    "ces_ease_n",
    "ces_ease_sum",
)
# Recovery (reporting.selectors.recovery): closed cases whose customer answered again (NPS) after
# the closure (Case.answered_again_nps, stored when the answer is recorded), the opening and the
# later score summed, and how many detractors stopped being one.
RECOVERY_COUNTS = (
    "answered_again",
    "before_sum",
    "after_sum",
    "detractors_before",
    "recovered",
)
COUNTS = (*CLOSURE_COUNTS, *RECOVERY_COUNTS)
COLUMNS = (*KEY, *COUNTS)
CASE_COLUMNS = ("status", "closed_at", "team_id", "root_cause_id", "response_id", "customer_id", "answered_again_nps")
RESPONSE_COLUMNS = (
    "survey_id",
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


def _csat_pct(r: str) -> str:
    """reporting.selectors.scoring.csat_pct in SQL: CSAT as 0..100 % of its scale."""
    real = "double precision" if connection.vendor == "postgresql" else "REAL"
    lo, hi, raw = (
        f"CAST(COALESCE({r}csat_scale_min, 1) AS {real})",
        f"CAST(COALESCE({r}csat_scale_max, 5) AS {real})",
        f"CAST({r}csat AS {real})",
    )
    return f"100.0 * ({raw} - {lo}) / NULLIF({hi} - {lo}, 0.0)"


def _values(c: str, r: str) -> dict[str, str]:
    """Each rollup column's value for one closed case `c` and its opening response `r` (aliases with their dot)."""
    ease, pct = ces_ease_sql(r), _csat_pct(r)
    again = f"{c}answered_again_nps IS NOT NULL AND {r}nps IS NOT NULL AND {c}customer_id IS NOT NULL"
    return {
        "day": local_day_sql(f"{c}closed_at"),
        "team_id": f"{c}team_id",
        "root_cause_id": f"{c}root_cause_id",
        "survey_id": f"{r}survey_id",
        "touchpoint": f"{r}touchpoint",
        "cases": "1",
        "with_prevention": flag_sql(f"{c}prevention <> ''"),
        "nps_n": flag_sql(f"{r}nps IS NOT NULL"),
        "nps_sum": f"COALESCE({r}nps, 0)",
        "csat_n": flag_sql(f"{r}csat IS NOT NULL"),
        "csat_pct_n": flag_sql(f"({pct}) IS NOT NULL"),
        "csat_pct_sum": f"COALESCE({pct}, 0.0)",
        "ces_n": flag_sql(f"{r}ces IS NOT NULL"),
        "ces_ease_n": flag_sql(f"({ease}) IS NOT NULL"),
        "ces_ease_sum": f"COALESCE({ease}, 0.0)",
        "answered_again": flag_sql(again),
        "before_sum": f"(CASE WHEN {again} THEN {r}nps ELSE 0 END)",
        "after_sum": f"(CASE WHEN {again} THEN {c}answered_again_nps ELSE 0 END)",
        "detractors_before": flag_sql(f"{again} AND {r}nps <= {DETRACTOR_AT_MOST}"),
        "recovered": flag_sql(
            f"{again} AND {r}nps <= {DETRACTOR_AT_MOST} AND {c}answered_again_nps > {DETRACTOR_AT_MOST}"
        ),
    }


def _closed(c: str) -> str:
    return f"{c}status = 'closed' AND {c}closed_at IS NOT NULL"


def _case_changed(n: str, o: str) -> str:
    changed = [f"{n}{col} IS DISTINCT FROM {o}{col}" for col in CASE_COLUMNS]
    return " OR ".join(
        [*changed, f"({n}prevention <> '') IS DISTINCT FROM ({o}prevention <> '')"]
    )


def _response_changed(n: str, o: str) -> str:
    return " OR ".join(
        f"{n}{col} IS DISTINCT FROM {o}{col}" for col in RESPONSE_COLUMNS
    )


def _signed(sign: int, c: str, r: str, source: str, where: str) -> str:
    values = _values(f"{c}.", f"{r}.")
    return f"SELECT {sign} AS s, {', '.join(f'{v} AS {k}' for k, v in values.items())} FROM {source} WHERE {where}"


def _aggregate(signed_rows: str) -> str:
    return aggregate_select(signed_rows, KEY, COUNTS)


CASE_TRIGGERS = {op: f"reporting_closurerollup_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE")}
RESPONSE_TRIGGER = "reporting_closurerollup_response"


def trigger_sql() -> list[str]:
    """The statements that (re)create the closure rollup's triggers for the current database and TIME_ZONE."""
    insert = rollup_triggers.insert_into(TABLE, COLUMNS)
    if connection.vendor == "postgresql":
        join_n = f"JOIN {RESPONSES} r ON r.id = n.response_id"
        join_o = f"JOIN {RESPONSES} r ON r.id = o.response_id"
        pair = "new_rows n JOIN old_rows o ON o.id = n.id"
        case_insert = _aggregate(
            _signed(1, "n", "r", f"new_rows n {join_n}", _closed("n."))
        )
        case_delete = _aggregate(
            _signed(-1, "o", "r", f"old_rows o {join_o}", _closed("o."))
        )
        case_update = _aggregate(
            _signed(
                1,
                "n",
                "r",
                f"{pair} {join_n}",
                f"({_case_changed('n.', 'o.')}) AND {_closed('n.')}",
            )
            + " UNION ALL "
            + _signed(
                -1,
                "o",
                "r",
                f"{pair} {join_o}",
                f"({_case_changed('n.', 'o.')}) AND {_closed('o.')}",
            )
        )
        opened = f"{pair} JOIN {CASES} c ON c.response_id = n.id"
        response_update = _aggregate(
            _signed(
                1,
                "c",
                "n",
                opened,
                f"({_response_changed('n.', 'o.')}) AND {_closed('c.')}",
            )
            + " UNION ALL "
            + _signed(
                -1,
                "c",
                "o",
                opened,
                f"({_response_changed('n.', 'o.')}) AND {_closed('c.')}",
            )
        )
        return [
            rollup_triggers.pg_apply_function("reporting_closurerollup_cases", insert, on_insert=case_insert,
                                              on_update=case_update, on_delete=case_delete),
            rollup_triggers.pg_apply_function("reporting_closurerollup_responses", insert, on_update=response_update),
            rollup_triggers.pg_clear_function("reporting_closurerollup_clear", TABLE),
            *rollup_triggers.pg_statement_triggers(CASES, "reporting_closurerollup_clear",
                                                   {"TRUNCATE": "reporting_closurerollup_truncate"}),
            *rollup_triggers.pg_statement_triggers(CASES, "reporting_closurerollup_cases", CASE_TRIGGERS),
            *rollup_triggers.pg_statement_triggers(RESPONSES, "reporting_closurerollup_responses",
                                                   {"UPDATE": RESPONSE_TRIGGER}),
        ]

    # SQLite: row triggers, one delta per case written (compact() folds them).
    def row(sign: int, c: str, r: str, source: str, where: str) -> str:
        values = _values(f"{c}.", f"{r}.")
        selected = ", ".join(values[k] if k in KEY else f"{sign} * {values[k]}" for k in COLUMNS)
        return f"{insert}SELECT {selected}, 1 FROM {source} WHERE {where};"

    def of_case(sign: int, row_name: str) -> str:
        return row(sign, row_name, "r", f"{RESPONSES} r", f"r.id = {row_name}.response_id AND {_closed(row_name + '.')}")

    def of_response(sign: int, row_name: str) -> str:
        return row(sign, "c", row_name, f"{CASES} c", f"c.response_id = {row_name}.id AND {_closed('c.')}")

    return [
        *rollup_triggers.sqlite_row_triggers(CASES, {
            CASE_TRIGGERS["INSERT"]: ("INSERT", "", of_case(1, "NEW")),
            CASE_TRIGGERS["DELETE"]: ("DELETE", "", of_case(-1, "OLD")),
            CASE_TRIGGERS["UPDATE"]: ("UPDATE", _case_changed("NEW.", "OLD."), of_case(-1, "OLD") + " " + of_case(1, "NEW")),
        }),
        *rollup_triggers.sqlite_row_triggers(RESPONSES, {
            RESPONSE_TRIGGER: ("UPDATE", _response_changed("NEW.", "OLD."),
                               of_response(-1, "OLD") + " " + of_response(1, "NEW")),
        }),
    ]


def drop_trigger_sql() -> list[str]:
    return rollup_triggers.drop_sql(
        {**{name: CASES for name in CASE_TRIGGERS.values()}, RESPONSE_TRIGGER: RESPONSES,
         "reporting_closurerollup_truncate": CASES},
        ("reporting_closurerollup_cases", "reporting_closurerollup_responses", "reporting_closurerollup_clear"))


def rebuild() -> int:
    """Recreate the triggers (with the current TIME_ZONE) and the whole rollup from the cases
    (core.rollup_triggers.rebuild: writes to cases and responses wait meanwhile). Returns the rows
    written."""
    return rollup_triggers.rebuild(
        TABLE, COLUMNS, (CASES, RESPONSES), trigger_sql(),
        _aggregate(_signed(1, "c", "r", f"{CASES} c JOIN {RESPONSES} r ON r.id = c.response_id", _closed("c."))),
        "team_id, day")  # a team's days side by side on disk


def compact() -> int:
    """Fold the closure rollup's fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
    return fold(TABLE, KEY, COUNTS)
