"""The theme totals (reporting.ThemeTotal, reporting.theme_rollup.TOTALS): the theme rollup's
counts over every team per local day, theme, touchpoint and segment bits, what an admin's themes
page narrowed to a segment reads instead of joining the period's tags to their responses. Created,
given the cell statistics the theme rollup has (reporting 0018), its triggers on the tags and the
responses, and filled from the tags and their responses (writes to both wait meanwhile; seconds at
10,000,000 responses: docs/deployment.md)."""

from django.db import migrations, models

STATISTICS = "reporting_themetotal_cells"


def fill(apps, schema_editor):
    from reporting import theme_rollup

    connection = schema_editor.connection
    if connection.vendor == "postgresql" and connection.pg_version >= 140000:
        schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (ndistinct) ON theme_id, touchpoint, "
                              "(date_trunc('week', day::timestamptz)) FROM reporting_themetotal")
    theme_rollup.TOTALS.rebuild()


def drop(apps, schema_editor):
    from reporting import theme_rollup

    with schema_editor.connection.cursor() as cursor:
        for statement in theme_rollup.TOTALS.drop_trigger_sql():
            cursor.execute(statement)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0023_contact_peaks'),
    ]

    operations = [
        migrations.CreateModel(
            name='ThemeTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('theme_id', models.IntegerField()),
                ('touchpoint', models.CharField(max_length=120)),
                ('segment_bits', models.BigIntegerField()),
                ('tags', models.BigIntegerField()),
                ('unsolicited', models.BigIntegerField()),
                ('rated', models.BigIntegerField()),
                ('positive', models.BigIntegerField()),
                ('negative', models.BigIntegerField()),
                ('sentiment_sum', models.FloatField()),
                ('nps_n', models.BigIntegerField()),
                ('promoters', models.BigIntegerField()),
                ('passives', models.BigIntegerField()),
                ('detractors', models.BigIntegerField()),
                ('csat_n', models.BigIntegerField()),
                ('csat_top2', models.BigIntegerField()),
                ('ces_n', models.BigIntegerField()),
                ('ces_ease_n', models.BigIntegerField()),
                ('ces_ease_sum', models.FloatField()),
                ('ces_high_effort', models.BigIntegerField()),
                ('fresh', models.BooleanField(default=True, help_text='A delta not yet folded by compact().')),
            ],
            options={
                'indexes': [models.Index(fields=['day'], include=('theme_id', 'touchpoint', 'segment_bits', 'tags', 'unsolicited', 'rated', 'positive', 'negative', 'sentiment_sum', 'nps_n', 'promoters', 'passives', 'detractors', 'csat_n', 'csat_top2', 'ces_n', 'ces_ease_n', 'ces_ease_sum', 'ces_high_effort'), name='reporting_themetotal_day'), models.Index(condition=models.Q(('fresh', True)), fields=['day'], name='reporting_themetotal_fresh')],
            },
        ),
        migrations.RunPython(fill, drop, elidable=False),
    ]
