"""A bit per named segment on each customer and each response (segments.membership): the reports by
segment group the period's responses by the bits, from the covering score index (which now holds
them, replaced online as in 0023), instead of testing every response's customer against every
segment (docs/benchmarks_reports.md). The columns start at 0 (no segment); the triggers that set them
and the first fill are segments 0004's. Adding a column with a constant default rewrites no row.
Not atomic: the index is replaced concurrently, partition by partition."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["team", "answered_at"]
NAME = "surveys_response_team_scores"
TEMPORARY = "surveys_response_scores_new"
OLD_INCLUDE = ["touchpoint", "survey", "source", "nps", "csat", "csat_scale_min", "csat_scale_max", "ces",
               "ces_scale_min", "ces_scale_max", "ces_high_is_easy", "customer", "id", "case_alert", "case_linked",
               "location"]
NEW_INCLUDE = [*OLD_INCLUDE, "segment_bits"]


def _rebuild(include: list[str]):
    return replace_index("surveys.SurveyResponse", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0025_theme_tags_take_their_answer_time")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="segment_bits",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddField(
            model_name="surveyresponse",
            name="segment_bits",
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
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
