"""A covering index of cases by team and creation time, for the KPI page's grouped statement over
the period's cases (counts, SLA met, root cause recorded, reopen rate, value at risk and the four
duration percentiles): an index-only scan of the period's cases of the viewer's teams. Without it
that statement was a parallel scan of every case, 400-670 ms at 1,000,000 cases on a loaded 2-core
machine for the 24,577 cases of a manager's 90 days; with it 78 ms (docs/benchmarks_reports.md).
It costs an entry per case written (124 MB at 1,000,000 cases); the columns it holds change when
a case is contacted or closed, which other indexes already make non-HOT updates. It is on cases'
table but serves reporting's query, so reporting's migrations own it (as 0002 and 0004).

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY (the migration is therefore not atomic).
SQLite has no INCLUDE: there the index holds its key columns only (core/online_indexes.py)."""

from django.db import migrations, models

from core.online_indexes import create_index, drop_index

NAME = "cases_case_team_created"
INDEX = models.Index(
    fields=["team", "created_at"],
    name=NAME,
    include=["status", "closed_at", "root_cause", "reopen_count", "first_contacted_at", "first_contact_due",
             "resolution_due", "value_at_risk", "first_contact_business_seconds", "close_business_seconds", "id"],
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0005_response_case_flags")]

    operations = [migrations.RunPython(create_index("cases.Case", INDEX), drop_index(NAME))]
