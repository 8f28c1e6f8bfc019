"""The segment comparison of every team from read models instead of every answer of the period
(2.4 s of its 2.8 s at 10,000,000 responses: docs/benchmarks_reports.md):

- the every-team score totals count the answers a case covers, low or not (`covered`: the case
  rate), rebuilt from the responses (half a minute at 10,000,000, writes to responses waiting);
- each customer's latest answer (reporting.CustomerLastAnswer, kept by reporting.last_answers'
  triggers, with the segment bits kept by reporting.segment_bits', now on this table too): the
  customers who answered in the period. Filled from the responses (PostgreSQL; SQLite keeps it
  empty)."""

from django.db import migrations, models


def rebuild_totals(apps, schema_editor):
    from reporting import score_totals

    score_totals.SCORES.rebuild()


def rebuild_totals_without_covered(apps, schema_editor):
    from reporting import score_totals

    score_totals.rebuild(score_totals.KEY, score_totals.TOTALS)


def install_last_answers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from reporting import last_answers, segment_bits

    with schema_editor.connection.cursor() as cursor:
        for statement in segment_bits.trigger_sql():  # the bits kept on the new table too
            cursor.execute(statement)
    last_answers.rebuild(with_days=False)  # their counts per day: reporting 0022


def uninstall_last_answers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from reporting import last_answers, segment_bits

    with schema_editor.connection.cursor() as cursor:
        for statement in [*last_answers.drop_trigger_sql(),
                          f"DROP TRIGGER IF EXISTS reporting_segment_bits ON {last_answers.TABLE}",
                          *segment_bits.trigger_sql(segment_bits.ROW_TABLES_0014)]:
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0019_location_totals'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerLastAnswer',
            fields=[
                ('customer_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('answered_at', models.DateTimeField()),
                ('segment_bits', models.BigIntegerField(db_default=0, default=0)),
            ],
        ),
        migrations.RemoveIndex(
            model_name='scoretotal',
            name='reporting_scoretotal_day',
        ),
        migrations.AddField(
            model_name='scoretotal',
            name='covered',
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.AddIndex(
            model_name='scoretotal',
            index=models.Index(fields=['day'], include=('survey_id', 'source_id', 'touchpoint', 'segment_bits', 'responses', 'nps_n', 'promoters', 'passives', 'detractors', 'csat_n', 'csat_top2', 'ces_n', 'ces_ease_n', 'ces_ease_sum', 'ces_high_effort', 'index_n', 'index_sum', 'low', 'low_covered', 'covered'), name='reporting_scoretotal_day'),
        ),
        migrations.AddIndex(
            model_name='customerlastanswer',
            index=models.Index(fields=['answered_at'], include=('segment_bits',), name='reporting_lastanswer_at'),
        ),
        migrations.RunPython(rebuild_totals, rebuild_totals_without_covered, elidable=False),
        migrations.RunPython(install_last_answers, uninstall_last_answers, elidable=False),
    ]
