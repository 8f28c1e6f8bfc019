"""Which named segments each customer is in, kept as bits on the customer and copied onto each of
the customer's responses and cases (PostgreSQL), so that a report broken down by segment groups the
period's rows by the bits they carry, from the covering indexes alone, instead of testing every
row's customer against every segment's conditions.

Tested by conditions, each pass of a breakdown joined the period's rows to all 1,000,000 customers
(a hash of them, 120-190 ms a statement, three or four statements a page): the segment comparison
took 1.5 s for a manager and 6.7 s for an admin at 10,000,000 responses (docs/benchmarks_reports.md).

- `SegmentBit` holds a segment's bit (slot 0..62) and the definition (`{"match", "conditions"}`)
  the stored bits hold. A segment whose conditions read the customer's accounts (`account.*`:
  another table, which the customer's row does not hold) has no bit, nor has a 64th segment.
  `bit_of(segment)` gives the segment's bit while the two definitions agree; otherwise (no bit,
  a changed definition not yet rebuilt, SQLite) the reports test the segment's conditions as
  before: the figures are the same either way, only slower.
- Triggers keep the bits exact on every write, from any path (the ORM, imports, the admin, raw
  SQL), like the response flags of reporting.coverage: a customer's bits are computed from the row
  itself before it is written (`reporting_customer_segment_bits`: every segment's conditions compiled by the
  same segment_q the member indexes and the reports use); after an UPDATE of customers, the
  responses and cases of the customers whose bits changed are rewritten; and a response or case
  takes its customer's bits on every write (a write of a stale copy of the row cannot undo them).
- `segment_bits_sync()` (after a segment is saved or deleted, through reporting.tasks, and by the
  migration): slots given and freed, the function rewritten for the current definitions, the
  customers whose bits differ rewritten in batches (their rows follow through the trigger), then
  the segments whose definition did not change meanwhile marked built.

SQLite (the embedded setup) has neither the triggers nor bits: its data is small, and its reports
test the conditions."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F
from django.db.models.lookups import Exact

from core.rollup_triggers import pg_run
from reporting.models import SegmentBit
from segments.conditions import ACCOUNT_FIELDS, segment_q
from segments.models import Segment
from surveys.models import Customer

log = logging.getLogger(__name__)

SLOTS = 63  # bits 0..62 of a bigint: all positive
BATCH = 20_000  # customers per transaction when the bits are rewritten
FUNCTION = "reporting_customer_segment_bits"
LOCK = 7_311_906  # pg_advisory_lock key: one sync at a time
# The tables whose rows carry their customer's bits (each has customer_id and segment_bits): the
# responses and cases (reporting 0014), and each customer's latest answer (reporting 0020).
ROW_TABLES_0014 = ("surveys_surveyresponse", "cases_case")
ROW_TABLES = (*ROW_TABLES_0014, "reporting_customerlastanswer")
# What a segment's conditions can read of a customer's row (segments.conditions.FIELDS and
# attributes.<key>; account.* is another table), and the bits themselves: an UPDATE that sets none of
# them (a name, an e-mail, the last contact) leaves the bits as they are without computing them.
CUSTOMER_COLUMNS = ("tier", "segment", "account_value", "churn_risk", "attributes", "segment_bits")


def definition(segment: Segment) -> dict:
    """What the stored bits of a segment were built for."""
    return {"match": segment.match, "conditions": segment.conditions}


def can_have_bit(segment: Segment) -> bool:
    """A segment on the customer's own columns: its conditions can be computed from the customer's row."""
    return not any(condition.get("field") in ACCOUNT_FIELDS for condition in segment.conditions or ())


def bit_of(segment: Segment | None) -> int | None:
    """The segment's bit (a mask) in the rows' segment_bits while they hold its current definition;
    None when its conditions are to be tested instead. Reads `segment.bit` (a query unless the
    segment was read with select_related("bit"))."""
    if segment is None or connection.vendor != "postgresql":
        return None
    try:
        bit = segment.bit
    except SegmentBit.DoesNotExist:
        return None
    return 1 << bit.slot if bit.built == definition(segment) else None


def has_bits(mask: int, *, via: str = "") -> Exact:
    """A condition over a response or case (or a model reaching one through `via`): its customer is
    in the segment whose bit is `mask`."""
    return Exact(F(f"{via}segment_bits").bitand(mask), mask)


# --- the database side (PostgreSQL) ----------------------------------------------------------
def _condition_sql(segment: Segment) -> str:
    """The segment's conditions as SQL over a row of surveys_customer (the member index's WHERE)."""
    query = Customer.objects.filter(segment_q(segment.conditions, segment.match)).query
    sql, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
    return connection.ops.compose_sql(sql, params) if sql else "TRUE"


def function_sql(slots: Iterable[tuple[int, Segment]]) -> str:
    """CREATE OR REPLACE the function of a customer's row that gives its bits: one CASE per (slot,
    segment), over the row as if it were the table (the compiled conditions name "surveys_customer")."""
    parts = [f"(CASE WHEN {_condition_sql(segment)} THEN {1 << slot}::bigint ELSE 0 END)" for slot, segment in slots]
    bits = " | ".join(parts) if parts else "0::bigint"
    table = Customer._meta.db_table
    return (f'CREATE OR REPLACE FUNCTION {FUNCTION}(customer "{table}") RETURNS bigint LANGUAGE sql STABLE '
            f'AS $fn$ SELECT {bits} FROM (SELECT (customer).*) AS "{table}" $fn$')


def trigger_sql(row_tables: tuple[str, ...] = ROW_TABLES) -> list[str]:
    """The triggers and their functions (re-creatable). The function of a customer's row they call
    is function_sql's (the migration creates it for no segment, segment_bits_sync rewrites it).
    `row_tables`: the tables that carry the bits (an earlier migration's, which had fewer)."""
    customers = Customer._meta.db_table
    # The customers whose bits changed, then their rows by customer_id (each table's index on it),
    # planned for the ids at hand (EXECUTE ... USING). Joined to the transition tables instead, the
    # UPDATE was planned for as many customers as the statement wrote, and a churn scoring batch of
    # 100,000 customers, none moved, hashed every response (3-4 s a batch at 10,000,000 responses).
    changed = ("SELECT array_agg(n.id) FROM new_rows n JOIN old_rows o ON o.id = n.id "
               "WHERE o.segment_bits <> n.segment_bits")
    rewrite = "\n        ".join(
        f"EXECUTE 'UPDATE {table} r SET segment_bits = c.segment_bits FROM \"{customers}\" c "
        f"WHERE r.customer_id = ANY($1) AND c.id = r.customer_id AND r.segment_bits <> c.segment_bits' USING moved;"
        for table in row_tables)
    statements = [
        f"""CREATE OR REPLACE FUNCTION reporting_segment_bits_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.segment_bits := {FUNCTION}(NEW);
    RETURN NEW;
END $$""",
        f"""CREATE OR REPLACE FUNCTION reporting_segment_bits_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved bigint[];
BEGIN
    {pg_run(changed, into="moved")}
    IF moved IS NOT NULL THEN
        {rewrite}
    END IF;
    RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION reporting_segment_bits_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.segment_bits := COALESCE((SELECT c.segment_bits FROM "{customers}" c WHERE c.id = NEW.customer_id), 0);
    RETURN NEW;
END $$""",
        f'DROP TRIGGER IF EXISTS reporting_segment_bits ON "{customers}"',
        f'CREATE TRIGGER reporting_segment_bits BEFORE INSERT OR UPDATE OF {", ".join(CUSTOMER_COLUMNS)} '
        f'ON "{customers}" '
        f"FOR EACH ROW EXECUTE FUNCTION reporting_segment_bits_customer()",
        f'DROP TRIGGER IF EXISTS reporting_segment_bits_moved ON "{customers}"',
        f'CREATE TRIGGER reporting_segment_bits_moved AFTER UPDATE ON "{customers}" '
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION reporting_segment_bits_moved()",
    ]
    for table in row_tables:
        statements += [
            f"DROP TRIGGER IF EXISTS reporting_segment_bits ON {table}",
            f"CREATE TRIGGER reporting_segment_bits BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION reporting_segment_bits_row()",
        ]
    return statements


def drop_trigger_sql(row_tables: tuple[str, ...] = ROW_TABLES) -> list[str]:
    customers = Customer._meta.db_table
    return [
        *(f"DROP TRIGGER IF EXISTS reporting_segment_bits ON {table}" for table in row_tables),
        f'DROP TRIGGER IF EXISTS reporting_segment_bits_moved ON "{customers}"',
        f'DROP TRIGGER IF EXISTS reporting_segment_bits ON "{customers}"',
        "DROP FUNCTION IF EXISTS reporting_segment_bits_row()",
        "DROP FUNCTION IF EXISTS reporting_segment_bits_moved()",
        "DROP FUNCTION IF EXISTS reporting_segment_bits_customer()",
        f'DROP FUNCTION IF EXISTS {FUNCTION}("{customers}")',
    ]


def _slots() -> list[tuple[int, Segment]]:
    """Give a slot to each segment that can have a bit and has none (while one is free), take it
    from those that cannot; a slot given means its bits are not built. Returns (slot, segment) for
    every segment holding one."""
    segments = list(Segment.objects.select_for_update().order_by("pk"))
    with_bits = [segment for segment in segments if can_have_bit(segment)]
    SegmentBit.objects.exclude(segment__in=with_bits).delete()  # their slots are free again
    bits = {bit.segment_id: bit for bit in SegmentBit.objects.select_for_update()}
    free = iter(sorted(set(range(SLOTS)) - {bit.slot for bit in bits.values()}))
    slots = []
    for segment in with_bits:
        bit = bits.get(segment.pk)
        if bit is None:
            slot = next(free, None)
            if slot is None:
                continue
            bit = SegmentBit.objects.create(segment=segment, slot=slot, built=None)
        slots.append((bit.slot, segment))
    return slots


def segment_bits_sync(batch: int = BATCH) -> int:
    """Bring the stored bits in step with the segments (idempotent; one run at a time). Returns the
    customers whose bits were rewritten. A no-op on SQLite."""
    if connection.vendor != "postgresql":
        return 0
    customers = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK])
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            slots = _slots()
            cursor.execute(function_sql(slots))
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{customers}"')
            (last,) = cursor.fetchone()
        built = dict(SegmentBit.objects.values_list("segment_id", "built"))
        if all(built.get(segment.pk) == definition(segment) for _slot, segment in slots):
            return 0  # every bit holds its segment's definition already (a rename, a deletion)
        rewritten = 0
        for start in range(0, last + 1, batch):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f'UPDATE "{customers}" c SET segment_bits = {FUNCTION}(c) '
                    f"WHERE c.id >= %s AND c.id < %s AND c.segment_bits <> {FUNCTION}(c)", [start, start + batch])
                rewritten += cursor.rowcount
        # Built for the definition the function was written for: a segment changed meanwhile reads
        # as not built (bit_of compares it with the current one) until its own sync.
        for slot, segment in slots:
            SegmentBit.objects.filter(segment=segment, slot=slot).update(built=definition(segment))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK])
    if rewritten:
        log.info("segment bits: %d customers' bits rewritten", rewritten)
    return rewritten
