"""The score totals: the daily score rollup's counts (and its low scores and their coverage) keyed
otherwise than the rollup is, at three levels, each its own table; two summed over every team:

- the score totals (reporting.ScoreTotal), per local day, survey, source, touchpoint and segment
  bits (the customers' segments: reporting.segment_bits; what an admin's scores and KPIs by
  segment sum, and the segment comparison's answers: with every answer a case covers too,
  reporting 0020);
- the location totals (reporting.LocationTotal), per local day, survey, touchpoint and location
  (what an admin's scores and KPIs by location, or narrowed to one, sum; reporting 0019);
- and, per team rather than over every team, the segment rollup (reporting.SegmentRollup), per
  local day, team and segment bits (what a report narrowed to a segment sums by team, week or
  month, a manager's or an admin's; reporting 0021).

Kept like the score rollup (surveys.rollups, which explains why database triggers and why signed
deltas), by triggers of their own on the responses: a statement that inserts, updates or deletes
responses adds, per key it touches, the counts of its rows as they are now minus as they were; an
update that changes nothing a level reads (on the every-team levels, a team move) adds no row.
Readers SUM a key's rows; compact() folds them; rebuild() recreates the triggers and the totals
from the responses (`manage.py rollups --rebuild`, also after changing TIME_ZONE)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from core import rollup_triggers
from surveys.rollups import COUNTS, READ_COLUMNS, aggregate_select, fold, response_values
from surveys.rollups import signed_rows as surveys_signed_rows

RESPONSES = "surveys_surveyresponse"
# The score counts, then (reporting 0016) the KPI page's low scores and their coverage, as the
# score rollup counts them (surveys.rollups: from the flags case_alert and case_linked).
TOTALS = (*COUNTS, "low", "low_covered")
BASE_KEY = ("day", "survey_id", "source_id", "touchpoint")  # what the score rollup keys too, but the team


@dataclass(frozen=True)
class Totals:
    """One level of the totals: its table (also the prefix of its triggers and functions), its key
    (with the team in it, a per-team level) and its counts. `key` and `counts` given to the
    methods: older shapes, for the migrations that knew them."""

    table: str
    key: tuple[str, ...]
    counts: tuple[str, ...] = TOTALS

    def _own(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """The key's columns that are the response's own, copied as they are (not the day)."""
        return tuple(c for c in key if c not in BASE_KEY)

    def _read(self, key: tuple[str, ...], counts: tuple[str, ...]) -> tuple[str, ...]:
        """What the totals read of a response: the score rollup's columns but the team and the keys
        they do not have (the location totals' source), their own keys (the segment bits, the
        location, the segment rollup's team) and the case flags, the comment and the sentiment when
        counted. An update that changes none of them (a team move, on an every-team level) writes
        no delta."""
        return (*(c for c in READ_COLUMNS if c != "team_id" and (c not in BASE_KEY or c in key)), *self._own(key),
                *(("case_alert", "case_linked") if "low" in counts else ()),
                *(("comment", "sentiment") if "commented" in counts else ()))

    def changed_condition(self, a: str, b: str, key=None, counts=None) -> str:
        return rollup_triggers.changed_sql(a, b, self._read(key or self.key, counts or self.counts))

    @property
    def triggers(self) -> dict[str, str]:
        return {op: f"{self.table}_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE")}

    def _signed_rows(self, sign: int, alias: str, source: str, key: tuple[str, ...]) -> str:
        return surveys_signed_rows(sign, alias, source, columns=self._own(key))

    def trigger_sql(self, key=None, counts=None) -> list[str]:
        """The statements that (re)create the triggers for the current database and TIME_ZONE."""
        key, counts = key or self.key, counts or self.counts
        columns = (*key, *counts)
        insert = rollup_triggers.insert_into(self.table, columns)
        name, triggers = self.table, self.triggers

        def _aggregate(rows: str) -> str:
            return aggregate_select(rows, key, counts)

        def changed(a: str, b: str) -> str:
            return self.changed_condition(a, b, key, counts)

        def signed_rows(sign: int, alias: str, source: str) -> str:
            return self._signed_rows(sign, alias, source, key)

        if connection.vendor == "postgresql":
            moved = f" JOIN old_rows o ON o.id = n.id WHERE {changed('n.', 'o.')}"
            return [
                rollup_triggers.pg_apply_function(
                    f"{name}_apply", insert,
                    on_insert=_aggregate(signed_rows(1, "n", "new_rows n")),
                    on_update=_aggregate(signed_rows(1, "n", "new_rows n" + moved) + " UNION ALL "
                                         + signed_rows(-1, "o", "new_rows n" + moved)),
                    on_delete=_aggregate(signed_rows(-1, "o", "old_rows o")),
                ),
                rollup_triggers.pg_clear_function(f"{name}_clear", self.table),
                *rollup_triggers.pg_statement_triggers(RESPONSES, f"{name}_clear", {"TRUNCATE": f"{name}_truncate"}),
                *rollup_triggers.pg_statement_triggers(RESPONSES, f"{name}_apply", triggers),
            ]

        # SQLite: row triggers, one delta per response written (compact() folds them).
        def row(sign: int, p: str) -> str:
            values = response_values(f"{p}.", self._own(key))
            return f"{insert}VALUES ({', '.join(values[k] if k in key else f'{sign} * {values[k]}' for k in columns)}, 1);"

        return rollup_triggers.sqlite_row_triggers(RESPONSES, {
            triggers["INSERT"]: ("INSERT", "", row(1, "NEW")),
            triggers["DELETE"]: ("DELETE", "", row(-1, "OLD")),
            triggers["UPDATE"]: ("UPDATE", changed("NEW.", "OLD."), row(-1, "OLD") + " " + row(1, "NEW")),
        })

    def drop_trigger_sql(self) -> list[str]:
        return rollup_triggers.drop_sql({name: RESPONSES for name in (*self.triggers.values(), f"{self.table}_truncate")},
                                        (f"{self.table}_apply", f"{self.table}_clear"))

    def rebuild(self, key=None, counts=None) -> int:
        """Recreate the triggers (with the current TIME_ZONE) and every total from the responses
        (core.rollup_triggers.rebuild). Returns the rows written."""
        key, counts = key or self.key, counts or self.counts
        rows = self._signed_rows(1, "r", f"{RESPONSES} r", key)
        return rollup_triggers.rebuild(self.table, (*key, *counts), (RESPONSES,), self.trigger_sql(key, counts),
                                       aggregate_select(rows, key, counts), "day")

    def compact(self) -> int:
        """Fold the fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
        return fold(self.table, self.key, self.counts)


# The score totals (reporting.ScoreTotal), and their key before reporting 0015 added the bits; their
# counts: the answers a case covers, low or not, too (reporting 0020: the segment comparison's case rate).
KEY_0010 = BASE_KEY
KEY = (*BASE_KEY, "segment_bits")
SCORE_COUNTS = (*TOTALS, "covered")
SCORES = Totals("reporting_scoretotal", KEY, SCORE_COUNTS)
trigger_sql, drop_trigger_sql, rebuild, compact = SCORES.trigger_sql, SCORES.drop_trigger_sql, SCORES.rebuild, SCORES.compact

# The location totals (reporting.LocationTotal): no source nor bits, whose patterns multiplied by
# the locations would make some ten times the rows (97,200 rows for 90 days at 10M responses with 40
# locations; 725,000 with the bits and source too).
LOCATIONS = Totals("reporting_locationtotal", ("day", "survey_id", "touchpoint", "location"))

# The segment rollup (reporting.SegmentRollup): per team and segment bits, neither survey, source nor
# touchpoint (53,400 rows for 90 days at 10M; with the touchpoint too, some ten times more).
SEGMENTS = Totals("reporting_segmentrollup", ("day", "team_id", "segment_bits"),
                  (*TOTALS, "commented", "sentiment_n", "sentiment_sum"))  # and the Themes page's "All responses"
