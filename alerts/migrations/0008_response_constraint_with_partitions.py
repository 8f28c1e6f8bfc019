"""The response foreign keys' database constraints belong to the responses' partitioning now: on
PostgreSQL surveys 0020 points them at the response keys (core.partition_refs), so Django no longer
creates or drops them (db_constraint=False). State only: the constraints stay as they are here (on
SQLite, pointing at the responses; on PostgreSQL, left to surveys 0020)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("alerts", "0007_reasons_as_codes"), ("surveys", "0019_deliveries_partitioned_by_month")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name="alert", name="response",
                field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                        related_name="alerts", to="surveys.surveyresponse"),
            ),
        ]),
    ]
