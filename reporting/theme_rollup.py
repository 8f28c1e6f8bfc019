"""The daily theme rollup (reporting.ThemeRollup): theme tags per local day, theme, team, survey
and touchpoint, with the tagged responses' sentiment and score counts, what the themes page and
its API reports read instead of joining every tag (surveys.ResponseTheme) to its response. And
the theme totals (reporting.ThemeTotal, reporting 0024), the same counts summed over every team
per local day, theme, touchpoint and the responses' segment bits (reporting.segment_bits): what an
admin's themes narrowed to a segment read (103,562 rows for 90 days where 1,095,557 tags were joined
to their responses at 10,000,000 responses). Each is a `Level` (its table and key), kept the same way.

Kept like the score rollup (surveys.rollups, which explains why database triggers and why signed
deltas). A tag's figures are its own (theme, answered_at: the day is the tag's copy of the answer
time, the one the page's date range reads) and its response's (team, survey, touchpoint, scores,
sentiment, kind), so two sets of triggers write them, each over the pairs of tag and response
present when it fires:

- on the tags: an inserted tag adds its pair, a deleted one subtracts it, an update of its
  response, theme or answer time moves it (an update of the matched words writes nothing);
- on the responses: an inserted response adds the pairs of the tags already written for it (the
  recording's unit of work may write a tag before its response), a deleted one subtracts the pairs
  of its tags still there, an update of a column the level reads moves its tags' pairs (the
  totals do not read the team or the survey: a team move writes them nothing; they read the
  segment bits, which the customers' segments move).

A pair is counted while both its tag and its response exist, whichever is written or deleted
first: the second trigger then finds no partner. Retiring a theme changes no count (its history
stays; the page labels it); deleting a theme deletes its tags, which their trigger subtracts.

Readers SUM a key's rows; compact() folds them (the beat task reporting.tasks.rollups_compact_task);
rebuild() recreates the triggers and the rollup from the tags (`manage.py rollups --rebuild`, also
after changing TIME_ZONE or loading tags with the triggers off)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from core import rollup_triggers
from core.rollup_triggers import changed_sql
from surveys.rollups import aggregate_select, flag_sql, fold, local_day_sql, response_values
from surveys.vocabulary import NEGATIVE_AT_MOST, POSITIVE_AT_LEAST

TAGS = "surveys_responsetheme"
RESPONSES = "surveys_surveyresponse"
SCORE_COUNTS = ("nps_n", "promoters", "passives", "detractors", "csat_n", "csat_top2", "ces_n", "ces_ease_n",
                "ces_ease_sum", "ces_high_effort")
COUNTS = ("tags", "unsolicited", "rated", "positive", "negative", "sentiment_sum", *SCORE_COUNTS)

# What the rollup reads of a tag, and of a response (but its key's own columns, Level.response_columns):
# an update that changes none of them writes nothing.
TAG_COLUMNS = ("response_id", "theme_id", "answered_at")
RESPONSE_COLUMNS = ("touchpoint", "feedback_kind", "sentiment", "nps", "csat", "csat_scale_min", "csat_scale_max",
                    "ces", "ces_scale_min", "ces_scale_max", "ces_high_is_easy")
RESPONSE_KEYS = ("team_id", "survey_id", "segment_bits")  # the keys a level may take from the response


def _values(t: str, r: str) -> dict[str, str]:
    """Each column's value for one pair of tag (alias `t`, with its dot) and response (`r`)."""
    scores = response_values(r)
    return {
        "day": local_day_sql(f"{t}answered_at"),
        "theme_id": f"{t}theme_id",
        **{key: f"{r}{key}" for key in RESPONSE_KEYS},
        "touchpoint": f"{r}touchpoint",
        "tags": "1",
        "unsolicited": flag_sql(f"{r}feedback_kind <> 'survey'"),
        "rated": flag_sql(f"{r}sentiment IS NOT NULL"),
        "positive": flag_sql(f"{r}sentiment >= {POSITIVE_AT_LEAST}"),
        "negative": flag_sql(f"{r}sentiment <= {NEGATIVE_AT_MOST}"),
        "sentiment_sum": f"COALESCE({r}sentiment, 0.0)",
        **{c: scores[c] for c in SCORE_COUNTS},
    }


def _names(prefix: str, ops=("INSERT", "UPDATE", "DELETE")) -> dict[str, str]:
    return {op: f"{prefix}_{op.lower()}" for op in ops}


@dataclass(frozen=True)
class Level:
    """One theme rollup: its table (also the prefix of its triggers and functions), its key, and
    how rebuild() orders the rows on disk."""

    table: str
    key: tuple[str, ...]
    disk_order: str = "day"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key, *COUNTS)

    @property
    def response_columns(self) -> tuple[str, ...]:
        return (*(c for c in RESPONSE_KEYS if c in self.key), *RESPONSE_COLUMNS)

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """Each table and its triggers' prefix."""
        return (TAGS, f"{self.table}_tags"), (RESPONSES, f"{self.table}_responses")

    def _signed(self, sign: int, source: str) -> str:
        """Signed values of the pairs `source` (a FROM clause with aliases t and r) yields."""
        values = _values("t.", "r.")
        return f"SELECT {sign} AS s, {', '.join(f'{values[k]} AS {k}' for k in self.columns)} FROM {source}"

    def _aggregate(self, rows: str) -> str:
        return aggregate_select(rows, self.key, COUNTS)

    def trigger_sql(self) -> list[str]:
        """The statements that (re)create the triggers for the current database and TIME_ZONE."""
        insert = rollup_triggers.insert_into(self.table, self.columns)
        (_tags, tags), (_responses, responses) = self.sources
        signed, aggregate = self._signed, self._aggregate
        if connection.vendor == "postgresql":
            tag_moved = f"new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed_sql('n.', 'o.', TAG_COLUMNS)}"
            tag_pairs = f"{{rows}} JOIN {RESPONSES} r ON r.id = t.response_id"
            response_moved = (f"new_rows n JOIN old_rows o ON o.id = n.id "
                              f"WHERE {changed_sql('n.', 'o.', self.response_columns)}")
            response_pairs = f"{{rows}} JOIN {TAGS} t ON t.response_id = r.id"
            statements = [
                rollup_triggers.pg_apply_function(
                    f"{tags}_apply", insert,
                    on_insert=aggregate(signed(1, tag_pairs.format(rows="new_rows t"))),
                    on_update=aggregate(signed(1, tag_pairs.format(rows=f"(SELECT n.* FROM {tag_moved}) t"))
                                        + " UNION ALL "
                                        + signed(-1, tag_pairs.format(rows=f"(SELECT o.* FROM {tag_moved}) t"))),
                    on_delete=aggregate(signed(-1, tag_pairs.format(rows="old_rows t"))),
                ),
                rollup_triggers.pg_apply_function(
                    f"{responses}_apply", insert,
                    on_insert=aggregate(signed(1, response_pairs.format(rows="new_rows r"))),
                    on_update=aggregate(signed(1, response_pairs.format(rows=f"(SELECT n.* FROM {response_moved}) r"))
                                        + " UNION ALL "
                                        + signed(-1, response_pairs.format(rows=f"(SELECT o.* FROM {response_moved}) r"))),
                    on_delete=aggregate(signed(-1, response_pairs.format(rows="old_rows r"))),
                ),
                rollup_triggers.pg_clear_function(f"{self.table}_clear", self.table),
            ]
            for table, prefix in self.sources:
                statements += [
                    *rollup_triggers.pg_statement_triggers(table, f"{self.table}_clear", _names(prefix, ("TRUNCATE",))),
                    *rollup_triggers.pg_statement_triggers(table, f"{prefix}_apply", _names(prefix)),
                ]
            return statements

        # SQLite: row triggers, one delta per pair written (compact() folds them).
        def pairs(sign: int, t: str, r: str, source: str) -> str:
            values = _values(f"{t}.", f"{r}.")
            selected = ", ".join(values[k] if k in self.key else f"{sign} * {values[k]}" for k in self.columns)
            return f"{insert}SELECT {selected}, 1 FROM {source};"

        def of_tag(sign: int, row: str) -> str:
            return pairs(sign, row, "r", f"{RESPONSES} r WHERE r.id = {row}.response_id")

        def of_response(sign: int, row: str) -> str:
            return pairs(sign, "t", row, f"{TAGS} t WHERE t.response_id = {row}.id")

        statements = []
        for (table, prefix), body, columns in zip(self.sources, (of_tag, of_response),
                                                  (TAG_COLUMNS, self.response_columns)):
            names = _names(prefix)
            statements += rollup_triggers.sqlite_row_triggers(table, {
                names["INSERT"]: ("INSERT", "", body(1, "NEW")),
                names["DELETE"]: ("DELETE", "", body(-1, "OLD")),
                names["UPDATE"]: ("UPDATE", changed_sql("NEW.", "OLD.", columns), body(-1, "OLD") + " " + body(1, "NEW")),
            })
        return statements

    def drop_trigger_sql(self) -> list[str]:
        ops = ("INSERT", "UPDATE", "DELETE", "TRUNCATE") if connection.vendor == "postgresql" else ("INSERT", "UPDATE",
                                                                                                  "DELETE")
        return rollup_triggers.drop_sql(
            {name: table for table, prefix in self.sources for name in _names(prefix, ops).values()},
            (*(f"{prefix}_apply" for _table, prefix in self.sources), f"{self.table}_clear"))

    def rebuild(self) -> int:
        """Recreate the triggers (with the current TIME_ZONE) and the whole level from the tags and
        their responses (core.rollup_triggers.rebuild: writes to both wait meanwhile). Returns the
        rows written."""
        return rollup_triggers.rebuild(
            self.table, self.columns, (TAGS, RESPONSES), self.trigger_sql(),
            self._aggregate(self._signed(1, f"{TAGS} t JOIN {RESPONSES} r ON r.id = t.response_id")), self.disk_order)

    def compact(self) -> int:
        """Fold the fresh deltas (surveys.rollups.fold). Returns the deltas folded."""
        return fold(self.table, self.key, COUNTS)


# The rollup, per team (a team's days side by side on disk), and the totals over every team.
ROLLUP = Level("reporting_themerollup", ("day", "theme_id", "team_id", "survey_id", "touchpoint"), "team_id, day")
TOTALS = Level("reporting_themetotal", ("day", "theme_id", "touchpoint", "segment_bits"))
