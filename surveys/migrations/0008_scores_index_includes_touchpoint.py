"""The covering score index also holds the touchpoint, so the Scores page's by-touchpoint panel is
an index-only scan like the trends (at 10M responses it was a parallel scan of the whole table:
808 ms, docs/benchmarks_reports.md).

On PostgreSQL the new index is built with CREATE INDEX CONCURRENTLY under a temporary name, the old
one dropped concurrently and the new one renamed, so an installation keeps taking webhooks while a
large table is indexed (the migration is therefore not atomic). Elsewhere (SQLite, where INCLUDE
does not exist) the index is simply rebuilt."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["team", "answered_at"]
NAME = "surveys_response_team_scores"
TEMPORARY = "surveys_response_scores_new"
OLD_INCLUDE = ["nps", "csat", "csat_scale_min", "csat_scale_max", "ces", "ces_scale_min", "ces_scale_max",
               "ces_high_is_easy"]
NEW_INCLUDE = ["touchpoint", *OLD_INCLUDE]


def _rebuild(include: list[str]):
    return replace_index("surveys.SurveyResponse", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0007_encrypted_secrets_and_grace")]

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
