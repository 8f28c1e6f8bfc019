"""The score rollup also counts and sums each answer's score index (CSAT % of its scale, else CES
ease %, else NPS x 10) and keys its rows by the survey's webhook source too, so the journey map
reads its stage scores from the rollup (a stage is chosen by touchpoint, then survey, then source:
journeys.selectors.StageMap), as the Scores page does, instead of every response of the period
(docs/benchmarks_customers.md: at 10,000,000 responses an admin's 90 days are 2,500,000 responses).
A survey belongs to one source, so the extra key adds no rows.

The triggers are recreated to write the new columns and the rollup is rebuilt from the responses
(one pass over the table; 0013's backfill and this one now happen in 0021: see both). Migrating back
leaves triggers that write the new columns: run `manage.py rollups --rebuild` with the older code."""

from django.db import migrations, models


def recreate_triggers_and_rebuild(apps, schema_editor):
    """Done by 0021 instead, now the last migration that changes the rollup's columns (as 0013's
    backfill moved here): rebuild() is today's code and writes every column the rollup has now,
    which this migration's table does not have yet. Nothing writes responses between the two
    within one `migrate`."""


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0015_webhooksource_vendor_intercom_helpscout'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='scorerollup',
            name='surveys_scorerollup_team_day',
        ),
        migrations.AddField(
            model_name='scorerollup',
            name='source_id',
            field=models.IntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='scorerollup',
            name='index_n',
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='scorerollup',
            name='index_sum',
            field=models.FloatField(default=0.0),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name='scorerollup',
            index=models.Index(fields=['team_id', 'day'], include=('survey_id', 'source_id', 'touchpoint', 'responses', 'nps_n', 'promoters', 'passives', 'detractors', 'csat_n', 'csat_top2', 'ces_n', 'ces_ease_n', 'ces_ease_sum', 'ces_high_effort', 'index_n', 'index_sum'), name='surveys_scorerollup_team_day'),
        ),
        migrations.RunPython(recreate_triggers_and_rebuild, migrations.RunPython.noop),
    ]
