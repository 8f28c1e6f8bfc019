"""Case events partitioned by month on created_at (PostgreSQL; nothing on SQLite).

The timeline only grows: a table per month keeps the recent months' indexes small and hot, and lets
retention drop a whole month at once (CASE_EVENTS_RETENTION_DAYS) instead of deleting row by row.
An existing installation's events move with their ids, the id sequence continues where it was,
and the indexes, checks and foreign keys are created again under their names
(core.partitions.convert; the primary key becomes (id, created_at), as PostgreSQL requires).
Nothing points at a case event and no uniqueness leaves out created_at, so nothing else changes."""

from django.db import migrations

from core.partitions import migration_operations

forward, backward = migration_operations("cases_caseevent", "created_at")


class Migration(migrations.Migration):
    dependencies = [("cases", "0021_report_fields_per_case")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
