"""Each customer's latest answer (reporting.CustomerLastAnswer: the time of the customer's newest
response, of any team, and the customer's segment bits), PostgreSQL only: what an admin's segment
comparison counts its "customers who answered in the period" from (reporting.selectors.segments).

Counted from the answers, the distinct customers of every team's 90 days are a COUNT(DISTINCT) over
2.5 million answers grouped by segment bits: 2.4 s of the comparison's 2.8 s at 10,000,000
responses (docs/benchmarks_reports.md). A customer answered in the period [start, end) exactly when
their latest answer is in it, or is later and they also answered in it; so the count is the
customers whose latest answer is in the period (their counts per local day and bits, some thousand
rows where the latest answers are some 1,000,000: 3 ms against 60 ms), plus, for the customers
whose latest answer is at or after the end (none, for a period that ends today), whether they
answered in the period too (a probe of the answers' index by customer each). A period that
ends long ago has most customers after its end: the comparison counts the answers instead.

Kept exactly on every write, from any path (webhooks, imports, merges, erasure, raw SQL), by
statement triggers on the responses, like the rollups (surveys.rollups says why triggers):
an INSERT moves each customer's time forward to their newest new answer; an UPDATE that moves
answers to another customer or time, and a DELETE, recompute the customers concerned from their
answers (the index by customer, one probe a partition), removing those with none left; TRUNCATE
empties the table. The segment bits are kept by reporting.segment_bits like a response's (a row
takes its customer's bits when written; a customer whose bits change has them rewritten).
rebuild() recreates the triggers and every row (reporting 0020; `manage.py rollups --rebuild`,
after a bulk load with the triggers off). Counted per local day and bits too (DAYS,
reporting.LastAnswerDay, reporting 0022): a period of whole local days sums those counts. On
SQLite (the embedded setup, which has no segment bits) the table stays empty and the comparison
counts the answers."""

from __future__ import annotations

from django.db import connection, transaction

from core import rollup_triggers
from core.rollup_triggers import pg_run
from surveys.rollups import aggregate_select, fold, local_day_sql

TABLE = "reporting_customerlastanswer"
RESPONSES = "surveys_surveyresponse"
FUNCTION = f"{TABLE}_apply"
TRIGGERS = {op: f"{TABLE}_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")}
# The latest answers counted per local day and segment bits (reporting.LastAnswerDay), a rollup of
# signed deltas kept by statement triggers on the latest answers themselves (so a segment change,
# which rewrites their bits, moves the counts too): a period of whole local days sums some
# thousand rows where the latest answers in it are a million.
DAYS_TABLE = "reporting_lastanswerday"
DAY_KEY = ("day", "segment_bits")
DAY_COUNTS = ("customers",)
DAY_TRIGGERS = {op: f"{DAYS_TABLE}_{op.lower()}" for op in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")}


def _recompute(customers: str) -> str:
    """The statements that set the latest answer of the customers in the array `customers` (a
    PL/pgSQL variable) from their answers, and remove those with none: planned for the ids at hand
    (EXECUTE ... USING), the answers' index by customer probed once a partition."""
    latest = f"(SELECT max(r.answered_at) FROM {RESPONSES} r WHERE r.customer_id = c.id)"
    return (
        f"EXECUTE 'DELETE FROM {TABLE} t WHERE t.customer_id = ANY($1) AND NOT EXISTS "
        f"(SELECT 1 FROM {RESPONSES} r WHERE r.customer_id = t.customer_id)' USING {customers};\n"
        f"        EXECUTE 'INSERT INTO {TABLE} (customer_id, answered_at) "
        f"SELECT l.id, l.at FROM (SELECT c.id, {latest} AS at FROM unnest($1) AS c(id)) l "
        f"WHERE l.at IS NOT NULL ORDER BY l.id ON CONFLICT (customer_id) DO UPDATE SET answered_at = EXCLUDED.answered_at "
        f"WHERE {TABLE}.answered_at IS DISTINCT FROM EXCLUDED.answered_at' USING {customers};")


def trigger_sql() -> list[str]:
    """The trigger function and the statement triggers on the responses (re-creatable)."""
    # New answers: each customer's newest, if newer than what is kept (in customer order, so that two
    # writers lock the rows in the same order).
    inserted = (f"INSERT INTO {TABLE} (customer_id, answered_at) SELECT n.customer_id, max(n.answered_at) "
                f"FROM new_rows n WHERE n.customer_id IS NOT NULL GROUP BY n.customer_id ORDER BY n.customer_id "
                f"ON CONFLICT (customer_id) DO UPDATE SET answered_at = EXCLUDED.answered_at "
                f"WHERE {TABLE}.answered_at < EXCLUDED.answered_at")
    # An update that moved answers to another customer or time: both customers, recomputed (a
    # rescoring or a case flag changes neither, and touches no row here).
    moved = ("SELECT array_agg(DISTINCT v.customer_id) FROM old_rows o JOIN new_rows n ON n.id = o.id, "
             "LATERAL (VALUES (o.customer_id), (n.customer_id)) AS v(customer_id) "
             "WHERE (o.customer_id IS DISTINCT FROM n.customer_id OR o.answered_at IS DISTINCT FROM n.answered_at) "
             "AND v.customer_id IS NOT NULL")
    deleted = "SELECT array_agg(DISTINCT o.customer_id) FROM old_rows o WHERE o.customer_id IS NOT NULL"
    function = f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    customers bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM {TABLE};
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        {inserted};
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        {pg_run(moved, into="customers")}
    ELSE
        {deleted} INTO customers;
    END IF;
    IF customers IS NOT NULL THEN
        {_recompute("customers")}
    END IF;
    RETURN NULL;
END $$"""
    return [function, *rollup_triggers.pg_statement_triggers(RESPONSES, FUNCTION, TRIGGERS)]


def drop_trigger_sql() -> list[str]:
    return rollup_triggers.drop_sql({name: RESPONSES for name in TRIGGERS.values()}, (FUNCTION,))


def rebuild(with_days: bool = True) -> int:
    """Recreate the triggers and every customer's latest answer from the responses (writes to them
    wait meanwhile), then their counts per day (DAYS; `with_days=False`: reporting 0020, before the
    table of those counts). Returns the rows written; 0 on SQLite."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {RESPONSES} IN SHARE MODE")
        for statement in [*trigger_sql(), *DAYS.drop_trigger_sql()]:  # the days from the rows at the end
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {TABLE}")
        # Each row takes its customer's segment bits from reporting.segment_bits' row trigger.
        cursor.execute(
            f"INSERT INTO {TABLE} (customer_id, answered_at) SELECT r.customer_id, max(r.answered_at) "
            f"FROM {RESPONSES} r WHERE r.customer_id IS NOT NULL GROUP BY r.customer_id ORDER BY 1")
        written = cursor.rowcount
        cursor.execute(f"ANALYZE {TABLE}")
        if with_days:
            DAYS.rebuild()
        return written


class _Days:
    """The latest answers per local day and segment bits (reporting.LastAnswerDay): its triggers,
    compact() (the beat task folds the deltas every minute: reporting.rollup_set) and rebuild()."""

    def _signed_rows(self, sign: int, alias: str, source: str) -> str:
        return (f"SELECT {sign} AS s, {local_day_sql(f'{alias}.answered_at')} AS day, "
                f"{alias}.segment_bits AS segment_bits, 1 AS customers FROM {source}")

    def trigger_sql(self) -> list[str]:
        insert = rollup_triggers.insert_into(DAYS_TABLE, (*DAY_KEY, *DAY_COUNTS))
        moved = (" JOIN old_rows o ON o.customer_id = n.customer_id WHERE o.answered_at IS DISTINCT FROM "
                 "n.answered_at OR o.segment_bits IS DISTINCT FROM n.segment_bits")
        triggers = {op: name for op, name in DAY_TRIGGERS.items() if op != "TRUNCATE"}
        return [
            rollup_triggers.pg_apply_function(
                f"{DAYS_TABLE}_apply", insert,
                on_insert=aggregate_select(self._signed_rows(1, "n", "new_rows n"), DAY_KEY, DAY_COUNTS),
                on_update=aggregate_select(self._signed_rows(1, "n", "new_rows n" + moved) + " UNION ALL "
                                           + self._signed_rows(-1, "o", "new_rows n" + moved), DAY_KEY, DAY_COUNTS),
                on_delete=aggregate_select(self._signed_rows(-1, "o", "old_rows o"), DAY_KEY, DAY_COUNTS)),
            rollup_triggers.pg_clear_function(f"{DAYS_TABLE}_clear", DAYS_TABLE),
            *rollup_triggers.pg_statement_triggers(TABLE, f"{DAYS_TABLE}_clear", {"TRUNCATE": DAY_TRIGGERS["TRUNCATE"]}),
            *rollup_triggers.pg_statement_triggers(TABLE, f"{DAYS_TABLE}_apply", triggers),
        ]

    def drop_trigger_sql(self) -> list[str]:
        return rollup_triggers.drop_sql({name: TABLE for name in DAY_TRIGGERS.values()},
                                        (f"{DAYS_TABLE}_apply", f"{DAYS_TABLE}_clear"))

    def rebuild(self) -> int:
        """Recreate the triggers and the counts from the latest answers. Returns the rows written;
        0 on SQLite (no latest answers there)."""
        if connection.vendor != "postgresql":
            return 0
        rows = self._signed_rows(1, "l", f"{TABLE} l")
        return rollup_triggers.rebuild(DAYS_TABLE, (*DAY_KEY, *DAY_COUNTS), (TABLE,), self.trigger_sql(),
                                       aggregate_select(rows, DAY_KEY, DAY_COUNTS), "day")

    def compact(self) -> int:
        return fold(DAYS_TABLE, DAY_KEY, DAY_COUNTS) if connection.vendor == "postgresql" else 0


DAYS = _Days()
