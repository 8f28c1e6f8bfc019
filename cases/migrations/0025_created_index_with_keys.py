"""The plain index on the cases' creation time is replaced by one that also holds the status and
the opening response's keys (touchpoint, survey, source): an admin's journey map counts every
team's cases opened in the period, and those still open, from it alone, where PostgreSQL scanned
the whole table (docs/benchmarks_customers.md). It serves every order and range the plain index
served. Built online (core/online_indexes.py: CREATE INDEX CONCURRENTLY, then the old one dropped
concurrently), so the migration is not atomic; elsewhere the indexes are simply created and dropped."""

import django.utils.timezone
from django.db import migrations, models

from core.online_indexes import create_index, drop_index

CREATED = models.Index(fields=["created_at"], name="cases_case_created",
                       include=["status", "response_touchpoint", "response_survey_id", "response_source_id"])
PLAIN = models.Index(fields=["created_at"], name="cases_case_created_at_1f9faaa8")  # the field's db_index, by Django's name


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0024_customer_index_covers_pages")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(create_index("cases.Case", CREATED), drop_index(CREATED.name), elidable=False),
                migrations.RunPython(drop_index(PLAIN.name), create_index("cases.Case", PLAIN), elidable=False),
            ],
            state_operations=[
                migrations.AlterField(model_name="case", name="created_at",
                                      field=models.DateTimeField(default=django.utils.timezone.now)),
                migrations.AddIndex(model_name="case", index=CREATED),
            ],
        ),
    ]
