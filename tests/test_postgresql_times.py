"""Times read from PostgreSQL by psycopg's C loader (core/postgresql/base.py): the same values
Django's own loader gives, aware and in UTC, on every kind of cursor the product reads with."""

from __future__ import annotations

import datetime

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from core.postgresql.base import C_TIMESTAMPTZ_LOADER
from core.prepared import prepared_cursor
from tests.factories import UserFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loaders")

TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
UTC = datetime.timezone.utc
MOMENTS = [datetime.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),  # Europe's clocks change at 01:00 UTC
           datetime.datetime(1999, 12, 31, 23, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
           datetime.datetime(2026, 12, 6, 4, 30, 12, 5, tzinfo=UTC)]
IN_UTC = [moment.astimezone(UTC) for moment in MOMENTS]
SQL = "SELECT %s::timestamptz, %s::timestamptz, %s::timestamptz, NULL::timestamptz"


def _loader(psycopg_cursor):
    return psycopg_cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)


def _same(values) -> None:
    assert list(values) == IN_UTC
    assert [(value.tzinfo, value.hour) for value in values] == [(UTC, moment.hour) for moment in IN_UTC]


@pytest.mark.django_db
def test_the_c_loader_reads_what_djangos_loader_reads():
    assert C_TIMESTAMPTZ_LOADER is not None, "psycopg's C implementation (psycopg[binary]) is a runtime requirement"
    with connection.cursor() as cursor:
        assert _loader(cursor.cursor) is C_TIMESTAMPTZ_LOADER
        cursor.execute(SQL, MOMENTS)
        fast = cursor.fetchone()
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's own, as on the connection
        assert _loader(cursor.cursor) is not C_TIMESTAMPTZ_LOADER
        cursor.execute(SQL, MOMENTS)
        django = cursor.fetchone()
    assert fast == django
    assert fast[3] is None
    _same(fast[:3])
    _same(django[:3])
    # The connection keeps Django's loader: Django's create_cursor reads that loader's zone.
    assert _loader(connection.connection).timezone is UTC


@pytest.mark.django_db(transaction=True)
def test_every_cursor_the_product_reads_with_uses_it():
    from accounts.models import User

    for n, moment in enumerate(MOMENTS):
        UserFactory(username=f"t{n}", date_joined=moment)
    users = User.objects.filter(username__startswith="t").order_by("username")
    _same(users.values_list("date_joined", flat=True))
    # A server-side cursor (iterator() outside a transaction), then core.prepared's.
    _same([user.date_joined for user in users.iterator(chunk_size=1)])
    with prepared_cursor() as cursor:
        assert _loader(cursor.cursor) is C_TIMESTAMPTZ_LOADER
        cursor.execute("SELECT date_joined FROM accounts_user WHERE username LIKE 't%%' ORDER BY username")
        _same([row[0] for row in cursor.fetchall()])
