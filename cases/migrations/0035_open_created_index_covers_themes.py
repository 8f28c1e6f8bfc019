"""A team's open cases by creation time (cases_case_open_team_created, the inbox's "newest" and
"oldest" orders) also hold each case's id, opening response and segment bits: the Themes page's
open cases per theme (reporting.selectors.themes._open_cases_by_theme) read the period's open cases
of the viewer's teams from the index alone, where they read each case's row (every team's 42,000
open cases of 90 days at 1,000,000 cases: 150 -> 10 ms). Replaced online (core/online_indexes.py),
so the migration is not atomic."""

from django.db import migrations, models

from core.online_indexes import replace_index

NAME = "cases_case_open_team_created"
TEMPORARY = "cases_case_open_team_created_new"
INCLUDE = ["id", "response", "segment_bits"]


def _index(include: list[str] | None) -> models.Index:
    return models.Index(models.F("team"), models.F("created_at"), condition=~models.Q(status="closed"), name=NAME,
                        include=include)


def _rebuild(include: list[str] | None):
    return replace_index("cases.Case", _index(include), TEMPORARY)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0034_segment_bits")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_rebuild(INCLUDE), _rebuild(None), elidable=False)],
            state_operations=[
                migrations.RemoveIndex(model_name="case", name=NAME),
                migrations.AddIndex(model_name="case", index=_index(INCLUDE)),
            ],
        ),
    ]
