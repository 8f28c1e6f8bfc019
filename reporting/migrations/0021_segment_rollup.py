"""The segment rollup (reporting.SegmentRollup, kept by reporting.score_totals' triggers like the
score and location totals): a report narrowed to a segment with a built bit, by team, week or
month (a manager's KPIs, scores and Themes' "All responses", an admin's by team), sums it instead of reading the segment's
answers of the period (0.35 s of the admin's KPI page narrowed to a segment at 10,000,000
responses: docs/benchmarks_reports.md). Created and filled from the responses (one grouped pass,
writes to responses waiting meanwhile)."""

from django.db import migrations, models


def fill(apps, schema_editor):
    from reporting import score_totals

    score_totals.SEGMENTS.rebuild()


def drop_triggers(apps, schema_editor):
    from reporting import score_totals

    with schema_editor.connection.cursor() as cursor:
        for statement in score_totals.SEGMENTS.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0020_score_totals_covered_and_last_answers'),
    ]

    operations = [
        migrations.CreateModel(
            name='SegmentRollup',
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
                ('team_id', models.IntegerField(null=True)),
                ('segment_bits', models.BigIntegerField(default=0)),
                ('low', models.BigIntegerField(default=0)),
                ('low_covered', models.BigIntegerField(default=0)),
                ('commented', models.BigIntegerField(default=0)),
                ('sentiment_n', models.BigIntegerField(default=0)),
                ('sentiment_sum', models.FloatField(default=0.0)),
            ],
            options={
                'indexes': [models.Index(fields=['day', 'team_id'], include=('segment_bits', 'responses', 'nps_n', 'promoters', 'passives', 'detractors', 'csat_n', 'csat_top2', 'ces_n', 'ces_ease_n', 'ces_ease_sum', 'ces_high_effort', 'index_n', 'index_sum', 'low', 'low_covered', 'commented', 'sentiment_n', 'sentiment_sum'), name='reporting_segmentrollup_day'), models.Index(condition=models.Q(('fresh', True)), fields=['day'], name='reporting_segmentrollup_fresh')],
            },
        ),
        migrations.RunPython(fill, drop_triggers, elidable=False),
    ]
