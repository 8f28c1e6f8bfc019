"""Webhook deliveries partitioned by month on received_at (PostgreSQL; on SQLite only the empty key
table is created).

Deliveries only grow: a table per month keeps the recent months' indexes small and lets retention
(WEBHOOK_DELIVERIES_RETENTION_DAYS) drop a whole month at once, but never a delivery still to be
processed (core.partitions.drop_expired's `keep`). A partitioned table holds no uniqueness that
leaves received_at out, so the idempotency key (source, delivery id) moves to WebhookDeliveryKey,
claimed for every new delivery by a BEFORE INSERT trigger (core.partition_keys): a repeated
delivery is not stored, as with the unique index, whatever inserts it. Nothing points at a
delivery with a foreign key; its own foreign keys (source, response) stay. An existing
installation's deliveries move with their ids and get their keys first (core.partitions.convert;
the primary key becomes (id, received_at))."""

from django.db import migrations, models

from core.partition_keys import KeyTable, migration_operations

KEYS = KeyTable(table="surveys_webhookdelivery", key_table="surveys_webhookdeliverykey",
                columns=("source_id", "delivery_id"), time_column="received_at",
                replaces=("surveys_webhookdelivery_unique_source_delivery",))
forward, backward = migration_operations(KEYS, restore=[
    'ALTER TABLE "surveys_webhookdelivery" ADD CONSTRAINT "surveys_webhookdelivery_unique_source_delivery" '
    'UNIQUE ("source_id", "delivery_id")',
])


class Migration(migrations.Migration):
    dependencies = [("surveys", "0018_customer_index_covers_pages")]

    operations = [
        migrations.CreateModel(
            name="WebhookDeliveryKey",
            fields=[
                ("row_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("source_id", models.BigIntegerField()),
                ("delivery_id", models.CharField(max_length=255)),
                ("received_at", models.DateTimeField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("source_id", "delivery_id"),
                                                        name="surveys_deliverykey_unique")],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
