"""A covering index of cases by team and creation time, for the KPI page's grouped statement over
the period's cases (counts, SLA met, root cause recorded, reopen rate, value at risk and the four
duration percentiles): an index-only scan of the period's cases of the viewer's teams. Without it
that statement was a parallel scan of every case, 400-670 ms at 1,000,000 cases on a loaded 2-core
machine for the 24,577 cases of a manager's 90 days; with it 78 ms (docs/benchmarks_reports.md).
It costs an entry per case written (124 MB at 1,000,000 cases); the columns it holds change when
a case is contacted or closed, which other indexes already make non-HOT updates. It is on cases'
table but serves reporting's query, so reporting's migrations own it (as 0002 and 0004).

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY (the migration is therefore not atomic).
SQLite has no INCLUDE: there the index holds its key columns only."""

from django.db import migrations, models

NAME = "cases_case_team_created"
INCLUDE = ["status", "closed_at", "root_cause", "reopen_count", "first_contacted_at", "first_contact_due",
           "resolution_due", "value_at_risk", "first_contact_business_seconds", "close_business_seconds", "id"]


def _index(vendor: str) -> models.Index:
    return models.Index(fields=["team", "created_at"], name=NAME,
                        include=INCLUDE if vendor == "postgresql" else None)


def create(apps, schema_editor):
    model = apps.get_model("cases", "Case")
    vendor = schema_editor.connection.vendor
    if vendor != "postgresql":
        schema_editor.add_index(model, _index(vendor))
        return
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"')  # an earlier, interrupted run
    schema_editor.execute(_index(vendor).create_sql(model, schema_editor, concurrently=True))


def drop(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0005_response_case_flags")]

    operations = [migrations.RunPython(create, drop)]
