"""An index of the closed cases answered again after their closure, newest answer first, for the
recovery page's customer list (its newest MAX_LIST_ROWS answers): PostgreSQL walks it from the top
and stops after a few thousand entries, instead of reading and sorting the period's closed cases.
It is on cases' table but serves reporting's query, so reporting's migrations own it (as 0002).

On PostgreSQL it is built with CREATE INDEX CONCURRENTLY (the migration is therefore not atomic)."""

from django.db import migrations, models

NAME = "cases_case_answered_again"


def _index() -> models.Index:
    return models.Index(
        fields=["-answered_again_at", "-id"],
        name=NAME,
        condition=models.Q(status="closed", answered_again_nps__isnull=False),
    )


def create(apps, schema_editor):
    model = apps.get_model("cases", "Case")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, _index())
        return
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"')  # an earlier, interrupted run
    schema_editor.execute(_index().create_sql(model, schema_editor, concurrently=True))


def drop(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("reporting", "0003_closure_rollup_recovery"), ("cases", "0021_report_fields_per_case")]

    operations = [migrations.RunPython(create, drop)]
