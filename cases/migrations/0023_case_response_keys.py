"""The opening response's touchpoint, survey and source on each case, kept by database triggers
(cases.response_keys), so the journey map groups the period's cases by stage without joining them
to their responses (at 10,000,000 responses that join hashed the whole responses table:
docs/benchmarks_customers.md). The triggers are created, then every case is filled from its
response (one UPDATE joined to the responses: expect a minute per million cases). An index of the
closed cases by closure time serves an admin's journey map (every team's cases closed in a period),
and one of each team's cases by creation time, holding the keys and what the KPI page sums, a
manager's journey map and KPI page (index-only; about 150 MB at 1,000,000 cases)."""

from django.db import migrations, models


# The columns this migration adds and keeps (cases 0028 adds the response's answered_at): pinned, so
# a fresh migrate installs here the triggers of the columns that exist at this point.
COLUMNS = {"response_touchpoint": "touchpoint", "response_survey_id": "survey_id", "response_source_id": "source_id"}


def install(apps, schema_editor):
    from cases import response_keys

    response_keys.install(COLUMNS)


def uninstall(apps, schema_editor):
    from cases import response_keys

    with schema_editor.connection.cursor() as cursor:
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0022_case_events_partitioned_by_month'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='response_source_id',
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='case',
            name='response_survey_id',
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='case',
            name='response_touchpoint',
            field=models.CharField(blank=True, default='', editable=False, max_length=120),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(condition=models.Q(('status', 'closed')), fields=['-closed_at'], name='cases_case_closed_at'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['team', 'created_at'], include=('status', 'closed_at', 'root_cause', 'reopen_count', 'first_contacted_at', 'first_contact_due', 'resolution_due', 'value_at_risk', 'first_contact_business_seconds', 'close_business_seconds', 'response_touchpoint', 'response_survey_id', 'response_source_id', 'id'), name='cases_case_team_created'),
        ),
        migrations.RunPython(install, uninstall),
    ]
