"""Score trends as index-only scans: a covering (team, answered_at) index replaces the plain one,
and expression statistics on the week and month buckets tell PostgreSQL that a trend has a
few dozen groups (without them it expects ~200,000, sorts to disk instead of hashing).

Measured at 10M responses (docs/benchmarks_reports.md): the weekly NPS trend for a manager of
5 teams went from ~490 ms to ~185 ms of SQL. The new index is built before the old one goes."""

import re

from django.conf import settings
from django.db import migrations, models

# The expressions must be exactly those Django writes for TruncWeek/TruncMonth("answered_at")
# under the configured TIME_ZONE (USE_TZ), or the planner will not use the statistics.
PERIODS = ("week", "month")


def _zone() -> str:
    zone = settings.TIME_ZONE or "UTC"
    if not re.fullmatch(r"[A-Za-z0-9_/+\-]+", zone):
        raise ValueError(f"unexpected TIME_ZONE {zone!r}")
    return zone


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for period in PERIODS:
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS surveys_response_{period}_stats "
            f"ON (DATE_TRUNC('{period}', answered_at AT TIME ZONE '{_zone()}')) FROM surveys_surveyresponse"
        )


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for period in PERIODS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS surveys_response_{period}_stats")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("surveys", "0002_delivery_retry_and_rate_limit"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="surveyresponse",
            index=models.Index(
                fields=["team", "answered_at"],
                include=(
                    "nps", "csat", "csat_scale_min", "csat_scale_max",
                    "ces", "ces_scale_min", "ces_scale_max", "ces_high_is_easy",
                ),
                name="surveys_response_team_scores",
            ),
        ),
        migrations.RemoveIndex(model_name="surveyresponse", name="surveys_response_team_time"),
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
