"""Webhook deliveries and notifications partitioned by month, with their uniqueness in a key table
(core.partition_keys, docs/deployment.md "Partitioned history").

A repeated delivery or notification is still stored once, whatever inserts it; the conversion of
an existing installation keeps every row, id, key and foreign key; retention drops whole months but
never a delivery that is not processed nor a notification still to send."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from cases.models import Notification, NotificationKey, NotificationKind
from core import partitions
from surveys.ingest.store import store_delivery
from surveys.models import WebhookDelivery, WebhookDeliveryKey
from tests.factories import opened_case
from tests.surveys.payloads import make_source
from tests.test_partitions import _all, _migrate, _migrate_latest, _one, _partitions, _primary_key, _shape

pytestmark = pytest.mark.django_db

D = "surveys_webhookdelivery"
N = "cases_notification"


def _store(source, delivery_id, body=b"{}"):
    return store_delivery(source, delivery_id, "application/json", {}, body)


def _keys():
    return sorted(WebhookDeliveryKey.objects.values_list("row_id", "source_id", "delivery_id"))


def _delivery_rows():
    return sorted(WebhookDelivery.objects.values_list("id", "source_id", "delivery_id"))


def test_deliveries_and_notifications_are_partitioned_by_month():
    this_month = partitions.month_start(datetime.now(UTC).date())
    for table, column in ((D, "received_at"), (N, "created_at")):
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table]) == ("p",)
        assert _primary_key(table) == (f"{table}_pkey", f"PRIMARY KEY (id, {column})")
        assert {partitions.partition_name(table, this_month), f"{table}_default"} <= set(_partitions(table))


def test_a_repeated_delivery_is_stored_once_and_answered_with_the_original():
    source = make_source("standard")
    pk, _, created = _store(source, "d-1")
    again, _, created_again = _store(source, "d-1", body=b'{"other": 1}')
    other_source = make_source("standard", slug="other")
    elsewhere, _, created_elsewhere = _store(other_source, "d-1")
    assert (created, created_again, created_elsewhere) == (True, False, True)
    assert again == pk and elsewhere != pk
    assert WebhookDelivery.objects.get(pk=pk).body == b"{}"
    assert _delivery_rows() == [(pk, source.pk, "d-1"), (elsewhere, other_source.pk, "d-1")]
    assert _keys() == _delivery_rows()


def test_every_writer_claims_the_key_the_orm_too():
    source = make_source("standard")
    first = WebhookDelivery.objects.create(source=source, delivery_id="orm-1", body=b"{}")
    assert _keys() == [(first.pk, source.pk, "orm-1")]
    pk, _, created = _store(source, "orm-1")
    assert (pk, created) == (first.pk, False)
    assert WebhookDelivery.objects.count() == 1


def test_a_delivery_whose_row_is_gone_can_be_stored_again_and_takes_the_key():
    source = make_source("standard")
    pk, _, _ = _store(source, "gone-1")
    WebhookDelivery.objects.filter(pk=pk).delete()
    again, _, created = _store(source, "gone-1")
    assert created and again != pk
    assert _keys() == [(again, source.pk, "gone-1")]


def test_a_delivery_moved_to_another_month_keeps_its_key_and_still_refuses_a_repeat():
    source = make_source("standard")
    pk, _, _ = _store(source, "moved-1")
    WebhookDelivery.objects.filter(pk=pk).update(received_at=datetime(2091, 3, 1, tzinfo=UTC))
    assert _one(f"SELECT tableoid::regclass::text FROM {D} WHERE id = %s", [pk]) == (f"{D}_default",)
    assert _store(source, "moved-1")[0::2] == (pk, False)
    assert WebhookDelivery.objects.count() == 1


def test_keys_left_by_a_truncate_that_restarts_the_ids_give_way():
    """The fault scripts empty the deliveries with TRUNCATE ... RESTART IDENTITY: ids are given out
    again while keys of the old rows may remain. A new row whose id a stale key holds takes it over;
    a stale key never keeps a new delivery out."""
    source = make_source("standard")
    _store(source, "t-1")
    _store(source, "t-2")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no TRUNCATE with foreign-key checks pending
        cursor.execute(f"TRUNCATE {D} RESTART IDENTITY")
    assert _store(source, "t-9")[0::2] == (1, True)  # id 1, which t-1's key held
    assert _store(source, "t-9")[0::2] == (1, False)  # (a repeat takes an id too: 2, t-2's)
    assert _store(source, "t-1")[0::2] == (3, True)
    assert _store(source, "t-2")[0::2] == (4, True)
    assert _keys() == _delivery_rows()
    assert [d for _i, _s, d in _delivery_rows()] == ["t-9", "t-1", "t-2"]


def test_a_batch_with_the_same_delivery_twice_stores_it_once():
    from surveys.ingest.store import delivery_row, group_outcomes, group_statement

    source = make_source("standard")
    rows = [delivery_row(source, d, "application/json", {}, b"{}") for d in ("b-1", "b-2", "b-1")]
    sql, params = group_statement(rows)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    outcomes = group_outcomes(rows, returned)
    assert outcomes[2] is None and None not in outcomes[:2]
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["b-1", "b-2"]


def test_a_notification_queued_twice_is_stored_once_with_and_without_a_case():
    from cases import notifications

    case = opened_case()
    Notification.objects.all().delete()

    def rows():
        return [notifications.email_row(case_id=case.pk, kind=NotificationKind.OVERDUE, user_id=None,
                                        email="ann@example.com", period="2026-12-01"),
                notifications.email_row(case_id=None, kind=NotificationKind.DIGEST, user_id=None,
                                        email="ann@example.com", period="2026-12-01")]

    notifications.queue(rows())
    notifications.queue(rows())
    stored = sorted(Notification.objects.values_list("id", "case_id", "kind"), key=lambda r: r[0])
    assert [r[1:] for r in stored] == [(case.pk, "overdue"), (None, "digest")]
    assert sorted(NotificationKey.objects.values_list("row_id", "case_id", "kind")) == [
        (stored[0][0], case.pk, "overdue"), (stored[1][0], 0, "digest")]


# --- Retention ------------------------------------------------------------------------------

RETENTION = {
    D: {"column": "received_at", "retention_days": 400, "key_table": "surveys_webhookdeliverykey",
        "key_row": "row_id", "keep": "status <> 'processed'"},
    N: {"column": "created_at", "retention_days": 400, "key_table": "cases_notificationkey", "key_row": "row_id",
        "keep": "status IN ('pending', 'sending')"},
}
# 400 days before 10 March 2025 is 5 February 2024: January 2024 is past retention, February not.
NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)


def _where(table, pk):
    row = _one(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
    return row[0] if row else None


@override_settings(PARTITIONED_TABLES=RETENTION)
def test_retention_never_drops_a_delivery_that_is_not_processed():
    source = make_source("standard")
    with connection.cursor() as cursor:
        for month in (date(2024, 1, 1), date(2024, 2, 1)):
            partitions.create_partition(cursor, D, "received_at", month)
    made = {}
    for name, status, when in [("old-done", "processed", datetime(2024, 1, 20, tzinfo=UTC)),
                               ("old-pending", "pending", datetime(2024, 1, 21, tzinfo=UTC)),
                               ("old-processing", "processing", datetime(2024, 1, 22, tzinfo=UTC)),
                               ("old-failed", "failed", datetime(2024, 1, 23, tzinfo=UTC)),
                               ("kept-done", "processed", datetime(2024, 2, 10, tzinfo=UTC))]:
        made[name] = WebhookDelivery.objects.create(source=source, delivery_id=name, body=b"{}", status=status,
                                                    received_at=when)
        WebhookDelivery.objects.filter(pk=made[name].pk).update(received_at=when)  # auto_now_add set it to now

    done = {m.table: m for m in partitions.maintain(NOW)}[D]

    assert f"{D}_p202401" in done.dropped and f"{D}_p202402" not in done.dropped
    assert done.kept == 3
    unfinished = ["old-pending", "old-processing", "old-failed"]
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == sorted(unfinished + ["kept-done"])
    assert {_where(D, made[n].pk) for n in unfinished} == {f"{D}_default"}
    assert WebhookDelivery.objects.get(pk=made["old-failed"].pk).status == "failed"
    # Every key whose delivery is gone went with it; the kept ones still refuse a repeat.
    assert _keys() == _delivery_rows()
    assert _store(source, "old-failed")[0::2] == (made["old-failed"].pk, False)
    # The next run keeps them (no partition comes back for their month) and drops nothing more.
    again = {m.table: m for m in partitions.maintain(NOW)}[D]
    assert (again.dropped, again.deleted_from_default, again.kept) == ([], 0, 0)
    assert f"{D}_p202401" not in _partitions(D)
    # Once processed (a replay), the kept delivery goes at the next run, and its key with it.
    WebhookDelivery.objects.filter(pk=made["old-failed"].pk).update(status="processed")
    third = {m.table: m for m in partitions.maintain(NOW)}[D]
    assert third.deleted_from_default == 1
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == [
        "kept-done", "old-pending", "old-processing"]
    assert _keys() == _delivery_rows()


@override_settings(PARTITIONED_TABLES=RETENTION)
def test_retention_drops_sent_notifications_and_keeps_those_still_to_send():
    case = opened_case()
    Notification.objects.all().delete()
    with connection.cursor() as cursor:
        partitions.create_partition(cursor, N, "created_at", date(2024, 1, 1))
    made = {status: Notification.objects.create(case=case, kind=NotificationKind.OVERDUE, address=f"{status}@x.org",
                                                status=status, created_at=datetime(2024, 1, 10, tzinfo=UTC))
            for status in ("sent", "failed", "pending", "sending")}

    done = {m.table: m for m in partitions.maintain(NOW)}[N]

    assert f"{N}_p202401" in done.dropped and done.kept == 2
    assert sorted(Notification.objects.values_list("status", flat=True)) == ["pending", "sending"]
    assert {_where(N, made[s].pk) for s in ("pending", "sending")} == {f"{N}_default"}
    assert sorted(NotificationKey.objects.values_list("row_id", flat=True)) == sorted(
        [made["pending"].pk, made["sending"].pk])


# --- The migrations, back and forth on a database with rows ------------------------------------

DELIVERY_ROWS = [  # delivery_id, received_at, status, body
    ("a-1", "2021-06-30 23:59:59+00", "processed", b'{"nps": 9}'),
    ("a-2", "2021-07-01 00:00:00+00", "failed", b'{"nps": 2}'),
    ("a-3", "2026-01-15 08:00:00+00", "pending", b"\x00\xff binary"),
    ("a-4", "2091-01-01 00:00:00+00", "processed", b"{}"),
]


@pytest.mark.django_db(transaction=True)
def test_the_delivery_migration_keeps_every_row_its_key_and_foreign_keys():
    source = make_source("standard")
    after_shape = _shape(D)
    months_before = set(_partitions(D))
    try:
        _migrate(("surveys", "0018_customer_index_covers_pages"))
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [D]) == ("r",)
        assert ("surveys_webhookdelivery_unique_source_delivery", "u", "UNIQUE (source_id, delivery_id)") in _shape(D)[1]
        with connection.cursor() as cursor:
            for delivery_id, received_at, status, body in DELIVERY_ROWS:
                cursor.execute(f"INSERT INTO {D} (source_id, delivery_id, received_at, content_type, headers, body, "
                               "status, attempts, error, note) VALUES (%s, %s, %s, 'application/json', '{}', %s, %s, "
                               "0, '', '')", [source.pk, delivery_id, received_at, body, status])
        before_rows = _all(f"SELECT * FROM {D} ORDER BY id")

        _migrate_latest()

        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [D]) == ("p",)
        assert _all(f"SELECT * FROM {D} ORDER BY id") == before_rows
        assert _shape(D) == after_shape
        assert [w for (w,) in _all(f"SELECT tableoid::regclass::text FROM {D} ORDER BY id")] == [
            f"{D}_p202106", f"{D}_p202107", f"{D}_p202601", f"{D}_default"]
        assert _all("SELECT row_id, source_id, delivery_id, received_at FROM surveys_webhookdeliverykey ORDER BY 1") \
            == _all(f"SELECT id, source_id, delivery_id, received_at FROM {D} ORDER BY id")
        # Idempotency survives the conversion; a new delivery continues the ids.
        assert _store(source, "a-2")[0::2] == (before_rows[1][0], False)
        new, _, created = _store(source, "a-5")
        assert created and new > before_rows[-1][0]
        # Its own foreign keys are enforced on the partitioned table.
        for bad in ("source_id = %s", "response_id = %s"):
            with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"UPDATE {D} SET {bad} WHERE id = %s", [10**9, new])
        # The way back restores the plain table and its unique constraint, with every row.
        _migrate(("surveys", "0018_customer_index_covers_pages"))
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [D]) == ("r",)
        assert _primary_key(D) == (f"{D}_pkey", "PRIMARY KEY (id)")
        assert len(_all(f"SELECT id FROM {D}")) == len(DELIVERY_ROWS) + 1
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {D} SELECT * FROM {D} WHERE id = %s", [new])
    finally:
        _migrate_latest()
        with connection.cursor() as cursor:
            for name in set(_partitions(D)) - months_before:
                cursor.execute(f'DROP TABLE "{name}"')


@pytest.mark.django_db(transaction=True)
def test_the_notification_migration_keeps_every_row_and_its_once_only_key():
    case = opened_case()
    Notification.objects.all().delete()
    after_shape = _shape(N)
    months_before = set(_partitions(N))
    try:
        _migrate(("cases", "0025_created_index_with_keys"))
        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [N]) == ("r",)
        with connection.cursor() as cursor:
            for case_id, kind, created_at in [(case.pk, "overdue", "2022-02-02 10:00:00+00"),
                                              (None, "digest", "2022-03-01 00:00:00+00"),
                                              (case.pk, "escalated", "2026-12-01 00:00:00+00")]:
                cursor.execute(f"INSERT INTO {N} (case_id, kind, channel, address, period, subject, body, context, "
                               "status, attempts, next_attempt_at, error, created_at) VALUES (%s, %s, 'email', "
                               "'ann@example.com', 'p1', '', '', '{}', 'sent', 1, now(), '', %s)",
                               [case_id, kind, created_at])
        before_rows = _all(f"SELECT * FROM {N} ORDER BY id")

        _migrate_latest()

        assert _one("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [N]) == ("p",)
        assert _all(f"SELECT * FROM {N} ORDER BY id") == before_rows
        assert _shape(N) == after_shape
        assert _all("SELECT row_id, case_id, kind FROM cases_notificationkey ORDER BY 1") == [
            (before_rows[0][0], case.pk, "overdue"), (before_rows[1][0], 0, "digest"),
            (before_rows[2][0], case.pk, "escalated")]
        # The sweep's kind of INSERT ... ON CONFLICT DO NOTHING adds nothing for a key that exists.
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {N} (case_id, kind, channel, address, period, subject, body, context, status, "
                           "attempts, next_attempt_at, error, created_at) SELECT case_id, kind, channel, address, "
                           f"period, '', '', '{{}}', 'pending', 0, now(), '', now() FROM {N} ON CONFLICT DO NOTHING")
            assert cursor.rowcount == 0
        # Its own foreign keys (case, recipient) are enforced on the partitioned table.
        for bad in ("case_id = %s", "recipient_id = %s"):
            with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"UPDATE {N} SET {bad} WHERE id = %s", [10**9, before_rows[0][0]])
    finally:
        _migrate_latest()
        with connection.cursor() as cursor:
            for name in set(_partitions(N)) - months_before:
                cursor.execute(f'DROP TABLE "{name}"')
