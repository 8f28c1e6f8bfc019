"""The customer index of responses (customer, newest first) also holds what the customer and
account pages read of each response apart from the timeline's text: the team (every read is
scoped by team), the scores with their scales (the score trends, each contact's latest NPS), the
channel and the source (the channels a customer uses) and the id (ties). Those pages' reads of a
customer's (or 2,000 contacts') responses become index-only scans instead of a table fetch per
response (docs/benchmarks_customers.md). It also holds what the churn model's features read of
each answer (churn.features: the kind, the sentiment, the scores with all their scales), so scoring
a range of 20,000 customers reads no table page either (docs/benchmarks_churn.md).

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
