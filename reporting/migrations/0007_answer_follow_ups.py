"""Each NPS answer's and each closed case's follow-up, stored (reporting.followups, reporting.case_followups): the tables, the triggers that mark the
customers a write makes stale, and the rows of the answers already recorded, 50,000 customers per
transaction (the migration is therefore not atomic; the triggers mark what changes meanwhile).
`manage.py rollups --rebuild` does the same again."""

from django.db import migrations, models


def rebuild(apps, schema_editor):
    from reporting import followups

    followups.rebuild()


def drop_triggers(apps, schema_editor):
    from reporting import followups

    with schema_editor.connection.cursor() as cursor:
        for statement in followups.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('reporting', '0006_score_totals'),
        ('outcomes', '0004_event_customer_index_covers_amount'),
        ('customers', '0003_churn_risk'),
        ('followup', '0002_skip_reason_policy'),
        ('cases', '0028_case_response_answered_at'),  # followups.rebuild reads the case's answer time
    ]

    operations = [
        migrations.CreateModel(
            name='AnswerFollowUp',
            fields=[
                ('response_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('customer_id', models.BigIntegerField()),
                ('team_id', models.BigIntegerField(null=True)),
                ('answered_at', models.DateTimeField()),
                ('reign_ends_at', models.DateTimeField(help_text="The customer's next NPS answer in the same team, or reporting.followups.FAR_FUTURE.")),
                ('group', models.CharField(db_column='grp', max_length=20)),
                ('root_cause_id', models.BigIntegerField(null=True)),
                ('churned_90', models.SmallIntegerField()),
                ('revenue_90', models.DecimalField(decimal_places=3, max_digits=21)),
                ('other_90', models.IntegerField()),
                ('churned_180', models.SmallIntegerField()),
                ('revenue_180', models.DecimalField(decimal_places=3, max_digits=21)),
                ('other_180', models.IntegerField()),
                ('churned_365', models.SmallIntegerField()),
                ('revenue_365', models.DecimalField(decimal_places=3, max_digits=21)),
                ('other_365', models.IntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['team_id', 'reign_ends_at'], include=('answered_at', 'customer_id', 'response_id', 'group', 'root_cause_id', 'churned_90', 'revenue_90', 'other_90', 'churned_180', 'revenue_180', 'other_180', 'churned_365', 'revenue_365', 'other_365'), name='reporting_followup_team_reign'), models.Index(fields=['customer_id'], name='reporting_followup_customer')],
            },
        ),
        migrations.CreateModel(
            name='FollowUpStale',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('customer_id', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['customer_id'], name='reporting_stale_customer')],
            },
        ),
        migrations.CreateModel(
            name='ClosedCaseFollowUp',
            fields=[
                ('case_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('customer_id', models.BigIntegerField()),
                ('team_id', models.BigIntegerField()),
                ('closed_at', models.DateTimeField(null=True)),
                ('root_cause_id', models.BigIntegerField()),
                ('response_id', models.BigIntegerField()),
                ('answered_at', models.DateTimeField()),
                ('nps', models.SmallIntegerField(null=True)),
                ('account_value', models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ('churned', models.SmallIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['team_id', 'closed_at'], include=('case_id', 'root_cause_id', 'response_id', 'customer_id', 'answered_at', 'nps', 'account_value', 'churned'), name='reporting_casefollowup_team'), models.Index(fields=['customer_id'], name='reporting_casefollowup_cust')],
            },
        ),
        migrations.RunPython(rebuild, drop_triggers),
    ]
