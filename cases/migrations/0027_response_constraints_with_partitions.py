"""The response foreign keys' database constraints belong to the responses' partitioning now: on
PostgreSQL surveys 0020 points them at the response keys (core.partition_refs), so Django no longer
creates or drops them (db_constraint=False). State only: the constraints stay as they are here (on
SQLite, pointing at the responses; on PostgreSQL, left to surveys 0020)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0026_notifications_partitioned_by_month"),
                    ("surveys", "0019_deliveries_partitioned_by_month")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name="case", name="answered_again",
                field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, editable=False, null=True,
                                        on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                        to="surveys.surveyresponse"),
            ),
            migrations.AlterField(
                model_name="case", name="response",
                field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                                        related_name="opened_cases", to="surveys.surveyresponse"),
            ),
            migrations.AlterField(
                model_name="caseresponse", name="response",
                field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                        related_name="case_links", to="surveys.surveyresponse"),
            ),
        ]),
    ]
