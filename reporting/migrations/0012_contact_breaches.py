"""The Contact report's breaching answers, stored (reporting.contact_breaches): the tables, the
triggers that mark the customers a write makes stale, and the rows of the answers already recorded
under the current contact policy, 50,000 customers per transaction (the migration is therefore not
atomic; the triggers mark what changes meanwhile). `manage.py rollups --rebuild` does the same again."""

from django.db import migrations, models


def rebuild(apps, schema_editor):
    from reporting import contact_breaches

    contact_breaches.rebuild(with_peaks=False)


def drop_triggers(apps, schema_editor):
    from reporting import contact_breaches

    with schema_editor.connection.cursor() as cursor:
        for statement in contact_breaches.drop_trigger_sql():
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('reporting', '0011_theme_rollup_theme_day_index'),
        ('contactpolicy', '0002_contact_event_at_index'),
        ('cases', '0032_case_response_nps'),
        ('surveys', '0023_scores_index_includes_location'),
    ]

    operations = [
        migrations.CreateModel(
            name='BreachPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=64)),
                ('built_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='AnswerBreach',
            fields=[
                ('response_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('customer_id', models.BigIntegerField()),
                ('team_id', models.BigIntegerField(null=True)),
                ('answered_at', models.DateTimeField()),
                ('open_case', models.BooleanField()),
                ('recently_closed', models.BooleanField()),
                ('frequency', models.BooleanField()),
            ],
            options={
                'indexes': [models.Index(fields=['team_id', 'answered_at'], include=('response_id', 'customer_id', 'open_case', 'recently_closed', 'frequency'), name='reporting_breach_team_time'), models.Index(fields=['answered_at'], include=('response_id', 'customer_id', 'team_id', 'open_case', 'recently_closed', 'frequency'), name='reporting_breach_time'), models.Index(fields=['customer_id'], name='reporting_breach_customer')],
            },
        ),
        migrations.CreateModel(
            name='BreachStale',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('customer_id', models.BigIntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['customer_id'], name='reporting_breachstale_cust')],
            },
        ),
        migrations.RunPython(rebuild, drop_triggers, elidable=False),
    ]
