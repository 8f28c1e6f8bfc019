"""The score rollup also counts the low scores and those a case covers (what the KPI page's coverage
reads, instead of the period's responses: for an admin of every team, 2,460,000 index entries in the
bench's default 90 days): two columns, then its triggers recreated (they read the flags case_alert and
case_linked too) and the rollup rebuilt from the responses (surveys.rollups.rebuild, writes to
responses waiting meanwhile)."""

from django.db import migrations, models


def build(apps, schema_editor):
    from surveys import rollups

    rollups.rebuild()


def drop_triggers(apps, schema_editor):
    """Back: the triggers (which write the two columns) go before the columns do."""
    from surveys import rollups

    with schema_editor.connection.cursor() as cursor:
        for statement in rollups.drop_trigger_sql():
            cursor.execute(statement)


def earlier_triggers(apps, schema_editor):
    """Back, once the two columns are gone: the triggers of the columns before this migration."""
    from surveys import rollups

    with schema_editor.connection.cursor() as cursor:
        for statement in rollups.trigger_sql(counts=rollups.ROLLUP_COUNTS_0021,
                                             read_columns=rollups.ROLLUP_READ_COLUMNS_0021):
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0023_scores_index_includes_location'),
        # After reporting 0010, which recreates the triggers of the columns before this one.
        ('reporting', '0011_theme_rollup_theme_day_index'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, earlier_triggers),
        migrations.AddField(
            model_name='scorerollup',
            name='low',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='scorerollup',
            name='low_covered',
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(build, drop_triggers),
    ]
