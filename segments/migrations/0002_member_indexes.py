"""Each segment's members as a partial index of customers (segments.indexes): built here for the
segments there are, later after each save or delete (segments.tasks). Built with CREATE INDEX
CONCURRENTLY, so the migration is not atomic; customers stay writable meanwhile. Nothing to do on
SQLite. Runs the current code (segments.indexes), which reads only Segment's conditions and match."""

from django.db import migrations


def sync(apps, schema_editor):
    from segments.indexes import segment_indexes_sync

    segment_indexes_sync()


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from segments.indexes import PREFIX

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'surveys_customer' AND indexname LIKE %s",
                       [PREFIX.replace("_", r"\_") + "%"])
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("segments", "0001_initial"), ("surveys", "0021_score_rollup_comments_and_sentiment")]

    operations = [migrations.RunPython(sync, drop, elidable=True)]
