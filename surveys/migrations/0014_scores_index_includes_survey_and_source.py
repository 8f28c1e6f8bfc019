"""The covering score index also holds the survey and the webhook source, so the journey map's scan
of the period's responses (a stage is chosen by touchpoint, then survey, then source:
journeys.selectors.StageMap) is an index-only scan like the Scores page's; without them every
response of the period was fetched from the table (docs/benchmarks_journeys.md). The customer and
the response's id too: the closed-loop results read each customer's latest NPS answer of the period
(DISTINCT ON customer, latest first, id breaking ties) from the index alone; at 10,000,000 responses
that read was a bitmap heap scan of 754,442 rows, the largest part of the results page
(docs/benchmarks_outcomes.md). One index wider rather than near-copies of it on (team, answered_at).

Built as 0008 was: on PostgreSQL CREATE INDEX CONCURRENTLY under a temporary name, the old index
dropped concurrently and the new one renamed, so webhooks keep being taken while a large table is
indexed (the migration is therefore not atomic); elsewhere the index is simply rebuilt."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["team", "answered_at"]
NAME = "surveys_response_team_scores"
TEMPORARY = "surveys_response_scores_new"
OLD_INCLUDE = ["touchpoint", "nps", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min",
               "ces_scale_max", "ces_high_is_easy"]
NEW_INCLUDE = ["touchpoint", "survey", "source", *OLD_INCLUDE[1:], "customer", "id"]


def _rebuild(include: list[str]):
    return replace_index("surveys.SurveyResponse", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0013_score_rollup")]

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
