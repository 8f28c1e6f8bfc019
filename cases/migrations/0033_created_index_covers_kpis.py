"""The cases' creation-time index also holds what the KPI page sums (team, SLA clocks, closure, root
cause, reopens, value at risk, business-hour durations, the response's location): an admin's KPIs
(every team, no team to lead the index cases_case_team_created) read the period's cases from this
index alone, where PostgreSQL scanned all 1,000,000 cases' table in parallel for the 251,000 of 90
days (docs/benchmarks_reports.md). Replaced online (core/online_indexes.py), so the migration is not
atomic."""

from django.db import migrations, models

from core.online_indexes import replace_index

NAME = "cases_case_created"
TEMPORARY = "cases_case_created_new"
OLD_INCLUDE = ["status", "response_touchpoint", "response_survey_id", "response_source_id", "response"]
NEW_INCLUDE = [*OLD_INCLUDE, "team", "closed_at", "root_cause", "reopen_count", "first_contacted_at",
               "first_contact_due", "resolution_due", "value_at_risk", "first_contact_business_seconds",
               "close_business_seconds", "response_location", "id"]


def _rebuild(include: list[str]):
    return replace_index("cases.Case", models.Index(fields=["created_at"], name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0032_case_response_nps")]

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
