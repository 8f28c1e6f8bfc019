# The inbox's touchpoint and location filters compare UPPER(column) (case-insensitive). Without
# statistics on those expressions PostgreSQL guesses 0.5 % of rows match, expects a handful of a
# team's cases, joins and sorts all of them (300 ms at 1,000,000 cases) instead of walking the
# sort's index and stopping after one page (2-5 ms). Expression statistics (PostgreSQL 14+) give it
# the real distribution. The filters are the cases app's (cases/filtersets.py), hence here.

from django.db import migrations

STATISTICS = {
    "surveys_response_upper_touchpoint": "(upper(touchpoint))",
    "surveys_response_upper_location_region": "(upper(location)), (upper(region))",
}


def create_statistics(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return  # SQLite (make run) and old PostgreSQL: no expression statistics, nothing else changes
    for name, expressions in STATISTICS.items():
        schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {name} ON {expressions} FROM surveys_surveyresponse")
    schema_editor.execute("ANALYZE surveys_surveyresponse")


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in STATISTICS:
            schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0015_inbox_flat_in_own_work"),
        ("surveys", "0008_scores_index_includes_touchpoint"),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
