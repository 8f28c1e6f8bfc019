"""The opening response's location on each case (`response_location`), kept by the triggers of
cases.response_keys (created again with the fifth column: a response whose location changes takes
its cases along), and held in the covering index cases_case_team_created, so the KPIs by location
group the period's cases by it in an index-only read, as the KPIs by touchpoint do with
response_touchpoint. Before, each case of the period was joined to its response for the location:
2.0-2.3 s for kpis-by-location for a manager's 90 days at 1,000,000 cases
(docs/benchmarks_reports.md).

The column is added with an empty default (no table rewrite); then the triggers are created again
and every case is filled from its response in one UPDATE joined to the responses
(cases.response_keys.backfill, writing only the cases whose copy differs: at first every case whose
response has a location, about 2 minutes a million, docs/benchmarks_partitions.md); then the index is
rebuilt online (core/online_indexes.py: built concurrently under a temporary name, then swapped),
so the migration is not atomic. The way back installs cases 0028's triggers again and drops the
column."""

from django.db import migrations, models

from core.online_indexes import replace_index

BEFORE = {"response_touchpoint": "touchpoint", "response_survey_id": "survey_id", "response_source_id": "source_id",
          "response_answered_at": "answered_at"}
COLUMNS = {**BEFORE, "response_location": "location"}

NAME = "cases_case_team_created"
TEMPORARY = "cases_case_team_created_new"
OLD_INCLUDE = ["status", "closed_at", "root_cause", "reopen_count", "first_contacted_at", "first_contact_due",
               "resolution_due", "value_at_risk", "first_contact_business_seconds", "close_business_seconds",
               "response_touchpoint", "response_survey_id", "response_source_id", "id"]
NEW_INCLUDE = [*OLD_INCLUDE, "response_location"]


def _rebuild(include: list[str]):
    return replace_index("cases.Case", models.Index(fields=["team", "created_at"], name=NAME, include=include),
                         TEMPORARY)


def install(apps, schema_editor):
    from cases import response_keys

    response_keys.install(COLUMNS)


def uninstall(apps, schema_editor):
    """Cases 0028's triggers (before the column goes)."""
    from cases import response_keys

    with schema_editor.connection.cursor() as cursor:
        for statement in response_keys.drop_trigger_sql():
            cursor.execute(statement)
        for statement in response_keys.trigger_sql(BEFORE):
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0030_created_index_with_response")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="response_location",
            field=models.CharField(blank=True, default="", editable=False, max_length=120),
        ),
        migrations.RunPython(install, uninstall),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_rebuild(NEW_INCLUDE), _rebuild(OLD_INCLUDE), elidable=False)],
            state_operations=[
                migrations.RemoveIndex(model_name="case", name=NAME),
                migrations.AddIndex(model_name="case", index=models.Index(
                    fields=["team", "created_at"], name=NAME, include=NEW_INCLUDE)),
            ],
        ),
    ]
