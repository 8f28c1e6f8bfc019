"""A partitioned table that other tables' foreign keys point at (PostgreSQL only; docs/deployment.md
"Partitioned history").

PostgreSQL accepts a foreign key into a partitioned table only on its whole primary key (id and
the time column), and no unique index that leaves the time column out. So such a table (survey
responses) keeps beside it a small unpartitioned key table with one row per row of the table:
`row_id` (the row's id, its primary key), the columns of the table's own uniqueness (a response's
source and external id, unique there), and the row's time. The foreign keys that pointed at the
table's id point at `row_id` instead, with the same name and the same DEFERRABLE INITIALLY DEFERRED:
at commit every referencing row names a row that exists, as before. Triggers keep the key table
equal to the table, whatever writes it:

- BEFORE INSERT (each row): the row's key is inserted. A repeat of the unique key fails on the key
  table's unique index with the same unique_violation the table's own index raised (an
  IntegrityError to Django: the recording's race handling is unchanged; no writer of the table
  uses ON CONFLICT on it, which would not catch it). A row that moves to another partition (an
  UPDATE of its time) finds its own key, whose time follows; an explicit id that a row already
  has is refused as the primary key on id refused it.
- AFTER DELETE (each statement, over its transition table): the keys of the deleted rows go, but
  not of a row that only moved (its key holds its new time, where it is found). A foreign key that
  still names one is refused at commit, as before; Django's on_delete (cascade, set null,
  protect) runs in Python as it always did.
- AFTER TRUNCATE: every key goes, with the rows that point at one (TRUNCATE ... CASCADE of the
  table emptied them before, and a TRUNCATE without CASCADE was refused: the only one that ran).

The maintenance's moves out of the default partition (core.partitions.create_partition) write
partitions directly: no trigger of the partitioned table fires, and the keys stay as they are.
A load with triggers off (session_replication_role = replica) writes no keys: fill them after
(`fill`). SQLite (the embedded setup) keeps its foreign keys and unique constraint; the key table
stays empty there."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from core import partitions


@dataclass(frozen=True)
class ReferencedKeys:
    """`table`, partitioned on `time_column`, with its keys in `key_table`: `columns` are its
    uniqueness (named alike in both tables), `replaces` the unique constraint the key table's
    unique index takes over and `restore` the SQL that creates it again on the way back."""

    table: str
    key_table: str
    columns: tuple[str, ...]
    time_column: str
    replaces: str
    restore: str

    @property
    def prefix(self) -> str:
        return self.key_table


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def inbound(cursor, table: str) -> list[tuple[str, str, str]]:
    """The foreign keys that point at `table`: (referencing table, constraint name, definition);
    those a partition inherits from its partitioned table are not listed (they go with it)."""
    cursor.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE confrelid = to_regclass(%s) AND contype = 'f' AND conparentid = 0 ORDER BY 1, 2", [table])
    return cursor.fetchall()


def _repoint(definition: str, old: str, old_column: str, new: str, new_column: str) -> str:
    pattern = rf"REFERENCES (\w+\.)?\"?{re.escape(old)}\"?\({re.escape(old_column)}\)"
    changed, count = re.subn(pattern, f"REFERENCES {_q(new)}({_q(new_column)})", definition)
    if count != 1:
        raise RuntimeError(f"unexpected foreign key definition: {definition}")
    return changed


def fill(cursor, spec: ReferencedKeys) -> int:
    """The key table made equal to the table (after a load with triggers off)."""
    columns = ", ".join(_q(c) for c in spec.columns)
    time = _q(spec.time_column)
    cursor.execute(f"DELETE FROM {_q(spec.key_table)} k WHERE NOT EXISTS "
                   f"(SELECT 1 FROM {_q(spec.table)} t WHERE t.id = k.row_id AND t.{time} = k.{time})")
    cursor.execute(f"INSERT INTO {_q(spec.key_table)} (row_id, {columns}, {time}) "
                   f"SELECT t.id, {', '.join('t.' + _q(c) for c in spec.columns)}, t.{time} FROM {_q(spec.table)} t "
                   f"ON CONFLICT (row_id) DO UPDATE SET {time} = EXCLUDED.{time}")
    return cursor.rowcount


def create_triggers(cursor, spec: ReferencedKeys) -> None:
    table, keys, time = _q(spec.table), _q(spec.key_table), _q(spec.time_column)
    columns = ", ".join(_q(c) for c in spec.columns)
    new_values = ", ".join(f"NEW.{_q(c)}" for c in spec.columns)
    same = " AND ".join(f"k.{_q(c)} = NEW.{_q(c)}" for c in spec.columns)
    cursor.execute(f"""
CREATE OR REPLACE FUNCTION {_q(spec.prefix + '_claim')}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A repeat of the key fails here on the key table's unique index, as it did on the table's.
    INSERT INTO {keys} (row_id, {columns}, {time}) VALUES (NEW.id, {new_values}, NEW.{time})
    ON CONFLICT (row_id) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    -- The id has a key: a row with this id exists (refused, as the primary key on id did), or
    -- this row moves to another partition (its old version is no longer visible here: its key
    -- follows), or the key was left by a row gone without its trigger (it goes).
    IF EXISTS (SELECT 1 FROM {table} t WHERE t.id = NEW.id) THEN
        RAISE unique_violation USING MESSAGE = format('duplicate key value violates unique constraint "%s"',
            '{spec.table}_pkey'), DETAIL = format('Key (id)=(%s) already exists.', NEW.id),
            CONSTRAINT = '{spec.table}_pkey', TABLE = '{spec.table}';
    END IF;
    UPDATE {keys} k SET {time} = NEW.{time} WHERE k.row_id = NEW.id AND {same};
    IF NOT FOUND THEN
        DELETE FROM {keys} k WHERE k.row_id = NEW.id;
        INSERT INTO {keys} (row_id, {columns}, {time}) VALUES (NEW.id, {new_values}, NEW.{time});
    END IF;
    RETURN NEW;
END
$$""")
    cursor.execute(f"""
CREATE OR REPLACE FUNCTION {_q(spec.prefix + '_release')}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Not the key of a row that moved to another partition: it holds the new time, where the row is.
    DELETE FROM {keys} k USING old_rows o WHERE k.row_id = o.id
        AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = k.row_id AND t.{time} = k.{time});
    RETURN NULL;
END
$$""")
    cursor.execute(f"""
CREATE OR REPLACE FUNCTION {_q(spec.prefix + '_clear')}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- What TRUNCATE ... CASCADE of the table emptied before (a plain TRUNCATE was refused by the
    -- foreign keys): the tables that point at it too. (Not when the same TRUNCATE emptied the key
    -- table already, as Django's flush does: PostgreSQL refuses it then.)
    IF EXISTS (SELECT 1 FROM {keys}) THEN
        BEGIN
            TRUNCATE {keys} CASCADE;
        EXCEPTION WHEN object_in_use THEN
            -- The same TRUNCATE named a table that points at the keys but not the key table:
            -- PostgreSQL truncates no table twice in one statement. The keys go row by row; a
            -- row still pointing at one is refused at commit.
            DELETE FROM {keys};
        END;
    END IF;
    RETURN NULL;
END
$$""")
    cursor.execute(f"CREATE TRIGGER {_q(spec.prefix + '_claim')} BEFORE INSERT ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {_q(spec.prefix + '_claim')}()")
    cursor.execute(f"CREATE TRIGGER {_q(spec.prefix + '_release')} AFTER DELETE ON {table} "
                   f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {_q(spec.prefix + '_release')}()")
    cursor.execute(f"CREATE TRIGGER {_q(spec.prefix + '_clear')} AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {_q(spec.prefix + '_clear')}()")


def drop_triggers(cursor, spec: ReferencedKeys) -> None:
    for name in ("claim", "release", "clear"):
        cursor.execute(f"DROP TRIGGER IF EXISTS {_q(spec.prefix + '_' + name)} ON {_q(spec.table)}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {_q(spec.prefix + '_' + name)}()")


def convert(cursor, spec: ReferencedKeys) -> int:
    """`spec.table` partitioned by month with its rows (core.partitions.convert), its keys in the key
    table and the foreign keys into it pointed at the key table; nothing if it already is
    partitioned. Returns the number of rows moved. In the migration's transaction."""
    if partitions.is_partitioned(cursor, spec.table):
        return 0
    references = inbound(cursor, spec.table)
    for table, name, _ in references:
        cursor.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
    columns = ", ".join(_q(c) for c in spec.columns)
    time = _q(spec.time_column)
    cursor.execute(f"INSERT INTO {_q(spec.key_table)} (row_id, {columns}, {time}) "
                   f"SELECT id, {columns}, {time} FROM {_q(spec.table)}")
    cursor.execute(f"ALTER TABLE {_q(spec.table)} DROP CONSTRAINT {_q(spec.replaces)}")
    cursor.execute(f"ANALYZE {_q(spec.key_table)}")
    moved = partitions.convert(cursor, spec.table, spec.time_column)
    create_triggers(cursor, spec)
    for table, name, definition in references:
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} "
                       f"{_repoint(definition, spec.table, 'id', spec.key_table, 'row_id')}")
    return moved


def unconvert(cursor, spec: ReferencedKeys) -> int:
    """The way back: one plain table with its unique constraint, the foreign keys pointing at it
    again, the key table empty."""
    if not partitions.is_partitioned(cursor, spec.table):
        return 0
    references = inbound(cursor, spec.key_table)
    for table, name, _ in references:
        cursor.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
    drop_triggers(cursor, spec)
    moved = partitions.unconvert(cursor, spec.table)
    cursor.execute(spec.restore)
    cursor.execute(f"DELETE FROM {_q(spec.key_table)}")
    for table, name, definition in references:
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} "
                       f"{_repoint(definition, spec.key_table, 'row_id', spec.table, 'id')}")
    return moved


def migration_operations(spec: ReferencedKeys):
    """(forward, backward) for a RunPython operation: PostgreSQL only."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                convert(cursor, spec)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                unconvert(cursor, spec)

    return forward, backward
