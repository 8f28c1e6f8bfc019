"""The outcome events' idempotency key, (source, external_id), moves to a table of its own.

The events table is partitioned by month on occurred_at next (0003, PostgreSQL), and a partitioned
table holds no uniqueness that leaves its partition key out. OutcomeEventKey keeps the guarantee:
one row per key, unique, written with its event in the same transaction. Existing events give
their keys here before the constraint on the events goes; the events keep a plain index on the
pair for the upsert's lookup. The same on SQLite, where nothing is partitioned."""

from django.db import migrations, models

COPY_KEYS = """
INSERT INTO outcomes_outcomeeventkey (source, external_id, event_id, occurred_at)
SELECT source, external_id, id, occurred_at FROM outcomes_outcomeevent
"""


def copy_keys(apps, schema_editor):
    schema_editor.execute(COPY_KEYS, params=None)


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="OutcomeEventKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("source", models.CharField(max_length=80)),
                ("external_id", models.CharField(max_length=255)),
                ("event_id", models.BigIntegerField()),
                ("occurred_at", models.DateTimeField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("source", "external_id"),
                                                        name="outcomes_outcomeeventkey_unique_source_id")],
                "indexes": [models.Index(fields=["occurred_at"], name="outcomes_eventkey_time")],
            },
        ),
        migrations.RunPython(copy_keys, migrations.RunPython.noop, elidable=False),
        migrations.RemoveConstraint(model_name="outcomeevent", name="outcomes_outcomeevent_unique_source_id"),
        migrations.AddIndex(
            model_name="outcomeevent",
            index=models.Index(fields=["source", "external_id"], name="outcomes_event_source_id"),
        ),
    ]
