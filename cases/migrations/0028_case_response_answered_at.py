"""The opening response's answered_at on each case (`response_answered_at`), kept by the triggers of
cases 0023 (cases.response_keys, created again with the fourth column: a response whose answered_at
changes, in its month or to another month's partition, takes its cases along), so every join of a
case to its opening response names the response's partition (Case.response joins on id and
answered_at: core.partition_fk) and PostgreSQL prunes the other months (docs/deployment.md, "What a
join on id alone costs").

The column is added nullable (no table rewrite); then the triggers are created again and every case
is filled from its response in one UPDATE joined to the responses (cases.response_keys.backfill),
which writes every case once: a new version of each row. Measured 10-12 s for 100,000 cases
(bench.bench_partition_joins, 2 cores, docs/benchmarks_partitions.md), so about 2 minutes at
1,000,000, with the cases table locked against writes meanwhile, and a table about twice its size
until autovacuum reclaims the old versions. The change of Case.response's class is the state's alone (the column, its index and its
missing constraint are unchanged). The way back drops the column and installs cases 0023's triggers
again."""

import django.db.models.deletion
from django.db import migrations, models

import core.partition_fk

BEFORE = {"response_touchpoint": "touchpoint", "response_survey_id": "survey_id", "response_source_id": "source_id"}
# The columns this migration installs, pinned (cases 0031 adds the response's location, 0032 its NPS score).
COLUMNS = {**BEFORE, "response_answered_at": "answered_at"}


def install(apps, schema_editor):
    from cases import response_keys

    response_keys.install(COLUMNS)


def uninstall(apps, schema_editor):
    """Cases 0023's triggers (before the column goes; the three columns' copies are already right)."""
    from cases import response_keys

    with schema_editor.connection.cursor() as cursor:
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        for statement in response_keys.trigger_sql(BEFORE):
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0027_response_constraints_with_partitions'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='response_answered_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='case',
                name='response',
                field=core.partition_fk.PartitionForeignKey(
                    db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='opened_cases',
                    time_field='response_answered_at', to='surveys.surveyresponse', to_time_field='answered_at'),
            ),
        ]),
        migrations.RunPython(install, uninstall),
    ]
