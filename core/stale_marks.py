"""Stored per-customer rows kept exact by marks: database triggers write the customers a change
makes stale into a marks table in the writer's own transaction, a fold takes the marks and
recomputes those customers' rows, and a reader computes the customers still marked from the source
rows. Written once for every such store: the answers' follow-ups (reporting.followups) and the
Contact report's breaches (reporting.contact_breaches). Each store says which tables to watch, which
of their columns matter and which customers a row names; the triggers and the taking of marks are
here.

    Watch(columns, customers, ops)       what a table's change marks
    trigger_sql(prefix, marks, watched)  statement triggers (PostgreSQL) or row triggers (SQLite)
    drop_trigger_sql(prefix, watched)
    take_marks(cursor, marks, limit)     the customers of up to `limit` marks, those marks deleted
    lock(cursor, key)                    one fold or rebuild of a store at a time (PostgreSQL)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from core.rollup_triggers import pg_function, pg_run, pg_statement_triggers

OPS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Watch:
    """A watched table: an UPDATE marks only when one of `columns` changed; `customers` is a SELECT
    of the customer ids a row names (one column, `customer_id`), `{r}` standing for the row
    (a transition table's row on PostgreSQL, NEW or OLD on SQLite); `ops` the writes that mark."""

    columns: tuple[str, ...]
    customers: str = "SELECT {r}.customer_id AS customer_id"
    ops: tuple[str, ...] = OPS


def _name(prefix: str, table: str, op: str) -> str:
    return f"{prefix}_{table.split('_', 1)[1]}_{op.lower()}"


def trigger_sql(prefix: str, marks: str, watched: dict[str, Watch]) -> list[str]:
    """The statements that (re)create the triggers for the current database: every watched write
    inserts the customers it names, once per statement on PostgreSQL, into `marks`."""
    statements = []
    insert = f"INSERT INTO {marks} (customer_id) "
    if connection.vendor == "postgresql":
        for table, watch in watched.items():
            changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in watch.columns)
            for op in watch.ops:
                if op == "UPDATE":
                    rows = (f"SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed} UNION ALL "
                            f"SELECT o.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {changed}")
                else:
                    rows = "SELECT * FROM new_rows" if op == "INSERT" else "SELECT * FROM old_rows"
                name = _name(prefix, table, op)
                stale = (f"{insert}SELECT DISTINCT s.customer_id FROM (SELECT * FROM ({rows}) AS w) AS t "
                         f"CROSS JOIN LATERAL ({watch.customers.format(r='t')}) AS s(customer_id) "
                         f"WHERE s.customer_id IS NOT NULL")
                statements += [pg_function(name, pg_run(stale)), *pg_statement_triggers(table, name, {op: name})]
        return statements
    # SQLite: row triggers on the same writes.
    for table, watch in watched.items():
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in watch.columns)
        for op in watch.ops:
            rows = {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("NEW", "OLD")}[op]
            when = f" WHEN {changed}" if op == "UPDATE" else ""
            body = " ".join(f"{insert}SELECT customer_id FROM ({watch.customers.format(r=r)}) "
                            f"WHERE customer_id IS NOT NULL;" for r in rows)
            name = _name(prefix, table, op)
            statements += [
                f"DROP TRIGGER IF EXISTS {name}",
                f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW{when} BEGIN {body} END",
            ]
    return statements


def drop_trigger_sql(prefix: str, watched: dict[str, Watch]) -> list[str]:
    pairs = [(_name(prefix, table, op), table) for table, watch in watched.items() for op in watch.ops]
    if connection.vendor == "postgresql":
        return [s for name, table in pairs
                for s in (f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()")]
    return [f"DROP TRIGGER IF EXISTS {name}" for name, _ in pairs]


def lock(cursor, key: int) -> None:
    """One fold or rebuild of a store at a time (a transaction-scoped advisory lock; SQLite has one
    writer anyway)."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def take_marks(cursor, marks: str, limit: int) -> list[int]:
    """The customers of the `limit` oldest marks, sorted, those marks deleted (in the caller's
    transaction: a mark written meanwhile by another transaction stays, for the next fold)."""
    cursor.execute(f"SELECT id, customer_id FROM {marks} ORDER BY id LIMIT %s", [limit])
    taken = cursor.fetchall()
    ids = [mark_id for mark_id, _c in taken]
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        cursor.execute(f"DELETE FROM {marks} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)
    return sorted({customer_id for _m, customer_id in taken})
