"""Two flags on each response, kept by reporting's database triggers (reporting.coverage; reporting
migration 0005 creates them and sets the flags of existing responses): whether an alert of the
response opens a case, and whether a case is linked to it. The covering score index holds them too,
so the KPI page counts the period's low scores and their coverage in an index-only scan instead of
probing alerts, cases and case links for every response (docs/benchmarks_reports.md).

Adding a column with a constant default does not rewrite the table (PostgreSQL 11+). The index is
rebuilt as 0008 and 0014 did (core/online_indexes.py): on PostgreSQL CREATE INDEX CONCURRENTLY
under a temporary name, then swapped in, so webhooks keep being taken meanwhile (the migration is
therefore not atomic); elsewhere the index is simply rebuilt."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["team", "answered_at"]
NAME = "surveys_response_team_scores"
TEMPORARY = "surveys_response_scores_new"
OLD_INCLUDE = ["touchpoint", "survey", "source", "nps", "csat", "csat_scale_min", "csat_scale_max", "ces",
               "ces_scale_min", "ces_scale_max", "ces_high_is_easy", "customer", "id"]
NEW_INCLUDE = [*OLD_INCLUDE, "case_alert", "case_linked"]


def _rebuild(include: list[str]):
    return replace_index("surveys.SurveyResponse", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0016_score_rollup_index_and_source")]

    operations = [
        migrations.AddField(
            model_name="surveyresponse",
            name="case_alert",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="surveyresponse",
            name="case_linked",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_rebuild(NEW_INCLUDE), _rebuild(OLD_INCLUDE), elidable=False),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="surveyresponse", name=NAME),
                migrations.AddIndex(
                    model_name="surveyresponse",
                    index=models.Index(fields=FIELDS, include=NEW_INCLUDE, name=NAME),
                ),
            ],
        ),
    ]
