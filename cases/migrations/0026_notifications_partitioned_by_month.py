"""Notifications partitioned by month on created_at (PostgreSQL; on SQLite only the empty key table
is created).

The outbox only grows (every e-mail, chat message and in-app notice ever queued): a table per month
keeps the recent months' indexes small and lets retention (NOTIFICATIONS_RETENTION_DAYS) drop a
whole month at once, never a notification still to send (pending or sending). A partitioned table
holds no uniqueness that leaves created_at out, so the once-per-(case, kind, channel, address,
period) key moves to NotificationKey, claimed for every new row by a BEFORE INSERT trigger
(core.partition_keys): the unit of work's and the sweep's `INSERT ... ON CONFLICT DO NOTHING` still
queue nothing twice. The two partial unique indexes (with and without a case) become one key with
case 0 for none. Nothing points at a notification with a foreign key. An existing installation's
rows move with their ids (core.partitions.convert; the primary key becomes (id, created_at))."""

from django.db import migrations, models

from core.partition_keys import KeyTable, migration_operations

KEYS = KeyTable(table="cases_notification", key_table="cases_notificationkey",
                columns=("case_id", "kind", "channel", "address", "period"), time_column="created_at",
                nullable=("case_id",),
                replaces=("cases_notification_unique_case_kind_channel_address_period",
                          "cases_notification_unique_caseless_kind_channel_address_period"))
forward, backward = migration_operations(KEYS, restore=[
    'CREATE UNIQUE INDEX "cases_notification_unique_case_kind_channel_address_period" ON "cases_notification" '
    '("case_id", "kind", "channel", "address", "period") WHERE "case_id" IS NOT NULL',
    'CREATE UNIQUE INDEX "cases_notification_unique_caseless_kind_channel_address_period" ON "cases_notification" '
    '("kind", "channel", "address", "period") WHERE "case_id" IS NULL',
])


class Migration(migrations.Migration):
    dependencies = [("cases", "0025_created_index_with_keys")]

    operations = [
        migrations.CreateModel(
            name="NotificationKey",
            fields=[
                ("row_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("case_id", models.BigIntegerField()),
                ("kind", models.CharField(max_length=20)),
                ("channel", models.CharField(max_length=10)),
                ("address", models.CharField(max_length=500)),
                ("period", models.CharField(max_length=40)),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("case_id", "kind", "channel", "address", "period"),
                                                        name="cases_notificationkey_unique")],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
