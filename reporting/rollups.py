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

from django.db import connection, transaction

from surveys.rollups import (
    TRUNCATE_FUNCTION,
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


def trigger_sql() -> list[str]:
    """The statements that (re)create the closure rollup's triggers for the current database and TIME_ZONE."""
    insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) "
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
        statements = [
            f"""CREATE OR REPLACE FUNCTION reporting_closurerollup_cases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert}{case_insert};
    ELSIF TG_OP = 'UPDATE' THEN
        {insert}{case_update};
    ELSE
        {insert}{case_delete};
    END IF;
    RETURN NULL;
END $$""",
            f"""CREATE OR REPLACE FUNCTION reporting_closurerollup_responses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {insert}{response_update};
    RETURN NULL;
END $$""",
        ]
        statements += [
            TRUNCATE_FUNCTION.format(name="reporting_closurerollup_clear", table=TABLE),
            f"DROP TRIGGER IF EXISTS reporting_closurerollup_truncate ON {CASES}",
            f"CREATE TRIGGER reporting_closurerollup_truncate AFTER TRUNCATE ON {CASES} FOR EACH STATEMENT EXECUTE FUNCTION reporting_closurerollup_clear()",
        ]
        for name, table, op, referencing, function in (
            (
                "reporting_closurerollup_insert",
                CASES,
                "INSERT",
                "NEW TABLE AS new_rows",
                "cases",
            ),
            (
                "reporting_closurerollup_update",
                CASES,
                "UPDATE",
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                "cases",
            ),
            (
                "reporting_closurerollup_delete",
                CASES,
                "DELETE",
                "OLD TABLE AS old_rows",
                "cases",
            ),
            (
                "reporting_closurerollup_response",
                RESPONSES,
                "UPDATE",
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                "responses",
            ),
        ):
            statements += [
                f"DROP TRIGGER IF EXISTS {name} ON {table}",
                (
                    f"CREATE TRIGGER {name} AFTER {op} ON {table} REFERENCING {referencing} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION reporting_closurerollup_{function}()"
                ),
            ]
        return statements

    # SQLite: row triggers, one delta per case written (compact() folds them).
    def row(sign: int, c: str, r: str, source: str, where: str) -> str:
        values = _values(f"{c}.", f"{r}.")
        selected = ", ".join(
            values[k] if k in KEY else f"{sign} * {values[k]}" for k in COLUMNS
        )
        return f"{insert}SELECT {selected}, 1 FROM {source} WHERE {where};"

    by_new = f"{RESPONSES} r", "r.id = NEW.response_id"
    by_old = f"{RESPONSES} r", "r.id = OLD.response_id"
    triggers = {
        ("reporting_closurerollup_insert", CASES, "INSERT", ""): row(
            1, "NEW", "r", by_new[0], f"{by_new[1]} AND {_closed('NEW.')}"
        ),
        ("reporting_closurerollup_delete", CASES, "DELETE", ""): row(
            -1, "OLD", "r", by_old[0], f"{by_old[1]} AND {_closed('OLD.')}"
        ),
        (
            "reporting_closurerollup_update",
            CASES,
            "UPDATE",
            f" WHEN {_case_changed('NEW.', 'OLD.')}",
        ): (
            row(-1, "OLD", "r", by_old[0], f"{by_old[1]} AND {_closed('OLD.')}")
            + " "
            + row(1, "NEW", "r", by_new[0], f"{by_new[1]} AND {_closed('NEW.')}")
        ),
        (
            "reporting_closurerollup_response",
            RESPONSES,
            "UPDATE",
            f" WHEN {_response_changed('NEW.', 'OLD.')}",
        ): (
            row(
                -1,
                "c",
                "OLD",
                f"{CASES} c",
                f"c.response_id = OLD.id AND {_closed('c.')}",
            )
            + " "
            + row(
                1,
                "c",
                "NEW",
                f"{CASES} c",
                f"c.response_id = NEW.id AND {_closed('c.')}",
            )
        ),
    }
    statements = []
    for (name, table, op, when), body in triggers.items():
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW{when} BEGIN {body} END",
        ]
    return statements


def drop_trigger_sql() -> list[str]:
    names = [
        ("reporting_closurerollup_insert", CASES),
        ("reporting_closurerollup_update", CASES),
        ("reporting_closurerollup_delete", CASES),
        ("reporting_closurerollup_response", RESPONSES),
    ]
    if connection.vendor == "postgresql":
        return [
            *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in names),
            "DROP FUNCTION IF EXISTS reporting_closurerollup_cases()",
            "DROP FUNCTION IF EXISTS reporting_closurerollup_responses()",
            f"DROP TRIGGER IF EXISTS reporting_closurerollup_truncate ON {CASES}",
            "DROP FUNCTION IF EXISTS reporting_closurerollup_clear()",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name, _ in names]


def rebuild() -> int:
    """Recreate the triggers (with the current TIME_ZONE) and the whole rollup from the cases.
    Writes to cases and responses wait meanwhile (SHARE locks on PostgreSQL). Idempotent.
    Returns the rows written."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {CASES}, {RESPONSES} IN SHARE MODE")
        for statement in trigger_sql():
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, fresh) "
            + _aggregate(
                _signed(
                    1,
                    "c",
                    "r",
                    f"{CASES} c JOIN {RESPONSES} r ON r.id = c.response_id",
                    _closed("c."),
                )
            ).replace("true FROM", "false FROM")
            + " ORDER BY team_id, day"  # a team's days side by side on disk
        )
        written = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TABLE}")
        return written


def compact() -> int:
    """Fold the closure rollup's fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
    return fold(TABLE, KEY, COUNTS)
