"""Each named segment's bit on customers, responses and cases (reporting.segment_bits; the columns
are surveys 0026's and cases 0034's): the slots, the triggers that keep the bits (PostgreSQL), then
the first fill for the segments there are. Filling rewrites the responses and cases of every
customer in a segment, in batches of customers (each its own transaction: the migration is not
atomic), so on a large database it takes minutes (docs/reporting.md, "the segment bits"); readers and
writers carry on meanwhile, and until it ends the reports test the segments' conditions as before.
Nothing to do on SQLite. Runs the current code (reporting.segment_bits), which reads only the
segments' conditions and match and the SegmentBit rows."""

import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from reporting.segment_bits import ROW_TABLES_0014, function_sql, segment_bits_sync, trigger_sql

    with schema_editor.connection.cursor() as cursor:
        for statement in [function_sql(()), *trigger_sql(ROW_TABLES_0014)]:  # no segment yet: the sync writes them in
            cursor.execute(statement)
    segment_bits_sync()


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from reporting.segment_bits import ROW_TABLES_0014, drop_trigger_sql

    with schema_editor.connection.cursor() as cursor:
        for statement in drop_trigger_sql(ROW_TABLES_0014):
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("reporting", "0013_coverage_triggers_skip_unchanged"),
        ("segments", "0003_member_statistics"),
        ("surveys", "0026_segment_bits"),
        ("cases", "0034_segment_bits"),
    ]

    operations = [
        migrations.CreateModel(
            name="SegmentBit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slot", models.PositiveSmallIntegerField(unique=True)),
                ("built", models.JSONField(null=True)),
                ("segment", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="bit",
                                                 to="segments.segment")),
            ],
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
