"""Statistics on what each segment's conditions compare (segments.indexes: CREATE STATISTICS on
expressions such as UPPER(tier::text), then ANALYZE of the customers), so PostgreSQL expects a
segment's size instead of a default guess when a report is filtered to it. Built here for the
segments there are (their member indexes are left as they are), later after each save or delete
(segments.tasks). ANALYZE reads a sample of the customers (30,000 rows): seconds. Nothing to do
on SQLite."""

from django.db import migrations


def sync(apps, schema_editor):
    from segments.indexes import segment_indexes_sync

    segment_indexes_sync()


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from segments.indexes import STATS_PREFIX

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'surveys_customer'::regclass "
                       "AND stxname LIKE %s", [STATS_PREFIX.replace("_", r"\_") + "%"])
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP STATISTICS IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("segments", "0002_member_indexes")]

    operations = [migrations.RunPython(sync, drop, elidable=True)]
