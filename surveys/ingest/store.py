"""Storing a verified delivery: the statements both doors write with.

- The Django view stores one delivery per request with `store_delivery()`: one statement,
  `INSERT ... ON CONFLICT DO NOTHING RETURNING id`, autocommitted (committed when it returns;
  synchronous_commit stays on); only a repeated delivery id costs a second statement (the SELECT
  of the original). Inside a caller's transaction (tests, imports) the row commits with it.
  A repeated (source, delivery id) is not stored: on SQLite by the table's unique constraint, on
  PostgreSQL, where the deliveries are partitioned by month, by the trigger that claims its key in
  WebhookDeliveryKey (core.partition_keys); either way the INSERT returns no row.
- The ingest server writes many at once (group commit, surveys.ingest.asgi.GroupWriter) with
  `group_statement()`: the same INSERT for any number of rows, and `group_outcomes()` to give each
  row its id back.

Either way a new delivery is handed to the workers only once committed (surveys.ingest.publish).
`delivery_store()` is `store_delivery()` returning the model instance, for code and tests that
have a delivery to store outside a request. This module imports nothing from surveys.services:
what a delivery keeps of its headers is decided here.
"""

from __future__ import annotations

import functools
import json
from base64 import b64encode

from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from psycopg.sql import Literal

from surveys.ingest.publish import publish
from surveys.models import WebhookDelivery, WebhookDeliveryKey, WebhookSource

# Headers worth keeping with a delivery (for the console and for re-verification by a person).
KEPT_HEADERS = (
    "content-type", "user-agent", "webhook-id", "webhook-timestamp", "typeform-signature",
    "x-delighted-webhook-signature", "sm-apikey", "sm-signature", "x-request-id", "x-forwarded-for",
)

# The columns a request fills, in the order of a row (`delivery_row`); every other column is its default.
FILLED = ("source", "delivery_id", "received_at", "content_type", "headers", "body")


def store_delivery(source, delivery_id: str, content_type: str, headers: dict, body: bytes) -> tuple[int, str, bool]:
    """Store a verified delivery (committed when this returns, unless the caller holds a
    transaction) or find the one with the same (source, delivery id): (id, delivery id, created).
    A new delivery is published to the workers once committed: at once outside a transaction,
    after the caller's transaction commits inside one."""
    connection = connections["default"]
    row = delivery_row(source, delivery_id, content_type, headers, body)
    pk, created = _store_one(connection, *row)
    if created:
        transaction.on_commit(lambda: publish(pk), using=connection.alias)
    return pk, row[1], created


def delivery_store(
    *, source: WebhookSource, delivery_id: str, content_type: str, headers: dict, body: bytes
) -> tuple[WebhookDelivery, bool]:
    """`store_delivery()` plus a read of the row: (the delivery, created)."""
    pk, _delivery_id, created = store_delivery(source, delivery_id, content_type, headers, body)
    return WebhookDelivery.objects.get(pk=pk), created


def delivery_row(source, delivery_id: str, content_type: str, headers: dict, body: bytes) -> tuple:
    """The values of a new WebhookDelivery, in FILLED order: the headers in KEPT_HEADERS and the
    ones the source's auth names. PostgreSQL text holds no NUL character and no lone surrogate:
    such a character in a delivery id (taken from a body by the mapping) or a header is dropped
    or replaced, so the delivery is stored, and its retries still find it."""
    kept_names = source_headers(source)
    kept = {k: _storable(v) for k, v in headers.items() if k in KEPT_HEADERS or k in kept_names}
    return (source.pk, _storable(delivery_id)[:255], timezone.now(), _storable(content_type)[:255], kept, body)


def source_headers(source) -> set[str]:
    """The (lower-case) headers a source's auth settings name: kept with its deliveries."""
    auth = source.auth or {}
    return {str(auth[k]).lower() for k in ("header", "timestamp_header", "delivery_id_header") if auth.get(k)}


def _storable(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", "")
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


# --- one delivery (the Django view) ---------------------------------------------------------


@functools.cache
def _insert_statement(vendor: str) -> tuple[str, tuple, tuple]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id for WebhookDelivery, with the columns the
    request fills and every other column at its model default (prepared once per backend)."""
    connection = connections["default"]
    quote = connection.ops.quote_name
    fields = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = quote(WebhookDelivery._meta.db_table)
    insert = (f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
              f"ON CONFLICT DO NOTHING RETURNING {quote('id')}")
    defaults = tuple(None if f.name in FILLED else f.get_db_prep_save(f.get_default(), connection) for f in fields)
    return insert, tuple(f if f.name in FILLED else None for f in fields), defaults


@functools.cache
def original_select() -> str:
    """The id of the delivery already stored with a (source id, delivery id): a repeat's answer,
    from the key table on PostgreSQL (the deliveries' own index on the pair is gone with the
    partitioning), from the deliveries' unique index on SQLite."""
    connection = connections["default"]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        return (f"SELECT {quote('row_id')} FROM {quote(WebhookDeliveryKey._meta.db_table)} "
                f"WHERE {quote('source_id')} = %s AND {quote('delivery_id')} = %s")
    return (f"SELECT {quote('id')} FROM {quote(WebhookDelivery._meta.db_table)} "
            f"WHERE {quote('source_id')} = %s AND {quote('delivery_id')} = %s")


def _store_one(connection, source_pk, delivery_id, received_at, content_type, headers, body) -> tuple[int, bool]:
    """One delivery, one statement: (id, created)."""
    insert, filled, defaults = _insert_statement(connection.vendor)
    values = dict(zip(FILLED, (source_pk, delivery_id, received_at, content_type, headers, body)))
    params = [default if field is None else field.get_db_prep_save(values[field.name], connection)
              for field, default in zip(filled, defaults)]
    row = _fetch_one(connection, insert, params)
    if row is None:  # a repeated delivery id: nothing inserted, answer with the original
        row = _fetch_one(connection, original_select(), [source_pk, delivery_id])
        if row is None:
            raise DatabaseError(f"delivery {delivery_id!r} conflicted but cannot be found")
        return row[0], False
    return row[0], True


def _fetch_one(connection, sql: str, params: list):
    """One statement, its first row. (A kept connection that died is replaced before the
    request's first statement by Django's CONN_HEALTH_CHECKS.)"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


# --- many deliveries at once (the ingest server's group commit) ------------------------------


@functools.cache
def _group_insert() -> str:
    """The INSERT for any number of deliveries at once (PostgreSQL). The rows travel as one JSON
    array (one parameter: encoded by the json module's C code, where a parameter per value or an
    array per column cost the driver far more), each row `[source id, delivery id, received at,
    content type, headers, body in base64]`; every other column is its default written out as a
    literal; each inserted row comes back as (id, source id, delivery id). One statement text for
    every batch size: parsed once by the driver, prepared once by the server. Needs no open
    connection (the ASGI door builds it in its event loop)."""
    connection = connections["default"]
    quote = connection.ops.quote_name
    fields = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
    filled = [next(f for f in fields if f.name == name) for name in FILLED]
    others = [f for f in fields if f.name not in FILLED]
    columns = ", ".join(quote(f.column) for f in filled + others)
    types = [f.db_type(connection) for f in filled]
    values = [f"(r->>{i})::{types[i]}" for i in (0, 1, 2, 3)] + ["r->4", "decode(r->>5, 'base64')"]
    values += [Literal(f.get_db_prep_save(f.get_default(), connection)).as_string(None) for f in others]
    return (f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} ({columns}) SELECT {', '.join(values)} "
            f"FROM jsonb_array_elements(%s::jsonb) AS r "
            f"ON CONFLICT DO NOTHING "
            f"RETURNING {quote('id')}, {quote('source_id')}, {quote('delivery_id')}")


def group_statement(rows: list[tuple]) -> tuple[str, list]:
    """The multi-row INSERT for these rows (each in FILLED order) and its one parameter."""
    return _group_insert(), [json.dumps([
        (source_id, delivery_id, received_at.isoformat(), content_type, headers, b64encode(body).decode("ascii"))
        for source_id, delivery_id, received_at, content_type, headers, body in rows
    ])]


def group_outcomes(rows: list[tuple], returned: list[tuple]) -> list[int | None]:
    """Each row's new id, from what the multi-row INSERT returned; None for a row that was already
    stored (by an earlier request, or by an earlier row of the same batch): look up the original."""
    inserted = {(source_id, delivery_id): pk for pk, source_id, delivery_id in returned}
    return [inserted.pop((row[0], row[1]), None) for row in rows]
