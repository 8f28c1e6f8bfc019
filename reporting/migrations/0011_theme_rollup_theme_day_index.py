"""The theme rollup by theme and day, with the columns an action plan sums: an organisation-wide
plan's themes over a side of 56 days are an index-only read of their own rows, where the day index
read every theme's rows of those days from the table (improvement.selectors). Built concurrently
(core/online_indexes.py), so the migration is not atomic."""

from django.db import migrations, models

from core.online_indexes import create_index, drop_index

INDEX = models.Index(fields=["theme_id", "day"], name="reporting_themeroll_theme_day",
                     include=["team_id", "touchpoint", "tags", "nps_n", "promoters", "passives", "detractors", "csat_n",
                              "csat_top2", "ces_n", "ces_ease_n", "ces_ease_sum", "ces_high_effort"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0010_triggers_replan_large_updates")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(create_index("reporting.ThemeRollup", INDEX),
                                                      drop_index(INDEX.name), elidable=False)],
            state_operations=[migrations.AddIndex(model_name="themerollup", index=INDEX)],
        ),
    ]
