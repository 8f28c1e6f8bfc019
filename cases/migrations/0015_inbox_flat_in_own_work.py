# The inbox flat in the size of one agent's own open work (issue #25; docs/inbox.md "Query plans"):
# - the "value" sort's partial indexes hold value at risk negated, then the next due time, so the
#   order (value_rank, next_due, id) runs one way and is read from the index, ties included;
# - PostgreSQL statistics on (assignee, team): an agent's cases are nearly all in one of their teams,
#   and without knowing it the planner multiplied the two selectivities, expected 24 of an agent's
#   5,000 open cases, and joined and sorted all of them instead of walking the agent's index.

import django.db.models.expressions
import django.db.models.functions.comparison
from django.db import migrations, models

STATISTICS = "cases_case_assignee_team"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (make run) has no extended statistics and no planner problem at its size
    schema_editor.execute(
        f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (dependencies) ON assignee_id, team_id FROM cases_case"
    )
    # Build them now rather than at autovacuum's next ANALYZE (a sample of 30,000 rows: seconds).
    schema_editor.execute("ANALYZE cases_case")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


def _value_index(column: str, name: str) -> models.Index:
    return models.Index(
        models.F(column),
        django.db.models.expressions.CombinedExpression(models.F("value_at_risk"), "*", models.Value(-1)),
        django.db.models.functions.comparison.Least(
            "resolution_due",
            models.Case(models.When(first_contacted_at__isnull=True, then=models.F("first_contact_due")),
                        default=models.F("resolution_due")),
        ),
        condition=models.Q(("status", "closed"), _negated=True),
        name=name,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0014_two_way_email"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="case", name="cases_case_open_team_value"),
        migrations.RemoveIndex(model_name="case", name="cases_case_open_asg_value"),
        migrations.AddIndex(model_name="case", index=_value_index("team", "cases_case_open_team_value")),
        migrations.AddIndex(model_name="case", index=_value_index("assignee", "cases_case_open_asg_value")),
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
