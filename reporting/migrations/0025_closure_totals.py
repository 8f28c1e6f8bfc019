"""The closure totals (reporting.ClosureTotal, reporting.rollups.TOTALS): the root-causes page's
counts over every team per local day of closure, root cause, touchpoint and the cases' segment
bits, what an admin's root causes narrowed to a segment read instead of joining the period's
closed cases to their responses. Created, given its triggers on the cases and the responses, and
filled from the closed cases (writes to both wait meanwhile; seconds at 1,000,000 cases:
docs/deployment.md)."""

from django.db import migrations, models


def fill(apps, schema_editor):
    from reporting import rollups

    rollups.TOTALS.rebuild()


def drop_triggers(apps, schema_editor):
    from reporting import rollups

    with schema_editor.connection.cursor() as cursor:
        for statement in rollups.TOTALS.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0024_theme_totals'),
    ]

    operations = [
        migrations.CreateModel(
            name='ClosureTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cases', models.BigIntegerField()),
                ('with_prevention', models.BigIntegerField()),
                ('nps_n', models.BigIntegerField()),
                ('nps_sum', models.BigIntegerField()),
                ('csat_n', models.BigIntegerField()),
                ('csat_pct_n', models.BigIntegerField()),
                ('csat_pct_sum', models.FloatField()),
                ('ces_n', models.BigIntegerField()),
                ('ces_ease_n', models.BigIntegerField()),
                ('ces_ease_sum', models.FloatField()),
                ('fresh', models.BooleanField(default=True, help_text='A delta not yet folded by compact().')),
                ('day', models.DateField()),
                ('root_cause_id', models.IntegerField(null=True)),
                ('touchpoint', models.CharField(max_length=120)),
                ('segment_bits', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['day'], include=('root_cause_id', 'touchpoint', 'segment_bits', 'cases', 'with_prevention', 'nps_n', 'nps_sum', 'csat_n', 'csat_pct_n', 'csat_pct_sum', 'ces_n', 'ces_ease_n', 'ces_ease_sum'), name='reporting_closuretotal_day'), models.Index(condition=models.Q(('fresh', True)), fields=['day'], name='reporting_closuretotal_fresh')],
            },
        ),
        migrations.RunPython(fill, drop_triggers, elidable=False),
    ]
