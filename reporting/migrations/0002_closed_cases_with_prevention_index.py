"""An index of the closed cases that carry a prevention suggestion, for the root-causes page's
prevention panel: the newest ten per root cause of the period are picked from it alone (an
index-only scan of a tenth of the closed cases), then only those rows are read. It is on cases'
table but serves reporting's query, so reporting's migrations own it.

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY, so an installation keeps working while
a large table is indexed (the migration is therefore not atomic). SQLite has no INCLUDE: there the
index holds its key columns only (core/online_indexes.py)."""

from django.db import migrations, models

from core.online_indexes import create_index, drop_index

NAME = "cases_case_closed_prevention"
INDEX = models.Index(
    fields=["team", "-closed_at"],
    name=NAME,
    include=["root_cause", "id"],
    condition=models.Q(status="closed") & ~models.Q(prevention=""),
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0001_closure_rollup")]

    operations = [migrations.RunPython(create_index("cases.Case", INDEX), drop_index(NAME))]
