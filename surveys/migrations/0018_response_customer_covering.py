"""The customer index of responses (customer, newest first) also holds what the churn model's
features read of each answer (churn.features: the kind, the sentiment, the scores with all their
scales, the id for ties), so a range of 20,000 customers' answers of the year is an index-only
scan instead of a bitmap heap scan of some 140,000 pages at 10,000,000 responses
(docs/benchmarks_churn.md).

The INCLUDE list is the union with what the customer and account pages read (main's surveys 0018,
helper c360: team, channel, source): on merge this migration follows main's latest surveys
migration and rebuilds the index with this list.

Rebuilt as 0008, 0014 and 0017 did (core/online_indexes.py): on PostgreSQL CREATE INDEX
CONCURRENTLY under a temporary name, then swapped in, so webhooks keep being taken meanwhile (the
migration is therefore not atomic); elsewhere the index is simply rebuilt."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["customer", "-answered_at"]
NAME = "surveys_response_customer"
TEMPORARY = "surveys_response_customer_new"
NEW_INCLUDE = [
    "team", "channel", "source", "id", "feedback_kind", "sentiment", "nps", "csat", "csat_scale_min",
    "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max", "ces_high_is_easy",
]


def _rebuild(include: list[str]):
    return replace_index("surveys.SurveyResponse", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0017_response_case_flags")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_rebuild(NEW_INCLUDE), _rebuild([]), elidable=False),
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
