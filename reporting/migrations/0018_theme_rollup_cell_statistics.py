"""Statistics on the theme rollup's cells: how many distinct (theme, touchpoint, week) there are.
The themes page sums the rollup's rows of the period per week, theme and touchpoint
(reporting.selectors.themes._theme_cells). Without these PostgreSQL multiplies the columns'
separate counts, expects 28,600 cells where an admin's 90 days make 3,120 (from 282,000 rows at
10,000,000 responses), and sorts every row (spilling 20 MB to disk) instead of grouping them in a
hash table: 240 ms where the hash takes 135 ms (docs/benchmarks_reports.md). The expression is the
one Django's TruncWeek writes for the day (a date, cast to a timestamp with time zone)."""

from django.db import migrations

NAME = "reporting_themerollup_cells"


def create_statistics(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return  # SQLite (make run) and old PostgreSQL: no expression statistics, nothing else changes
    schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {NAME} (ndistinct) ON theme_id, touchpoint, "
                          "(date_trunc('week', day::timestamptz)) FROM reporting_themerollup")
    schema_editor.execute("ANALYZE reporting_themerollup")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):

    dependencies = [("reporting", "0017_recovery_closed_index")]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
