"""Monthly partitions of the tables that only grow (PostgreSQL only; docs/deployment.md "Partitioned history").

A partitioned table is PostgreSQL's declarative RANGE partitioning on the row's time column: one
partition per calendar month (UTC), named `<table>_pYYYYMM`, and a default partition
`<table>_default` that catches a row of any month without one (an import of old history, a clock
far ahead). The tables and their retention are in settings.PARTITIONED_TABLES; nothing here
imports an app.

- `convert` / `unconvert`: what a migration calls to turn an existing table, with its rows, into
  a partitioned one and back (ids, the id sequence, indexes, checks, foreign keys, triggers and
  extended statistics kept by name).
- `maintain`: what the beat runs daily (privacy.tasks.partitions_maintain_task): the partitions of
  this month and the next MONTHS_AHEAD months exist; rows that wait in the default partition for
  such a month, or for an earlier one, move into a partition of their month; whole partitions past
  the table's retention are dropped (and the idempotency keys of their rows).

PostgreSQL wants the partition key in every unique index, so a converted table's primary key is
(id, <time column>); ids still come from the one sequence and stay unique. A table with another
uniqueness (an idempotency key) keeps it in a small unpartitioned key table before conversion:
`convert` refuses a table that still has one, and one that another table's foreign key points at.
SQLite (the embedded setup) has no partitioning: the migrations do nothing there."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

MONTHS_AHEAD = 3
OLD_SUFFIX = "__unpartitioned"


@dataclass(frozen=True)
class PartitionedTable:
    """One table partitioned by month on `column`; its partitions are dropped `retention_days`
    after their month ends (0: kept for ever)."""

    table: str
    column: str
    retention_days: int
    key_table: str = ""  # the unpartitioned table of its idempotency keys (<key_row>, <column>), if any
    key_row: str = "event_id"  # the key table's column holding the row's id
    # Rows retention never drops (SQL over the table's columns, e.g. a delivery not yet processed):
    # a month past retention that still holds such rows is dropped once they moved to the default
    # partition, where they stay until the condition no longer holds.
    keep: str = ""


def configured_tables() -> list[PartitionedTable]:
    return [PartitionedTable(table, spec["column"], spec.get("retention_days", 0), spec.get("key_table", ""),
                             spec.get("key_row", "event_id"), spec.get("keep", ""))
            for table, spec in settings.PARTITIONED_TABLES.items()]


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


def _bound(month: date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def is_partitioned(cursor, table: str) -> bool:
    cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    return bool(row and row[0])


def monthly_partitions(cursor, table: str) -> dict[date, str]:
    """The table's monthly partitions by month (the default partition not among them)."""
    cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = to_regclass(%s)", [table])
    pattern = re.compile(rf"^{re.escape(table)}_p(\d{{4}})(\d{{2}})$")
    found = {}
    for (name,) in cursor.fetchall():
        match = pattern.match(name)
        if match:
            found[date(int(match[1]), int(match[2]), 1)] = name
    return found


def create_partition(cursor, table: str, column: str, month: date) -> bool:
    """The partition of `month`, created if missing (False when it existed). Rows of that month
    already in the default partition move into it in the same transaction."""
    name = partition_name(table, month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return False
    lower, upper = _bound(month), _bound(add_months(month, 1))
    default = default_name(table)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
    has_default = cursor.fetchone()[0]
    waiting = False
    if has_default:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s)",
                       [lower, upper])
        waiting = cursor.fetchone()[0]
    if not waiting:
        cursor.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} FOR VALUES FROM (%s) TO (%s)", [lower, upper])
        return True
    # PostgreSQL refuses a partition for rows the default partition holds: move them first.
    cursor.execute(f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(f"WITH moved AS (DELETE FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s "
                   f"RETURNING *) INSERT INTO {_q(name)} SELECT * FROM moved", [lower, upper])
    logger.info("partitions: moved %s rows of %s from %s", cursor.rowcount, month, default)
    cursor.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM (%s) TO (%s)", [lower, upper])
    return True


def create_ahead(cursor, table: str, column: str, today: date, months: int = MONTHS_AHEAD,
                 expired_before: datetime | None = None) -> list[str]:
    """This month's partition and the next `months` months', those missing created; and one for
    each earlier month whose rows wait in the default partition (an import of old history), but
    for a month that ended before `expired_before`: the rows retention keeps stay in the default
    partition rather than coming back to a month that would be dropped again."""
    this_month = month_start(today)
    wanted = [add_months(this_month, n) for n in range(months + 1)]
    default = default_name(table)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
    if cursor.fetchone()[0]:
        cursor.execute(f"SELECT DISTINCT date_trunc('month', {_q(column)} AT TIME ZONE 'UTC')::date "
                       f"FROM {_q(default)} WHERE {_q(column)} < %s", [_bound(this_month)])
        wanted += sorted(month for (month,) in cursor.fetchall()
                         if expired_before is None or _month_end(month) > expired_before)
    created = []
    for month in wanted:
        if create_partition(cursor, table, column, month):
            created.append(partition_name(table, month))
    return created


def _month_end(month: date) -> datetime:
    return datetime.combine(add_months(month, 1), datetime.min.time(), tzinfo=UTC)


@dataclass(frozen=True)
class Expired:
    """What retention did to one table: partitions dropped, rows deleted from the default
    partition, rows kept (moved from a dropped month to the default partition by `keep`)."""

    dropped: list[str]
    deleted: int
    kept: int


def drop_expired(cursor, table: str, column: str, retention_days: int, now: datetime,
                 key_table: str = "", key_row: str = "event_id", keep: str = "") -> Expired:
    """Drops the partitions whose whole month ended more than `retention_days` ago, and deletes the
    default partition's rows older than that; then the keys (in `key_table`) older than that whose
    row is gone. With `keep` (an SQL condition), rows that meet it are never dropped: a month that
    holds some is detached, they are copied into the table (to the default partition, the month
    having none any more), then it is dropped; the default partition's rows that meet it stay."""
    cutoff = now - timedelta(days=retention_days)
    # Deferred foreign-key checks of rows written earlier in the transaction run now: PostgreSQL
    # drops no table with such checks pending.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    dropped, kept = [], 0
    for month, name in sorted(monthly_partitions(cursor, table).items()):
        if _month_end(month) > cutoff:
            continue
        if keep:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(name)} WHERE {keep})")
            if cursor.fetchone()[0]:
                cursor.execute(f"ALTER TABLE {_q(table)} DETACH PARTITION {_q(name)}")
                cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(name)} WHERE {keep}")
                kept += cursor.rowcount
        cursor.execute(f"DROP TABLE {_q(name)}")
        dropped.append(name)
    deleted = 0
    default = default_name(table)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
    if cursor.fetchone()[0]:
        cursor.execute(f"DELETE FROM {_q(default)} WHERE {_q(column)} < %s" + (f" AND NOT ({keep})" if keep else ""),
                       [cutoff])
        deleted = cursor.rowcount
    if key_table:
        cursor.execute(f"DELETE FROM {_q(key_table)} k WHERE k.{_q(column)} < %s AND NOT EXISTS "
                       f"(SELECT 1 FROM {_q(table)} e WHERE e.id = k.{_q(key_row)})", [cutoff])
    return Expired(dropped, deleted, kept)


@dataclass(frozen=True)
class Maintained:
    """What one maintenance run did to one table."""

    table: str
    created: list[str]
    dropped: list[str]
    deleted_from_default: int
    kept: int = 0  # rows of dropped months that retention keeps, now in the default partition


def maintain(now: datetime | None = None) -> list[Maintained]:
    """Partitions ahead and retention for every configured table that is partitioned; each table
    in a transaction of its own. Running it twice changes nothing the second time."""
    if connection.vendor != "postgresql":
        return []
    now = now or datetime.now(UTC)
    done = []
    for spec in configured_tables():
        with transaction.atomic(), connection.cursor() as cursor:
            if not is_partitioned(cursor, spec.table):
                continue
            expired_before = (now - timedelta(days=spec.retention_days)
                              if spec.keep and spec.retention_days > 0 else None)
            created = create_ahead(cursor, spec.table, spec.column, now.date(), expired_before=expired_before)
            expired = Expired([], 0, 0)
            if spec.retention_days > 0:
                expired = drop_expired(cursor, spec.table, spec.column, spec.retention_days, now,
                                       spec.key_table, spec.key_row, spec.keep)
        if created or expired.dropped or expired.deleted or expired.kept:
            logger.info("partitions: %s created %s, dropped %s, %s old rows deleted from its default partition, "
                        "%s kept there", spec.table, created, expired.dropped, expired.deleted, expired.kept)
        done.append(Maintained(spec.table, created, expired.dropped, expired.deleted, expired.kept))
    return done


# --- Conversion (migrations) ----------------------------------------------------------------


@dataclass(frozen=True)
class _Definitions:
    """What a table has beside its columns, as SQL to create it again on a table of the same name."""

    primary_key: str  # the constraint's name
    constraints: list[tuple[str, str]]  # foreign keys: (name, definition)
    indexes: list[str]  # CREATE INDEX statements (those that back no constraint)
    unique: list[str]  # names of unique constraints and unique indexes other than the primary key
    triggers: list[str]  # CREATE TRIGGER statements (the table's own, not those a partition inherits)
    statistics: list[str]  # CREATE STATISTICS statements (extended statistics)


def _definitions(cursor, table: str) -> _Definitions:
    cursor.execute("SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = to_regclass(%s) ORDER BY conname", [table])
    primary_key, constraints, unique = "", [], []
    for name, kind, definition in cursor.fetchall():
        if kind == "p":
            primary_key = name
        elif kind == "f":
            constraints.append((name, definition))
        elif kind in ("u", "x"):
            unique.append(name)
    cursor.execute("SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique FROM pg_index i "
                   "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS "
                   "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) "
                   "ORDER BY c.relname", [table])
    indexes = []
    for name, definition, is_unique in cursor.fetchall():
        if is_unique:
            unique.append(name)
        indexes.append(definition)
    # A table's triggers and extended statistics go with it when it is dropped: taken along too.
    # (A row trigger of a partitioned table is cloned to each partition; statement triggers, with
    # transition tables too, stay on it and see the rows of every partition a statement touches.)
    cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
                   "AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname", [table])
    triggers = [definition for (definition,) in cursor.fetchall()]
    cursor.execute("SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = to_regclass(%s) "
                   "ORDER BY stxname", [table])
    statistics = [definition for (definition,) in cursor.fetchall()]
    return _Definitions(primary_key, constraints, indexes, unique, triggers, statistics)


def _copy_sequence(cursor, old_table: str, new_table: str) -> None:
    """The new table's id sequence continues where the old one stopped: no id is ever reused."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')", [old_table, new_table])
    old_seq, new_seq = cursor.fetchone()
    cursor.execute(f"SELECT last_value, is_called FROM {old_seq}")
    last_value, is_called = cursor.fetchone()
    cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {_q(new_table)}")
    highest = cursor.fetchone()[0]
    if highest > last_value or (highest == last_value and not is_called and highest > 0):
        last_value, is_called = highest, True
    cursor.execute("SELECT setval(%s, %s, %s)", [new_seq, last_value, is_called])


def _rename_aside(cursor, table: str) -> str:
    old = f"{table}{OLD_SUFFIX}"
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    if sequence:  # the new table's identity takes the sequence's usual name
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {_q(old + '_id_seq')}")
    return old


def _recreate(cursor, table: str, defs: _Definitions, key_columns: str) -> None:
    cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(defs.primary_key)} PRIMARY KEY ({key_columns})")
    for definition in defs.indexes:
        cursor.execute(definition)
    for name, definition in defs.constraints:
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    for definition in defs.statistics + defs.triggers:  # after the rows: no trigger fires for them
        cursor.execute(definition)
    cursor.execute(f"ANALYZE {_q(table)}")


LIKE = "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS"


def convert(cursor, table: str, column: str, today: date | None = None) -> int:
    """Turns `table` (with its rows) into a table partitioned by month on `column`; nothing if it
    already is one. Returns the number of rows moved. Runs inside the migration's transaction:
    either all of it happens or none."""
    if is_partitioned(cursor, table):
        return 0
    cursor.execute("SELECT conname FROM pg_constraint WHERE confrelid = to_regclass(%s) AND contype = 'f'", [table])
    inbound = [name for (name,) in cursor.fetchall()]
    if inbound:
        raise RuntimeError(f"{table} cannot be partitioned: foreign keys point at it ({', '.join(inbound)})")
    defs = _definitions(cursor, table)
    if defs.unique:
        raise RuntimeError(f"{table} cannot be partitioned with unique constraints that leave out {column}: "
                           f"{', '.join(defs.unique)} (keep them in a key table first)")
    old = _rename_aside(cursor, table)
    cursor.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(old)} {LIKE}) PARTITION BY RANGE ({_q(column)})")
    cursor.execute(f"SELECT DISTINCT date_trunc('month', {_q(column)} AT TIME ZONE 'UTC')::date FROM {_q(old)}")
    # A partition for every month that has rows, and for the months ahead; rows further ahead (a
    # clock that was wrong) wait in the default partition until maintenance reaches their month.
    this_month = month_start(today or datetime.now(UTC).date())
    ahead = [add_months(this_month, n) for n in range(MONTHS_AHEAD + 1)]
    months = {row[0] for row in cursor.fetchall() if row[0] <= ahead[-1]} | set(ahead)
    for month in sorted(months):
        create_partition(cursor, table, column, month)
    cursor.execute(f"CREATE TABLE {_q(default_name(table))} PARTITION OF {_q(table)} DEFAULT")
    # One pass over the old table; PostgreSQL routes each row to its month's partition. Indexes
    # are built after, once per partition, which is faster than keeping them up to date row by row.
    cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
    moved = cursor.rowcount
    _copy_sequence(cursor, old, table)
    cursor.execute(f"DROP TABLE {_q(old)}")
    _recreate(cursor, table, defs, f"id, {_q(column)}")
    return moved


def unconvert(cursor, table: str) -> int:
    """The way back: `table` as one ordinary table again, with its rows, primary key on id alone."""
    if not is_partitioned(cursor, table):
        return 0
    defs = _definitions(cursor, table)
    old = _rename_aside(cursor, table)
    cursor.execute(f"CREATE TABLE {_q(table)} (LIKE {_q(old)} {LIKE})")
    cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
    moved = cursor.rowcount
    _copy_sequence(cursor, old, table)
    cursor.execute(f"DROP TABLE {_q(old)} CASCADE")
    _recreate(cursor, table, defs, "id")
    return moved


def migration_operations(table: str, column: str):
    """(forward, backward) functions for a RunPython operation: PostgreSQL only."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                convert(cursor, table, column)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                unconvert(cursor, table)

    return forward, backward
