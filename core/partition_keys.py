"""A uniqueness without the time column, kept for a partitioned table by a key table and a trigger
(PostgreSQL only; docs/deployment.md "Partitioned history").

PostgreSQL wants the partition key in every unique index of a partitioned table, so a table whose
rows must be unique on other columns (a webhook delivery per (source, delivery id), a notification
per (case, kind, channel, address, period)) keeps that uniqueness in a small unpartitioned table:
one row per key, `row_id` the row's id, unique on the key's columns. A BEFORE INSERT trigger on the
partitioned table claims the key for each new row, whatever wrote it (the ingest's INSERT, the
ORM, the sweep's INSERT ... SELECT):

- the key is free: it is claimed and the row inserted;
- the key is held by a row that exists: the row is not inserted (what `ON CONFLICT DO NOTHING`
  did with the unique index; a plain INSERT's RETURNING gives no row, as it did);
- the key is held by this very row (maintenance moving it between partitions, an UPDATE of its
  time), or by a row that is gone (deleted, or its month dropped past retention): the row is inserted and the key passes
  to it.

One difference from the unique index: a plain INSERT of a repeat is skipped too, not refused with
an IntegrityError (a trigger cannot see whether the statement said ON CONFLICT DO NOTHING), so an
ORM `create()` of a repeat stores nothing and returns an object without an id (and a `bulk_create()`
without ignore_conflicts=True of a batch with a repeat gets fewer ids back than it has objects).
Every writer of these two tables in the product means "do nothing" (the door answers a repeat with
the original's id; notifications are queued with ignore_conflicts=True).
A load with triggers off (session_replication_role = replica) writes no keys: fill them after.

Two writers of one key at once behave as with a unique index: the second waits for the first's
transaction and then sees its key. The keys of a month dropped past retention are deleted by
core.partitions.drop_expired. A row's key columns are never changed after insert (neither table
does), so no UPDATE trigger is needed. SQLite keeps its unique constraint and the key table stays
empty there."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class KeyTable:
    """The key table of `table`: `columns` are the key (named alike in both tables), `nullable`
    those among them stored as 0 when NULL (so NULL equals NULL, as in the partial unique indexes
    this replaces), `time_column` the partition key, copied so a holder is found in one partition;
    `replaces` the unique constraints or unique indexes dropped from `table` when it is installed."""

    table: str
    key_table: str
    columns: tuple[str, ...]
    time_column: str
    replaces: tuple[str, ...]
    nullable: tuple[str, ...] = ()

    @property
    def function(self) -> str:
        return f"{self.key_table}_claim"

    def _value(self, column: str, record: str) -> str:
        value = f"{record}.{_q(column)}"
        return f"COALESCE({value}, 0)" if column in self.nullable else value


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def install(cursor, spec: KeyTable) -> int:
    """Fills the (empty) key table from the rows `spec.table` holds and drops the uniqueness it
    replaces; before core.partitions.convert. Returns the number of keys."""
    columns = ", ".join(_q(c) for c in spec.columns)
    values = ", ".join(spec._value(c, "t") for c in spec.columns)
    cursor.execute(f"INSERT INTO {_q(spec.key_table)} (row_id, {columns}, {_q(spec.time_column)}) "
                   f"SELECT t.id, {values}, t.{_q(spec.time_column)} FROM {_q(spec.table)} t")
    keys = cursor.rowcount
    for name in spec.replaces:
        cursor.execute(f"ALTER TABLE {_q(spec.table)} DROP CONSTRAINT IF EXISTS {_q(name)}")
        cursor.execute(f"DROP INDEX IF EXISTS {_q(name)}")
    cursor.execute(f"ANALYZE {_q(spec.key_table)}")
    return keys


def create_trigger(cursor, spec: KeyTable) -> None:
    """The BEFORE INSERT trigger that claims each new row's key; after core.partitions.convert
    (a partitioned table's row trigger is created on each partition, those made later too)."""
    columns = ", ".join(_q(c) for c in spec.columns)
    new_values = ", ".join(spec._value(c, "NEW") for c in spec.columns)
    match = " AND ".join(f"k.{_q(c)} = {spec._value(c, 'NEW')}" for c in spec.columns)
    time = _q(spec.time_column)
    cursor.execute(f"""
CREATE OR REPLACE FUNCTION {_q(spec.function)}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    held_id bigint;
    held_time timestamptz;
BEGIN
    INSERT INTO {_q(spec.key_table)} AS k (row_id, {columns}, {time})
    VALUES (NEW.id, {new_values}, NEW.{time}) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    SELECT k.row_id, k.{time} INTO held_id, held_time FROM {_q(spec.key_table)} k WHERE {match} FOR UPDATE;
    IF held_id IS NULL THEN
        -- The conflict was on row_id alone: a key left by a row whose id is given out again (a
        -- TRUNCATE ... RESTART IDENTITY): that row is gone, its key goes and this row's is claimed.
        DELETE FROM {_q(spec.key_table)} k WHERE k.row_id = NEW.id;
        INSERT INTO {_q(spec.key_table)} (row_id, {columns}, {time}) VALUES (NEW.id, {new_values}, NEW.{time});
        RETURN NEW;
    END IF;
    IF held_id = NEW.id THEN  -- this row's own key: the row moves to another partition
        IF held_time IS DISTINCT FROM NEW.{time} THEN  -- its time changed: the key follows
            UPDATE {_q(spec.key_table)} k SET {time} = NEW.{time} WHERE k.row_id = NEW.id;
        END IF;
        RETURN NEW;
    END IF;
    -- The holder is looked up in its month first (one partition); only if it is not there (gone,
    -- or its time changed since) in every partition.
    IF EXISTS (SELECT 1 FROM {_q(spec.table)} t WHERE t.id = held_id AND t.{time} = held_time)
       OR EXISTS (SELECT 1 FROM {_q(spec.table)} t WHERE t.id = held_id) THEN
        RETURN NULL;  -- a row with this key exists: this one is not stored
    END IF;
    DELETE FROM {_q(spec.key_table)} k WHERE k.row_id = NEW.id;  -- a key left under this id, as above
    UPDATE {_q(spec.key_table)} k SET row_id = NEW.id, {time} = NEW.{time} WHERE {match};
    RETURN NEW;
END
$$""")
    cursor.execute(f"CREATE TRIGGER {_q('claim_key')} BEFORE INSERT ON {_q(spec.table)} "
                   f"FOR EACH ROW EXECUTE FUNCTION {_q(spec.function)}()")


def uninstall(cursor, spec: KeyTable, restore: list[str]) -> None:
    """The way back, after core.partitions.unconvert: no trigger, no keys, and the replaced
    uniqueness created again by `restore` (its statements)."""
    cursor.execute(f"DROP TRIGGER IF EXISTS {_q('claim_key')} ON {_q(spec.table)}")
    cursor.execute(f"DROP FUNCTION IF EXISTS {_q(spec.function)}()")
    cursor.execute(f"DELETE FROM {_q(spec.key_table)}")
    for statement in restore:
        cursor.execute(statement)


def migration_operations(spec: KeyTable, restore: list[str]):
    """(forward, backward) for a RunPython operation that partitions `spec.table` by month with its
    key table (PostgreSQL only; nothing on SQLite, where the unique constraint stays)."""
    from core import partitions

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                if partitions.is_partitioned(cursor, spec.table):
                    return
                install(cursor, spec)
                partitions.convert(cursor, spec.table, spec.time_column)
                create_trigger(cursor, spec)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                if not partitions.is_partitioned(cursor, spec.table):
                    return
                cursor.execute(f"DROP TRIGGER IF EXISTS {_q('claim_key')} ON {_q(spec.table)}")
                partitions.unconvert(cursor, spec.table)
                uninstall(cursor, spec, restore)

    return forward, backward
