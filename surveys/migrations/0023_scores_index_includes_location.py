"""The covering score index also holds the response's location, so the reports grouped or filtered
by location (scores-by-location, the KPIs' low scores by location, any report with a location
filter that reads the responses) are index-only scans of the period's responses like the Scores
page's other breakdowns. Without it every response of the period was fetched from the table: 3.0-3.4 s
for scores-by-location for a manager's 90 days at 10,000,000 responses (docs/benchmarks_reports.md).
Location is not a rollup key (docs/reporting.md "Rollups": with it the score rollup would be nearly
as large as the responses), so these reports read the index.

Replaced online (core/online_indexes.py): on the partitioned responses the new index is built
concurrently partition by partition and attached, then the old one dropped, so webhooks keep being
taken meanwhile (the migration is therefore not atomic); elsewhere the index is simply rebuilt."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["team", "answered_at"]
NAME = "surveys_response_team_scores"
TEMPORARY = "surveys_response_scores_new"
OLD_INCLUDE = ["touchpoint", "survey", "source", "nps", "csat", "csat_scale_min", "csat_scale_max", "ces",
               "ces_scale_min", "ces_scale_max", "ces_high_is_easy", "customer", "id", "case_alert", "case_linked"]
NEW_INCLUDE = [*OLD_INCLUDE, "location"]


def _rebuild(include: list[str]):
    return replace_index("surveys.SurveyResponse", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0022_theme_tags_index_covers_response")]

    operations = [
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
