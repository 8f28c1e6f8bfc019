"""An index of the closed cases answered again after their closure, newest answer first, for the
recovery page's customer list (its newest MAX_LIST_ROWS answers): PostgreSQL walks it from the top
and stops after a few thousand entries, instead of reading and sorting the period's closed cases.
It is on cases' table but serves reporting's query, so reporting's migrations own it (as 0002).

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY (the migration is therefore not atomic;
core/online_indexes.py)."""

from django.db import migrations, models

from core.online_indexes import create_index, drop_index

NAME = "cases_case_answered_again"
INDEX = models.Index(
    fields=["-answered_again_at", "-id"],
    name=NAME,
    condition=models.Q(status="closed", answered_again_nps__isnull=False),
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0003_closure_rollup_recovery"), ("cases", "0021_report_fields_per_case")]

    operations = [migrations.RunPython(create_index("cases.Case", INDEX), drop_index(NAME))]
