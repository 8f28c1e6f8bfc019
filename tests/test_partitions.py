"""Partitioned history (core.partitions, docs/deployment.md "Partitioned history").

The tables that only grow are partitioned by month on PostgreSQL; an existing installation's rows
move with their ids, the id sequence goes on where it was, and every index, check and foreign key
is there again afterwards. The beat's maintenance makes partitions ahead, moves rows out of the
default partition when their month gets one, and drops whole months past retention."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from cases.models import CaseEvent
from core import partitions
from tests.factories import opened_case

pytestmark = pytest.mark.django_db


def _one(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _all(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _shape(table):
    """The table's indexes and constraints, by name, with what they do (the partitioned table's
    primary key includes the time column, so it is left out and checked on its own)."""
    indexes = _all("SELECT c.relname, regexp_replace(pg_get_indexdef(i.indexrelid), ' ON (ONLY )?\\S+', '') "
                   "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                   "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary ORDER BY 1", [table])
    constraints = _all("SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = to_regclass(%s) AND contype <> 'p' ORDER BY 1", [table])
    return indexes, constraints


def _primary_key(table):
    return _one("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(%s) AND contype = 'p'", [table])


def _partitions(table):
    return [name for (name,) in _all("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                     "WHERE i.inhparent = to_regclass(%s) ORDER BY 1", [table])]


def _month_names(table, first: date, count: int):
    return [partitions.partition_name(table, partitions.add_months(first, n)) for n in range(count)]


def test_case_events_are_partitioned_by_month_with_months_ahead_and_a_default():
    assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass('cases_caseevent')") == ("p",)
    assert _primary_key("cases_caseevent") == ("cases_caseevent_pkey", "PRIMARY KEY (id, created_at)")
    this_month = partitions.month_start(datetime.now(UTC).date())
    names = set(_partitions("cases_caseevent"))
    assert set(_month_names("cases_caseevent", this_month, 4)) <= names
    assert "cases_caseevent_default" in names


def test_an_event_goes_to_its_month_and_a_far_one_to_the_default_partition():
    case = opened_case()
    this_month = partitions.month_start(datetime.now(UTC).date())
    far = CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, created_at=datetime(2091, 5, 1, tzinfo=UTC))
    where = dict(_all("SELECT id, tableoid::regclass::text FROM cases_caseevent WHERE case_id = %s", [case.pk]))
    opened = case.events.get(kind=CaseEvent.Kind.OPENED)
    assert where == {opened.pk: partitions.partition_name("cases_caseevent", this_month),
                     far.pk: "cases_caseevent_default"}


# --- The migration, back and forth on a database with rows --------------------------------------

BEFORE = ("cases", "0021_report_fields_per_case")
AFTER = ("cases", "0022_case_events_partitioned_by_month")

ROWS = [  # created_at, kind, note, data, version
    ("2019-03-31 23:59:59.999999+00", "opened", "", "{}", 1),
    ("2019-04-01 00:00:00+00", "note", "Called back, left a message", '{"reason": "no_answer"}', 2),
    ("2019-04-30 22:30:00-02", "status", "", "{}", 3),  # 1 May in UTC
    ("2023-11-15 10:00:00+00", "contact", "Spoke to her", '{"outcome": "reached"}', 4),
    ("2091-01-01 00:00:00+00", "note", "clock far ahead", "{}", 0),
]


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def _migrate_latest():
    """Every app back at its latest migration (going back to a target unapplies the later ones of
    that app and of the apps that depend on them)."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_every_row_and_keeps_ids_sequence_indexes_and_constraints():
    case = opened_case()
    CaseEvent.objects.all().delete()
    after_shape = _shape("cases_caseevent")
    months_before = set(_partitions("cases_caseevent"))
    try:
        _migrate(BEFORE)
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass('cases_caseevent')") == ("r",)
        assert _primary_key("cases_caseevent") == ("cases_caseevent_pkey", "PRIMARY KEY (id)")
        assert _shape("cases_caseevent") == after_shape  # the way back restores the same table
        with connection.cursor() as cursor:
            for created_at, kind, note, data, version in ROWS:
                cursor.execute("INSERT INTO cases_caseevent (case_id, kind, from_value, to_value, note, data, version, "
                               "created_at, actor_id) VALUES (%s, %s, '', '', %s, %s::jsonb, %s, %s, NULL)",
                               [case.pk, kind, note, data, version, created_at])
            # The newest id was taken and its row deleted since: the id must never come back.
            cursor.execute("INSERT INTO cases_caseevent (case_id, kind, from_value, to_value, note, data, version, "
                           "created_at) VALUES (%s, 'note', '', '', '', '{}', 0, now()) RETURNING id", [case.pk])
            deleted_id = cursor.fetchone()[0]
            cursor.execute("DELETE FROM cases_caseevent WHERE id = %s", [deleted_id])
        before_rows = _all("SELECT * FROM cases_caseevent ORDER BY id")
        assert len(before_rows) == len(ROWS)

        _migrate(AFTER)

        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass('cases_caseevent')") == ("p",)
        assert _all("SELECT * FROM cases_caseevent ORDER BY id") == before_rows
        assert _primary_key("cases_caseevent") == ("cases_caseevent_pkey", "PRIMARY KEY (id, created_at)")
        assert _shape("cases_caseevent") == after_shape
        where = _all("SELECT note, tableoid::regclass::text FROM cases_caseevent ORDER BY id")
        assert [w[1] for w in where] == ["cases_caseevent_p201903", "cases_caseevent_p201904", "cases_caseevent_p201905",
                                         "cases_caseevent_p202311", "cases_caseevent_default"]
        this_month = partitions.month_start(datetime.now(UTC).date())
        assert set(_month_names("cases_caseevent", this_month, 4)) <= set(_partitions("cases_caseevent"))

        event = CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE)
        assert event.pk == deleted_id + 1
        # Constraints are enforced, not only listed: a check and a foreign key.
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE cases_caseevent SET version = -1 WHERE id = %s", [event.pk])
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("UPDATE cases_caseevent SET case_id = %s WHERE id = %s", [case.pk + 10_000, event.pk])
        # The ORM reads, updates and deletes through the partitioned table as before.
        event.note = "edited"
        event.save(update_fields=["note"])
        assert CaseEvent.objects.get(pk=event.pk).note == "edited"
        assert case.events.count() == len(ROWS) + 1
        # Deleted through the ORM (not case.delete(): at this migration state, tables of later
        # migrations that point at cases, such as the account rules' cases, do not exist yet).
        assert CaseEvent.objects.filter(case=case).delete()[0] == len(ROWS) + 1
        assert _one("SELECT count(*) FROM cases_caseevent") == (0,)
    finally:
        _migrate_latest()
        with connection.cursor() as cursor:  # the flush after this test empties tables, it drops none
            for name in set(_partitions("cases_caseevent")) - months_before:
                cursor.execute(f'DROP TABLE "{name}"')


# --- Maintenance and retention ----------------------------------------------------------------


def _events_in(table_name):
    return _one(f"SELECT count(*) FROM {table_name}")[0]


def test_maintenance_moves_rows_waiting_in_the_default_partition_into_their_new_month():
    case = opened_case()
    for day in (1, 17):
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, created_at=datetime(2091, 6, day, tzinfo=UTC))
    with connection.cursor() as cursor:
        assert partitions.create_ahead(cursor, "cases_caseevent", "created_at", date(2091, 5, 20), months=1) == [
            "cases_caseevent_p209105", "cases_caseevent_p209106"]
        assert partitions.create_ahead(cursor, "cases_caseevent", "created_at", date(2091, 5, 20), months=1) == []
    assert _events_in("cases_caseevent_p209106") == 2
    assert _events_in("cases_caseevent_default") == 0
    assert CaseEvent.objects.filter(created_at__year=2091).count() == 2


@override_settings(PARTITIONED_TABLES={"cases_caseevent": {"column": "created_at", "retention_days": 400}})
def test_retention_drops_whole_months_past_it_and_keeps_the_rest():
    case = opened_case()
    with connection.cursor() as cursor:
        for month in (date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)):
            partitions.create_partition(cursor, "cases_caseevent", "created_at", month)
    old = CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, created_at=datetime(2024, 1, 31, tzinfo=UTC))
    kept = CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, created_at=datetime(2024, 2, 10, tzinfo=UTC))
    stray = CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, created_at=datetime(2001, 1, 1, tzinfo=UTC))
    # 400 days before 10 March 2025 is 5 February 2024: January has ended by then, February has not.
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)

    done = {m.table: m for m in partitions.maintain(now)}

    dropped = done["cases_caseevent"].dropped
    assert "cases_caseevent_p202401" in dropped and max(dropped) == "cases_caseevent_p202401"
    # The stray row of 2001 got a partition of its own first (rows of past months leave the
    # default partition), which was then past retention too.
    assert "cases_caseevent_p200101" in dropped
    assert "cases_caseevent_p202402" in _partitions("cases_caseevent")
    assert set(CaseEvent.objects.filter(pk__in=[old.pk, kept.pk, stray.pk]).values_list("pk", flat=True)) == {kept.pk}
    assert set(_month_names("cases_caseevent", date(2025, 3, 1), 4)) <= set(_partitions("cases_caseevent"))
    again = {m.table: m for m in partitions.maintain(now)}["cases_caseevent"]
    assert (again.created, again.dropped, again.deleted_from_default) == ([], [], 0)


def test_no_retention_drops_nothing():
    case = opened_case()
    with connection.cursor() as cursor:
        partitions.create_partition(cursor, "cases_caseevent", "created_at", date(2001, 1, 1))
    CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.NOTE, created_at=datetime(2001, 1, 5, tzinfo=UTC))
    done = {m.table: m for m in partitions.maintain(datetime(2031, 1, 1, tzinfo=UTC))}
    assert done["cases_caseevent"].dropped == []
    assert CaseEvent.objects.filter(created_at__year=2001).count() == 1


def test_the_beat_runs_the_maintenance_daily():
    from django.conf import settings

    from privacy.tasks import partitions_maintain_task

    entry = settings.CELERY_BEAT_SCHEDULE["privacy-partitions-maintain"]
    assert entry["task"] == "privacy.tasks.partitions_maintain_task"
    result = partitions_maintain_task()
    assert [r["table"] for r in result] == list(settings.PARTITIONED_TABLES)


# --- Outcome events: the key table, then the partitions ------------------------------------------

OUTCOMES_BEFORE = ("outcomes", "0001_initial")
OUTCOMES_AFTER = ("outcomes", "0004_event_customer_index_covers_amount")
OUTCOME_ROWS = [  # source, external_id, kind, amount, occurred_at, attributes
    ("api", "inv-1", "renewal", "1200.000", "2021-06-30 23:00:00+00", '{"plan": "gold"}'),
    ("stripe:billing", "inv-1", "refund", "35.500", "2021-07-01 00:00:00+00", "{}"),
    ("csv", "row-7", "churn", "0.000", "2026-01-15 08:00:00+00", "{}"),
]


@pytest.mark.django_db(transaction=True)
def test_the_outcome_migrations_keep_every_event_and_its_idempotency_key():
    from outcomes.models import OutcomeEvent
    from outcomes.rows import OutcomeRow
    from outcomes.services import outcome_events_upsert
    from tests.inbox.helpers import make_customer

    ann = make_customer("Ann Lee", external_id="C-1")
    after_shape = _shape("outcomes_outcomeevent")
    months_before = set(_partitions("outcomes_outcomeevent"))
    try:
        _migrate(OUTCOMES_BEFORE)
        assert _one("SELECT to_regclass('outcomes_outcomeeventkey')") == (None,)
        with connection.cursor() as cursor:
            for source, external_id, kind, amount, occurred_at, attributes in OUTCOME_ROWS:
                cursor.execute("INSERT INTO outcomes_outcomeevent (customer_id, account_id, kind, amount, currency, "
                               "occurred_at, source, external_id, attributes, created_at, updated_at) VALUES "
                               "(%s, NULL, %s, %s, 'EUR', %s, %s, %s, %s::jsonb, now(), now())",
                               [ann.pk, kind, amount, occurred_at, source, external_id, attributes])
        before_rows = _all("SELECT * FROM outcomes_outcomeevent ORDER BY id")

        _migrate(OUTCOMES_AFTER)

        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass('outcomes_outcomeevent')") == ("p",)
        assert _all("SELECT * FROM outcomes_outcomeevent ORDER BY id") == before_rows
        assert _primary_key("outcomes_outcomeevent") == ("outcomes_outcomeevent_pkey", "PRIMARY KEY (id, occurred_at)")
        assert _shape("outcomes_outcomeevent") == after_shape
        assert [w for (w,) in _all("SELECT tableoid::regclass::text FROM outcomes_outcomeevent ORDER BY id")] == [
            "outcomes_outcomeevent_p202106", "outcomes_outcomeevent_p202107", "outcomes_outcomeevent_p202601"]
        assert _all("SELECT source, external_id, event_id, occurred_at FROM outcomes_outcomeeventkey ORDER BY event_id") \
            == _all("SELECT source, external_id, id, occurred_at FROM outcomes_outcomeevent ORDER BY id")
        assert ("outcomes_outcomeeventkey_unique_source_id", "u", "UNIQUE (source, external_id)") in \
            _shape("outcomes_outcomeeventkey")[1]
        # The checks hold on the partitioned table.
        for bad in ("amount = -1", "customer_id = NULL"):
            with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"UPDATE outcomes_outcomeevent SET {bad} WHERE id = %s", [before_rows[0][0]])
        # Idempotency survives: the first event sent again is unchanged, a new one is created once.
        row = OutcomeRow(kind="renewal", amount=Decimal("1200.000"), currency="EUR",
                         occurred_at=datetime(2021, 6, 30, 23, tzinfo=UTC), external_id="inv-1", source="api",
                         customer_id=ann.pk, attributes={"plan": "gold"})
        new = OutcomeRow(kind="purchase", amount=Decimal(10), currency="EUR",
                         occurred_at=datetime(2026, 2, 1, tzinfo=UTC), external_id="inv-2", source="api",
                         customer_id=ann.pk)
        assert [r.status for r in outcome_events_upsert([row, new])] == ["unchanged", "created"]
        assert [r.status for r in outcome_events_upsert([row, new])] == ["unchanged", "unchanged"]
        assert OutcomeEvent.objects.count() == 4
        assert OutcomeEvent.objects.get(external_id="inv-2").pk > before_rows[-1][0]
    finally:
        _migrate_latest()
        with connection.cursor() as cursor:
            for name in set(_partitions("outcomes_outcomeevent")) - months_before:
                cursor.execute(f'DROP TABLE "{name}"')
