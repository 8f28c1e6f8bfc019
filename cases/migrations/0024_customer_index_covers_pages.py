"""Three indexes of cases hold what their readers need, so those reads are index-only scans
instead of a table fetch per case (docs/benchmarks_customers.md):
- the customer index (customer, newest first) holds the team, the status and the value at risk:
  the customer page's case counts and the account page's contacts' open cases and value at risk;
- the two indexes of closed cases by closure time (per team; every team) hold the root cause, the
  business seconds to close and the opening response's keys (and the team): the journey map's
  closed cases, their median to close and top root causes, for a manager (5 teams: 20,000 cases
  of a quarter at 1,000,000 cases, each a table fetch before) and an admin (200,000).
Rebuilt online (core/online_indexes.py: CREATE INDEX CONCURRENTLY under a temporary name, then
swapped in), so the migration is not atomic; elsewhere each index is simply rebuilt."""

from django.db import migrations, models
from django.db.models import Q

from core.online_indexes import replace_index

CLOSED_COVER = ["root_cause", "close_business_seconds", "response_touchpoint", "response_survey_id",
                "response_source_id"]
CLOSED = Q(status="closed")
NEW = [
    models.Index(fields=["customer", "-created_at"], name="cases_case_customer",
                 include=["team", "status", "value_at_risk"]),
    models.Index(fields=["team", "-closed_at"], name="cases_case_closed_team", condition=CLOSED, include=CLOSED_COVER),
    models.Index(fields=["-closed_at"], name="cases_case_closed_at", condition=CLOSED, include=["team", *CLOSED_COVER]),
]
OLD = [
    models.Index(fields=["customer", "-created_at"], name="cases_case_customer"),
    models.Index(fields=["team", "-closed_at"], name="cases_case_closed_team", condition=CLOSED),
    models.Index(fields=["-closed_at"], name="cases_case_closed_at", condition=CLOSED),
]


def _rebuild(indexes):
    def run(apps, schema_editor):
        for index in indexes:
            replace_index("cases.Case", index, index.name[:50] + "_new")(apps, schema_editor)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("cases", "0023_case_response_keys")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(_rebuild(NEW), _rebuild(OLD), elidable=False),
            ],
            state_operations=[
                *(migrations.RemoveIndex(model_name="case", name=index.name) for index in OLD),
                *(migrations.AddIndex(model_name="case", index=index) for index in NEW),
            ],
        ),
    ]
