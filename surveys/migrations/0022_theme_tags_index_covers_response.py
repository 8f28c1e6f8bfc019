"""The theme tags' index (theme, answered_at) also holds the tagged response, so a theme's tags of a
period are an index-only read: an action plan's themes (improvement.selectors: the answers tagged
with two of a plan's themes) and the themes page's direct reads (a location, tier or segment
filter) read the period's tags without a visit to the table for each.

Replaced online like 0008 (core/online_indexes.py: built concurrently under a temporary name, the
old one dropped, the new one renamed), so the migration is not atomic; on SQLite (no INCLUDE) the
index is simply rebuilt."""

from django.db import migrations, models

from core.online_indexes import replace_index

FIELDS = ["theme", "answered_at"]
NAME = "surveys_resptheme_theme_time"
TEMPORARY = "surveys_resptheme_theme_time_new"


def _rebuild(include: list[str]):
    return replace_index("surveys.ResponseTheme", models.Index(fields=FIELDS, name=NAME, include=include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("surveys", "0021_score_rollup_comments_and_sentiment")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_rebuild(["response"]), _rebuild([]), elidable=False),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="responsetheme", name=NAME),
                migrations.AddIndex(
                    model_name="responsetheme",
                    index=models.Index(fields=FIELDS, include=["response"], name=NAME),
                ),
            ],
        ),
    ]
