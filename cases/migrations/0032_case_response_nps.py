"""The opening response's NPS score on each case (`response_nps`), kept by the triggers of cases 0023
(cases.response_keys, created again with the sixth column: a response rescored takes its cases
along), so Recovery and the segment reports sum the score before of the closed cases answered
again from the cases alone. Joined to their responses, PostgreSQL planned the sum as a scan of all
10,000,000 answers (3.5 s of the segment comparison: docs/benchmarks_reports.md, seg3).

The column is added nullable (no table rewrite); then the triggers are created again and every case
is filled from its response in one UPDATE joined to the responses (cases.response_keys.backfill),
which writes every case that has a score once (cases 0028: about 2 minutes at 1,000,000 cases, the
cases table locked against writes meanwhile). The way back installs cases 0031's triggers again,
then drops the column."""

from django.db import migrations, models

BEFORE = {"response_touchpoint": "touchpoint", "response_survey_id": "survey_id", "response_source_id": "source_id",
          "response_answered_at": "answered_at", "response_location": "location"}
COLUMNS = {**BEFORE, "response_nps": "nps"}


def install(apps, schema_editor):
    from cases import response_keys

    response_keys.install(COLUMNS)


def uninstall(apps, schema_editor):
    from cases import response_keys

    with schema_editor.connection.cursor() as cursor:
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        for statement in response_keys.trigger_sql(BEFORE):
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0031_case_response_location'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='response_nps',
            field=models.SmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(install, uninstall),
    ]
