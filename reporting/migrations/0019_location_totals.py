"""The every-team location totals (reporting.LocationTotal, kept by reporting.score_totals'
triggers like the score totals): an admin's scores and KPIs by location, or narrowed to one, sum
them instead of reading every team's answers of the period (0.65-0.74 s at 10,000,000 responses:
docs/benchmarks_reports.md). Created and filled from the responses (one grouped pass, writes to
responses waiting meanwhile: some twenty seconds at 10,000,000 responses)."""

from django.db import migrations, models


def fill(apps, schema_editor):
    from reporting import score_totals

    score_totals.LOCATIONS.rebuild()


def drop_triggers(apps, schema_editor):
    from reporting import score_totals

    with schema_editor.connection.cursor() as cursor:
        for statement in score_totals.LOCATIONS.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0018_theme_rollup_cell_statistics'),
    ]

    operations = [
        migrations.CreateModel(
            name='LocationTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('responses', models.BigIntegerField()),
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
                ('index_n', models.BigIntegerField()),
                ('index_sum', models.FloatField()),
                ('fresh', models.BooleanField(default=True, help_text='A delta not yet folded by compact().')),
                ('day', models.DateField()),
                ('survey_id', models.IntegerField()),
                ('touchpoint', models.CharField(max_length=120)),
                ('location', models.CharField(max_length=120)),
                ('low', models.BigIntegerField(default=0)),
                ('low_covered', models.BigIntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['day'], include=('survey_id', 'touchpoint', 'location', 'responses', 'nps_n', 'promoters', 'passives', 'detractors', 'csat_n', 'csat_top2', 'ces_n', 'ces_ease_n', 'ces_ease_sum', 'ces_high_effort', 'index_n', 'index_sum', 'low', 'low_covered'), name='reporting_locationtotal_day'), models.Index(condition=models.Q(('fresh', True)), fields=['day'], name='reporting_locationtotal_fresh')],
            },
        ),
        migrations.RunPython(fill, drop_triggers, elidable=False),
    ]
