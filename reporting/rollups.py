"""The closure rollup (reporting.ClosureRollup): closed cases per local day of closure, team, root
cause, survey and touchpoint, with the score sums of the responses that opened them. Kept by
database triggers, like the score rollup (surveys.rollups, which explains why triggers and why
signed deltas); read by the root-causes page and the recovery page's "answered again" tables.
And the closure totals (reporting.ClosureTotal, reporting 0025): the root-causes page's sums over
every team per local day, root cause, touchpoint and the cases' segment bits (reporting.segment_bits),
what an admin's root causes narrowed to a segment read. Each is a `Level` (table, key, counts),
kept the same way.

A case counts while it is closed (status closed, with a closure time). Two tables feed it:
- cases_case: a statement that inserts, deletes or updates cases adds, per key, the counts of the
  changed cases as they are now minus as they were (only when a column the level reads changed:
  status, closure time, root cause, opening response, whether a prevention was written; the team,
  the segment bits, the survey when keyed; the customer and the score of the answer after the
  closure when the recovery counts are counted);
- surveys_surveyresponse: a statement that changes the touchpoint or scores (or the survey, when
  keyed) of responses that opened closed cases moves those cases' figures the same way.
A response that opened a case cannot be deleted (Case.response is PROTECT)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from core import rollup_triggers
from core.rollup_triggers import changed_sql
from surveys.rollups import (
    aggregate_select,
    ces_ease_sql,
    flag_sql,
    fold,
    local_day_sql,
)
from surveys.vocabulary import DETRACTOR_AT_MOST

CASES = "cases_case"
RESPONSES = "surveys_surveyresponse"
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
# What a level reads of a case and of its opening response (and the keys of theirs it may take):
# an update that changes none of them writes nothing.
CASE_COLUMNS = ("status", "closed_at", "root_cause_id", "response_id")
CASE_KEYS = ("team_id", "segment_bits")
RECOVERY_COLUMNS = ("customer_id", "answered_again_nps")
RESPONSE_KEYS = ("survey_id",)
RESPONSE_COLUMNS = (
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
        "segment_bits": f"{c}segment_bits",
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


@dataclass(frozen=True)
class Level:
    """One level of closed cases: its table (also the prefix of its triggers and functions), its
    key, its counts and how rebuild() orders the rows on disk."""

    table: str
    key: tuple[str, ...]
    counts: tuple[str, ...]
    disk_order: str = "day"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *self.counts)

    @property
    def case_columns(self) -> tuple[str, ...]:
        return (*CASE_COLUMNS, *(c for c in CASE_KEYS if c in self.key),
                *(RECOVERY_COLUMNS if "answered_again" in self.counts else ()))

    @property
    def response_columns(self) -> tuple[str, ...]:
        return (*(c for c in RESPONSE_KEYS if c in self.key), *RESPONSE_COLUMNS)

    @property
    def case_triggers(self) -> dict[str, str]:
        return {op: f"{self.table}_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE")}

    @property
    def response_trigger(self) -> str:
        return f"{self.table}_response"

    def _case_changed(self, n: str, o: str) -> str:
        return f"{changed_sql(n, o, self.case_columns)} OR ({n}prevention <> '') IS DISTINCT FROM ({o}prevention <> '')"

    def _signed(self, sign: int, c: str, r: str, source: str, where: str) -> str:
        values = _values(f"{c}.", f"{r}.")
        return (f"SELECT {sign} AS s, {', '.join(f'{values[k]} AS {k}' for k in self.columns)} "
                f"FROM {source} WHERE {where}")

    def _aggregate(self, signed_rows: str) -> str:
        return aggregate_select(signed_rows, self.key, self.counts)

    def trigger_sql(self) -> list[str]:
        """The statements that (re)create the level's triggers for the current database and TIME_ZONE."""
        insert = rollup_triggers.insert_into(self.table, self.columns)
        name, signed, aggregate = self.table, self._signed, self._aggregate
        case_changed, response_changed = self._case_changed("n.", "o."), changed_sql("n.", "o.", self.response_columns)
        if connection.vendor == "postgresql":
            join_n = f"JOIN {RESPONSES} r ON r.id = n.response_id"
            join_o = f"JOIN {RESPONSES} r ON r.id = o.response_id"
            pair = "new_rows n JOIN old_rows o ON o.id = n.id"
            opened = f"{pair} JOIN {CASES} c ON c.response_id = n.id"
            case_insert = aggregate(signed(1, "n", "r", f"new_rows n {join_n}", _closed("n.")))
            case_delete = aggregate(signed(-1, "o", "r", f"old_rows o {join_o}", _closed("o.")))
            case_update = aggregate(
                signed(1, "n", "r", f"{pair} {join_n}", f"({case_changed}) AND {_closed('n.')}")
                + " UNION ALL " + signed(-1, "o", "r", f"{pair} {join_o}", f"({case_changed}) AND {_closed('o.')}"))
            response_update = aggregate(
                signed(1, "c", "n", opened, f"({response_changed}) AND {_closed('c.')}")
                + " UNION ALL " + signed(-1, "c", "o", opened, f"({response_changed}) AND {_closed('c.')}"))
            return [
                rollup_triggers.pg_apply_function(f"{name}_cases", insert, on_insert=case_insert,
                                                  on_update=case_update, on_delete=case_delete),
                rollup_triggers.pg_apply_function(f"{name}_responses", insert, on_update=response_update),
                rollup_triggers.pg_clear_function(f"{name}_clear", self.table),
                *rollup_triggers.pg_statement_triggers(CASES, f"{name}_clear", {"TRUNCATE": f"{name}_truncate"}),
                *rollup_triggers.pg_statement_triggers(CASES, f"{name}_cases", self.case_triggers),
                *rollup_triggers.pg_statement_triggers(RESPONSES, f"{name}_responses", {"UPDATE": self.response_trigger}),
            ]

        # SQLite: row triggers, one delta per case written (compact() folds them).
        def row(sign: int, c: str, r: str, source: str, where: str) -> str:
            values = _values(f"{c}.", f"{r}.")
            selected = ", ".join(values[k] if k in self.key else f"{sign} * {values[k]}" for k in self.columns)
            return f"{insert}SELECT {selected}, 1 FROM {source} WHERE {where};"

        def of_case(sign: int, row_name: str) -> str:
            return row(sign, row_name, "r", f"{RESPONSES} r", f"r.id = {row_name}.response_id AND {_closed(row_name + '.')}")

        def of_response(sign: int, row_name: str) -> str:
            return row(sign, "c", row_name, f"{CASES} c", f"c.response_id = {row_name}.id AND {_closed('c.')}")

        triggers = self.case_triggers
        return [
            *rollup_triggers.sqlite_row_triggers(CASES, {
                triggers["INSERT"]: ("INSERT", "", of_case(1, "NEW")),
                triggers["DELETE"]: ("DELETE", "", of_case(-1, "OLD")),
                triggers["UPDATE"]: ("UPDATE", self._case_changed("NEW.", "OLD."), of_case(-1, "OLD") + " " + of_case(1, "NEW")),
            }),
            *rollup_triggers.sqlite_row_triggers(RESPONSES, {
                self.response_trigger: ("UPDATE", changed_sql("NEW.", "OLD.", self.response_columns),
                                        of_response(-1, "OLD") + " " + of_response(1, "NEW")),
            }),
        ]

    def drop_trigger_sql(self) -> list[str]:
        name = self.table
        return rollup_triggers.drop_sql(
            {**{trigger: CASES for trigger in self.case_triggers.values()}, self.response_trigger: RESPONSES,
             f"{name}_truncate": CASES},
            (f"{name}_cases", f"{name}_responses", f"{name}_clear"))

    def rebuild(self) -> int:
        """Recreate the triggers (with the current TIME_ZONE) and the whole level from the cases
        (core.rollup_triggers.rebuild: writes to cases and responses wait meanwhile). Returns the
        rows written."""
        return rollup_triggers.rebuild(
            self.table, self.columns, (CASES, RESPONSES), self.trigger_sql(),
            self._aggregate(self._signed(1, "c", "r", f"{CASES} c JOIN {RESPONSES} r ON r.id = c.response_id",
                                         _closed("c."))),
            self.disk_order)

    def compact(self) -> int:
        """Fold the level's fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
        return fold(self.table, self.key, self.counts)


# The rollup, per team (a team's days side by side on disk), and the totals over every team.
ROLLUP = Level("reporting_closurerollup", ("day", "team_id", "root_cause_id", "survey_id", "touchpoint"), COUNTS,
               "team_id, day")
TOTALS = Level("reporting_closuretotal", ("day", "root_cause_id", "touchpoint", "segment_bits"), CLOSURE_COUNTS)
