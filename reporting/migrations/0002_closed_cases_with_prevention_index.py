"""An index of the closed cases that carry a prevention suggestion, for the root-causes page's
prevention panel: the newest ten per root cause of the period are picked from it alone (an
index-only scan of a tenth of the closed cases), then only those rows are read. It is on cases'
table but serves reporting's query, so reporting's migrations own it.

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY, so an installation keeps working while
a large table is indexed (the migration is therefore not atomic). SQLite has no INCLUDE: there the
index holds its key columns only."""

from django.db import migrations, models

NAME = "cases_case_closed_prevention"


def _index(vendor: str) -> models.Index:
    return models.Index(
        fields=["team", "-closed_at"],
        name=NAME,
        include=["root_cause", "id"] if vendor == "postgresql" else None,
        condition=models.Q(status="closed") & ~models.Q(prevention=""),
    )


def create(apps, schema_editor):
    model = apps.get_model("cases", "Case")
    vendor = schema_editor.connection.vendor
    if vendor != "postgresql":
        schema_editor.add_index(model, _index(vendor))
        return
    schema_editor.execute(
        f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"'
    )  # an earlier, interrupted run
    schema_editor.execute(
        _index(vendor).create_sql(model, schema_editor, concurrently=True)
    )


def drop(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0001_closure_rollup")]

    operations = [migrations.RunPython(create, drop)]
