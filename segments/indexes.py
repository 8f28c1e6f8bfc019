"""Each segment's members as a partial index of customers (PostgreSQL), so that a report, the inbox
or the customer list narrowed to a segment reads the segment's members from a small index instead
of testing every customer.

A segment filter is `customer_id IN (SELECT id FROM surveys_customer WHERE <the segment's
conditions>)` (segments.selectors.customers_in_q). Without help PostgreSQL answers the subquery by
reading all the customers (1,000,000 rows at the reporting bench's size) and testing each, in every
query of the page. Here each segment gets `CREATE INDEX segments_m<id>_<digest> ON
surveys_customer (id) WHERE <the same conditions, as the same SQL>`: PostgreSQL keeps it exact on
every write to customers (an index, not a copy to refresh), and the planner reads it whenever a
query's conditions are the index's, which they are, being compiled by the same segment_q. The
figures never depend on it: a missing or stale index only makes the query slower, never different.

Beside each index, statistics on what the conditions compare (`CREATE STATISTICS segments_s<id>_<digest>
ON (UPPER(tier::text)), (UPPER(segment::text)) FROM surveys_customer`, then ANALYZE). Without them
PostgreSQL has no idea how many customers `UPPER(tier::text) IN ('GOLD', 'PLATINUM') AND
UPPER(segment::text) = 'SMB'` keeps (a default guess: 0.5 % per condition, 50 of 1,000,000 customers
for that segment of 166,666) and plans a report filtered to the segment as a nested loop from the
members into the cases: 3.5 s for Recovery at 10M responses. With an expression's most common values
(and, for several, their combinations) the estimate is the segment's size and the plan starts from
the period's rows (docs/benchmarks_reports.md, seg3). Plain columns (account value, churn risk) have
their own statistics already; conditions on accounts get none.

Kept in step with the segments by segment_indexes_sync() (after each save or delete, through
segments.tasks, and by the migrations that introduced them). Conditions on the customer's accounts
(`account.*`: an EXISTS over contacts) cannot be an index's condition; such a segment has no index
and is tested customer by customer, as before. SQLite (the embedded setup) has none: its data is small."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
import logging

from django.db import DatabaseError, connection, transaction

from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.where import WhereNode

from segments.conditions import ACCOUNT_FIELDS, condition_q, segment_q
from segments.models import Segment
from surveys.models import Customer

log = logging.getLogger(__name__)
PREFIX = "segments_m"
STATS_PREFIX = "segments_s"


def member_index(segment: Segment) -> tuple[str, str] | None:
    """(name, CREATE INDEX statement) of the segment's member index, or None when its conditions
    cannot be an index condition. The name carries a digest of the condition, so a changed segment
    gets a new index and the old one is found stale."""
    if not segment.conditions or any(c.get("field") in ACCOUNT_FIELDS for c in segment.conditions):
        return None
    query = Customer.objects.filter(segment_q(segment.conditions, segment.match)).query
    sql, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
    where = connection.ops.compose_sql(sql, params)
    name = f"{PREFIX}{segment.pk}_{hashlib.sha1(where.encode()).hexdigest()[:10]}"
    return name, f'CREATE INDEX {"CONCURRENTLY " if _concurrently() else ""}"{name}" ON "{Customer._meta.db_table}" ("id") WHERE {where}'


def _compared(node, compiler) -> list[str]:
    """The SQL of what the lookups under a where node compare (their left sides, as the lookup
    writes them: `UPPER("surveys_customer"."tier"::text)`), plain columns left out."""
    found = []
    for child in node.children:
        if isinstance(child, WhereNode):
            found += _compared(child, compiler)
        elif isinstance(child, Lookup) and not isinstance(child.lhs, Col):
            sql, params = child.process_lhs(compiler, connection)
            found.append(connection.ops.compose_sql(sql, params))
        elif isinstance(child, Lookup) and child.lookup_name in ("iexact", "icontains"):
            sql, params = child.process_lhs(compiler, connection)  # a column wrapped in UPPER(...)
            found.append(connection.ops.compose_sql(sql, params))
    return found


def member_statistics(segment: Segment) -> tuple[str, str] | None:
    """(name, CREATE STATISTICS statement) on the expressions the segment's conditions compare, or
    None when they compare plain columns only (or accounts). The name carries a digest of them."""
    expressions = []
    for condition in segment.conditions or ():
        if condition.get("field") in ACCOUNT_FIELDS:
            continue
        query = Customer.objects.filter(condition_q(condition)).query
        expressions += _compared(query.where, query.get_compiler(connection=connection))
    expressions = list(dict.fromkeys(expressions))
    if not expressions:
        return None
    on = ", ".join(f"({e})" for e in expressions)
    name = f"{STATS_PREFIX}{segment.pk}_{hashlib.sha1(on.encode()).hexdigest()[:10]}"
    return name, f'CREATE STATISTICS "{name}" ON {on} FROM "{Customer._meta.db_table}"'


def _existing_statistics() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT stxname FROM pg_statistic_ext WHERE stxrelid = %s::regclass AND stxname LIKE %s",
                       [Customer._meta.db_table, STATS_PREFIX.replace("_", r"\_") + "%"])
        return {name for (name,) in cursor.fetchall()}


def _statistics_sync(segments: list[Segment]) -> list[str]:
    """Create the statistics each segment should have, drop the others; ANALYZE the customers when
    one was created (a statistics object is empty until then). Returns the names created."""
    wanted = dict(filter(None, (member_statistics(s) for s in segments)))
    existing = _existing_statistics()
    created = []
    with connection.cursor() as cursor:
        for name in existing - set(wanted):
            cursor.execute(f'DROP STATISTICS IF EXISTS "{name}"')
    for name, statement in wanted.items():
        if name in existing:
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
            created.append(name)
        except DatabaseError:
            log.warning("segments: no statistics %s (PostgreSQL refused them)", name, exc_info=True)
    if created:
        with connection.cursor() as cursor:
            cursor.execute(f'ANALYZE "{Customer._meta.db_table}"')
    return created


def _concurrently() -> bool:
    """CONCURRENTLY (customers stay writable while it builds) needs to be outside a transaction."""
    return not connection.in_atomic_block


def _existing() -> dict[str, bool]:
    """The member indexes there are: name -> valid (an interrupted CONCURRENTLY build leaves an invalid one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = %s AND c.relname LIKE %s",
            [Customer._meta.db_table, PREFIX.replace("_", r"\_") + "%"])
        return dict(cursor.fetchall())


def segment_indexes_sync() -> list[str]:
    """Create the member index and statistics each segment should have and drop the others (stale,
    invalid, or of deleted segments). Returns the names created. PostgreSQL only; a no-op elsewhere.
    An index or statistics PostgreSQL refuses (a condition it will not index) is logged and skipped:
    reads are the same without it, only slower."""
    if connection.vendor != "postgresql":
        return []
    segments = list(Segment.objects.order_by("pk"))
    wanted = dict(filter(None, (member_index(s) for s in segments)))
    existing = _existing()
    concurrently = "CONCURRENTLY " if _concurrently() else ""
    with connection.cursor() as cursor:
        for name, valid in existing.items():
            if name not in wanted or not valid:
                cursor.execute(f'DROP INDEX {concurrently}IF EXISTS "{name}"')
    created = []
    for name, statement in wanted.items():
        if existing.get(name):
            continue
        try:
            with transaction.atomic() if not _concurrently() else nullcontext(), connection.cursor() as cursor:
                cursor.execute(statement)
            created.append(name)
        except DatabaseError:
            log.warning("segments: no member index %s (PostgreSQL refused its condition)", name, exc_info=True)
    return created + _statistics_sync(segments)

