"""The key tables of the partitioned surveys tables (PostgreSQL; empty on SQLite, where the tables
keep their unique constraints and foreign keys). Each row holds `row_id`, the row's id, and the
row's time; both are written by triggers, never by the application (docs/deployment.md
"Partitioned history")."""

from __future__ import annotations

from django.db import models


class WebhookDeliveryKey(models.Model):
    """One (source, delivery id) per row: the deliveries' idempotency key on PostgreSQL, where they
    are partitioned by month and no unique index may leave received_at out. Written by a trigger on
    every insert into the deliveries (core.partition_keys); empty on SQLite. `row_id` is the
    delivery's id, no foreign key (PostgreSQL accepts none into a partitioned table)."""

    row_id = models.BigIntegerField(primary_key=True)
    source_id = models.BigIntegerField()
    delivery_id = models.CharField(max_length=255)
    received_at = models.DateTimeField()

    class Meta:
        app_label = "surveys"
        constraints = [models.UniqueConstraint(fields=["source_id", "delivery_id"], name="surveys_deliverykey_unique")]


class ResponseKey(models.Model):
    """One row per survey response on PostgreSQL, where responses are partitioned by month on
    answered_at (core.partition_refs): what the foreign keys into responses point at (`row_id`, the
    response's id: a case's, an alert's, a theme link's, a delivery's, a recognition's response),
    and the responses' uniqueness (source, external id), which no unique index of the partitioned
    table may hold. Kept equal to the responses by their triggers; empty on SQLite."""

    row_id = models.BigIntegerField(primary_key=True)
    source_id = models.BigIntegerField()
    external_id = models.CharField(max_length=255)
    answered_at = models.DateTimeField()

    class Meta:
        app_label = "surveys"
        constraints = [models.UniqueConstraint(fields=["source_id", "external_id"], name="surveys_responsekey_unique")]
