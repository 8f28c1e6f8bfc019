"""Survey responses partitioned by month on answered_at (PostgreSQL; on SQLite only the empty key
table is created).

Responses are the product's history and only grow: a table per month keeps the recent months'
indexes small and lets a report of a period read its months only (partition pruning on
answered_at). They are never dropped by age. Seven foreign keys point at a response (an alert's,
a case's and its answered-again, a case link's, a theme link's, a recognition's, a delivery's),
and PostgreSQL accepts a foreign key into a partitioned table only on its whole primary key, which
becomes (id, answered_at). So the responses keep a key table, ResponseKey (core.partition_refs):
one row per response, kept by the responses' triggers; the seven foreign keys point at its row id
(same names, still DEFERRABLE INITIALLY DEFERRED, so integrity at commit is as before), and its
unique index on (source, external id) takes over the responses' own, raising the same
IntegrityError for a repeat. The responses' triggers (score rollups and totals, coverage flags,
follow-ups, the cases' copy of touchpoint, survey and source), checks, indexes and extended
statistics are created again on the partitioned table (core.partitions.convert).

Runs after every migration that creates a table pointing at responses or a trigger on them: a new
foreign key to SurveyResponse must say db_constraint=False (and get its constraint from
core.partition_refs), as Django cannot create one into a partitioned table."""

from django.db import migrations, models

from core.partition_refs import ReferencedKeys, migration_operations

KEYS = ReferencedKeys(
    table="surveys_surveyresponse", key_table="surveys_responsekey", columns=("source_id", "external_id"),
    time_column="answered_at", replaces="surveys_response_unique_source_external",
    restore='ALTER TABLE "surveys_surveyresponse" ADD CONSTRAINT "surveys_response_unique_source_external" '
            'UNIQUE ("source_id", "external_id")',
)
forward, backward = migration_operations(KEYS)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0019_deliveries_partitioned_by_month"),
        ("alerts", "0008_response_constraint_with_partitions"),
        ("cases", "0027_response_constraints_with_partitions"),
        ("followup", "0003_response_constraint_with_partitions"),
        ("reporting", "0007_answer_follow_ups"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name="responsetheme", name="response",
                field=models.ForeignKey(db_constraint=False, on_delete=models.deletion.CASCADE,
                                        related_name="theme_links", to="surveys.surveyresponse"),
            ),
            migrations.AlterField(
                model_name="webhookdelivery", name="response",
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=models.deletion.SET_NULL,
                                        related_name="deliveries", to="surveys.surveyresponse"),
            ),
        ]),
        migrations.CreateModel(
            name="ResponseKey",
            fields=[
                ("row_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("source_id", models.BigIntegerField()),
                ("external_id", models.CharField(max_length=255)),
                ("answered_at", models.DateTimeField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("source_id", "external_id"),
                                                        name="surveys_responsekey_unique")],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
