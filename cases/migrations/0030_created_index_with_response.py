"""The cases' creation-time index also holds the opening response: an organisation-wide action
plan's cases of a side (improvement.selectors) are matched to its themes' tags by response id, and
PostgreSQL read all 1,000,000 cases' table for the 153,000 of 56 days (a parallel scan, about 1 s at
10,000,000 responses) where it can now read the index alone. Replaced online (core/online_indexes.py),
so the migration is not atomic."""

from django.db import migrations, models

from core.online_indexes import replace_index

NAME = "cases_case_created"
TEMPORARY = "cases_case_created_new"
OLD_INCLUDE = ["status", "response_touchpoint", "response_survey_id", "response_source_id"]
NEW_INCLUDE = [*OLD_INCLUDE, "response"]


def _rebuild(include: list[str]):
    return replace_index("cases.Case", models.Index(fields=["created_at"], name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0029_case_contact_reach_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_rebuild(NEW_INCLUDE), _rebuild(OLD_INCLUDE), elidable=False)],
            state_operations=[
                migrations.RemoveIndex(model_name="case", name=NAME),
                migrations.AddIndex(model_name="case", index=models.Index(fields=["created_at"], name=NAME,
                                                                          include=NEW_INCLUDE)),
            ],
        ),
    ]
