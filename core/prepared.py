"""A cursor whose statements PostgreSQL plans once per connection: for a hot read that Django's
own cursors would have planned on every run.

Django's PostgreSQL cursors bind parameters on the client (psycopg's ClientCursor): every query
reaches the server as new text, parsed and planned each time. For a statement of several parts
run on every request (the contact policy's decision: about 0.5 ms of planning against 0.15 ms of
execution, measured), `prepared_cursor()` returns a cursor that binds on the server; psycopg then
prepares a statement after it ran `prepare_threshold` times on the connection (5, set in
config/settings/database.py) and PostgreSQL reuses its plan. Behind a transaction-mode PgBouncer
(DATABASE_POOL_MODE=transaction) the threshold is None and nothing is prepared: the same cursor
then only binds on the server. On SQLite, Django's own cursor.

The cursor is Django's wrapper (query logging and counting in tests, error translation), used as
`with prepared_cursor() as cursor: cursor.execute(sql, params)` with %s placeholders.
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection


def prepared_cursor():
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    from core.postgresql.base import load_times_in_c

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = ServerBindingCursor(connection.connection)
    load_times_in_c(connection, raw)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def row_as(model, fields, row):
    """A model instance from a raw row's values for `fields` (concrete fields of `model`, in the
    model's order), each converted from the database's form as the ORM converts it (an SQLite
    time's text, a JSON column's text, a field's own from_db_value)."""
    converters, attnames = _converters(connection.alias, model, tuple(fields))
    if len(row) != len(attnames):
        raise ValueError(f"{len(row)} values for {len(attnames)} fields of {model.__name__}")
    values = list(row)
    for index, column, convert in converters:
        values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, attnames, values)


@lru_cache(maxsize=None)
def _converters(alias, model, fields):
    """Which of `fields` need converting and how, looked up once per database, model and fields
    (the backend's and the fields' converters do not change while the process runs; asking for
    them on every row cost about a fifth of an API token's check, profiled)."""
    steps = []
    for index, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        for convert in (*connection.ops.get_db_converters(column), *field.get_db_converters(connection)):
            steps.append((index, column, convert))
    return tuple(steps), tuple(f.attname for f in fields)
