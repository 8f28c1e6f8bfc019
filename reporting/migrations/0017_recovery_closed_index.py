"""A covering index of the closed cases answered again, by closure time, for Recovery read with a
filter the closure rollup is not keyed by (a segment, a location) and for the segment comparison's
recovery figures: the period's entries hold every column those sums and the customer list's filter
read (team, root cause, customer, the scores before and after, the response's keys, the segment
bits), so PostgreSQL reads them index-only where it read every case of the table (a parallel
sequential scan of 1,000,000 cases, about 200 ms a statement, two or three a page). Like 0004 it
is on cases' table but serves reporting's queries, so reporting's migrations own it.

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY (the migration is therefore not atomic;
core/online_indexes.py); SQLite keeps the key without the covered columns."""

from django.db import migrations, models

from core.online_indexes import create_index, drop_index

NAME = "cases_case_recovery_closed"
INDEX = models.Index(
    fields=["-closed_at"],
    name=NAME,
    include=["id", "team", "root_cause", "customer", "response_nps", "answered_again_nps", "answered_again_at",
             "response_touchpoint", "response_survey_id", "response_source_id", "response_location", "segment_bits"],
    condition=models.Q(status="closed", answered_again_nps__isnull=False),
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0016_score_totals_low_scores"), ("cases", "0034_segment_bits")]

    operations = [migrations.RunPython(create_index("cases.Case", INDEX), drop_index(NAME), elidable=False)]
