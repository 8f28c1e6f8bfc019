"""Outcome events partitioned by month on occurred_at (PostgreSQL; nothing on SQLite).

The results and impact reports read "events of these customers within N days after X": with a
partition per month they read only the months of the window, and retention
(OUTCOME_EVENTS_RETENTION_DAYS) drops a whole month at once. Events of an existing installation
move with their ids (core.partitions.convert; the primary key becomes (id, occurred_at)). Their
idempotency key is already apart (0002, OutcomeEventKey), and nothing points at an event."""

from django.db import migrations

from core.partitions import migration_operations

forward, backward = migration_operations("outcomes_outcomeevent", "occurred_at")


class Migration(migrations.Migration):
    dependencies = [("outcomes", "0002_event_keys_apart")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
